package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run smtpd as a process of its own: the test binary
// started with SMTPD_ARGS set is smtpd with those arguments (and, with
// SMTPD_UMASK, that umask; with SMTPD_NOFILE, that limit on open files), so signals, exit codes, the command line
// expvar publishes and the process's own log are the real ones.
func TestMain(m *testing.M) {
	if js, ok := os.LookupEnv("SMTPD_ARGS"); ok {
		var args []string
		if err := json.Unmarshal([]byte(js), &args); err != nil {
			panic(err)
		}
		if u, err := strconv.ParseUint(os.Getenv("SMTPD_UMASK"), 8, 32); err == nil {
			syscall.Umask(int(u))
		}
		if n, err := strconv.ParseUint(os.Getenv("SMTPD_NOFILE"), 10, 64); err == nil {
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
				panic(err)
			}
		}
		os.Args = append([]string{"smtpd"}, args...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer collects a process's output for a test to read.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is smtpd running as a process.
type proc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // the exit status, once done is closed
}

// startProcess starts smtpd as a process with args; it is stopped with
// SIGTERM when the test ends.
func startProcess(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	js, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "SMTPD_ARGS="+string(js)), env...)
	p := &proc{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(40 * time.Second):
			cmd.Process.Kill()
			<-p.done
			t.Errorf("smtpd did not stop within 40s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("smtpd output:\n%s", p.out.String())
		}
	})
	return p
}

// waitLog waits until the output has a line matching re and returns its
// first group (or the match).
func (p *proc) waitLog(t *testing.T, re *regexp.Regexp, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			if len(m) > 1 {
				return m[1]
			}
			return m[0]
		}
		select {
		case <-p.done:
			if m := re.FindStringSubmatch(p.out.String()); m != nil {
				return m[len(m)-1]
			}
			t.Fatalf("smtpd exited (%v) before logging %q:\n%s", p.err, re, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("smtpd did not log %q within %v:\n%s", re, within, p.out.String())
	return ""
}

// serving waits until the process serves SMTP and returns its address.
func (p *proc) serving(t *testing.T) string {
	t.Helper()
	return p.waitLog(t, regexp.MustCompile(`msg="serving SMTP" listen=(\S+)`), 15*time.Second)
}

// exit waits for the process to end by itself and returns its exit code.
func (p *proc) exit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("smtpd still running after %v:\n%s", within, p.out.String())
	}
	if p.err == nil {
		return 0
	}
	var ee *exec.ExitError
	if ok := asExitError(p.err, &ee); ok {
		return ee.ExitCode()
	}
	t.Fatalf("smtpd: %v", p.err)
	return -1
}

func asExitError(err error, target **exec.ExitError) bool {
	ee, ok := err.(*exec.ExitError)
	if ok {
		*target = ee
	}
	return ok
}

// freePort returns a loopback address no one listens on (for a moment).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
