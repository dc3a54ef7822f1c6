package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
)

// freeAddr returns a loopback address no one listens on (for a moment).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// exitCode waits for a process started with command and returns its code.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("policyd did not exit")
		return -1
	}
}

// A Redis password in -greylist never appears in the log, whether the
// store opens or not.
func TestRedisPasswordNotLogged(t *testing.T) {
	const secret = "pd-s3cr3t-Pa55"
	bin := peertest.Look(t, "redis-server", "redis-server")
	raddr := freeAddr(t)
	_, port, _ := net.SplitHostPort(raddr)
	redis := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--requirepass", secret, "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := redis.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { redis.Process.Kill(); redis.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", raddr); err == nil {
			c.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	p, addr := startProc(t, nil, "-listen", "127.0.0.1:0", "-v", "-greylist", "redis://:"+secret+"@"+raddr+"/0")
	if got := askAddr(t, "tcp", addr, request("b@example.net")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT 4.7.1 greylisted") {
		t.Errorf("answer = %q, want greylisted (the Redis store in use)", got)
	}
	if out := p.log.String(); strings.Contains(out, secret) || !strings.Contains(out, "greylist=redis://:xxxxx@"+raddr) {
		t.Errorf("log shows the password or not the redacted store:\n%s", out)
	}
	cmd, logs := command(t, nil, "-listen", "127.0.0.1:0", "-greylist", "redis://:wrong-"+secret+"@"+raddr+"/0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 1 {
		t.Errorf("wrong password: exit %d, want 1", code)
	}
	if out := logs.String(); strings.Contains(out, secret) || !strings.Contains(out, "xxxxx") {
		t.Errorf("start-up error shows the password or not the store:\n%s", out)
	}
}

// SIGHUP reloads the access map ten times under load without a failed
// request or lost greylist state; a bad file keeps the running policy and
// the log names its line; SIGTERM ends the process cleanly.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "access.cf")
	write := func(body string) {
		os.WriteFile(m+".new", []byte(body), 0o644)
		if err := os.Rename(m+".new", m); err != nil {
			t.Fatal(err)
		}
	}
	write("Connect:192.0.2.66 REJECT\n")
	p, addr := startProc(t, nil, "-listen", "127.0.0.1:0", "-greylist", "memory:", "-greylist-delay", "2s", "-access", m)
	if got := askAddr(t, "tcp", addr, request("dave@example.net")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT") {
		t.Fatalf("first request = %q, want greylisted", got)
	}
	start := time.Now()
	var sent, failed atomic.Int64
	var firstBad atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// One long-lived connection per worker, as Postfix keeps them.
			c, err := net.Dial("tcp", addr)
			if err != nil {
				failed.Add(1)
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				time.Sleep(time.Millisecond) // a busy Postfix, not a flood
				sent.Add(1)
				req := request(fmt.Sprintf("w%d-%d@example.net", w, i))
				c.SetDeadline(time.Now().Add(5 * time.Second))
				io.WriteString(c, req)
				line, err := br.ReadString('\n')
				blank, _ := br.ReadString('\n')
				if err != nil || !strings.HasPrefix(line, "action=DEFER_IF_PERMIT 4.7.1 greylisted") || blank != "\n" {
					failed.Add(1)
					firstBad.CompareAndSwap(nil, fmt.Sprintf("%q %v", line, err))
				}
			}
		}(w)
	}
	for i := 0; i < 10; i++ {
		time.Sleep(100 * time.Millisecond)
		write(fmt.Sprintf("# reload %d\nConnect:192.0.2.66 REJECT\n", i))
		p.cmd.Process.Signal(syscall.SIGHUP)
		// Signals arriving during a reload are folded into one; waiting
		// for each keeps ten reloads ten on a loaded machine.
		for deadline := time.Now().Add(10 * time.Second); strings.Count(p.log.String(), `msg="reloaded the policy"`) <= i; {
			if time.Now().After(deadline) {
				t.Fatalf("reload %d not logged within 10s", i+1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || sent.Load() < 10 {
		t.Errorf("%d of %d requests failed across ten reloads (first: %v); want none", failed.Load(), sent.Load(), firstBad.Load())
	}
	t.Logf("%d requests, 10 reloads, %d failed", sent.Load(), failed.Load())
	time.Sleep(time.Until(start.Add(2100 * time.Millisecond)))
	if got := askAddr(t, "tcp", addr, request("dave@example.net")); !strings.HasPrefix(got, "action=PREPEND X-Greylist:") {
		t.Errorf("retry after the delay and ten reloads = %q, want passed (the store outlived the reloads)", got)
	}

	write("Connect:192.0.2.10 REJECT\nFrom:example.org REJEKT\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`reload failed; the running policy stays in force.*access.cf:2: From:example.org: bad value`), 10*time.Second)
	if got := askAddr(t, "tcp", addr, request("dave@example.net")); got != "action=DUNNO" {
		t.Errorf("after a failed reload = %q, want the running policy's DUNNO (not the bad file's REJECT)", got)
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("policyd did not stop within 5s of SIGTERM with an idle connection open")
	}
	if p.err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", p.err)
	}
}

// Command lines behave alike: -h exits 0, a bad flag exits 2 with one line
// and the usage, -version prints the module version.
func TestCommandLine(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-h"}, 0, "Usage of policyd:"},
		{[]string{"-greylist-delay", "soon"}, 2, "invalid value \"soon\" for flag -greylist-delay"},
		{[]string{"-nope"}, 2, "flag provided but not defined: -nope\nUsage of policyd:"},
		{[]string{"stray"}, 2, "unexpected arguments [\"stray\"]\nUsage of policyd:"},
		{[]string{"-version"}, 0, "policyd github.com/smtppolicy/smtppolicy"},
		{[]string{"-listen", "udp:127.0.0.1:1"}, 1, "policyd: -listen: listen address \"udp:127.0.0.1:1\""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd, logs := command(t, nil, tt.args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if code := exitCode(t, cmd); code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if out := logs.String(); !strings.Contains(out, tt.want) || strings.Count(out, "policyd:") > 1 {
				t.Errorf("output lacks %q or repeats the error:\n%s", tt.want, out)
			}
		})
	}
}

// -listen takes Postfix's notations: unix:/path (with -listen-mode) and
// inet:HOST:PORT.
func TestListenNotations(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "policyd.sock")
	startProc(t, nil, "-listen", "unix:"+sock, "-listen-mode", "0660", "-greylist", "memory:")
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	if got := askAddr(t, "unix", sock, request("b@example.net")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT") {
		t.Errorf("answer over the Unix socket = %q", got)
	}
	_, addr := startProc(t, nil, "-listen", "inet:127.0.0.1:0", "-greylist", "memory:")
	if got := askAddr(t, "tcp", addr, request("b@example.net")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT") {
		t.Errorf("answer over inet:127.0.0.1:0 = %q", got)
	}
}

// The bbolt store is the default; its directory is created 0700, a
// restart keeps every triplet, and a directory that cannot be created is
// one clear line.
func TestPersistentStore(t *testing.T) {
	if o, _ := parseFlags(nil, io.Discard); o.greylist != "bolt:/var/lib/smtppolicy/greylist.db" {
		t.Errorf("default -greylist = %q, want bolt:/var/lib/smtppolicy/greylist.db", o.greylist)
	}
	dir := filepath.Join(t.TempDir(), "lib", "smtppolicy")
	spec := "bolt:" + filepath.Join(dir, "greylist.db")
	p, addr := startProc(t, nil, "-listen", "127.0.0.1:0", "-greylist", spec, "-greylist-delay", "1s")
	if got := askAddr(t, "tcp", addr, request("b@example.net")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT") {
		t.Fatalf("first request = %q, want greylisted", got)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("store directory: %v, %v; want mode 0700", fi, err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	time.Sleep(1100 * time.Millisecond)
	_, addr = startProc(t, nil, "-listen", "127.0.0.1:0", "-greylist", spec, "-greylist-delay", "1s")
	if got := askAddr(t, "tcp", addr, request("b@example.net")); !strings.HasPrefix(got, "action=PREPEND X-Greylist:") {
		t.Errorf("retry after a restart = %q, want passed (the triplet kept)", got)
	}

	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, nil, 0o600)
	cmd, logs := command(t, nil, "-listen", "127.0.0.1:0", "-greylist", "bolt:"+file+"/sub/greylist.db")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 1 {
		t.Errorf("uncreatable directory: exit %d, want 1", code)
	}
	out := strings.TrimSpace(logs.String())
	if lines := strings.Split(out, "\n"); !strings.HasPrefix(lines[len(lines)-1], "policyd: -greylist bolt:"+file+"/sub/greylist.db: cannot create its directory: not a directory") {
		t.Errorf("error = %q, want one line naming the store and why", out)
	}
}

// The README's policyd command works on a fresh machine: run in an empty
// directory, it creates its store and serves.
func TestReadmeCommand(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "go run ./examples/policyd "); ok {
			rest, _, _ = strings.Cut(rest, "#")
			args = strings.Fields(rest)
			break
		}
	}
	if len(args) == 0 {
		t.Fatal("no policyd command in the README")
	}
	dir := t.TempDir()
	cmd, logs := command(t, nil, append(args, "-listen", "127.0.0.1:0")...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: logs, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); <-p.done })
	addr := p.waitLog(t, regexp.MustCompile(`serving the Postfix policy protocol.* addr=(\S+)`), 10*time.Second)
	if got := askAddr(t, "tcp", addr, request("b@example.net")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT 4.7.1 greylisted") {
		t.Errorf("README command answers %q, want greylisting", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "greylist.db")); err != nil {
		t.Errorf("README command's store: %v", err)
	}
}

// SIGHUP reloads the -config file too; a misspelt parameter keeps the
// running policy and the log says file and line.
func TestReloadConfig(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "main.cf")
	write := func(body string) {
		os.WriteFile(cf+".new", []byte(body), 0o644)
		if err := os.Rename(cf+".new", cf); err != nil {
			t.Fatal(err)
		}
	}
	write("smtpd_recipient_restrictions = permit\n")
	p, addr := startProc(t, nil, "-listen", "127.0.0.1:0", "-greylist", "none", "-config", cf)
	if got := askAddr(t, "tcp", addr, request("b@example.net")); got != "action=DUNNO" {
		t.Fatalf("before the reload = %q, want DUNNO", got)
	}
	write("# now refuse\nsmtpd_recipient_restrictions = reject\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`msg="reloaded the policy"`), 10*time.Second)
	refused := func(a string) bool { return strings.HasPrefix(a, "action=REJECT") || strings.HasPrefix(a, "action=5") }
	if got := askAddr(t, "tcp", addr, request("b@example.net")); !refused(got) {
		t.Errorf("after the reload = %q, want a refusal", got)
	}
	write("smtpd_recipient_restrictions = permit\nsmtpd_recipient_restrictons = permit\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`reload failed; the running policy stays in force.*main.cf:2`), 10*time.Second)
	if got := askAddr(t, "tcp", addr, request("b@example.net")); !refused(got) {
		t.Errorf("after a failed reload = %q, want the running policy's refusal", got)
	}
}

// The socket opens only once the whole configuration has loaded: while a
// store is slow to answer, nothing listens, and a failed start never did.
func TestNoSocketBeforeConfigurationLoads(t *testing.T) {
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	addr := freeAddr(t)
	cmd, logs := command(t, nil, "-listen", addr, "-greylist", "redis://"+hang.Addr().String()+"/0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	answered := false
	for {
		select {
		case err := <-done:
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Errorf("exit %v, want 1:\n%s", err, logs.String())
			}
			if answered {
				t.Errorf("the policy port accepted connections while the configuration was loading")
			}
			return
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			answered = true
			c.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
}
