package main

import (
	"io"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An access table in the -config file, over SMTP: HOLD puts the message in
// quarantine, PREPEND adds the header, DISCARD accepts and drops it; a
// table with an action only Postfix carries out (FILTER) is refused at
// load, naming its line.
func TestSwaksTableActions(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "sender_access")
	if err := os.WriteFile(table, []byte("held.example HOLD suspicious\ntag.example PREPEND X-Tag: tagged by table\ngone.example DISCARD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "main.cf")
	if err := os.WriteFile(conf, []byte("smtpd_sender_restrictions = check_sender_access hash:"+table+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "-config", conf, "-hygiene=false", "-spf=false")
	send := func(from string) {
		t.Helper()
		if out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", from, "--to", "bob@example.org"); err != nil {
			t.Fatalf("swaks from %s: %v\n%s", from, err, out)
		}
	}

	send("a@tag.example")
	msgs := s.messages(t)
	if len(msgs) != 1 || !strings.Contains(string(msgs[0]), "X-Tag: tagged by table") {
		t.Fatalf("PREPEND: stored %d messages, want 1 with X-Tag", len(msgs))
	}
	send("a@gone.example")
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("DISCARD: %d messages stored, want still 1", n)
	}
	send("a@held.example")
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("HOLD: %d messages in the mail directory, want still 1", n)
	}
	held, err := filepath.Glob(filepath.Join(s.maildir, "quarantine", "*.eml"))
	if err != nil || len(held) != 1 {
		t.Errorf("HOLD: quarantine holds %d messages (%v), want 1", len(held), err)
	}

	bad := filepath.Join(dir, "filter_access")
	if err := os.WriteFile(bad, []byte("ok.example OK\nfilt.example FILTER smtp:[127.0.0.1]:10025\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badConf := filepath.Join(dir, "bad.cf")
	if err := os.WriteFile(badConf, []byte("smtpd_sender_restrictions = check_sender_access hash:"+bad+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = setup([]string{"-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-config", badConf}, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), bad+":2") || !strings.Contains(err.Error(), "FILTER") {
		t.Errorf("setup with a FILTER table: %v, want an error naming %s:2 and FILTER", err, bad)
	}
}

// A policy in Postfix's words answers an SMTP client with Postfix's codes:
// an access table's explicit 4NN and DEFER stay temporary, a bad HELO
// address literal gets 501.
func TestSwaksPostfixCodes(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "recipient_access")
	if err := os.WriteFile(table, []byte("later@example.org 450 4.7.1 come back later\nsoft@example.org DEFER\nhard@example.org 550 5.7.1 go away\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "main.cf")
	if err := os.WriteFile(conf, []byte("smtpd_helo_restrictions = reject_non_fqdn_helo_hostname\nsmtpd_recipient_restrictions = check_recipient_access hash:"+table+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "-config", conf, "-hygiene=false", "-spf=false")
	tests := []struct{ helo, rcpt, want string }{
		{"mx.example.net", "later@example.org", "<** 450 4.7.1 <later@example.org>: Recipient address rejected: come back later"},
		{"mx.example.net", "soft@example.org", "<** 450 4.7.1 <soft@example.org>: Recipient address rejected: Access denied"},
		{"mx.example.net", "hard@example.org", "<** 550 5.7.1 <hard@example.org>: Recipient address rejected: go away"},
		{"[1.2.3]", "bob@example.org", "<** 501 5.5.2 <[1.2.3]>: Helo command rejected: invalid ip address"},
	}
	for _, tt := range tests {
		out, _ := swaks(t, s.addr, "--helo", tt.helo, "--from", "alice@example.net", "--to", tt.rcpt, "--quit-after", "RCPT")
		if !strings.Contains(out, tt.want) {
			t.Errorf("HELO %s RCPT TO:<%s>: want %q in:\n%s", tt.helo, tt.rcpt, tt.want, out)
		}
	}
}

// A -postfix-access table with an action only Postfix carries out is
// refused at start, naming its line, rather than silently ignored.
func TestPostfixAccessFlagRefusesPostfixOnlyActions(t *testing.T) {
	table := filepath.Join(t.TempDir(), "access")
	if err := os.WriteFile(table, []byte("ok.example OK\nredir.example REDIRECT abuse@example.org\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := setup([]string{"-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-postfix-access", "hash:" + table}, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), table+":2") || !strings.Contains(err.Error(), "REDIRECT") {
		t.Errorf("setup with a REDIRECT table: %v, want an error naming %s:2 and REDIRECT", err, table)
	}
}

// A client table's PREPEND reaches every message of a connection, with
// smtpd_delay_reject on (the client restrictions then run at each RCPT, in
// Postfix as here) and off (they run once, at connect). Off, Postfix 3.7
// adds the header to no message at all: it forgets it with the
// transaction state before the first MAIL; the front-ends keep what the
// connection's checks asked for, for each of its messages.
func TestClientTableMarksEveryMessage(t *testing.T) {
	for _, delay := range []string{"yes", "no"} {
		t.Run("smtpd_delay_reject="+delay, func(t *testing.T) { clientTableMarksEveryMessage(t, delay) })
	}
}

func clientTableMarksEveryMessage(t *testing.T, delay string) {
	dir := t.TempDir()
	table := filepath.Join(dir, "client_access")
	if err := os.WriteFile(table, []byte("127.0.0.1 PREPEND X-Client: tagged by table\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "main.cf")
	if err := os.WriteFile(conf, []byte("smtpd_delay_reject = "+delay+"\nsmtpd_client_restrictions = check_client_access cidr:"+table+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "-config", conf, "-hygiene=false", "-spf=false")
	c, err := smtp.Dial(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mx.example.net"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := c.Mail("alice@example.net"); err != nil {
			t.Fatalf("message %d: MAIL: %v", i+1, err)
		}
		if err := c.Rcpt("bob@example.org"); err != nil {
			t.Fatalf("message %d: RCPT: %v", i+1, err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatalf("message %d: DATA: %v", i+1, err)
		}
		io.WriteString(w, "Subject: one of two\n\nbody\n")
		if err := w.Close(); err != nil {
			t.Fatalf("message %d: end of data: %v", i+1, err)
		}
	}
	msgs := s.messages(t)
	if len(msgs) != 2 {
		t.Fatalf("stored %d messages, want 2", len(msgs))
	}
	for i, m := range msgs {
		if !strings.Contains(string(m), "X-Client: tagged by table") {
			t.Errorf("message %d lacks the client table's header:\n%s", i+1, m)
		}
	}
}
