package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// Policies in Postfix's words, over SMTP: the client (127.0.0.1) is listed
// in a test DNS list served by an in-process DNS server.
func TestSwaksPostfixConfig(t *testing.T) {
	dns := dnstest.New(t)
	dns.ListIP("zen.test", "127.0.0.1", "127.0.0.2", "test listing")
	write := func(body string) string {
		p := filepath.Join(t.TempDir(), "main.cf")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	start := func(conf string) *server {
		// Only the file's restrictions: the no-network hygiene checks and SPF
		// are off so that the file alone decides.
		return startServer(t, "-config", write(conf), "-resolver", dns.Addr(), "-hygiene=false", "-spf=false")
	}
	send := func(s *server, rcpt string) (string, error) {
		return swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", rcpt)
	}

	t.Run("listed client refused with the rbl reply", func(t *testing.T) {
		s := start("mynetworks = 192.0.2.0/24\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, reject_rbl_client zen.test\n")
		out, err := send(s, "bob@example.org")
		if err == nil || !strings.Contains(out, "<** 554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.test; test listing") {
			t.Errorf("want the rbl reply; swaks err=%v:\n%s", err, out)
		}
	})
	t.Run("warn_if_reject lets it pass and logs the would-be reject", func(t *testing.T) {
		s := start("mynetworks = 192.0.2.0/24\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, warn_if_reject reject_rbl_client zen.test\n")
		out, err := send(s, "bob@example.org")
		if err != nil {
			t.Fatalf("swaks refused under warn_if_reject: %v\n%s", err, out)
		}
		log := s.logText(t)
		if !strings.Contains(log, "reject_warning") || !strings.Contains(log, "blocked using zen.test") {
			t.Errorf("log lacks the would-be reject:\n%s", log)
		}
		if n := len(s.messages(t)); n != 1 {
			t.Errorf("stored %d messages, want 1", n)
		}
	})
	t.Run("mynetworks client passes permit_mynetworks", func(t *testing.T) {
		s := start("mynetworks = 127.0.0.0/8\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, reject_rbl_client zen.test\n")
		out, err := send(s, "bob@example.org")
		if err != nil {
			t.Fatalf("swaks from mynetworks refused: %v\n%s", err, out)
		}
		if !strings.Contains(s.logText(t), "permit_mynetworks") {
			t.Errorf("decision log does not name permit_mynetworks")
		}
	})
	t.Run("relaying meets reject_unauth_destination", func(t *testing.T) {
		s := start("mynetworks = 192.0.2.0/24\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n")
		out, err := send(s, "eve@elsewhere.example")
		if err == nil || !strings.Contains(out, "<** 554 5.7.1 <eve@elsewhere.example>: Relay access denied") {
			t.Errorf("want Relay access denied; swaks err=%v:\n%s", err, out)
		}
	})
	// Postfix exempts only the bare <postmaster> from the lists
	// (smtpd_check.c); postmaster@ a served domain is a recipient like any
	// other, so the file's refusal stands for it.
	t.Run("postmaster@domain answered by the file, bare postmaster passes", func(t *testing.T) {
		s := start("mynetworks = 192.0.2.0/24\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, reject_rbl_client zen.test\n")
		c := dialLines(t, s.addr)
		c.expect("EHLO mx.example.net", "250")
		c.expect("MAIL FROM:<alice@example.net>", "250")
		c.expect("RCPT TO:<postmaster@example.org>", "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using zen.test")
		c.expect("RCPT TO:<Postmaster>", "250")
	})
	t.Run("a bad file is refused whole", func(t *testing.T) {
		_, _, _, err := setup([]string{"-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-config",
			write("smtpd_recipient_restrictions = permit_mynetworks,\n  reject_everything\n")}, os.Stderr)
		if err == nil || !strings.Contains(err.Error(), "main.cf:1") || !strings.Contains(err.Error(), "reject_everything") {
			t.Errorf("setup with a bad file: %v, want an error naming main.cf:1 and the restriction", err)
		}
	})
}
