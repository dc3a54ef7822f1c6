package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// startHygiene starts the server with the hygiene checks; it skips while
// main.go does not register hygieneFlags.
func startHygiene(t *testing.T, args ...string) *server {
	t.Helper()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	probe := append([]string{"-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-hygiene"}, args...)
	_, ln, _, err := setup(probe, devnull)
	if err != nil && strings.Contains(err.Error(), "flag provided but not defined: -hygiene") {
		t.Skip("main.go does not register hygieneFlags yet")
	}
	if err == nil {
		ln.Close()
	}
	return startServer(t, args...)
}

func TestSwaksHeloMustBeFQDN(t *testing.T) {
	s := startHygiene(t)
	out, err := swaks(t, s.addr, "--helo", "WORKSTATION", "--from", "alice@example.net", "--to", "bob@example.org")
	// Delayed rejection: the HELO refusal is given at RCPT.
	if err == nil || !strings.Contains(out, "<** 550 5.7.0 HELO WORKSTATION argument must be a FQDN or IP-domain literal") {
		t.Fatalf("swaks --helo WORKSTATION: err %v, want 550 5.7.0 at RCPT\n%s", err, out)
	}
	out, err = swaks(t, s.addr, "--helo", "[127.0.0.1]", "--from", "alice@example.net", "--to", "bob@example.org", "--data", "@"+writeMessage(t, testMessage))
	if err != nil || !strings.Contains(out, "<-  250 ") {
		t.Fatalf("swaks --helo [127.0.0.1] (the client's own literal): err %v, want the message accepted\n%s", err, out)
	}
}

func TestSwaksMissingHeadersRefused(t *testing.T) {
	s := startHygiene(t)
	bare := "Subject: no From, no Date\r\n\r\nhello\r\n"
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org", "--data", "@"+writeMessage(t, bare))
	if err == nil || !strings.Contains(out, "<** 554 5.6.0 missing RFC 2822 required headers") {
		t.Fatalf("swaks without From/Date: err %v, want 554 5.6.0\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 0 {
		t.Errorf("stored %d messages, want none", n)
	}
}

func TestSwaksSmugglingRefused(t *testing.T) {
	s := startHygiene(t)
	// A bare-LF dot line inside the data: a server that ends the message
	// there would run the smuggled MAIL FROM as a second message.
	smuggled := strings.Replace(testMessage, "Bye.\r\n", "Bye.\n.\nMAIL FROM:<ceo@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: forged\r\n\r\nwire money\r\n", 1)
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org",
		"--no-data-fixup", "--data", "@"+writeMessage(t, smuggled+".\r\n"))
	if err == nil || !strings.Contains(out, "<** 550 5.5.2 bare LF / bare CR in message") {
		t.Fatalf("swaks with a smuggled dot line: err %v, want 550 5.5.2\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 0 {
		t.Errorf("stored %d messages, want none", n)
	}
	if log := s.logText(t); !strings.Contains(log, "smtp-smuggling") {
		t.Errorf("log does not name the smuggling rule:\n%s", log)
	}
}

func writeMessage(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
