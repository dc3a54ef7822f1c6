package gosmtp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// tagging adds a header naming its stage, and quarantines the message
// when quarantine is set.
func tagging(name string, quarantine bool) smtpcheck.Check {
	return func(_ context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := smtpcheck.Result{Action: smtpcheck.Tag, Headers: []smtpcheck.HeaderField{{Name: "X-Stage", Value: name + " " + s.Helo.Name}}}
		if quarantine {
			r.Action = smtpcheck.Quarantine
		}
		if name == "helo" && s.Helo.Name != "tagged.example.net" {
			return smtpcheck.Result{}
		}
		return r
	}
}

// What a connect-stage check asks of the message (a header, quarantine)
// reaches every message of the connection, as Postfix's client
// restrictions under smtpd_delay_reject run again for each; a HELO-stage
// check's reaches the messages until the next HELO.
func TestConnectionStageMarksEveryMessage(t *testing.T) {
	var got delivered
	p := &smtpcheck.Policy{Connect: tagging("connect", true), Helo: tagging("helo", false)}
	addr := serve(t, gosmtp.Config{Policy: p, Deliver: got.deliver})
	c := dial(t, addr)
	c.reply()
	send := func(n int) {
		t.Helper()
		c.cmd("MAIL FROM:<alice@example.net>")
		c.cmd("RCPT TO:<bob@example.org>")
		c.cmd("DATA")
		if r := last(c.cmd("Subject: " + string(rune('0'+n)) + "\r\n\r\nbody\r\n.")); !strings.HasPrefix(r, "250") {
			t.Fatalf("message %d: %q, want 250", n, r)
		}
	}
	c.cmd("EHLO tagged.example.net")
	send(1)
	send(2)
	c.cmd("EHLO other.example.net")
	send(3)
	msgs := got.all()
	if len(msgs) != 3 {
		t.Fatalf("delivered %d messages, want 3", len(msgs))
	}
	want := []string{
		"connect  | helo tagged.example.net",
		"connect  | helo tagged.example.net",
		"connect ",
	}
	for i, m := range msgs {
		var vals []string
		for _, h := range m.Headers {
			vals = append(vals, h.Value)
		}
		if g := strings.Join(vals, " | "); g != want[i] || !m.Quarantine {
			t.Errorf("message %d: headers %q, quarantine %v; want %q, quarantined", i+1, g, m.Quarantine, want[i])
		}
	}
}

// Checks keeps the connect stage's and the HELO stage's marks across
// transactions too.
func TestChecksConnectionStageMarksEveryMessage(t *testing.T) {
	ctx := t.Context()
	c := &gosmtp.Checks{
		Policy:  &smtpcheck.Policy{Connect: tagging("connect", false), Helo: tagging("helo", true)},
		Session: &smtpcheck.Session{},
	}
	if err := c.Hello(ctx, "tagged.example.net"); err != nil {
		t.Fatal(err)
	}
	var headers []string
	var quarantined []bool
	for _, helo := range []string{"", "", "other.example.net"} {
		if helo != "" {
			if err := c.Hello(ctx, helo); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Mail(ctx, "alice@example.net", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(ctx, "bob@example.org"); err != nil {
			t.Fatal(err)
		}
		m, err := c.Data(ctx, strings.NewReader("Subject: x\r\n\r\nbody\r\n"))
		if err != nil || m == nil {
			t.Fatalf("Data = %v, %v", m, err)
		}
		var vals []string
		for _, h := range m.Headers {
			vals = append(vals, h.Value)
		}
		headers = append(headers, strings.Join(vals, " | "))
		quarantined = append(quarantined, m.Quarantine)
	}
	want := "connect  | helo tagged.example.net,connect  | helo tagged.example.net,connect "
	if g := strings.Join(headers, ","); g != want {
		t.Errorf("headers of three messages = %q, want %q", g, want)
	}
	if !quarantined[0] || !quarantined[1] || quarantined[2] {
		t.Errorf("quarantined = %v, want the two messages under the tagged HELO only", quarantined)
	}
}
