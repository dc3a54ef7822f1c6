// Package scanio holds what the content scanner clients share: how a
// scanner's address is written, how a connection to it is opened under a
// deadline, which errno an I/O error carries for the catalog's replies, and
// how a check reads the message it sends.
package scanio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Address is a scanner's parsed address: a unix socket path, or a TCP
// host:port.
type Address struct {
	Network string // "unix" or "tcp"
	Addr    string
}

// String returns the address as ParseAddress reads it back.
func (a Address) String() string { return a.Addr }

// ParseAddress reads a scanner address the way smtpf's clamd-socket and
// spamd-socket take it: a unix socket path (absolute, or "unix:" before
// it), or an Internet host with an optional ":port" (or smtpf's ",port"),
// defaultPort when none is given.
func ParseAddress(s, defaultPort string) (Address, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Address{}, errors.New("empty address")
	case strings.HasPrefix(s, "unix:"):
		p := strings.TrimPrefix(s, "unix:")
		if p == "" {
			return Address{}, fmt.Errorf("address %q: no socket path", s)
		}
		return Address{Network: "unix", Addr: p}, nil
	case strings.HasPrefix(s, "/"):
		return Address{Network: "unix", Addr: s}, nil
	}
	host, port := s, defaultPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if i := strings.LastIndexByte(s, ','); i >= 0 {
		host, port = s[:i], s[i+1:]
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	if host == "" || port == "" || strings.ContainsAny(host, " \t/") {
		return Address{}, fmt.Errorf("address %q: want /unix/socket/path or host[:port]", s)
	}
	return Address{Network: "tcp", Addr: net.JoinHostPort(host, port)}, nil
}

// Dial connects to a under ctx's deadline and sets that deadline on the
// connection, so no read or write outlives it.
func Dial(ctx context.Context, a Address) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, a.Network, a.Addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// A cancelled context (the client went away) ends the exchange at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return &stopConn{Conn: conn, stop: stop}, nil
}

type stopConn struct {
	net.Conn
	stop func() bool
}

func (c *stopConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// CloseWrite half-closes a TCP or unix connection, when it can.
func CloseWrite(c net.Conn) {
	if sc, ok := c.(*stopConn); ok {
		c = sc.Conn
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// Errno returns the system error number behind err, as smtpf's replies show
// it ("connection refused (111)"); a timeout is ETIMEDOUT, anything else 0.
func Errno(err error) int {
	var en syscall.Errno
	if errors.As(err, &en) {
		return int(en)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return int(syscall.ETIMEDOUT)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return int(syscall.ETIMEDOUT)
	}
	return 0
}

// Detail is the short text of an I/O error for a reply: the system's words
// ("connection refused", "i/o timeout"), without Go's operation and
// address prefix, which name this host's internals.
func Detail(err error) string {
	var en syscall.Errno
	switch {
	case errors.As(err, &en):
		return en.Error()
	case Errno(err) == int(syscall.ETIMEDOUT):
		return "i/o timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Err
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return de.Err
	}
	return "error"
}

// IsOpenError reports a failure to create the socket itself (out of
// descriptors), which smtpf calls an "open" error, apart from a failed
// connect.
func IsOpenError(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && se.Syscall == "socket"
}

// IsAddressError reports a dial failure before any connect: a host name that
// does not resolve, a malformed address.
func IsAddressError(err error) bool {
	var de *net.DNSError
	var ae *net.AddrError
	return errors.As(err, &de) || errors.As(err, &ae)
}

// Message opens the whole message (header, empty line, body, as received)
// that a scanner reads, and its size: Session.Message, set at end of data.
func Message(s *smtpcheck.Session) (io.ReadCloser, int64, error) {
	m := s.Message
	if m == nil {
		return nil, 0, nil
	}
	rc, err := m.Open()
	return rc, m.Size(), err
}

// Step is a failed exchange that knows its step (Op, in smtpf's words) and
// the catalog's 451 4.4.0 reply for it: clamd's and spamd's *Error.
type Step interface {
	error
	Reply() reply.Reply
}

// Fail applies the error policy to a failed scan by check: the reason names
// the failed step (op, or "error" when step is nil) and, when the policy is
// a temporary failure, the reply is the catalog's for that step.
func Fail(ctx context.Context, log *slog.Logger, check string, policy smtpcheck.ErrorPolicy, s *smtpcheck.Session, err error, op string, step Step) smtpcheck.Result {
	reason := smtpcheck.Reason{Check: check, Rule: "error", Evidence: err.Error()}
	if step != nil {
		reason.Rule = op
	}
	log.LogAttrs(ctx, slog.LevelError, check+": scan failed; applying error policy",
		slog.String("session", s.Conn.ID), slog.String("policy", policy.String()), slog.Any("error", err))
	r := policy.Fail(err, reason)
	if policy == smtpcheck.FailTemp && step != nil {
		r.Reply = step.Reply()
	}
	return r
}
