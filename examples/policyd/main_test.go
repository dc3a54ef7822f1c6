package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startPolicyd runs the server on a loopback port with args.
func startPolicyd(t *testing.T, args ...string) string {
	t.Helper()
	addr, _ := startPolicydLog(t, args...)
	return addr
}

// logBuffer collects the server's log for a test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startPolicydLog runs the server on a loopback port with args and returns
// its address and its log (at debug level).
func startPolicydLog(t *testing.T, args ...string) (string, *logBuffer) {
	t.Helper()
	o, err := parseFlags(append([]string{"-listen", "127.0.0.1:0", "-greylist", "memory:"}, args...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(t.Context())
	srv, _, closeStore, err := build(ctx, o, logger)
	if err != nil {
		cancel()
		t.Fatalf("build: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		closeStore()
	})
	return ln.Addr().String(), logs
}

func request(rcpt string) string {
	return "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.10\n" +
		"client_name=unknown\nreverse_client_name=unknown\nhelo_name=mx.example.org\nsender=a@example.org\nrecipient=" + rcpt + "\n\n"
}

func ask(t *testing.T, c net.Conn, br *bufio.Reader, req string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("write: %v", err)
	}
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if blank, err := br.ReadString('\n'); err != nil || blank != "\n" {
		t.Fatalf("response not ended by an empty line: %q, %v", blank, err)
	}
	return strings.TrimSuffix(line, "\n")
}

func TestGreylistOverPolicyProtocol(t *testing.T) {
	addr := startPolicyd(t, "-greylist", "memory:", "-greylist-delay", "1s")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	// one connection, many requests
	if got := ask(t, c, br, request("b@example.net")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT 4.7.1 greylisted, try again in 1 seconds") {
		t.Errorf("first request = %q, want DEFER_IF_PERMIT with the wait", got)
	}
	if got := ask(t, c, br, request("c@example.net")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT") {
		t.Errorf("other recipient = %q, want DEFER_IF_PERMIT", got)
	}
	time.Sleep(1100 * time.Millisecond)
	if got := ask(t, c, br, request("b@example.net")); !strings.HasPrefix(got, "action=PREPEND X-Greylist: delayed ") {
		t.Errorf("retry after the delay = %q, want PREPEND X-Greylist", got)
	}
	if got := ask(t, c, br, request("b@example.net")); got != "action=DUNNO" {
		t.Errorf("known triplet = %q, want DUNNO", got)
	}
	if got := ask(t, c, br, "request=smtpd_access_policy\nprotocol_state=VRFY\nclient_address=192.0.2.1\n\n"); got != "action=DUNNO" {
		t.Errorf("VRFY request = %q, want DUNNO", got)
	}
}

func TestMalformedRequestClosesConnection(t *testing.T) {
	addr := startPolicyd(t, "-greylist", "memory:")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "this is not a policy request\n\n")
	b, err := io.ReadAll(c)
	if err != nil || len(b) != 0 {
		t.Errorf("after a malformed request read %q, %v; want the connection closed with no answer", b, err)
	}
}

func TestFlags(t *testing.T) {
	o, err := parseFlags([]string{"-listen", "127.0.0.1:10040", "-greylist", "bolt:/tmp/x.db", "-greylist-delay", "2m"}, io.Discard)
	if err != nil || o.greylist != "bolt:/tmp/x.db" || o.delay != 2*time.Minute {
		t.Errorf("parseFlags = %+v, %v", o, err)
	}
	if _, err := parseFlags([]string{"-greylist-delay", "soon"}, io.Discard); err == nil {
		t.Errorf("parseFlags(-greylist-delay soon) = nil error, want one")
	}
	o, _ = parseFlags([]string{"-greylist", "mysql://x"}, io.Discard)
	if _, _, _, err := build(t.Context(), o, slog.New(slog.DiscardHandler)); err == nil {
		t.Errorf("build(-greylist mysql://x) = nil error, want one")
	}
}

func TestNewFlags(t *testing.T) {
	o, err := parseFlags([]string{"-dnsbl", "a.test", "-dnsbl", "b.test*2", "-access", "x.cf", "-access", "y.cf", "-dnsbl-threshold", "2", "-dry-run", "-hygiene"}, io.Discard)
	if err != nil || len(o.dnsbl) != 2 || len(o.access) != 2 || o.threshold != 2 || !o.dryRun || !o.hygiene {
		t.Errorf("parseFlags = %+v, %v; want both lists, threshold 2, dry run and hygiene", o, err)
	}
	if o, _ := parseFlags(nil, io.Discard); o.hygiene || o.dryRun || o.config != "" || o.resolver != "" {
		t.Errorf("parseFlags(nil) = %+v; want hygiene and dry run off, no config, no resolver", o)
	}
	bad := filepath.Join(t.TempDir(), "main.cf")
	os.WriteFile(bad, []byte("smtpd_recipient_restrictons = reject\n"), 0o644)
	tests := []struct {
		name string
		args []string
	}{
		{"-dnsbl without -resolver", []string{"-greylist", "none", "-dnsbl", "zen.test"}},
		{"misspelt parameter in -config", []string{"-greylist", "none", "-config", bad}},
		{"missing -config file", []string{"-greylist", "none", "-config", filepath.Join(t.TempDir(), "none.cf")}},
		{"missing -access file", []string{"-greylist", "none", "-access", filepath.Join(t.TempDir(), "none.cf")}},
		{"-dnsbl-threshold 0", []string{"-greylist", "none", "-resolver", "127.0.0.1:53", "-dnsbl", "zen.test", "-dnsbl-threshold", "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := build(t.Context(), o, slog.New(slog.DiscardHandler)); err == nil {
				t.Errorf("build(%q) = nil error, want one", tt.args)
			}
		})
	}
}

// A connection idle for -idle after its last answer is closed, and not
// before: its requests keep it open.
func TestIdleConnectionClosed(t *testing.T) {
	const idle = 300 * time.Millisecond
	addr := startPolicyd(t, "-greylist", "memory:", "-idle", idle.String(), "-timeout", "200ms")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	// Requests spaced by less than -idle, over more than -idle in all.
	for range 4 {
		if got := ask(t, c, br, request("b@example.net")); !strings.HasPrefix(got, "action=") {
			t.Fatalf("answer = %q", got)
		}
		time.Sleep(idle / 3)
	}
	answered := time.Now()
	ask(t, c, br, request("b@example.net"))
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil || len(b) != 0 {
		t.Fatalf("idle connection: read %q, %v; want it closed by the server", b, err)
	}
	if waited := time.Since(answered); waited < idle {
		t.Errorf("idle connection closed after %v, before -idle %v", waited, idle)
	}
}

func TestMoveDeadline(t *testing.T) {
	due := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		cur      time.Time
		want     time.Time
		wantSets int
	}{
		{"unset", time.Time{}, due.Add(deadlineSlack), 1},
		{"short of due", due.Add(-time.Nanosecond), due.Add(deadlineSlack), 1},
		{"at due", due, due, 0},
		{"within the slack", due.Add(deadlineSlack / 2), due.Add(deadlineSlack / 2), 0},
		{"at the end of the slack", due.Add(deadlineSlack), due.Add(deadlineSlack), 0},
		{"beyond the slack (a shorter -idle)", due.Add(deadlineSlack + time.Nanosecond), due.Add(deadlineSlack), 1},
	} {
		var set []time.Time
		got := moveDeadline(func(d time.Time) error { set = append(set, d); return nil }, c.cur, due)
		if !got.Equal(c.want) || len(set) != c.wantSets || (len(set) == 1 && !set[0].Equal(c.want)) {
			t.Errorf("%s: moveDeadline = %v, set %v; want %v, %d sets", c.name, got, set, c.want, c.wantSets)
		}
	}
}
