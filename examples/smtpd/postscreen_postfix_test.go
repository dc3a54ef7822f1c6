package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf/postfixtest"
)

// startPostscreen runs a private Postfix whose port is served by
// postscreen with the given main.cf settings, and returns its address.
func startPostscreen(t *testing.T, settings string) string {
	t.Helper()
	return startPostscreenIn(t, nil, "", settings)
}

// startPostscreenIn is startPostscreen in the network namespace ns when it
// is not nil: there postscreen's DNS lists are the test's DNS server, and
// it listens on nsAddr, on the namespace's loopback (dial it with ns.Dial).
func startPostscreenIn(t *testing.T, ns *postfixtest.NetNS, nsAddr, settings string) string {
	t.Helper()
	pf := postfixtest.Require(t)
	if pf == "" {
		return ""
	}
	addr := nsAddr
	if ns == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	dir, err := os.MkdirTemp("", "postscreen")
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		argv := append([]string{pf, "-c", filepath.Join(dir, "etc")}, args...)
		if ns != nil {
			argv = append([]string{"ip", "netns", "exec", ns.Name}, argv...)
		}
		return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	}
	logOf := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "log", "maillog"))
		return string(b)
	}
	t.Cleanup(func() {
		run("stop")
		if t.Failed() {
			t.Logf("postfix log:\n%s", logOf())
		}
		os.RemoveAll(dir)
	})
	for _, d := range []string{"etc", "spool", "data", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	if out, err := exec.Command("chown", "postfix", filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("chown postfix: %v: %s", err, out)
	}
	main := postfixtest.BaseMain(dir) + "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\n" +
		"postscreen_cache_map = btree:$data_directory/postscreen_cache\n" + settings
	if err := os.WriteFile(filepath.Join(dir, "etc", "main.cf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	var master strings.Builder
	fmt.Fprintf(&master, "%s inet n - n - 1 postscreen\nsmtpd pass - - n - - smtpd\ndnsblog unix - - n - 0 dnsblog\ntlsproxy unix - - n - 0 tlsproxy\n", addr)
	sys, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		postfixtest.Unavailable(t, "no /etc/postfix/master.cf to take Postfix's internal services from")
		return ""
	}
	internal := map[string]bool{}
	for _, n := range strings.Fields("pickup cleanup qmgr rewrite bounce defer trace verify flush proxymap proxywrite showq error retry discard local virtual anvil scache postlog") {
		internal[n] = true
	}
	sc := bufio.NewScanner(strings.NewReader(string(sys)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 8 && internal[f[0]] && (f[1] == "unix" || f[1] == "unix-dgram") {
			f[4] = "n" // not chrooted
			master.WriteString(strings.Join(f, " ") + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "master.cf"), []byte(master.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run("check"); err != nil {
		t.Fatalf("postfix check: %v: %s", err, out)
	}
	if out, err := run("start"); err != nil {
		t.Fatalf("postfix start: %v: %s\n%s", err, out, logOf())
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		if ns != nil {
			// postscreen greets only after its greet wait: a connection
			// that is accepted but not yet greeted is listening enough.
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			c, _, err := ns.Dial(ctx, addr, "")
			cancel()
			if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				if c != nil {
					c.Close()
				}
				break
			}
		} else if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("postscreen not listening on %s\n%s", addr, logOf())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return addr
}

// step is what a client sends at once and how many replies it then reads.
type step struct {
	send    string
	replies int
}

// converse plays steps and returns, per reply, its last line ("EOF" once
// the server hung up). The host names in greetings and EHLO replies
// differ between servers, so those lines are cut to their code.
func converse(t *testing.T, addr string, steps []step) []string {
	t.Helper()
	c := dialBot(t, addr, false)
	var got []string
	add := func(r string) {
		switch {
		case r == "":
			r = "EOF"
		case strings.HasPrefix(r, "220 "), strings.HasPrefix(r, "250 "), strings.HasPrefix(r, "221 "):
			r = r[:3]
		}
		got = append(got, r)
	}
	add(c.reply())
	for _, st := range steps {
		if got[len(got)-1] == "EOF" {
			break
		}
		c.c.Write([]byte(st.send))
		for i := 0; i < st.replies; i++ {
			add(c.reply())
			if got[len(got)-1] == "EOF" {
				break
			}
		}
	}
	return got
}

// The same bots and the same real client, against a real postscreen and
// against smtpd with the same settings: the same verdicts, reply for reply.
func TestPostscreenSameAsPostfix(t *testing.T) {
	pfAddr := startPostscreen(t, `postscreen_access_list =
postscreen_greet_wait = 1s
postscreen_greet_action = ignore
postscreen_bare_newline_enable = yes
postscreen_bare_newline_action = drop
postscreen_non_smtp_command_enable = yes
postscreen_non_smtp_command_action = drop
postscreen_pipelining_enable = yes
postscreen_pipelining_action = enforce
`)
	if pfAddr == "" {
		return
	}
	ours := startServer(t, "-postscreen-cache", "memory:", "-postscreen-deep-reconnect",
		"-postscreen-bare-newline-enable", "-postscreen-bare-newline-action", "drop",
		"-postscreen-non-smtp-command-enable", "-postscreen-non-smtp-command-action", "drop",
		"-postscreen-pipelining-enable", "-postscreen-pipelining-action", "enforce").addr
	mail := []step{{"MAIL FROM:<a@example.net>\r\n", 1}, {"RCPT TO:<b@example.org>\r\n", 1}, {"QUIT\r\n", 1}}
	// The bots come first: once the real client has passed, the address is
	// cached and takes no test (on both servers).
	cases := []struct {
		name  string
		steps []step
	}{
		{"bare newline", []step{{"EHLO bot.example.net\n", 1}}},
		{"HTTP GET", []step{{"GET / HTTP/1.1\r\nHost: mx.example.org\r\n\r\n", 1}}},
		{"CONNECT", []step{{"CONNECT mx.example.org:25 HTTP/1.0\r\n\r\n", 1}}},
		{"header line", []step{{"EHLO bot.example.net\r\n", 1}, {"User-Agent: bot\r\n", 1}}},
		{"pipelining", []step{{"EHLO bot.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n", 3}, {"QUIT\r\n", 1}}},
		{"real client, first time", append([]step{{"EHLO mx.example.net\r\n", 1}}, mail...)},
	}
	for _, tc := range cases {
		pf := converse(t, pfAddr, tc.steps)
		us := converse(t, ours, tc.steps)
		t.Logf("%s: postscreen %q", tc.name, pf)
		if strings.Join(pf, "\n") != strings.Join(us, "\n") {
			t.Errorf("%s:\npostscreen: %q\nsmtpd:      %q", tc.name, pf, us)
		}
	}
	// Both record the pass as the connection ends; the client then comes
	// back and is let through.
	again := append([]step{{"EHLO mx.example.net\r\n", 1}}, mail...)
	var pf, us []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		pf, us = converse(t, pfAddr, again), converse(t, ours, again)
		if strings.Join(pf, "\n") == strings.Join(us, "\n") && len(pf) > 3 && pf[3] == "250" {
			break
		}
	}
	if strings.Join(pf, "\n") != strings.Join(us, "\n") || len(pf) < 4 || pf[3] != "250" {
		t.Errorf("real client, again:\npostscreen: %q\nsmtpd:      %q", pf, us)
	}
}
