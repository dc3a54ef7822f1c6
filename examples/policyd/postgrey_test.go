package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
)

// startPostgrey runs the real postgrey in the foreground on a loopback
// port with its own database directory and args.
func startPostgrey(t *testing.T, args ...string) string {
	t.Helper()
	addr, _ := startPostgreyLog(t, args...)
	return addr
}

// startPostgreyLog is startPostgrey that also returns postgrey's log (in
// the foreground, postgrey logs to its standard error).
func startPostgreyLog(t *testing.T, args ...string) (string, *logBuffer) {
	t.Helper()
	bin := peertest.Look(t, "postgrey", "postgrey")
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	// Net::Server changes to --user and --group: this process's own, so
	// the database directory in t.TempDir() stays writable.
	all := append([]string{"--inet=" + addr, "--dbdir=" + t.TempDir(), "--user=" + u.Username, "--group=" + g.Name,
		"--pidfile=" + filepath.Join(t.TempDir(), "pid")}, args...)
	cmd := exec.Command(bin, all...)
	out := &logBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("postgrey output:\n%s", out.String())
		}
	})
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, out
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("postgrey did not start on %s:\n%s", addr, out.String())
	return "", nil
}

// pgRequest is one RCPT request as Postfix sends it.
func pgRequest(n int, client, name, sender, rcpt string) string {
	return fmt.Sprintf("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=%s\n"+
		"client_name=%s\nreverse_client_name=%s\nhelo_name=mx.example.org\nsender=%s\nrecipient=%s\ninstance=%x.1\n\n",
		client, name, name, sender, rcpt, n)
}

// comparable reduces an action to what Postfix does with it: the action
// word and its text, without an enhanced status code (Postfix adds 4.7.1
// where the text has none, as policyd writes it). Started with postgrey's
// options, policyd answers with postgrey's texts, its default one too.
//
// Postfix answers postgrey's "DEFER text" with its access_map_defer_code,
// 450, and policyd's "450 4.7.1 text" with 450: the same reply.
func comparable(action string) string {
	action = strings.TrimPrefix(action, "action=")
	word, text, _ := strings.Cut(action, " ")
	if word == "DEFER" {
		word = "450"
	}
	text = regexp.MustCompile(`^[245]\.\d{1,3}\.\d{1,3} `).ReplaceAllString(text, "")
	return word + " " + text
}

// policyd started with postgrey's options answers a request stream as
// postgrey does: greylisting, early retries, the pass after the delay,
// subnet or host keys, client and recipient whitelists in postgrey's file
// formats, and the texts, action and header postgrey's options set.
func TestSameAnswersAsPostgrey(t *testing.T) {
	dir := t.TempDir()
	clients := filepath.Join(dir, "whitelist_clients")
	os.WriteFile(clients, []byte("# postgrey's formats\nfriend.example\n/^mx[0-9]+\\.regex\\.example$/\n198.51.100\n203.0.113.7\n2001:db8:1::/48\n"), 0o644)
	recipients := filepath.Join(dir, "whitelist_recipients")
	os.WriteFile(recipients, []byte("postmaster@\noptout.example\nabuse@example.net\n/^list-.*@example\\.net$/\n"), 0o644)

	type step struct {
		client, name, sender, rcpt string
		sleep                      time.Duration // before the request
	}
	const (
		c1, c1b = "192.0.2.10", "192.0.2.99" // one /24
		from    = "alice@example.org"
	)
	stream := []step{
		{c1, "unknown", from, "bob@example.net", 0},
		{c1, "unknown", from, "bob@example.net", 0}, // early retry
		{c1, "unknown", from, "carol@example.net", 0},
		{c1b, "unknown", from, "bob@example.net", 0}, // the same /24, another host
		{"192.0.2.20", "mail.friend.example", from, "bob@example.net", 0},
		{"192.0.2.23", "Mail.FRIEND.example", from, "bob@example.net", 0},
		{"192.0.2.24", "friend.example", from, "bob@example.net", 0},
		{"192.0.2.25", "notfriend.example", from, "bob@example.net", 0},
		{"192.0.2.26", "friend.example.evil", from, "bob@example.net", 0},
		{"192.0.2.21", "mx12.regex.example", from, "bob@example.net", 0},
		{"192.0.2.22", "mx12.regex.example.evil", from, "bob@example.net", 0},
		{"198.51.100.5", "unknown", from, "bob@example.net", 0},
		{"203.0.113.7", "unknown", from, "bob@example.net", 0},
		{"203.0.113.8", "unknown", from, "bob@example.net", 0},
		{"2001:db8:1::25", "unknown", from, "bob@example.net", 0},
		{c1, "unknown", from, "postmaster@example.net", 0},
		{c1, "unknown", from, "Postmaster+x@example.com", 0},
		{c1, "unknown", from, "someone@optout.example", 0},
		{c1, "unknown", from, "someone@sub.optout.example", 0},
		{c1, "unknown", from, "abuse+tag@example.net", 0},
		{c1, "unknown", from, "list-users@example.net", 0},
		{c1, "unknown", from, "bob@example.net", 2500 * time.Millisecond}, // after the delay
		{c1, "unknown", from, "bob@example.net", 0},                       // passed before
		{c1b, "unknown", from, "bob@example.net", 0},                      // its network passed (or not, by host)
		{c1, "unknown", "", "bob@example.net", 0},                         // the null sender
	}
	scenarios := []struct {
		name string
		args []string
	}{
		{"subnet keys, default texts", []string{"--delay=2", "--whitelist-clients=" + clients, "--whitelist-recipients=" + recipients,
			"--x-greylist-header=X-Greylist: delayed by %h", "--hostname=mx.test"}},
		{"host keys, own text and action", []string{"--delay=2", "--lookup-by-host", "--whitelist-clients=" + clients, "--whitelist-recipients=" + recipients,
			"--greylist-text=Greylisted at %r, come back later", "--greylist-action=DEFER", "--max-age=10", "--retry-window=12h",
			"--auto-whitelist-clients=3", "--x-greylist-header=X-Grey: by %h", "--hostname=mx.test"}},
		{"privacy", []string{"--delay=2", "--privacy", "--auto-whitelist-clients", "--x-greylist-header=X-Greylist: delayed by %h", "--hostname=mx.test"}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			pg := startPostgrey(t, sc.args...)
			_, pd := startProc(t, nil, append([]string{"-listen", "127.0.0.1:0", "-greylist", "memory:"}, sc.args...)...)
			for i, st := range stream {
				time.Sleep(st.sleep)
				req := pgRequest(i, st.client, st.name, st.sender, st.rcpt)
				want := askAddr(t, "tcp", pg, req)
				got := askAddr(t, "tcp", pd, req)
				t.Logf("%2d %-15s %-24s -> %-28s postgrey %q", i, st.client, st.name, st.rcpt, want)
				if comparable(got) != comparable(want) {
					t.Errorf("request %d (%s %s -> %s): policyd %q, postgrey %q", i, st.client, st.name, st.rcpt, got, want)
				}
			}
		})
	}
}

// Postgrey's options parse with postgrey's units into policyd's settings.
func TestPostgreyOptions(t *testing.T) {
	tests := []struct {
		args  []string
		check func(o options) bool
		want  string
	}{
		{[]string{"--inet=10023"}, func(o options) bool { return o.listen == "inet:localhost:10023" }, "listen inet:localhost:10023"},
		{[]string{"--inet", "127.0.0.1:10023"}, func(o options) bool { return o.listen == "inet:127.0.0.1:10023" }, "listen inet:127.0.0.1:10023"},
		{[]string{"--unix=/var/spool/postfix/postgrey/socket", "--socketmode=0660"}, func(o options) bool {
			return o.listen == "unix:/var/spool/postfix/postgrey/socket" && o.listenMode == "0660"
		}, "listen unix:... with mode 0660"},
		{[]string{"--delay=300"}, func(o options) bool { return o.delay == 5*time.Minute }, "delay 5m"},
		{[]string{"--max-age=35"}, func(o options) bool { return o.pg.maxAge == 35*24*time.Hour }, "max age 35 days"},
		{[]string{"--retry-window=2"}, func(o options) bool { return o.pg.retryWindow == 48*time.Hour }, "retry window 2 days"},
		{[]string{"--retry-window=12h"}, func(o options) bool { return o.pg.retryWindow == 12*time.Hour }, "retry window 12 hours"},
		{[]string{"--auto-whitelist-clients"}, func(o options) bool { return o.autoAllow == 5 }, "auto-allow after 5"},
		{[]string{"--auto-whitelist-clients=2"}, func(o options) bool { return o.autoAllow == 2 }, "auto-allow after 2"},
		{[]string{"--auto-whitelist-clients=0"}, func(o options) bool { return o.autoAllow == 0 }, "auto-allow off"},
		{[]string{"--lookup-by-host"}, func(o options) bool { return o.pg.exactIP }, "host keys"},
		{[]string{"--lookup-by-host", "--lookup-by-subnet", "--ipv4cidr=16"}, func(o options) bool { return !o.pg.exactIP && o.pg.ipv4 == 16 }, "subnet keys, /16"},
		{[]string{"--dbdir=/var/lib/postgrey"}, func(o options) bool { return o.greylist == "bolt:/var/lib/postgrey/greylist.db" }, "store in the dbdir"},
		{[]string{"--dbdir=/var/lib/postgrey", "-greylist", "memory:"}, func(o options) bool { return o.greylist == "memory:" }, "-greylist wins over --dbdir"},
		{[]string{"--privacy", "--greylist-action=DEFER", "--greylist-text=Greylisted for %s seconds"}, func(o options) bool {
			return o.pg.privacy && o.pg.action == "DEFER" && o.pg.text == "Greylisted for %s seconds"
		}, "privacy, action and text"},
	}
	for _, tt := range tests {
		o, err := parseFlags(tt.args, io.Discard)
		if err != nil || !tt.check(o) {
			t.Errorf("parseFlags(%q) = %+v, %v; want %s", tt.args, o, err, tt.want)
		}
	}
	for _, bad := range [][]string{{"--delay=5m"}, {"--retry-window=2d"}, {"--max-age=0"}, {"--auto-whitelist-clients=x"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) = nil error, want one", bad)
		}
	}
	o, _ := parseFlags([]string{"-greylist", "memory:", "--greylist-action=451"}, io.Discard)
	if _, _, _, err := build(t.Context(), o, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "want DEFER_IF_PERMIT or DEFER") {
		t.Errorf("--greylist-action=451: %v, want refused", err)
	}
	wl := filepath.Join(t.TempDir(), "whitelist_clients")
	os.WriteFile(wl, []byte("ok.example\nbad name here\n"), 0o644)
	o, _ = parseFlags([]string{"-greylist", "memory:", "--whitelist-clients=" + wl}, io.Discard)
	if _, _, _, err := build(t.Context(), o, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), wl+":2:") {
		t.Errorf("bad whitelist line: %v, want file:line", err)
	}
}

// --greylist-text's %s is the seconds left.
func TestPostgreyTextSeconds(t *testing.T) {
	_, addr := startProc(t, nil, "-listen", "127.0.0.1:0", "-greylist", "memory:", "--delay=120", "--greylist-text=Greylisted for %s seconds (%r)")
	if got := askAddr(t, "tcp", addr, request("b@example.net")); got != "action=DEFER_IF_PERMIT 4.7.1 Greylisted for 120 seconds (example.net)" {
		t.Errorf("answer = %q", got)
	}
}
