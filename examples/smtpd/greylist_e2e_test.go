package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startGreylisting starts the server with greylisting in memory.
func startGreylisting(t *testing.T, args ...string) *server {
	t.Helper()
	return startServer(t, append([]string{"-greylist", "memory:"}, args...)...)
}

// The access map's Grey-To: sets the period for a recipient (smtpf's
// greylist period override), while others wait the default delay.
func TestSwaksGreyToOverride(t *testing.T) {
	m := filepath.Join(t.TempDir(), "access.cf")
	if err := os.WriteFile(m, []byte("Grey-To:vip@example.org 2s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startGreylisting(t, "-greylist-delay", "1h", "-access", m)
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "vip@example.org")
	if err == nil || !strings.Contains(out, "451 4.7.1 greylisted, try again in 2 seconds") {
		t.Errorf("Grey-To: 2s recipient: want a two-second greylisting; err=%v\n%s", err, out)
	}
	out, err = swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	if err == nil || !strings.Contains(out, "451 4.7.1 greylisted, try again in 3600 seconds") {
		t.Errorf("other recipient: want the hour's greylisting; err=%v\n%s", err, out)
	}
}

func TestSwaksGreylistedThenAccepted(t *testing.T) {
	s := startGreylisting(t, "-greylist-delay", "2s")
	send := func() (string, error) {
		return swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	}
	out, err := send()
	if err == nil || !strings.Contains(out, "451 4.7.1 greylisted, try again in 2 seconds") {
		t.Fatalf("first attempt: swaks err %v, want a 451 4.7.1 greylisting reply\n%s", err, out)
	}
	out, err = send()
	if err == nil || !strings.Contains(out, "451 4.7.1") {
		t.Fatalf("early retry: swaks err %v, want 451 again\n%s", err, out)
	}
	time.Sleep(2100 * time.Millisecond)
	out, err = send()
	if err != nil || !strings.Contains(out, "<-  250 ") {
		t.Fatalf("retry after the delay: swaks err %v, want 250\n%s", err, out)
	}
	msgs := s.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1", len(msgs))
	}
	if !strings.Contains(string(msgs[0]), "X-Greylist: delayed ") {
		t.Errorf("stored message lacks the X-Greylist header:\n%s", msgs[0])
	}
}
