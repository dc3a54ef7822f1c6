package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf/postfixtest"
)

// smtpStep is one command of a session and the reply Postfix gave it.
type smtpStep struct {
	cmd   string
	reply postfixtest.Reply
}

// queued is the queue ID in Postfix's reply to the end of a message, the
// one part of a reply that differs between two instances by design.
var queued = regexp.MustCompile(`queued as [0-9A-Za-z]+`)

// greySession runs one SMTP session through a private Postfix at addr:
// XCLIENT makes it come from client (named name, or "unknown" when name is
// empty), then MAIL, one RCPT per recipient and, when one was accepted,
// DATA and a message. It returns every command's reply.
func greySession(t *testing.T, addr, client, name, from string, rcpts ...string) []smtpStep {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	c, greet, err := postfixtest.Dial(ctx, addr, "")
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	steps := []smtpStep{{"(greeting)", greet}}
	do := func(cmd string) postfixtest.Reply {
		r, err := c.Cmd(cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		r.Text = queued.ReplaceAllString(r.Text, "queued as QUEUEID")
		steps = append(steps, smtpStep{cmd, r})
		return r
	}
	do("EHLO client.test")
	if name == "" {
		name = "[UNAVAILABLE]"
	}
	if r := do("XCLIENT ADDR=" + client + " NAME=" + name + " REVERSE_NAME=" + name + " HELO=mx.example.net"); r.Code != 220 {
		t.Fatalf("XCLIENT: %v", r)
	}
	do("EHLO mx.example.net")
	if r := do("MAIL FROM:<" + from + ">"); r.Code != 250 {
		return steps
	}
	accepted := false
	for _, rcpt := range rcpts {
		accepted = do("RCPT TO:<"+rcpt+">").Code == 250 || accepted
	}
	if accepted {
		if r := do("DATA"); r.Code == 354 {
			do("Subject: greylisting\r\nFrom: <" + from + ">\r\n\r\nhello\r\n.")
		}
	}
	return steps
}

// The same greylisting sequence through two private Postfix instances,
// one asking the real postgrey and one asking policyd started with the
// same postgrey options, gets the same reply code, enhanced code and text
// for every command: the first attempt, an early retry, the retry after
// the delay, a client auto-allowed after its pass, a new triplet from the
// same network, allowlisted clients (by name and by address) and
// recipient, and the null sender. Postfix 2.3 and later send etrn_domain,
// so postgrey answers with 4.2.0 (its work-around for Exchange); policyd
// must too.
func TestPostgreyAndPolicydThroughPostfix(t *testing.T) {
	dir := t.TempDir()
	clients := filepath.Join(dir, "whitelist_clients")
	recipients := filepath.Join(dir, "whitelist_recipients")
	if err := os.WriteFile(clients, []byte("friend.example\n192.0.2.200\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(recipients, []byte("optout@example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const delay = 5 // seconds: --delay
	args := []string{fmt.Sprintf("--delay=%d", delay), "--auto-whitelist-clients=1",
		"--whitelist-clients=" + clients, "--whitelist-recipients=" + recipients, "--hostname=mx.test"}

	pg, pgLog := startPostgreyLog(t, args...)
	pd, pdAddr := startProc(t, nil, append([]string{"-listen", "127.0.0.1:0", "-greylist", "memory:"}, args...)...)

	listen := &ports{t: t}
	viaPostgrey, viaPolicyd := listen.next(), listen.next()
	listen.release()
	startPostfix(t, []string{viaPostgrey + " inet n - n - - smtpd -o { smtpd_recipient_restrictions = check_policy_service inet:" + pg + " }"})
	startPostfix(t, []string{viaPolicyd + " inet n - n - - smtpd -o { smtpd_recipient_restrictions = check_policy_service inet:" + pdAddr + " }"})

	type attempt struct {
		name, client, clientName, from string
		rcpts                          []string
		afterDelay                     bool   // wait out the delay since the first attempt
		want                           string // the first RCPT's code and enhanced code through postgrey
	}
	const from = "alice@example.net"
	seq := []attempt{
		{name: "first attempt", client: "192.0.2.10", from: from, rcpts: []string{"bob@example.org"}, want: "450 4.2.0"},
		{name: "early retry", client: "192.0.2.10", from: from, rcpts: []string{"bob@example.org"}, want: "450 4.2.0"},
		{name: "retry after the delay", client: "192.0.2.10", from: from, rcpts: []string{"bob@example.org"}, afterDelay: true, want: "250 2.1.5"},
		{name: "auto-allowed after one pass", client: "192.0.2.10", from: from, rcpts: []string{"carol@example.org"}, want: "250 2.1.5"},
		{name: "same network, passed triplet", client: "192.0.2.11", from: from, rcpts: []string{"bob@example.org"}, want: "250 2.1.5"},
		{name: "same network, new triplet", client: "192.0.2.11", from: from, rcpts: []string{"dave@example.org"}, want: "450 4.2.0"},
		{name: "allowlisted client name", client: "198.51.100.7", clientName: "mail.friend.example", from: from, rcpts: []string{"bob@example.org"}, want: "250 2.1.5"},
		{name: "allowlisted client address", client: "192.0.2.200", from: from, rcpts: []string{"bob@example.org"}, want: "250 2.1.5"},
		{name: "allowlisted recipient", client: "203.0.113.5", from: from, rcpts: []string{"optout@example.org", "bob@example.org"}, want: "250 2.1.5"},
		{name: "null sender", client: "203.0.113.6", from: "", rcpts: []string{"bob@example.org"}, want: "450 4.2.0"},
	}
	var first time.Time
	for _, a := range seq {
		if a.afterDelay {
			time.Sleep(time.Until(first.Add((delay + 1) * time.Second)))
		}
		start := time.Now()
		got := greySession(t, viaPostgrey, a.client, a.clientName, a.from, a.rcpts...)
		ours := greySession(t, viaPolicyd, a.client, a.clientName, a.from, a.rcpts...)
		if first.IsZero() {
			// The later of the two first attempts: both delays have run
			// out once this one's has.
			first = time.Now()
		} else if a.name == "early retry" && time.Since(start) >= delay*time.Second {
			t.Fatalf("the early retry took %v, more than the delay: the machine is too slow for this sequence", time.Since(start))
		}
		rcpt := -1
		for i, s := range got {
			if strings.HasPrefix(s.cmd, "RCPT") {
				rcpt = i
				break
			}
		}
		if rcpt < 0 || strings.TrimSpace(fmt.Sprintf("%d %s", got[rcpt].reply.Code, got[rcpt].reply.Enhanced)) != a.want {
			t.Errorf("%s: postgrey behind Postfix answered %v, want %s (the sequence does not test what it says)", a.name, got, a.want)
		}
		for i := 0; i < len(got) || i < len(ours); i++ {
			var g, o smtpStep
			if i < len(got) {
				g = got[i]
			}
			if i < len(ours) {
				o = ours[i]
			}
			if g.cmd != o.cmd || g.reply != o.reply {
				t.Errorf("%s: %s: through policyd %q %q, through postgrey %q %q", a.name, g.cmd, o.cmd, o.reply, g.cmd, g.reply)
			}
		}
		t.Logf("%-28s %s", a.name, summary(got))
	}
	t.Logf("postgrey's log:\n%s", linesWith(pgLog.String(), "action="))
	t.Logf("policyd's log:\n%s", linesWith(pd.log.String(), "action="))
}

// summary is a session's RCPT replies on one line.
func summary(steps []smtpStep) string {
	var out []string
	for _, s := range steps {
		if strings.HasPrefix(s.cmd, "RCPT") {
			out = append(out, s.reply.String())
		}
	}
	return strings.Join(out, " | ")
}

// linesWith returns the lines of s that contain sub.
func linesWith(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
