package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf/postfixtest"
)

// With -config the file is the whole policy: the hygiene checks that are on
// by default do not join it, and run only when -hygiene is given.
func TestSwaksConfigFileDecides(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(conf, []byte("smtpd_banner = $myhostname ESMTP\nbiff = no\nsmtpd_recipient_restrictions = reject_unauth_destination\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	send := func(s *server, rcpt string) (string, error) {
		// A non-FQDN HELO: the default hygiene list refuses it, the file
		// does not.
		return swaks(t, s.addr, "--helo", "WORKSTATION", "--from", "alice@example.net", "--to", rcpt)
	}

	s := startServer(t, "-config", conf)
	if out, err := send(s, "bob@example.org"); err != nil || !strings.Contains(out, "<-  250 ") {
		t.Errorf("file without HELO checks, default flags: err %v, want the message accepted\n%s", err, out)
	}
	if out, err := send(s, "eve@elsewhere.example"); err == nil || !strings.Contains(out, "<** 554 5.7.1 <eve@elsewhere.example>:") {
		t.Errorf("the file's own relay check: err %v, want 554 5.7.1\n%s", err, out)
	}
	if !strings.Contains(s.logText(t), `off=[-hygiene]`) {
		t.Errorf("log does not say which built-in defaults the file turned off")
	}
	if !strings.Contains(s.logText(t), `ignored=smtpd_banner,biff`) {
		t.Errorf("log does not list the parameters that do not shape the policy")
	}

	s = startServer(t, "-config", conf, "-hygiene")
	if out, err := send(s, "bob@example.org"); err == nil || !strings.Contains(out, "<** 550 5.7.0 HELO WORKSTATION argument must be a FQDN") {
		t.Errorf("file with -hygiene given: err %v, want the hygiene refusal\n%s", err, out)
	}
}

// A main.cf of nested $name references ("billion laughs") is refused at
// load with its file and line, not expanded until memory runs out.
func TestConfigBillionLaughs(t *testing.T) {
	var b strings.Builder
	b.WriteString("lol0 = lol\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "lol%d =%s\n", i, strings.Repeat(fmt.Sprintf(" $lol%d", i-1), 1800))
	}
	b.WriteString("smtpd_recipient_restrictions = reject_unauth_destination, check_sender_access inline:{ x=REJECT $lol9 }\n")
	conf := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := setup([]string{"-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-config", conf}, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), conf+":11: smtpd_recipient_restrictions: parameter expansion too large") {
		t.Fatalf("setup with a %d-byte billion-laughs file: %v, want %s:11 and the expansion bound", b.Len(), err, conf)
	}
}

// smtpd_delay_reject = no in the file answers a HELO refusal at EHLO, as
// Postfix does; the default holds it for RCPT.
func TestConfigDelayReject(t *testing.T) {
	for _, tt := range []struct {
		conf       string
		ehlo, rcpt int
	}{
		{"smtpd_helo_restrictions = reject_non_fqdn_helo_hostname\n", 250, 504},
		{"smtpd_delay_reject = no\nsmtpd_helo_restrictions = reject_non_fqdn_helo_hostname\n", 504, 0},
	} {
		conf := filepath.Join(t.TempDir(), "main.cf")
		if err := os.WriteFile(conf, []byte(tt.conf), 0o644); err != nil {
			t.Fatal(err)
		}
		s := startServer(t, "-config", conf)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		c, _, err := postfixtest.Dial(ctx, s.addr, "")
		if err != nil {
			t.Fatal(err)
		}
		ehlo, _ := c.Cmd("EHLO workstation")
		if ehlo.Code != tt.ehlo {
			t.Errorf("%q: EHLO workstation = %v, want %d", tt.conf, ehlo, tt.ehlo)
		}
		if tt.rcpt != 0 {
			c.Cmd("MAIL FROM:<alice@example.net>")
			if r, _ := c.Cmd("RCPT TO:<bob@example.org>"); r.Code != tt.rcpt {
				t.Errorf("%q: RCPT = %v, want %d", tt.conf, r, tt.rcpt)
			}
		}
		c.Close()
		cancel()
	}
}
