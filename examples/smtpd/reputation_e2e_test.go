package main

import (
	"strings"
	"testing"
	"time"
)

// refuseTwice has the test client refused twice (relaying denied).
func refuseTwice(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 2; i++ {
		out, err := swaks(t, addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "eve@elsewhere.example")
		if err == nil || !strings.Contains(out, "<** 550 5.7.1") {
			t.Fatalf("session %d: want a relay refusal; err=%v\n%s", i+1, err, out)
		}
	}
}

// greetingOnceLearnt connects until the greeting starts with want, for up
// to two seconds: the server learns from a session after the client has
// gone. It returns the last connection and greeting.
func greetingOnceLearnt(t *testing.T, addr, want string) (*botClient, string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		c := dialBot(t, addr, false)
		r := c.reply()
		if strings.HasPrefix(r, want) || time.Now().After(deadline) {
			return c, r
		}
		c.c.Close()
		time.Sleep(50 * time.Millisecond)
	}
}

// An address refused -reputation-block-after times is answered 421 at
// connect, naming why, and hung up on: a temporary refusal, so a real
// server that misbehaved queues and retries.
func TestReputationBlocksAfterRefusals(t *testing.T) {
	s := startServer(t, "-reputation", "memory:", "-reputation-block-after", "2", "-reputation-block-for", "1h")
	// Accepted mail does not count against the client.
	if out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org"); err != nil {
		t.Fatalf("accepted message: %v\n%s", err, out)
	}
	refuseTwice(t, s.addr)
	c, r := greetingOnceLearnt(t, s.addr, "421 ")
	if !strings.HasPrefix(r, "421 4.7.1 ") || !strings.Contains(r, "[127.0.0.1] refused 2 times") {
		t.Errorf("blocked client's greeting = %q, want 421 4.7.1 naming the address and its refusals", r)
	}
	if !c.closed() {
		t.Errorf("blocked client not hung up on")
	}
}

// Clients in -trusted networks teach the reputation nothing: the same
// unknown commands that get an outside client blocked leave them alone.
func TestReputationIgnoresTrusted(t *testing.T) {
	for _, tc := range []struct {
		trusted, want string
	}{
		{"none", "421 "},
		{"127.0.0.0/8", "220 "},
	} {
		s := startServer(t, "-reputation", "memory:", "-reputation-block-after", "2", "-trusted", tc.trusted)
		c := dialBot(t, s.addr, true)
		for _, cmd := range []string{"EHLO mx.example.net\r\n", "XYZZY\r\n", "PLUGH\r\n", "QUIT\r\n"} {
			c.send(cmd)
			c.reply()
		}
		c.closed()
		if _, r := greetingOnceLearnt(t, s.addr, "421 "); !strings.HasPrefix(r, tc.want) {
			t.Errorf("-trusted %s: greeting after two unknown commands = %q, want %q", tc.trusted, r, tc.want)
		}
	}
}

// The tarpit delays each reply to a client with refusals on record.
func TestReputationTarpit(t *testing.T) {
	s := startServer(t, "-reputation", "memory:", "-reputation-tarpit-step", "400ms", "-reputation-tarpit-max", "5s")
	c := dialBot(t, s.addr, true)
	start := time.Now()
	c.send("EHLO mx.example.net\r\n")
	c.reply()
	if fresh := time.Since(start); fresh > 700*time.Millisecond {
		t.Fatalf("a client without history waited %v for its EHLO reply", fresh)
	}
	c.send("QUIT\r\n")
	c.reply()
	refuseTwice(t, s.addr)
	c = dialBot(t, s.addr, true)
	start = time.Now()
	c.send("EHLO mx.example.net\r\n")
	if r := c.reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("EHLO: %q", r)
	}
	if waited := time.Since(start); waited < 700*time.Millisecond {
		t.Errorf("a client refused twice waited %v for its EHLO reply, want about 800ms", waited)
	}
}
