package gosmtp_test

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// serve runs a go-smtp server with the adapter on a loopback port.
func serve(t *testing.T, cfg gosmtp.Config) string {
	t.Helper()
	be := gosmtp.New(cfg)
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.ReadTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(be.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// client is a raw SMTP client: it sends lines and reads whole replies.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &client{t: t, conn: c, r: bufio.NewReader(c)}
}

// reply reads one (possibly multi-line) reply and returns its lines.
func (c *client) reply() []string {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			if len(lines) == 0 {
				c.t.Fatalf("reading reply: %v", err)
			}
			return lines
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return lines
		}
	}
}

func (c *client) cmd(line string) []string {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("writing %q: %v", line, err)
	}
	return c.reply()
}

func last(lines []string) string { return lines[len(lines)-1] }

func policyFor(stage smtpcheck.Stage, c smtpcheck.Check) *smtpcheck.Policy {
	p := &smtpcheck.Policy{}
	switch stage {
	case smtpcheck.StageConnect:
		p.Connect = c
	case smtpcheck.StageHelo:
		p.Helo = c
	case smtpcheck.StageMail:
		p.Mail = c
	case smtpcheck.StageRcpt:
		p.Rcpt = c
	}
	return p
}

func TestConnectRefusalReplacesGreeting(t *testing.T) {
	refuse := smtpcheck.Named("dnsbl", func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		return smtpcheck.Refuse(reply.HostBlacklisted("unknown", s.Conn.ClientIP.String()), smtpcheck.Reason{Rule: "test"})
	})
	addr := serve(t, gosmtp.Config{Policy: policyFor(smtpcheck.StageConnect, refuse)})
	c := dial(t, addr)
	got := c.reply()
	if want := "550 5.7.1 host unknown [127.0.0.1] black listed"; last(got) != want {
		t.Fatalf("greeting = %q, want %q", got, want)
	}
	if _, err := c.r.ReadByte(); err == nil {
		t.Errorf("connection still open after a connect-stage refusal")
	}
}

func TestGreetingWhenConnectPasses(t *testing.T) {
	var mu sync.Mutex
	var seen smtpcheck.Conn
	look := func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		mu.Lock()
		seen = s.Conn
		mu.Unlock()
		return smtpcheck.Result{}
	}
	addr := serve(t, gosmtp.Config{
		Policy: policyFor(smtpcheck.StageConnect, look),
		LookupPTR: func(ctx context.Context, ip netip.Addr) ([]string, []string, error) {
			return []string{"client.example"}, []string{"client.example"}, nil
		},
	})
	c := dial(t, addr)
	if got := last(c.reply()); !strings.HasPrefix(got, "220 mx.test") {
		t.Fatalf("greeting = %q, want 220 mx.test ...", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen.ClientIP.String() != "127.0.0.1" || seen.Name() != "client.example" || seen.ID == "" {
		t.Errorf("connect stage saw %+v, want client 127.0.0.1 named client.example with an ID", seen)
	}
}

func TestPanicBecomes451(t *testing.T) {
	boom := func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result { panic("bug in a check") }
	addr := serve(t, gosmtp.Config{Policy: policyFor(smtpcheck.StageMail, boom)})
	c := dial(t, addr)
	c.reply()
	c.cmd("EHLO client.example")
	if got := last(c.cmd("MAIL FROM:<a@example.net>")); got != "451 4.3.0 internal server error" {
		t.Errorf("MAIL with a panicking check = %q, want 451 4.3.0 internal server error", got)
	}
	// The server is still there for the next command.
	if got := last(c.cmd("NOOP")); !strings.HasPrefix(got, "250") {
		t.Errorf("NOOP after the panic = %q, want 250", got)
	}
}

func TestCommandDeadline(t *testing.T) {
	hang := smtpcheck.Guard(func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		<-ctx.Done()
		return smtpcheck.Result{Err: ctx.Err()}
	}, smtpcheck.Options{Name: "slow", OnError: smtpcheck.FailTemp})
	addr := serve(t, gosmtp.Config{Policy: policyFor(smtpcheck.StageHelo, hang), CommandTimeout: 50 * time.Millisecond})
	c := dial(t, addr)
	c.reply()
	start := time.Now()
	c.cmd("EHLO client.example")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("EHLO took %v: the per-command deadline did not hold", took)
	}
	// A check that could not decide defers only if nothing rejects, so
	// the failure is given at RCPT.
	c.cmd("MAIL FROM:<a@example.net>")
	if got := last(c.cmd("RCPT TO:<b@example.org>")); got != "451 4.3.0 internal server error" {
		t.Errorf("RCPT after a hanging HELO check = %q, want the temp-fail reply", got)
	}
}

func TestMultiLineReplyKeepsEnhancedCodeOnEveryLine(t *testing.T) {
	long := strings.Repeat("word ", 150) // folds over several lines
	r, err := reply.New(550, "5.7.1", "first line", long)
	if err != nil {
		t.Fatal(err)
	}
	c := smtpcheck.Named("long", func(context.Context, *smtpcheck.Session) smtpcheck.Result {
		return smtpcheck.Refuse(r, smtpcheck.Reason{})
	})
	addr := serve(t, gosmtp.Config{Policy: policyFor(smtpcheck.StageMail, c)})
	cl := dial(t, addr)
	cl.reply()
	cl.cmd("EHLO client.example")
	lines := cl.cmd("MAIL FROM:<a@example.net>")
	if len(lines) < 3 {
		t.Fatalf("reply has %d lines, want the folded multi-line reply: %q", len(lines), lines)
	}
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		if !strings.HasPrefix(l, "550"+sep+"5.7.1 ") {
			t.Errorf("line %d = %q, want prefix %q", i, l, "550"+sep+"5.7.1 ")
		}
		if len(l)+2 > 512 {
			t.Errorf("line %d is %d octets with CRLF, over 512", i, len(l)+2)
		}
	}
}

func TestProtocolFacts(t *testing.T) {
	var mu sync.Mutex
	var proto smtpcheck.Protocol
	var raw string
	look := func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		mu.Lock()
		proto, raw = s.Proto, s.Mail.Raw
		mu.Unlock()
		return smtpcheck.Result{}
	}
	addr := serve(t, gosmtp.Config{Policy: policyFor(smtpcheck.StageMail, look), GreetPause: 200 * time.Millisecond})
	c := dial(t, addr)
	// Talk before the greeting, and pipeline after a plain HELO (which
	// offers no PIPELINING).
	c.conn.Write([]byte("HELO client.example\r\nMAIL FROM: <a@example.net>\r\n"))
	c.reply() // greeting
	c.reply() // HELO
	c.reply() // MAIL
	mu.Lock()
	defer mu.Unlock()
	if !proto.PreGreeting {
		t.Errorf("PreGreeting = false, want true for a client that talked first")
	}
	if !proto.Pipelined {
		t.Errorf("Pipelined = false, want true for commands sent together without PIPELINING")
	}
	if raw != "MAIL FROM: <a@example.net>" {
		t.Errorf("Mail.Raw = %q, want the raw command line with its extra space", raw)
	}
}

func TestTooManyErrorsDisconnects(t *testing.T) {
	addr := serve(t, gosmtp.Config{MaxErrors: 2})
	c := dial(t, addr)
	c.reply()
	var got string
	c.cmd("BOGUS")
	c.cmd("BOGUS")
	got = last(c.reply()) // the 421 follows the second error, then the server hangs up
	if got != "421 4.7.0 Error: too many errors" {
		t.Errorf("after repeated errors got %q, want 421 4.7.0 Error: too many errors", got)
	}
}
