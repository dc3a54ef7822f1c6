package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
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

// startRedis starts a private redis-server that asks for password.
func startRedis(t *testing.T, password string) string {
	t.Helper()
	bin := peertest.Look(t, "redis-server", "redis-server")
	addr := freePort(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--requirepass", password,
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("redis-server did not start on %s", addr)
	return ""
}

// sendMail runs one SMTP session with the standard library's client.
func sendMail(addr, from, to string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("mx.example.net"); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	io.WriteString(w, strings.ReplaceAll(testMessage, "\r\n", "\n"))
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Stored mail is private to the server's user whatever its umask: the
// directories 0700, the files 0600.
func TestMaildirPrivateWhateverTheUmask(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool", "mail")
	p := startProcess(t, []string{"SMTPD_UMASK=000"}, "-listen", "127.0.0.1:0", "-maildir", dir)
	addr := p.serving(t)
	if err := sendMail(addr, "alice@example.net", "bob@example.org"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "quarantine")} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o700 {
			t.Errorf("%s has mode %o, want 0700", d, m)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("stored %d messages, want 1", len(files))
	}
	fi, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("stored message has mode %o, want 0600", m)
	}
}

// A Redis password in -greylist never appears in the log or /debug/vars
// (expvar's cmdline would show the whole command line).
func TestRedisPasswordNotPrinted(t *testing.T) {
	const secret = "s3cr3t-Pa55word"
	raddr := startRedis(t, secret)
	metrics := freePort(t)
	p := startProcess(t, nil, "-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-v",
		"-greylist", "redis://:"+secret+"@"+raddr+"/0", "-metrics", metrics)
	addr := p.serving(t)
	if err := sendMail(addr, "alice@example.net", "bob@example.org"); err == nil || !strings.Contains(err.Error(), "greylisted") {
		t.Errorf("first message: %v, want greylisted (the Redis store in use)", err)
	}
	resp, err := http.Get("http://" + metrics + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	vars, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(vars), `"cmdline": [`) || !strings.Contains(string(vars), "redis://:xxxxx@"+raddr) {
		t.Errorf("/debug/vars has no redacted cmdline:\n%.600s", vars)
	}
	if strings.Contains(string(vars), secret) {
		t.Errorf("/debug/vars shows the Redis password:\n%s", vars)
	}
	if !strings.Contains(p.out.String(), "store=redis://:xxxxx@") {
		t.Errorf("log does not name the store redacted:\n%s", p.out.String())
	}
	if strings.Contains(p.out.String(), secret) {
		t.Errorf("log shows the Redis password:\n%s", p.out.String())
	}

	// A wrong password: the start-up error names the store, redacted.
	bad := startProcess(t, nil, "-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-greylist", "redis://:wrong-"+secret+"@"+raddr+"/0")
	if code := bad.exit(t, 15*time.Second); code != 1 {
		t.Errorf("wrong password: exit %d, want 1", code)
	}
	if out := bad.out.String(); strings.Contains(out, secret) || !strings.Contains(out, "xxxxx") {
		t.Errorf("start-up error shows the password or not the store:\n%s", out)
	}
}

// The SMTP socket opens only after the whole configuration has loaded: a
// configuration that cannot load never leaves a server answering, not even
// while it loads.
func TestNoSocketBeforeConfigurationLoads(t *testing.T) {
	// A "Redis" that accepts and never answers keeps the store's start-up
	// check waiting for its deadline.
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
	addr := freePort(t)
	p := startProcess(t, nil, "-listen", addr, "-maildir", t.TempDir(), "-greylist", "redis://"+hang.Addr().String()+"/0")
	answered := false
	for {
		select {
		case <-p.done:
		default:
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				answered = true
				c.Close()
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		break
	}
	if code := p.exit(t, time.Second); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if answered {
		t.Errorf("the SMTP port accepted connections while the configuration was loading")
	}
	if !strings.Contains(p.out.String(), "-greylist redis://") {
		t.Errorf("no error naming -greylist:\n%s", p.out.String())
	}
}

// SIGHUP reloads the access map ten times under load without failing a
// session or forgetting greylist state; a bad file keeps the running policy
// and the log names its line. SIGTERM then lets the sessions finish.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "access.cf")
	write := func(body string) {
		if err := os.WriteFile(m+".new", []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(m+".new", m); err != nil {
			t.Fatal(err)
		}
	}
	write("Connect:192.0.2.1 REJECT\nGrey-To:bob@example.org 0\n")
	p := startProcess(t, nil, "-listen", "127.0.0.1:0", "-maildir", filepath.Join(dir, "mail"),
		"-greylist", "memory:", "-greylist-delay", "2s", "-access", m, "-access-reload", "0")
	addr := p.serving(t)

	// A triplet greylisted before the reloads...
	if err := sendMail(addr, "carol@example.net", "dave@example.org"); err == nil || !strings.Contains(err.Error(), "greylisted") {
		t.Fatalf("first message to dave: %v, want greylisted", err)
	}
	start := time.Now()

	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				if err := sendMail(addr, "alice@example.net", "bob@example.org"); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	proc := p.cmd.Process
	// Each SIGHUP waits for the previous reload's log line: signals that
	// arrive during a reload are rightly folded into one, which a loaded
	// machine would otherwise turn into fewer than ten reloads.
	for i := 0; i < 10; i++ {
		time.Sleep(100 * time.Millisecond)
		write(fmt.Sprintf("# reload %d\nConnect:192.0.2.%d REJECT\nGrey-To:bob@example.org 0\n", i, i+1))
		proc.Signal(syscall.SIGHUP)
		for deadline := time.Now().Add(10 * time.Second); strings.Count(p.out.String(), `msg="reloaded the policy"`) <= i; {
			if time.Now().After(deadline) {
				t.Fatalf("reload %d not logged within 10s", i+1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || sent.Load() < 10 {
		t.Errorf("%d of %d sessions failed across ten reloads (first: %v); want none failed", failed.Load(), sent.Load(), firstErr.Load())
	}
	t.Logf("%d sessions, 10 reloads, %d failed", sent.Load(), failed.Load())

	// ...passes after its delay: the store outlived the reloads.
	time.Sleep(time.Until(start.Add(2100 * time.Millisecond)))
	if err := sendMail(addr, "carol@example.net", "dave@example.org"); err != nil {
		t.Errorf("retry to dave after the delay and ten reloads: %v, want accepted", err)
	}

	// A bad file: the running policy stays (bob is still not greylisted)
	// and the log names the file and line.
	write("Grey-To:bob@example.org 0\nConect:192.0.2.9 REJECT\n")
	proc.Signal(syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`reload failed; the running policy stays in force.*access.cf:2: unknown tag`), 10*time.Second)
	if err := sendMail(addr, "erin@example.net", "bob@example.org"); err != nil {
		t.Errorf("after a failed reload: %v, want the running policy to accept", err)
	}

	// SIGTERM with a session open: it may finish its message.
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Hello("mx.example.net"); err != nil {
		t.Fatal(err)
	}
	proc.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Errorf("still accepting connections after SIGTERM")
	}
	err = c.Mail("alice@example.net")
	if err == nil {
		err = c.Rcpt("bob@example.org")
	}
	if err == nil {
		var w io.WriteCloser
		if w, err = c.Data(); err == nil {
			io.WriteString(w, strings.ReplaceAll(testMessage, "\r\n", "\n"))
			err = w.Close()
		}
	}
	if err != nil {
		t.Errorf("session under way at SIGTERM: %v, want it to finish", err)
	}
	c.Quit()
	if code := p.exit(t, 10*time.Second); code != 0 {
		t.Errorf("exit after SIGTERM = %d, want 0", code)
	}
}

// Command lines behave alike: -h exits 0, a bad flag exits 2 with one line
// and the usage, -version prints the module version.
func TestCommandLine(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"-h"}, 0, []string{"Usage of smtpd:", "-listen"}},
		{[]string{"-no-such-flag"}, 2, []string{"flag provided but not defined: -no-such-flag\nUsage of smtpd:"}},
		{[]string{"-listen", "127.0.0.1:0", "stray"}, 2, []string{"unexpected arguments [\"stray\"]\nUsage of smtpd:"}},
		{[]string{"-version"}, 0, []string{"smtpd github.com/smtppolicy/smtppolicy"}},
		{[]string{"-listen", "tcp:127.0.0.1:25"}, 1, []string{"smtpd: -listen: listen address \"tcp:127.0.0.1:25\": want inet:HOST:PORT, HOST:PORT or unix:/path"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			p := startProcess(t, nil, tt.args...)
			if code := p.exit(t, 10*time.Second); code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			out := p.out.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tt.code == 2 && strings.Count(out, "smtpd:") > 1 {
				t.Errorf("the error is said more than once:\n%s", out)
			}
		})
	}
}

// -listen unix:/path serves SMTP on a Unix socket with -listen-mode.
func TestListenUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "smtpd.sock")
	p := startProcess(t, nil, "-listen", "unix:"+sock, "-listen-mode", "0660", "-maildir", t.TempDir())
	p.serving(t)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "220 ") {
		t.Errorf("greeting over the Unix socket = %q, %v", line, err)
	}
	// A whole message over the socket (a local content filter's way in).
	uc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := smtp.NewClient(uc, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	err = cl.Hello("mx.example.net")
	if err == nil {
		err = cl.Mail("alice@example.net")
	}
	if err == nil {
		err = cl.Rcpt("bob@example.org")
	}
	if err == nil {
		var w io.WriteCloser
		if w, err = cl.Data(); err == nil {
			io.WriteString(w, strings.ReplaceAll(testMessage, "\r\n", "\n"))
			err = w.Close()
		}
	}
	if err != nil {
		t.Errorf("message over the Unix socket: %v", err)
	}
	// And inet:HOST:PORT, Postfix's notation.
	q := startProcess(t, nil, "-listen", "inet:127.0.0.1:0", "-maildir", t.TempDir())
	if addr := q.serving(t); !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("inet:127.0.0.1:0 serves on %q", addr)
	}
	_ = context.Background
}

// Running out of file descriptors does not stop the server: accepting
// backs off and retries, and mail is taken again once descriptors are free.
func TestOutOfDescriptorsKeepsServing(t *testing.T) {
	p := startProcess(t, []string{"SMTPD_NOFILE=32"}, "-listen", "127.0.0.1:0", "-maildir", t.TempDir())
	addr := p.serving(t)
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < 50; i++ {
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
	if err := sendMail(addr, "alice@example.net", "bob@example.org"); err != nil {
		t.Fatalf("after descriptors were freed: %v", err)
	}
	p.waitLog(t, regexp.MustCompile(`accepting connections again`), 5*time.Second)
}

// -cpu-profile gives the administrator a CPU profile of the whole run once
// the server stops on SIGTERM: a gzip-compressed pprof file, not an empty
// or truncated one.
func TestCPUProfileWrittenOnShutdown(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	p := startProcess(t, nil, "-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-cpu-profile", prof)
	addr := p.serving(t)
	if err := sendMail(addr, "alice@example.net", "bob@example.org"); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.exit(t, 30*time.Second); code != 0 {
		t.Fatalf("smtpd exited with %d after SIGTERM, want 0", code)
	}
	f, err := os.Open(prof)
	if err != nil {
		t.Fatalf("no profile after shutdown: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("profile %s is not gzip-compressed as pprof writes it: %v", prof, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("profile %s is truncated: %v", prof, err)
	}
	if len(b) == 0 {
		t.Fatalf("profile %s is empty", prof)
	}
}
