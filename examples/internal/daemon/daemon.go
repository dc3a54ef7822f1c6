// Package daemon holds what smtpd, policyd and the milter share as programs an
// administrator runs: listening addresses in Postfix's notation, an accept
// loop that survives running out of file descriptors, redaction of secrets
// in what they print, and their common command-line behaviour.
package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ParseListen reads a listening address as Postfix writes one in
// check_policy_service and master.cf: "inet:HOST:PORT", "HOST:PORT" (inet
// implied), or "unix:/path". It returns the network for net.Listen ("tcp"
// or "unix") and the address.
func ParseListen(spec string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(spec, "unix:"):
		path := strings.TrimPrefix(spec, "unix:")
		if path == "" {
			return "", "", fmt.Errorf("listen address %q: unix: needs a socket path", spec)
		}
		return "unix", path, nil
	case strings.HasPrefix(spec, "inet:"):
		spec = strings.TrimPrefix(spec, "inet:")
	}
	host, port, err := net.SplitHostPort(spec)
	if err != nil {
		return "", "", fmt.Errorf("listen address %q: want inet:HOST:PORT, HOST:PORT or unix:/path", spec)
	}
	if port == "" {
		return "", "", fmt.Errorf("listen address %q: no port", spec)
	}
	return "tcp", net.JoinHostPort(host, port), nil
}

// Listen opens the listening socket spec names (see ParseListen). A Unix
// socket gets mode, whatever the umask, and a stale socket file left by a
// previous run is removed first; any other file at the path is an error.
func Listen(spec string, mode fs.FileMode) (net.Listener, error) {
	network, addr, err := ParseListen(spec)
	if err != nil {
		return nil, err
	}
	if network != "unix" {
		return net.Listen(network, addr)
	}
	if fi, err := os.Lstat(addr); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("listen %s: the path exists and is not a socket", spec)
		}
		if c, err := net.Dial("unix", addr); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %s: another process is serving this socket", spec)
		}
		os.Remove(addr)
	}
	ln, err := net.Listen("unix", addr)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(addr, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen %s: %w", spec, err)
	}
	return ln, nil
}

// ParseMode reads a file mode written in octal, as chmod takes it ("0660").
func ParseMode(s string) (fs.FileMode, error) {
	var m uint32
	if _, err := fmt.Sscanf(s, "%o", &m); err != nil || m > 0o777 || strings.TrimLeft(s, "01234567") != "" {
		return 0, fmt.Errorf("mode %q: want an octal permission such as 0660", s)
	}
	return fs.FileMode(m), nil
}

// Retrying wraps ln so that Accept rides out temporary failures, as
// net/http's Server does: it waits 5 ms, doubling to at most 1 s, and
// tries again, instead of handing the error to a caller that would stop
// serving. Running out of file descriptors (EMFILE, ENFILE) or kernel
// memory is such a failure: sessions that end give descriptors back. The
// first failure of a run is logged at once, later ones at most every 10 s
// with a count, and recovery is logged too.
func Retrying(ln net.Listener, logger *slog.Logger) net.Listener {
	return &retrying{Listener: ln, log: logger}
}

type retrying struct {
	net.Listener
	log *slog.Logger

	mu       sync.Mutex
	failures int       // in the current run of failures
	logged   time.Time // when the current run was last logged
	unlogged int       // failures since then
}

// logEvery bounds the log lines of one run of accept failures.
const logEvery = 10 * time.Second

func (l *retrying) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			l.recovered()
			return c, nil
		}
		if !temporary(err) {
			return nil, err
		}
		if delay == 0 {
			delay = 5 * time.Millisecond
		} else {
			delay = min(2*delay, time.Second)
		}
		l.failed(err, delay)
		time.Sleep(delay)
	}
}

func (l *retrying) failed(err error, delay time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures++
	l.unlogged++
	if l.failures == 1 || time.Since(l.logged) >= logEvery {
		l.log.Error("accept failed; retrying", "error", err, "retry_in", delay, "failures", l.unlogged)
		l.logged, l.unlogged = time.Now(), 0
	}
}

func (l *retrying) recovered() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failures > 0 {
		l.log.Warn("accepting connections again", "failures", l.failures)
		l.failures, l.unlogged = 0, 0
	}
}

// temporary reports whether an accept error may clear by itself.
func temporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN, syscall.EPROTO, syscall.EPERM} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// RedactURL hides the password of a URL such as a Redis store's
// "redis://:secret@host:6379/0" (it becomes "xxxxx"); anything that is not
// a URL with a password comes back unchanged.
func RedactURL(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// An unparsable URL may still carry a secret before its "@".
		scheme, rest, _ := strings.Cut(s, "://")
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			return scheme + "://xxxxx@" + rest[at+1:]
		}
		return s
	}
	if _, has := u.User.Password(); !has {
		return s
	}
	return u.Redacted()
}

// RedactArgs returns a copy of a command line with every URL's password
// hidden, in "-flag=URL" and "-flag URL" forms alike.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if name, val, ok := strings.Cut(a, "="); ok && strings.HasPrefix(name, "-") {
			out[i] = name + "=" + RedactURL(val)
			continue
		}
		out[i] = RedactURL(a)
	}
	return out
}

// RedactError returns err with every occurrence of spec's password
// replaced, for errors that quote the spec they were given.
func RedactError(err error, spec string) error {
	if err == nil {
		return nil
	}
	red := RedactURL(spec)
	if red == spec {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), spec, red)
	if u, perr := url.Parse(spec); perr == nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return errors.New(msg)
}

// Version returns the module version the program was built from, as
// "go install" records it, or "(devel)" for a build from a checkout.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && v == "(devel)" {
			v += " " + s.Value
		}
	}
	return bi.Main.Path + " " + v
}
