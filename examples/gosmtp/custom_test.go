package gosmtp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// smtpCode returns the code and enhanced code of a go-smtp error, 0 and ""
// for nil.
func smtpCode(t *testing.T, err error) (int, string) {
	t.Helper()
	if err == nil {
		return 0, ""
	}
	var e *smtp.SMTPError
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an SMTP reply", err)
	}
	if e.EnhancedCode == smtp.NoEnhancedCode {
		return e.Code, ""
	}
	return e.Code, fmt.Sprintf("%d.%d.%d", e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2])
}

// A go-smtp Backend of one's own that runs its policy through Checks
// greylists (4xx, then the retry after the delay is accepted), gives a
// HELO refusal at RCPT (delayed rejection) and stores the message with the
// Received line, then X-Greylist, then the data.
func TestChecksCustomBackend(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var stored []string
	be := &myBackend{policy: greylistPolicy(clock), store: func(m *gosmtp.Message) error {
		var b bytes.Buffer
		if _, err := m.WriteTo(&b); err != nil {
			return err
		}
		mu.Lock()
		stored = append(stored, b.String())
		mu.Unlock()
		return nil
	}}
	srv := smtp.NewServer(be)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	if code, enh := smtpCode(t, sendOnce(addr, "client.example.net")); code != 451 || enh != "4.7.1" {
		t.Fatalf("first attempt: %d %s, want 451 4.7.1 (greylisted)", code, enh)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if code, _ := smtpCode(t, sendOnce(addr, "client.example.net")); code != 451 {
		t.Fatalf("retry within the delay: %d, want 451", code)
	}
	mu.Lock()
	now = now.Add(5 * time.Minute)
	mu.Unlock()
	if err := sendOnce(addr, "client.example.net"); err != nil {
		t.Fatalf("retry after the delay: %v, want accepted", err)
	}
	mu.Lock()
	msgs := append([]string(nil), stored...)
	mu.Unlock()
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1", len(msgs))
	}
	lines := strings.Split(msgs[0], "\r\n")
	if !strings.HasPrefix(lines[0], "Received: from client.example.net ") {
		t.Errorf("stored message starts %q, want the Received line", lines[0])
	}
	i := 0
	for i < len(lines) && !strings.HasPrefix(lines[i], "X-Greylist: ") {
		i++
	}
	if i == len(lines) || i < 3 {
		t.Fatalf("stored message %q: want X-Greylist after the Received line", msgs[0])
	}
	if want := "X-Greylist: delayed 360 seconds by smtppolicy at mx.example.org"; !strings.HasPrefix(lines[i], want) {
		t.Errorf("header %q, want %q...", lines[i], want)
	}
	if rest := strings.Join(lines[i+1:], "\r\n"); rest != "Subject: hi\r\n\r\nhello\r\n" {
		t.Errorf("after X-Greylist: %q, want the data as sent", rest)
	}

	// A HELO refusal is held: EHLO and MAIL are accepted, RCPT refused.
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("notfqdn"); err != nil {
		t.Fatalf("EHLO notfqdn: %v, want the refusal held for RCPT", err)
	}
	if err := c.Mail("carol@example.net", nil); err != nil {
		t.Fatalf("MAIL: %v, want the refusal held for RCPT", err)
	}
	if code, enh := smtpCode(t, c.Rcpt("bob@example.org", nil)); code != 550 || enh != "5.7.0" {
		t.Fatalf("RCPT after a refused HELO: %d %s, want 550 5.7.0", code, enh)
	}
}

// Run turns defer-if-permit into a refusal at RCPT, where the Result of
// the check itself does not refuse.
func TestChecksRunDeferIfPermit(t *testing.T) {
	grey := func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := smtpcheck.Refuse(reply.Greylisted(60), smtpcheck.Reason{Check: "grey"})
		r.Action = smtpcheck.DeferIfPermit
		return r
	}
	s := checktest.NewSession("192.0.2.1").From("a@example.net").To("b@example.org").Session()
	if r := grey(t.Context(), s); r.Action.Refuses() {
		t.Fatalf("the check's own result refuses (%v): the test proves nothing", r.Action)
	}
	c := &gosmtp.Checks{Policy: &smtpcheck.Policy{Rcpt: grey}, Session: s}
	if code, enh := smtpCode(t, c.Run(t.Context(), smtpcheck.StageRcpt)); code != 451 || enh != "4.7.1" {
		t.Fatalf("Run(rcpt) = %d %s, want 451 4.7.1", code, enh)
	}
}

// ReplyError keeps a folded reply's lines and its enhanced code on each.
func TestReplyError(t *testing.T) {
	r := reply.MustNew(550, "5.7.1", "first line", "second line")
	e := gosmtp.ReplyError(r)
	if e.Code != 550 || e.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) || e.Message != "5.7.1 first line\nsecond line" {
		t.Fatalf("ReplyError(%q) = %d %v %q", r.String(), e.Code, e.EnhancedCode, e.Message)
	}
	e = gosmtp.ReplyError(reply.MustNew(421, "", "bye"))
	if e.EnhancedCode != smtp.NoEnhancedCode || e.Message != "bye" {
		t.Fatalf("ReplyError(421 bye) = %v %q", e.EnhancedCode, e.Message)
	}
}
