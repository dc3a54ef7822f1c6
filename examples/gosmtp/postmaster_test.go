package gosmtp_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// refuseAll refuses every recipient, as a listed client's would be.
func refuseAll(_ context.Context, s *smtpcheck.Session) smtpcheck.Result {
	return smtpcheck.Refuse(reply.HostBlacklisted("bl.test", s.Conn.ClientIP.String()), smtpcheck.Reason{Check: "dnsbl"})
}

// delivered collects the messages a server delivers.
type delivered struct {
	mu    sync.Mutex
	msgs  []*gosmtp.Message
	data  []string              // each message as stored
	rcpts [][]smtpcheck.Address // each message's recipients when delivered
}

// deliver reads the message while Deliver runs: a spooled message is gone
// once it returns.
func (d *delivered) deliver(_ context.Context, m *gosmtp.Message) error {
	rc, err := m.Data.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, m)
	d.data = append(d.data, string(data))
	d.rcpts = append(d.rcpts, append([]smtpcheck.Address(nil), m.Session.Rcpts...))
	return nil
}

func (d *delivered) all() []*gosmtp.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.msgs
}

// <Postmaster> is accepted even when the line arrives in pieces, reaches
// the session without a domain, and a body line that looks like it is
// left alone.
func TestBarePostmasterAccepted(t *testing.T) {
	var got delivered
	addr := serve(t, gosmtp.Config{Policy: policyFor(smtpcheck.StageRcpt, refuseAll), Deliver: got.deliver})
	c := dial(t, addr)
	c.reply()
	c.cmd("EHLO mx.example.net")
	c.cmd("MAIL FROM:<alice@example.net>")
	for _, piece := range []string{"RCPT TO:<Post", "Mas", "ter>\r\n"} {
		if _, err := c.conn.Write([]byte(piece)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := last(c.reply()); !strings.HasPrefix(r, "250") {
		t.Fatalf("RCPT TO:<PostMaster> in pieces = %q, want 250", r)
	}
	if r := last(c.cmd("RCPT TO:<bob@example.org>")); !strings.HasPrefix(r, "550") {
		t.Errorf("RCPT TO:<bob@example.org> = %q, want the refusal", r)
	}
	c.cmd("DATA")
	body := "Subject: x\r\n\r\nRCPT TO:<Postmaster>\r\n"
	if r := last(c.cmd(body + ".")); !strings.HasPrefix(r, "250") {
		t.Fatalf("end of data = %q, want 250", r)
	}
	msgs := got.all()
	if len(msgs) != 1 {
		t.Fatalf("delivered %d messages, want 1", len(msgs))
	}
	got.mu.Lock()
	rc := got.rcpts[0]
	got.mu.Unlock()
	if len(rc) != 1 || rc[0] != (smtpcheck.Address{Local: "PostMaster"}) {
		t.Errorf("recipients = %+v, want the one PostMaster without a domain", rc)
	}
	got.mu.Lock()
	data := got.data[0]
	got.mu.Unlock()
	if data != body {
		t.Errorf("message = %q, want %q as sent", data, body)
	}
}

// A BDAT chunk is binary: a chunk that starts like RCPT TO:<Postmaster>
// and has no line end reaches the message untouched, and the server does
// not wait for a line end that never comes.
func TestBDATChunkNotRewritten(t *testing.T) {
	var got delivered
	addr := serve(t, gosmtp.Config{Deliver: got.deliver})
	c := dial(t, addr)
	c.reply()
	c.cmd("EHLO mx.example.net")
	c.cmd("MAIL FROM:<alice@example.net>")
	c.cmd("RCPT TO:<bob@example.org>")
	chunk := "RCPT TO:<Postmaster>"
	if _, err := fmt.Fprintf(c.conn, "BDAT %d LAST\r\n%s", len(chunk), chunk); err != nil {
		t.Fatal(err)
	}
	if r := last(c.reply()); !strings.HasPrefix(r, "250") {
		t.Fatalf("BDAT = %q, want 250", r)
	}
	msgs := got.all()
	if len(msgs) != 1 {
		t.Fatalf("delivered %d messages, want 1", len(msgs))
	}
	got.mu.Lock()
	data := got.data[0]
	got.mu.Unlock()
	if data != chunk {
		t.Errorf("message = %q, want %q", data, chunk)
	}
}

// Without delayed rejection a refusal of a repeated EHLO is given at MAIL;
// a corrected EHLO after it is judged instead.
func TestRepeatedEhloCorrected(t *testing.T) {
	badHelo := func(_ context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Helo.Name == "localhost" {
			return smtpcheck.Refuse(reply.HeloNeedFQDN(s.Helo.Name), smtpcheck.Reason{Check: "helo"})
		}
		return smtpcheck.Result{}
	}
	addr := serve(t, gosmtp.Config{Policy: policyFor(smtpcheck.StageHelo, badHelo)})
	c := dial(t, addr)
	c.reply()
	c.cmd("EHLO mx1.example.net")
	c.cmd("EHLO localhost")
	if r := last(c.cmd("MAIL FROM:<alice@example.net>")); !strings.HasPrefix(r, "5") {
		t.Errorf("MAIL after EHLO localhost = %q, want the HELO's refusal", r)
	}

	c = dial(t, addr)
	c.reply()
	c.cmd("EHLO mx1.example.net")
	c.cmd("EHLO localhost")
	c.cmd("EHLO mx2.example.net")
	if r := last(c.cmd("MAIL FROM:<alice@example.net>")); !strings.HasPrefix(r, "250") {
		t.Errorf("MAIL after a corrected EHLO = %q, want 250", r)
	}
}

// postmaster@ a served domain is accepted like <Postmaster>; a leading dot
// serves the subdomains; postmaster@ any other domain is judged as usual.
func TestPostmasterOfServedDomains(t *testing.T) {
	addr := serve(t, gosmtp.Config{
		Policy:            policyFor(smtpcheck.StageRcpt, refuseAll),
		PostmasterDomains: []string{"example.org.", ".example.net"},
	})
	c := dial(t, addr)
	c.reply()
	c.cmd("EHLO mx.example.com")
	c.cmd("MAIL FROM:<alice@example.com>")
	for rcpt, want := range map[string]string{
		"POSTMASTER@Example.Org":      "250",
		"postmaster@mx.example.net":   "250",
		"postmaster@example.com":      "550",
		"postmaster@badexample.net":   "550",
		"webmaster@example.org":       "550",
		"postmaster@sub.example.org":  "550",
		"postmaster@example.org.evil": "550",
	} {
		if r := last(c.cmd("RCPT TO:<" + rcpt + ">")); !strings.HasPrefix(r, want) {
			t.Errorf("RCPT TO:<%s> = %q, want %s", rcpt, r, want)
		}
	}
}

// A client that sends the message with DATA, before the 354, still has it
// stored as sent: a line in it that reads RCPT TO:<Postmaster> is message
// data, not a command to rewrite.
func TestMessageBefore354NotRewritten(t *testing.T) {
	var got delivered
	addr := serve(t, gosmtp.Config{Deliver: got.deliver})
	c := dial(t, addr)
	c.reply()
	c.cmd("EHLO mx.example.net")
	c.cmd("MAIL FROM:<alice@example.net>")
	c.cmd("RCPT TO:<bob@example.org>")
	body := "RCPT TO:<Postmaster>\r\n"
	if _, err := fmt.Fprintf(c.conn, "DATA\r\n%s.\r\n", body); err != nil {
		t.Fatal(err)
	}
	if r := last(c.reply()); !strings.HasPrefix(r, "354") {
		t.Fatalf("DATA = %q, want 354", r)
	}
	if r := last(c.reply()); !strings.HasPrefix(r, "250") {
		t.Fatalf("end of data = %q, want 250", r)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.data) != 1 || got.data[0] != body {
		t.Errorf("messages = %q, want one %q as sent", got.data, body)
	}
}
