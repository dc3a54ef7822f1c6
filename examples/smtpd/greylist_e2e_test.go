package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// startGreylisting starts the server with greylisting from memory; it
// skips while main.go does not register greylistFlags.
func startGreylisting(t *testing.T, args ...string) *server {
	t.Helper()
	args = append([]string{"-greylist", "memory:"}, args...)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	_, ln, _, err := setup(append([]string{"-listen", "127.0.0.1:0", "-maildir", t.TempDir()}, args...), devnull)
	if err != nil && strings.Contains(err.Error(), "flag provided but not defined: -greylist") {
		t.Skip("main.go does not register greylistFlags yet")
	}
	if err == nil {
		ln.Close()
	}
	return startServer(t, args...)
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
