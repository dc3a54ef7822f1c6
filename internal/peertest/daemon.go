package peertest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Daemon is a peer program started for tests (clamd, spamd) that runs
// until Stop.
type Daemon struct {
	cmd  *exec.Cmd
	done chan error
}

// StartDaemon starts cmd with its standard output and error in the file
// output, and waits until ready answers nil, asking every poll for at most
// wait. A daemon that exits or never answers is stopped and reported as an
// error naming it.
func StartDaemon(name string, cmd *exec.Cmd, output string, ready func() error, poll, wait time.Duration) (*Daemon, error) {
	out, err := os.Create(output)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &Daemon{cmd: cmd, done: make(chan error, 1)}
	go func() { d.done <- cmd.Wait() }()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			d.done <- err // Stop waits for it too
			return nil, fmt.Errorf("%s exited: %v", name, err)
		case <-time.After(poll):
		}
		if ready() == nil {
			return d, nil
		}
	}
	d.Stop(5 * time.Second)
	return nil, fmt.Errorf("%s did not answer PING within %d s", name, int(wait.Seconds()))
}

// Stop interrupts the daemon and kills it if it has not exited after
// grace; a nil Daemon is already stopped.
func (d *Daemon) Stop(grace time.Duration) {
	if d == nil {
		return
	}
	d.cmd.Process.Signal(os.Interrupt)
	select {
	case <-d.done:
	case <-time.After(grace):
		d.cmd.Process.Kill()
		<-d.done
	}
}

// Workdir is the private temporary directory of a daemon started for
// tests: its configuration, output and log live there, and Close removes
// it with the daemon.
type Workdir struct {
	// Path is the directory.
	Path   string
	prefix string // what errors start with: the fixture package's name
	output string // the file in Path that takes the daemon's output
	d      *Daemon
}

// NewWorkdir makes a directory whose name starts with prefix (keep it short:
// a unix socket's path must fit in 108 octets). Errors of the daemon's start
// start with prefix; its output goes to the file output in the directory.
func NewWorkdir(prefix, output string) (*Workdir, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	return &Workdir{Path: dir, prefix: prefix, output: output}, nil
}

// Start runs cmd as StartDaemon does, its output in the directory.
func (w *Workdir) Start(name string, cmd *exec.Cmd, ready func() error, poll, wait time.Duration) error {
	d, err := StartDaemon(name, cmd, filepath.Join(w.Path, w.output), ready, poll, wait)
	w.d = d
	return err
}

// Fail ends a start that went wrong: it removes the directory and returns
// err with the daemon's output so far, which says why.
func (w *Workdir) Fail(err error) error {
	out := w.Read(w.output)
	os.RemoveAll(w.Path)
	return fmt.Errorf("%s: %w\n%s", w.prefix, err, out)
}

// Read returns the file name in the directory, or "" when it cannot.
func (w *Workdir) Read(name string) string {
	b, _ := os.ReadFile(filepath.Join(w.Path, name))
	return string(b)
}

// Close stops the daemon (see Daemon.Stop) and removes the directory.
func (w *Workdir) Close(grace time.Duration) {
	w.d.Stop(grace)
	os.RemoveAll(w.Path)
}

// FreePort returns a loopback TCP port free a moment ago: another process
// may take it before the daemon does, so a start that fails is worth
// retrying (see Retry).
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Retry calls start up to three times, for daemons started on a FreePort,
// and returns the first success or the last error.
func Retry[T any](start func() (T, error)) (T, error) {
	var v T
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if v, err = start(); err == nil {
			return v, nil
		}
	}
	return v, err
}

// Find returns the first of paths that is an executable file, else name
// looked up in PATH, else "".
func Find(name string, paths ...string) string {
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return ""
}

// Start runs launch for a test and closes what it started when the test
// ends. An error that is missing (the program is not installed) skips the
// test, or fails it when peers are required; any other error fails it.
func Start[T interface{ Close() }](t testing.TB, missing error, launch func() (T, error)) T {
	t.Helper()
	v, err := launch()
	if errors.Is(err, missing) {
		Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// Ping dials addr, sends req, and checks that the answer, read up to and
// including delim within wait, contains want.
func Ping(network, addr, req string, delim byte, want string, wait time.Duration) error {
	c, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte(req)); err != nil {
		return err
	}
	ans, err := bufio.NewReader(c).ReadString(delim)
	if err != nil {
		return err
	}
	if !strings.Contains(ans, want) {
		return fmt.Errorf("PING answered %q", ans)
	}
	return nil
}
