package callout_test

import (
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/callout"
	"github.com/smtppolicy/smtppolicy/internal/peertest"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// mailServer is a go-smtp server on loopback whose answer to RCPT TO
// depends on the local part: ok* is accepted, busy* gets 450, anything
// else 550. It records the commands it saw.
type mailServer struct {
	port int
	mu   sync.Mutex
	seen []string
}

func (m *mailServer) log(s string) {
	m.mu.Lock()
	m.seen = append(m.seen, s)
	m.mu.Unlock()
}

func (m *mailServer) commands() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.seen, "|")
}

type mailSession struct{ m *mailServer }

func (s mailSession) Reset()        { s.m.log("RSET") }
func (s mailSession) Logout() error { s.m.log("QUIT"); return nil }
func (s mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.m.log("MAIL <" + from + ">")
	return nil
}
func (s mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.m.log("RCPT <" + to + ">")
	switch {
	case strings.HasPrefix(to, "ok"):
		return nil
	case strings.HasPrefix(to, "busy"):
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 1}, Message: "mailbox busy"}
	}
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
}
func (s mailSession) Data(r io.Reader) error {
	s.m.log("DATA")
	_, err := io.Copy(io.Discard, r)
	return err
}

type backendFunc func(*smtp.Conn) (smtp.Session, error)

func (f backendFunc) NewSession(c *smtp.Conn) (smtp.Session, error) { return f(c) }

// startMailServer serves go-smtp on 127.0.0.1:0.
func startMailServer(t *testing.T) *mailServer { return startMailServerB(t) }

// startMailServerB is startMailServer for tests and benchmarks.
func startMailServerB(t testing.TB) *mailServer {
	t.Helper()
	m := &mailServer{}
	srv := smtp.NewServer(backendFunc(func(*smtp.Conn) (smtp.Session, error) { return mailSession{m}, nil }))
	srv.Domain = "mx.test"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.port = l.Addr().(*net.TCPAddr).Port
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return m
}

// startRaw serves each connection on 127.0.0.1 with fn (a server that
// hangs, closes at once, or answers garbage) and returns its port.
func startRaw(t *testing.T, fn func(net.Conn)) int {
	t.Helper()
	return int(netip.MustParseAddrPort(peertest.Serve(t, fn)).Port())
}

// hang accepts and says nothing until the test ends.
func hang(c net.Conn) { io.Copy(io.Discard, c) }

// loopbackOK lets probes reach the test servers on loopback.
func loopbackOK(a netip.Addr) bool { return a.IsLoopback() || callout.PublicAddr(a) }

// newDNS serves zone records for the tests and returns a resolver on it.
func newDNS(t testing.TB, records ...string) (*dnstest.Server, *resolver.Resolver) {
	t.Helper()
	srv := dnstest.New(t)
	srv.Add(records...)
	r := srv.Resolver(resolver.Config{Timeout: 500 * time.Millisecond, CacheSize: -1})
	return srv, r
}

// newVerifier returns a verifier probing port on loopback with short
// deadlines.
func newVerifier(t testing.TB, cfg callout.Config, port int) *callout.Verifier {
	t.Helper()
	cfg.Port = port
	if cfg.Usable == nil {
		cfg.Usable = loopbackOK
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = time.Second
	}
	if cfg.CommandTimeout == 0 {
		cfg.CommandTimeout = 500 * time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	v, err := callout.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func addr(s string) smtpcheck.Address { return smtpcheck.ParseAddress(s) }
func itoa(n int) string               { return strconv.Itoa(n) }
