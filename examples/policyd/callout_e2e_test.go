package main

import (
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// mailboxHost is a go-smtp server on loopback standing for a domain's MX
// host or a downstream server: it knows the mailbox alice and refuses
// every other recipient with 550. It records the recipients probed.
type mailboxHost struct {
	mu    sync.Mutex
	rcpts []string
}

func (h *mailboxHost) NewSession(*smtp.Conn) (smtp.Session, error) { return h, nil }
func (h *mailboxHost) Reset()                                      {}
func (h *mailboxHost) Logout() error                               { return nil }
func (h *mailboxHost) Mail(string, *smtp.MailOptions) error        { return nil }
func (h *mailboxHost) Data(r io.Reader) error                      { _, err := io.Copy(io.Discard, r); return err }
func (h *mailboxHost) Rcpt(to string, _ *smtp.RcptOptions) error {
	h.mu.Lock()
	h.rcpts = append(h.rcpts, to)
	h.mu.Unlock()
	if strings.HasPrefix(to, "alice@") {
		return nil
	}
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
}

func (h *mailboxHost) probes(addr string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.rcpts {
		if r == addr {
			n++
		}
	}
	return n
}

// serveMailbox starts a mailboxHost on loopback and returns it and its port.
func serveMailbox(t *testing.T) (*mailboxHost, int) {
	t.Helper()
	h := &mailboxHost{}
	srv := smtp.NewServer(h)
	srv.Domain = "mx.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return h, ln.Addr().(*net.TCPAddr).Port
}

// Over the policy socket, the callouts verify what the request's envelope
// names: with -callout-recipient every recipient is asked of the
// downstream server; a -config file's reject_unverified_recipient and
// reject_unverified_sender ask the same callouts, with Postfix's replies,
// and then verify only where the file says. A verdict is cached: a second
// request probes nothing.
func TestCalloutOverPolicyProtocol(t *testing.T) {
	mx, port := serveMailbox(t)
	downstream := "127.0.0.1:" + strconv.Itoa(port)
	dns := dnstest.New(t)
	dns.Add("senders.test. 300 IN MX 10 mx.senders.test.", "mx.senders.test. 300 IN A 127.0.0.1")
	base := []string{"-greylist", "none", "-resolver", dns.Addr(), "-callout-port", strconv.Itoa(port), "-callout-allow-private",
		"-callout-timeout", "2s", "-callout-command-timeout", "500ms"}

	t.Run("every recipient", func(t *testing.T) {
		addr := startPolicyd(t, append(base, "-callout-recipient", downstream)...)
		if got := askOnce(t, addr, requestFull("192.0.2.10", "mx.example.net", "alice@example.net", "bob@example.org")); got != "action=550 5.7.1 recipient <bob@example.org> unknown" {
			t.Errorf("recipient the downstream server refuses = %q, want action=550 5.7.1 recipient <bob@example.org> unknown", got)
		}
		if got := askOnce(t, addr, requestFull("192.0.2.10", "mx.example.net", "alice@example.net", "alice@example.org")); got != "action=DUNNO" {
			t.Errorf("recipient the downstream server knows = %q, want action=DUNNO", got)
		}
	})

	t.Run("the file's reject_unverified_recipient", func(t *testing.T) {
		cf := writeFile(t, "main.cf", "smtpd_recipient_restrictions = check_recipient_access inline:{ postmaster@example.org=OK }, reject_unverified_recipient\n"+
			"unverified_recipient_reject_code = 550\n")
		addr := startPolicyd(t, append(base, "-config", cf, "-callout-recipient", downstream)...)
		got := askOnce(t, addr, requestFull("192.0.2.10", "mx.example.net", "alice@example.net", "carol@example.org"))
		if !strings.HasPrefix(got, "action=550 5.1.1 ") || !strings.Contains(got, "undeliverable address: host 127.0.0.1[127.0.0.1]:"+strconv.Itoa(port)+" said: 550 5.1.1 no such user") {
			t.Errorf("unknown recipient = %q, want unverified_recipient_reject_code's 550 5.1.1 undeliverable address with what the server said", got)
		}
		if got := askOnce(t, addr, requestFull("192.0.2.10", "mx.example.net", "alice@example.net", "carol@example.org")); !strings.HasPrefix(got, "action=550 5.1.1 ") {
			t.Errorf("unknown recipient again = %q, want 550 5.1.1", got)
		}
		if n := mx.probes("carol@example.org"); n != 1 {
			t.Errorf("carol probed %d times, want once (the second answer from the verify cache)", n)
		}
		// The file permits postmaster before it verifies: no probe.
		if got := askOnce(t, addr, requestFull("192.0.2.10", "mx.example.net", "alice@example.net", "postmaster@example.org")); got != "action=DUNNO" {
			t.Errorf("postmaster = %q, want action=DUNNO", got)
		}
		if n := mx.probes("postmaster@example.org"); n != 0 {
			t.Errorf("postmaster probed %d times; the file's OK comes first and the callout runs nowhere else", n)
		}
	})

	t.Run("the file's reject_unverified_sender", func(t *testing.T) {
		cf := writeFile(t, "main.cf", "smtpd_sender_restrictions = reject_unverified_sender\n")
		addr := startPolicyd(t, append(base, "-config", cf)...)
		got := askOnce(t, addr, requestFull("192.0.2.10", "mx.example.net", "mallory@senders.test", "bob@example.org"))
		// Postfix's default unverified_sender_reject_code, 450, answers as
		// unverified_sender_tempfail_action says: defer_if_permit.
		if !strings.HasPrefix(got, "action=DEFER_IF_PERMIT 4.1.7 Sender address <mallory@senders.test>: unverified address: host mx.senders.test[127.0.0.1]") ||
			!strings.Contains(got, "said: 550 5.1.1 no such user") {
			t.Errorf("sender its MX host refuses = %q, want Postfix's DEFER_IF_PERMIT 4.1.7 unverified address with what the host said", got)
		}
		if got := askOnce(t, addr, requestFull("192.0.2.10", "mx.example.net", "alice@senders.test", "bob@example.org")); got != "action=DUNNO" {
			t.Errorf("sender its MX host knows = %q, want action=DUNNO", got)
		}
	})

	t.Run("without a verifier the file is refused", func(t *testing.T) {
		cf := writeFile(t, "main.cf", "smtpd_recipient_restrictions = reject_unverified_recipient\n")
		o, err := parseFlags([]string{"-greylist", "none", "-config", cf}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := build(t.Context(), o, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "reject_unverified_recipient needs a recipient verifier") {
			t.Errorf("build = %v, want the file refused for want of a verifier", err)
		}
	})
}

// -h says which checks policyd cannot run, by their flags, and that
// BATV and the callouts run.
func TestUsageNamesChecksItCannotRun(t *testing.T) {
	var out strings.Builder
	if _, err := parseFlags([]string{"-h"}, &out); err == nil {
		t.Fatal("parseFlags(-h) = nil, want flag.ErrHelp")
	}
	usage := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{"no message, so these checks cannot run here: DKIM, DMARC and ARC", "-msgauth ", "-arc-verify ", "-duplicate ",
		"-clamd-socket ", "-uribl ", "owns no client connection, so smtpf's four21 test cannot run either (-four21 ", "BATV and the callouts run here"} {
		if !strings.Contains(usage, want) {
			t.Errorf("-h lacks %q:\n%s", want, out.String())
		}
	}
}
