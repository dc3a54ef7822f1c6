package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dnsPkg "github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// botClient is a bot: it writes what it likes and reads the replies.
type botClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialBot(t *testing.T, addr string, greet bool) *botClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	rc := &botClient{t: t, c: c, r: bufio.NewReader(c)}
	if greet {
		if g := rc.reply(); !strings.HasPrefix(g, "220 ") {
			t.Fatalf("greeting = %q, want 220", g)
		}
	}
	return rc
}

func (rc *botClient) send(s string) {
	rc.t.Helper()
	if _, err := rc.c.Write([]byte(s)); err != nil {
		rc.t.Fatalf("write %q: %v", s, err)
	}
}

// reply reads one whole reply (its last line); "" at EOF.
func (rc *botClient) reply() string {
	for {
		line, err := rc.r.ReadString('\n')
		if err != nil {
			return ""
		}
		if len(line) < 4 || line[3] != '-' {
			return strings.TrimRight(line, "\r\n")
		}
	}
}

// closed reports whether the server hung up.
func (rc *botClient) closed() bool {
	rc.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := rc.r.ReadByte()
	return err != nil
}

const protocolDrop = "521 5.5.1 Protocol error"
const protocolEnforce = "550 5.5.1 Protocol error"
const nonSMTPDrop = "521 5.7.0 Error: I can break rules, too. Goodbye."

// The non-SMTP command test, postscreen's default action drop: HTTP
// requests, CONNECT proxies and bare header lines get 521 and a hang-up.
func TestPostscreenNonSMTPCommandDropped(t *testing.T) {
	s := startServer(t, "-postscreen-non-smtp-command-enable")
	for _, tc := range []struct{ name, send string }{
		{"GET", "GET / HTTP/1.1\r\nHost: mx.example.org\r\nUser-Agent: curl/8\r\n\r\n"},
		{"POST", "POST /login HTTP/1.0\r\nContent-Length: 0\r\n\r\n"},
		{"CONNECT", "CONNECT mx.example.org:25 HTTP/1.1\r\n\r\n"},
		{"header line after EHLO", "EHLO bot.example.net\r\nUser-Agent: bot\r\n"},
		{"lower-case get", "get / HTTP/1.0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialBot(t, s.addr, true)
			c.send(tc.send)
			var got []string
			for r := c.reply(); r != ""; r = c.reply() {
				got = append(got, r)
			}
			if len(got) == 0 || got[len(got)-1] != nonSMTPDrop {
				t.Errorf("replies to %q = %q, want the last %q", tc.send, got, nonSMTPDrop)
			}
			if !c.closed() {
				t.Errorf("connection still open after %q", nonSMTPDrop)
			}
		})
	}
	if log := s.logText(t); !strings.Contains(log, "test=non_smtp_command action=drop") {
		t.Errorf("log does not name the failed test and action:\n%s", log)
	}
}

// The bare newline test under each action.
func TestPostscreenBareNewline(t *testing.T) {
	t.Run("drop", func(t *testing.T) {
		s := startServer(t, "-postscreen-bare-newline-enable", "-postscreen-bare-newline-action", "drop")
		c := dialBot(t, s.addr, true)
		c.send("EHLO bot.example.net\n")
		if r := c.reply(); r != protocolDrop {
			t.Errorf("EHLO with bare LF: %q, want %q", r, protocolDrop)
		}
		if !c.closed() {
			t.Errorf("connection still open")
		}
	})
	t.Run("enforce", func(t *testing.T) {
		s := startServer(t, "-postscreen-bare-newline-enable", "-postscreen-bare-newline-action", "enforce")
		c := dialBot(t, s.addr, true)
		for _, step := range []struct{ send, want string }{
			{"EHLO bot.example.net\n", "250 "},
			{"MAIL FROM:<a@example.net>\r\n", "250 "},
			{"RCPT TO:<b@example.org>\r\n", protocolEnforce},
			{"RCPT TO:<c@example.org>\r\n", protocolEnforce},
		} {
			c.send(step.send)
			if r := c.reply(); !strings.HasPrefix(r, step.want) {
				t.Errorf("%q: %q, want %q", step.send, r, step.want)
			}
		}
	})
	t.Run("ignore", func(t *testing.T) {
		s := startServer(t, "-postscreen-bare-newline-enable", "-postscreen-bare-newline-action", "ignore")
		c := dialBot(t, s.addr, true)
		for _, step := range []struct{ send, want string }{
			{"EHLO bot.example.net\n", "250 "},
			{"MAIL FROM:<a@example.net>\n", "250 "},
			{"RCPT TO:<b@example.org>\n", "250 "},
		} {
			c.send(step.send)
			if r := c.reply(); !strings.HasPrefix(r, step.want) {
				t.Errorf("%q: %q, want %q", step.send, r, step.want)
			}
		}
		c.send("QUIT\r\n")
		c.reply()
		if log := s.logText(t); !strings.Contains(log, "test=bare_newline action=ignore") {
			t.Errorf("ignore does not log the failure:\n%s", log)
		}
	})
}

// The pipelining test: commands sent without waiting, when PIPELINING was
// not offered yet, get postscreen's default enforce.
func TestPostscreenPipeliningEnforced(t *testing.T) {
	s := startServer(t, "-postscreen-pipelining-enable")
	c := dialBot(t, s.addr, true)
	c.send("EHLO bot.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n")
	var got []string
	for i := 0; i < 3; i++ {
		got = append(got, c.reply())
	}
	if got[2] != protocolEnforce {
		t.Errorf("pipelined session replies %q, want RCPT refused with %q", got, protocolEnforce)
	}
}

// Clients that speak SMTP properly pass every test, whatever the action.
func TestPostscreenRealClientsPass(t *testing.T) {
	all := []string{"-postscreen-bare-newline-enable", "-postscreen-bare-newline-action", "drop",
		"-postscreen-non-smtp-command-enable", "-postscreen-pipelining-enable", "-postscreen-pipelining-action", "drop",
		"-greet-pause", "200ms"}
	s := startServer(t, all...)
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	if err != nil || !strings.Contains(out, "<-  250 ") {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	// swaks with PIPELINING, as the server offers it.
	out, err = swaks(t, s.addr, "--pipeline", "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	if err != nil {
		t.Fatalf("swaks --pipeline: %v\n%s", err, out)
	}
	src := peertest.Look(t, "smtp-source", "postfix")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, src, "-s", "2", "-m", "6", "-f", "alice@example.net", "-t", "bob@example.org", "-M", "mx.example.net", s.addr).CombinedOutput(); err != nil {
		t.Fatalf("smtp-source: %v\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 8 {
		t.Errorf("stored %d messages, want 8", n)
	}
	if log := s.logText(t); strings.Contains(log, "postscreen test failed") {
		t.Errorf("a real client failed a test:\n%s", log)
	}
}

// With the pass cache, a client that passed takes no test on its next
// connection: no greet pause, and even bare newlines pass; a client that
// failed takes the tests again.
func TestPostscreenPassCache(t *testing.T) {
	s := startServer(t, "-postscreen-cache", "memory:", "-greet-pause", "1s",
		"-postscreen-bare-newline-enable", "-postscreen-bare-newline-action", "drop")
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	if err != nil {
		t.Fatalf("first session: %v\n%s", err, out)
	}
	start := time.Now()
	c := dialBot(t, s.addr, true)
	if waited := time.Since(start); waited > 900*time.Millisecond {
		t.Errorf("cached client waited %v for the greeting, want no pause", waited)
	}
	c.send("EHLO mx.example.net\n")
	if r := c.reply(); !strings.HasPrefix(r, "250 ") {
		t.Errorf("cached client's bare-LF EHLO: %q, want 250 (no test)", r)
	}
	if log := s.logText(t); !strings.Contains(log, "pass cache: every test passed recently") {
		t.Errorf("log lacks the cache hit:\n%s", log)
	}
}

// A client that fails is forgotten: it takes the tests again next time.
func TestPostscreenFailureNotCached(t *testing.T) {
	s := startServer(t, "-postscreen-cache", "memory:",
		"-postscreen-bare-newline-enable", "-postscreen-bare-newline-action", "drop")
	for i := 0; i < 2; i++ {
		c := dialBot(t, s.addr, true)
		c.send("EHLO bot.example.net\r\nMAIL FROM:<a@example.net>\nRCPT TO:<b@example.org>\r\n")
		var last string
		for r := c.reply(); r != ""; r = c.reply() {
			last = r
		}
		if last != protocolDrop {
			t.Errorf("connection %d: last reply %q, want %q", i+1, last, protocolDrop)
		}
	}
}

// postscreen_access_list: a client permitted by a cidr: table takes no
// test; one denied is refused at connect.
func TestPostscreenAccessList(t *testing.T) {
	table := filepath.Join(t.TempDir(), "postscreen_access.cidr")
	os.WriteFile(table, []byte("127.0.0.1/32 permit\n"), 0o644)
	s := startServer(t, "-postscreen-access-list", "cidr:"+table,
		"-postscreen-bare-newline-enable", "-postscreen-bare-newline-action", "drop")
	c := dialBot(t, s.addr, true)
	c.send("EHLO mx.example.net\n")
	if r := c.reply(); !strings.HasPrefix(r, "250 ") {
		t.Errorf("permitted client's bare-LF EHLO: %q, want 250", r)
	}

	os.WriteFile(table, []byte("127.0.0.0/8 reject\n"), 0o644)
	s = startServer(t, "-postscreen-access-list", "cidr:"+table, "-postscreen-bare-newline-enable", "-postscreen-denylist-action", "drop")
	c = dialBot(t, s.addr, false)
	if r := c.reply(); r != "521 5.3.2 Service currently unavailable" {
		t.Errorf("denied client's greeting under drop: %q, want postscreen's 521 5.3.2", r)
	}

	// postscreen_denylist_action's other answers: enforce refuses every
	// recipient; ignore (Postfix's default) lets the client take the tests.
	for _, tc := range []struct{ action, want string }{
		{"enforce", "550 5.3.2 Service currently unavailable"},
		{"ignore", "250 "},
	} {
		s = startServer(t, "-postscreen-access-list", "cidr:"+table, "-postscreen-bare-newline-enable", "-postscreen-denylist-action", tc.action)
		c = dialBot(t, s.addr, false)
		if r := c.reply(); !strings.HasPrefix(r, "220 ") {
			t.Errorf("denied client's greeting under %s: %q, want 220", tc.action, r)
		}
		c.send("EHLO mx.example.net\r\n")
		c.reply()
		c.send("MAIL FROM:<a@example.net>\r\n")
		c.reply()
		c.send("RCPT TO:<b@example.org>\r\n")
		if r := c.reply(); !strings.HasPrefix(r, tc.want) {
			t.Errorf("denied client's RCPT under %s: %q, want %q", tc.action, r, tc.want)
		}
	}
}

// -postscreen-deep-reconnect: a client that passes the deep tests gets
// 450 4.3.2 at RCPT TO, as from postscreen, and is let through when it
// comes back.
func TestPostscreenDeepReconnect(t *testing.T) {
	s := startServer(t, "-postscreen-cache", "memory:", "-postscreen-deep-reconnect",
		"-postscreen-bare-newline-enable", "-postscreen-pipelining-enable")
	session := func() string {
		c := dialBot(t, s.addr, true)
		var last string
		for _, cmd := range []string{"EHLO mx.example.net\r\n", "MAIL FROM:<a@example.net>\r\n", "RCPT TO:<b@example.org>\r\n", "QUIT\r\n"} {
			c.send(cmd)
			r := c.reply()
			if strings.HasPrefix(cmd, "RCPT") {
				last = r
			}
		}
		c.closed()
		return last
	}
	if r := session(); r != "450 4.3.2 Service currently unavailable" {
		t.Errorf("first connection's RCPT: %q, want postscreen's 450 4.3.2", r)
	}
	deadline := time.Now().Add(2 * time.Second)
	r := session()
	for !strings.HasPrefix(r, "250 ") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // the pass is recorded once the first connection has closed
		r = session()
	}
	if !strings.HasPrefix(r, "250 ") {
		t.Errorf("reconnected client's RCPT: %q, want 250", r)
	}
}

// Two MX hosts sharing the pass cache on Redis: a client that passed on
// one costs the other no DNS-list query, though the other's resolver has
// never seen it. Without the cache, the second host queries the list.
func TestPostscreenSharedCacheNoDNSQuery(t *testing.T) {
	rc := redistest.Client(t, redistest.Addr)
	const key = "postscreen:127.0.0.1"
	ctx := t.Context()
	rc.Del(ctx, key)
	t.Cleanup(func() { rc.Del(context.Background(), key) })
	for _, tc := range []struct {
		name    string
		args    []string
		queries int // after one session on each host
	}{
		{"shared cache", []string{"-postscreen-cache", "redis://" + redistest.Addr + "/0"}, 1},
		{"no cache", nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc.Del(ctx, key)
			dns := dnstest.New(t)
			dns.Zone("bl.test", 0)
			args := append([]string{"-resolver", dns.Addr(), "-hygiene=false", "-spf=false", "-dnsbl", "bl.test"}, tc.args...)
			hostA, hostB := startServer(t, args...), startServer(t, args...)
			for i, h := range []*server{hostA, hostB} {
				if out, err := swaks(t, h.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org"); err != nil {
					t.Fatalf("session on host %d: %v\n%s", i+1, err, out)
				}
				// The pass is recorded as the connection closes.
				for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					if n, _ := rc.Exists(ctx, key).Result(); n == 1 || tc.args == nil {
						break
					}
				}
			}
			if got := dns.Count("1.0.0.127.bl.test.", dnsPkg.TypeA); got != tc.queries {
				t.Errorf("queries of bl.test after a session on each host = %d, want %d", got, tc.queries)
			}
		})
	}
}

// -postscreen-greet-banner: a bot that talks on seeing the first line of
// the greeting fails the pregreet test; a client that waits for the whole
// greeting (swaks) passes.
func TestPostscreenGreetBanner(t *testing.T) {
	s := startServer(t, "-greet-pause", "500ms", "-postscreen-greet-banner", "mx.example.org ESMTP")
	c := dialBot(t, s.addr, false)
	first, err := c.r.ReadString('\n')
	if err != nil || first != "220-mx.example.org ESMTP\r\n" {
		t.Fatalf("first greeting line = %q, %v, want the banner", first, err)
	}
	c.send("EHLO bot.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n")
	var last string
	for i := 0; i < 4; i++ {
		last = c.reply()
	}
	if !strings.HasPrefix(last, "550 ") || !strings.Contains(last, "pre-greeting traffic") {
		t.Errorf("bot that talked after the banner line: RCPT answered %q, want the pre-greeting refusal", last)
	}
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	if err != nil || !strings.Contains(out, "<-  220-mx.example.org ESMTP") {
		t.Errorf("swaks, which waits for the whole greeting: %v\n%s", err, out)
	}
}
