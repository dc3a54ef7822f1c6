package main

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// mailboxHost is a go-smtp server on loopback standing for a domain's MX
// host or a downstream server: it knows the mailbox alice and refuses
// every other recipient with 550. It counts the DATA commands it gets.
type mailboxHost struct {
	mu    sync.Mutex
	rcpts []string
	data  int
}

func (h *mailboxHost) NewSession(*smtp.Conn) (smtp.Session, error) { return h, nil }
func (h *mailboxHost) Reset()                                      {}
func (h *mailboxHost) Logout() error                               { return nil }
func (h *mailboxHost) Mail(string, *smtp.MailOptions) error        { return nil }
func (h *mailboxHost) Rcpt(to string, _ *smtp.RcptOptions) error {
	h.mu.Lock()
	h.rcpts = append(h.rcpts, to)
	h.mu.Unlock()
	if strings.HasPrefix(to, "alice@") {
		return nil
	}
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
}
func (h *mailboxHost) Data(r io.Reader) error {
	h.mu.Lock()
	h.data++
	h.mu.Unlock()
	_, err := io.Copy(io.Discard, r)
	return err
}

// listen serves fn on addr until the test ends and returns the port.
func listen(t *testing.T, addr string, serve func(net.Listener)) int {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go serve(l)
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// hangUp accepts connections and never says a word; they are closed when
// the test ends.
func hangUp(t *testing.T) func(net.Listener) {
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return func(l net.Listener) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}
}

// swaks sends through smtpd from senders whose domain's MX host (on
// loopback, found through the in-process DNS server) knows or refuses
// them: a sender its MX refuses is refused with smtpf#572's reply, a known
// one is accepted and stored, the probe never sent DATA; a sender whose MX
// host hangs, and a recipient whose downstream server hangs, are deferred
// with the catalog's 4xx, never a 5xx.
func TestSwaksCallout(t *testing.T) {
	needTool(t, "swaks")
	mx := &mailboxHost{}
	srv := smtp.NewServer(mx)
	srv.Domain = "mx.senders.test"
	port := listen(t, "127.0.0.1:0", func(l net.Listener) { srv.Serve(l) })
	hung := listen(t, "127.0.0.1:0", hangUp(t))
	// The MX host of slow.test hangs, on the port probes use.
	listen(t, "127.0.0.2:"+strconv.Itoa(port), hangUp(t))
	dns := dnstest.New(t)
	dns.Add("senders.test. 300 IN MX 10 mx.senders.test.", "mx.senders.test. 300 IN A 127.0.0.1",
		"slow.test. 300 IN MX 10 mx.slow.test.", "mx.slow.test. 300 IN A 127.0.0.2")
	base := []string{"-resolver", dns.Addr(), "-hygiene=false", "-spf=false",
		"-callout-port", strconv.Itoa(port), "-callout-allow-private", "-callout-timeout", "2s", "-callout-command-timeout", "500ms"}
	send := func(s *server, from, rcpt string) (string, error) {
		return swaks(t, s.addr, "--helo", "mx.example.net", "--from", from, "--to", rcpt)
	}

	s := startServer(t, append(base, "-callout-sender")...)
	out, err := send(s, "mallory@senders.test", "bob@example.org")
	if err == nil || !strings.Contains(out, "<** 550 5.7.0 sender <mallory@senders.test> verification failed") {
		t.Errorf("refused sender: want 550 5.7.0 sender verification failed; err=%v\n%s", err, out)
	}
	if log := s.logText(t); !strings.Contains(log, "callout") || !strings.Contains(log, "said: 550 5.1.1 no such user") {
		t.Errorf("the decision log does not say what the MX host answered")
	}
	if out, err := send(s, "alice@senders.test", "bob@example.org"); err != nil {
		t.Errorf("verified sender refused: %v\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("stored %d messages, want the verified sender's", n)
	}
	// The second message from the verified sender comes from the cache.
	if out, err := send(s, "alice@senders.test", "bob@example.org"); err != nil {
		t.Errorf("cached verified sender refused: %v\n%s", err, out)
	}
	mx.mu.Lock()
	probes, data := strings.Count(strings.Join(mx.rcpts, " "), "alice@senders.test"), mx.data
	mx.mu.Unlock()
	if probes != 1 || data != 0 {
		t.Errorf("MX host saw %d probes of alice and %d DATA, want 1 and 0", probes, data)
	}

	// A sender whose MX host hangs is deferred, never refused.
	out, err = send(s, "someone@slow.test", "bob@example.org")
	if err == nil || !strings.Contains(out, "<** 451 4.4.4 no answer from slow.test MX") || strings.Contains(out, "<** 5") {
		t.Errorf("hanging MX: want 451 4.4.4 no answer, never 5xx; err=%v\n%s", err, out)
	}

	s = startServer(t, append(base, "-callout-recipient", "127.0.0.1:"+strconv.Itoa(hung))...)
	out, err = send(s, "alice@senders.test", "bob@example.org")
	if err == nil || !strings.Contains(out, "<** 451 4.4.2 internal network error for 127.0.0.1") || strings.Contains(out, "<** 5") {
		t.Errorf("hanging downstream: want 451 4.4.2, never 5xx; err=%v\n%s", err, out)
	}
	s = startServer(t, append(base, "-callout-recipient", "127.0.0.1:"+strconv.Itoa(port))...)
	out, err = send(s, "alice@senders.test", "bob@example.org")
	if err == nil || !strings.Contains(out, "<** 550 5.7.1 recipient <bob@example.org> unknown") {
		t.Errorf("unknown recipient downstream: want 550 5.7.1 recipient unknown; err=%v\n%s", err, out)
	}
}

// A -config file's reject_unverified_recipient asks the callout to
// -callout-recipient's downstream server, with Postfix's reply codes; the
// file decides where recipients are verified, so postmaster, whom the
// file permits first, is never probed.
func TestSwaksCalloutAnswersFileRestriction(t *testing.T) {
	needTool(t, "swaks")
	mx := &mailboxHost{}
	srv := smtp.NewServer(mx)
	srv.Domain = "store.example.org"
	port := listen(t, "127.0.0.1:0", func(l net.Listener) { srv.Serve(l) })
	cf := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(cf, []byte("smtpd_recipient_restrictions = check_recipient_access inline:{ postmaster@example.org=OK }, reject_unverified_recipient\n"+
		"unverified_recipient_reject_code = 550\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "-config", cf, "-callout-recipient", "127.0.0.1:"+strconv.Itoa(port), "-callout-timeout", "2s")
	send := func(rcpt string) (string, error) {
		return swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", rcpt)
	}
	out, err := send("carol@example.org")
	if err == nil || !strings.Contains(out, "<** 550 5.1.1 <carol@example.org>: Recipient address rejected: undeliverable address: host 127.0.0.1[127.0.0.1]:"+strconv.Itoa(port)+" said: 550 5.1.1 no such user") {
		t.Errorf("recipient the downstream server refuses: want Postfix's 550 5.1.1 undeliverable address; err=%v\n%s", err, out)
	}
	if out, err := send("alice@example.org"); err != nil {
		t.Errorf("recipient the downstream server knows refused: %v\n%s", err, out)
	}
	if out, err := send("postmaster@example.org"); err != nil {
		t.Errorf("postmaster refused: %v\n%s", err, out)
	}
	mx.mu.Lock()
	probed := strings.Join(mx.rcpts, " ")
	mx.mu.Unlock()
	if strings.Contains(probed, "postmaster") || strings.Count(probed, "carol@example.org") != 1 {
		t.Errorf("downstream server probed for %q; want carol once and never postmaster", probed)
	}
}
