package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// accessMap writes an access map for a test.
func accessMap(t *testing.T, body string) string {
	t.Helper()
	m := filepath.Join(t.TempDir(), "access.cf")
	if err := os.WriteFile(m, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return m
}

// dialSMTP connects and returns the connection with a line reader.
func dialSMTP(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(15 * time.Second))
	return c, bufio.NewReader(c)
}

// readReply reads one whole (possibly multi-line) reply.
func readReply(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading reply: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if len(line) < 4 || line[3] != '-' {
			return b.String()
		}
	}
}

// GreetPause: in the access map gives a client its own pre-greeting pause:
// a client that talks during it is refused even without -greet-pause, and
// GreetPause: 0 exempts a client from -greet-pause.
func TestAccessMapGreetPause(t *testing.T) {
	t.Run("pause for the client", func(t *testing.T) {
		s := startServer(t, "-access", accessMap(t, "GreetPause:127.0.0.1 1s\n"))
		c, r := dialSMTP(t, s.addr)
		time.Sleep(200 * time.Millisecond) // well inside the pause
		c.Write([]byte("HELO eager.example.net\r\n"))
		readReply(t, r) // the greeting, sent after the pause
		readReply(t, r) // HELO
		c.Write([]byte("MAIL FROM:<a@example.net>\r\n"))
		readReply(t, r)
		c.Write([]byte("RCPT TO:<b@example.org>\r\n"))
		if got := readReply(t, r); !strings.Contains(got, "sent pre-greeting traffic") {
			t.Errorf("RCPT of a client that talked during its GreetPause: = %q, want the pre-greeting refusal", got)
		}
	})
	t.Run("zero exempts the client", func(t *testing.T) {
		s := startServer(t, "-greet-pause", "5s", "-access", accessMap(t, "GreetPause:127.0.0.1 0\n"))
		_, r := dialSMTP(t, s.addr)
		start := time.Now()
		got := readReply(t, r)
		if !strings.HasPrefix(got, "220 ") || time.Since(start) > 2*time.Second {
			t.Errorf("greeting %q after %v; want it at once for a client with GreetPause: 0 under -greet-pause 5s", got, time.Since(start))
		}
	})
	t.Run("other clients keep -greet-pause", func(t *testing.T) {
		s := startServer(t, "-greet-pause", "1s", "-access", accessMap(t, "GreetPause:192.0.2.1 0\n"))
		c, r := dialSMTP(t, s.addr)
		c.Write([]byte("HELO eager.example.net\r\n"))
		readReply(t, r) // the greeting
		readReply(t, r) // HELO
		c.Write([]byte("MAIL FROM:<a@example.net>\r\n"))
		readReply(t, r)
		c.Write([]byte("RCPT TO:<b@example.org>\r\n"))
		if got := readReply(t, r); !strings.Contains(got, "sent pre-greeting traffic") {
			t.Errorf("a client without a GreetPause: entry is not held to -greet-pause: RCPT = %q", got)
		}
	})
}

// CommandPause: delays each reply for the client, so a client that sends
// its next command before the reply, without PIPELINING, is seen and
// refused; a client that waits is served.
func TestAccessMapCommandPause(t *testing.T) {
	s := startServer(t, "-access", accessMap(t, "CommandPause:127.0.0.1 600ms\n"))

	c, r := dialSMTP(t, s.addr)
	readReply(t, r)
	start := time.Now()
	c.Write([]byte("HELO mx.example.net\r\n"))
	if got := readReply(t, r); !strings.HasPrefix(got, "250 ") || time.Since(start) < 500*time.Millisecond {
		t.Errorf("HELO reply %q after %v; want 250 after the 600ms CommandPause:", got, time.Since(start))
	}
	// A patient client is served.
	for _, cmd := range []string{"MAIL FROM:<alice@example.net>", "RCPT TO:<bob@example.org>"} {
		c.Write([]byte(cmd + "\r\n"))
		if got := readReply(t, r); !strings.HasPrefix(got, "250 ") {
			t.Fatalf("%s = %q, want 250", cmd, got)
		}
	}

	// An impatient one sends MAIL 100ms after HELO, while the reply is held.
	c2, r2 := dialSMTP(t, s.addr)
	readReply(t, r2)
	c2.Write([]byte("HELO spam.example.net\r\n"))
	time.Sleep(100 * time.Millisecond)
	c2.Write([]byte("MAIL FROM:<a@example.net>\r\n"))
	readReply(t, r2) // HELO
	readReply(t, r2) // MAIL
	c2.Write([]byte("RCPT TO:<bob@example.org>\r\n"))
	if got := readReply(t, r2); !strings.HasPrefix(got, "5") || !strings.Contains(strings.ToLower(got), "pipelin") {
		t.Errorf("RCPT of a client that did not wait for the reply = %q, want the pipelining refusal", got)
	}
}

// Grey-To: 0 turns greylisting off for the recipient (the greylist's
// documented meaning of zero), while others are greylisted.
func TestSwaksGreyToZero(t *testing.T) {
	s := startGreylisting(t, "-greylist-delay", "1h", "-access", accessMap(t, "Grey-To:postmaster@example.org 0\nGrey-Connect:192.0.2.1 0s\n"))
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "postmaster@example.org")
	if err != nil || !strings.Contains(out, "250 ") {
		t.Errorf("Grey-To: 0 recipient: want accepted at once; err=%v\n%s", err, out)
	}
	out, err = swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	if err == nil || !strings.Contains(out, "451 4.7.1 greylisted") {
		t.Errorf("other recipient: want greylisted; err=%v\n%s", err, out)
	}
}

// A misspelt tag stops the start with the file and line.
func TestAccessMapUnknownTagRefused(t *testing.T) {
	m := accessMap(t, "Connect:192.0.2.1 REJECT\nGreetPasue:192.0.2.1 5\n")
	_, _, _, err := setup([]string{"-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-access", m}, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), m+`:2: unknown tag "GreetPasue"`) {
		t.Errorf("setup with a misspelt tag = %v, want the file:line error", err)
	}
}
