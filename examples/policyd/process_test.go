package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run policyd as a process of its own: the test
// binary started with POLICYD_ARGS set is policyd with those arguments
// (and, with POLICYD_NOFILE, that limit on open files), so signals, exit
// codes, the process's own log and its descriptor limit are the real ones.
func TestMain(m *testing.M) {
	if js, ok := os.LookupEnv("POLICYD_ARGS"); ok {
		var args []string
		if err := json.Unmarshal([]byte(js), &args); err != nil {
			panic(err)
		}
		if n, err := strconv.ParseUint(os.Getenv("POLICYD_NOFILE"), 10, 64); err == nil {
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
				panic(err)
			}
		}
		os.Args = append([]string{"policyd"}, args...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// proc is policyd running as a process.
type proc struct {
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{}
	err  error // the exit status, once done is closed
}

// command returns the policyd process for args, not yet started.
func command(t *testing.T, env []string, args ...string) (*exec.Cmd, *logBuffer) {
	t.Helper()
	js, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "POLICYD_ARGS="+string(js)), env...)
	logs := &logBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	return cmd, logs
}

// startProc starts policyd as a process and waits until it serves; it is
// stopped with SIGTERM when the test ends.
func startProc(t *testing.T, env []string, args ...string) (*proc, string) {
	t.Helper()
	cmd, logs := command(t, env, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: logs, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-p.done
			t.Errorf("policyd did not stop within 20s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("policyd log:\n%s", logs.String())
		}
	})
	addr := p.waitLog(t, regexp.MustCompile(`serving the Postfix policy protocol.* addr=(\S+)`), 10*time.Second)
	return p, addr
}

// waitLog waits until the log has a line matching re and returns its
// first group.
func (p *proc) waitLog(t *testing.T, re *regexp.Regexp, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.log.String()); m != nil {
			if len(m) > 1 {
				return m[1]
			}
			return m[0]
		}
		select {
		case <-p.done:
			t.Fatalf("policyd exited (%v) before logging %q:\n%s", p.err, re, p.log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("policyd did not log %q within %v:\n%s", re, within, p.log.String())
	return ""
}

// askAddr sends one request on a fresh connection and returns the action.
func askAddr(t *testing.T, network, addr, req string) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return ask(t, c, bufio.NewReader(c), req)
}

// Running out of file descriptors does not stop policyd: it backs off,
// retries and serves again once descriptors are free (issue: accept4: too
// many open files, exit 1).
func TestOutOfDescriptorsKeepsServing(t *testing.T) {
	p, addr := startProc(t, []string{"POLICYD_NOFILE=24"}, "-listen", "127.0.0.1:0", "-greylist", "memory:", "-greylist-delay", "1h")
	// Hold connections open until the process has no descriptor left for
	// the next one; the kernel still completes them in the backlog.
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < 40; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		held = append(held, c)
	}
	p.waitLog(t, regexp.MustCompile(`accept failed; retrying.*too many open files`), 10*time.Second)
	for _, c := range held {
		c.Close()
	}
	held = nil
	select {
	case <-p.done:
		t.Fatalf("policyd exited (%v) after running out of descriptors", p.err)
	default:
	}
	if got := askAddr(t, "tcp", addr, request("b@example.net")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT 4.7.1 greylisted") {
		t.Fatalf("answer after descriptors were freed = %q, want the greylist's DEFER_IF_PERMIT", got)
	}
	p.waitLog(t, regexp.MustCompile(`accepting connections again`), 5*time.Second)
}
