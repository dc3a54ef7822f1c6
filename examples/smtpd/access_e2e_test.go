package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A client black listed in the access map at connect is refused at RCPT
// (delayed rejection), while postmaster@ still gets its mail.
func TestSwaksDelayedRejectionAtRcpt(t *testing.T) {
	m := filepath.Join(t.TempDir(), "access.cf")
	err := os.WriteFile(m, []byte("# test map\nConnect:127.0.0.1 REJECT\nTo:postmaster@example.org OK\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "-access", m)

	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	if err == nil {
		t.Fatalf("swaks succeeded for a black-listed client:\n%s", out)
	}
	// The greeting, EHLO and MAIL pass; the refusal comes at RCPT.
	for _, want := range []string{"<-  220 ", "<-  250 2.0.0 ", "-> RCPT TO:<bob@example.org>", "<** 550 5.7.1 host unknown [127.0.0.1] black listed"} {
		if !strings.Contains(out, want) {
			t.Errorf("swaks transcript lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "MAIL FROM"), strings.Index(out, "<** 550"); i < 0 || j < i {
		t.Errorf("the rejection did not come after MAIL FROM:\n%s", out)
	}

	out, err = swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "postmaster@example.org")
	if err != nil {
		t.Fatalf("swaks to postmaster@ was refused: %v\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("stored %d messages, want the one to postmaster@", n)
	}
	log := s.logText(t)
	if !strings.Contains(log, "delayed=true") || !strings.Contains(log, "access") {
		t.Errorf("decision log does not show the delayed access rejection:\n%s", log)
	}
}
