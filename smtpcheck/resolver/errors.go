package resolver

import (
	"context"
	"errors"

	"github.com/miekg/dns"
)

// Sentinel errors. Errors returned by a [Resolver] are *[Error] values that
// wrap one of these, so callers test them with errors.Is.
var (
	// ErrNotFound means the name does not exist (NXDOMAIN) or has no
	// records of the type asked for (NODATA). Only the typed lookups return
	// it; Query reports both as an [Answer] instead.
	ErrNotFound = errors.New("name not found")
	// ErrNXDomain and ErrNoData tell the two kinds of ErrNotFound apart:
	// an error wrapping ErrNotFound also wraps one of them.
	ErrNXDomain = errors.New("NXDOMAIN")
	ErrNoData   = errors.New("NODATA")
	// ErrTimeout means no server answered before the deadline: the
	// caller's context deadline or the resolver's per-attempt timeouts.
	ErrTimeout = errors.New("timeout")
	// ErrServFail means every server that answered said SERVFAIL.
	ErrServFail = errors.New("server failure")
	// ErrRefused means the servers refused the query (REFUSED).
	ErrRefused = errors.New("query refused")
	// ErrNetwork means a server could not be reached (connection refused,
	// no route) and no other server answered.
	ErrNetwork = errors.New("network error")
	// ErrBadResponse means an answer was malformed or did not match the
	// question, or carried an unexpected rcode such as FORMERR.
	ErrBadResponse = errors.New("bad response")
	// ErrInvalidName means the name is not a valid DNS name; no query was
	// sent.
	ErrInvalidName = errors.New("invalid name")
)

// Error describes a failed lookup.
type Error struct {
	Name   string // question name, fully qualified
	Type   uint16 // question type
	Server string // last server tried, "" if none was
	Err    error  // one of the sentinel errors, or context.Canceled
	Cause  error  // underlying error (network, context), may be nil
}

// Error returns a one-line description such as
// "lookup example.com. MX via 192.0.2.53:53: timeout: i/o timeout".
func (e *Error) Error() string {
	s := "lookup " + e.Name + " " + dns.TypeToString[e.Type]
	if e.Server != "" {
		s += " via " + e.Server
	}
	s += ": " + e.Err.Error()
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the sentinel error and the cause, for errors.Is and
// errors.As.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// Temporary reports whether a later retry may succeed: timeouts, server
// failures, refusals and network errors are temporary; a name that is not
// found or not valid is not.
func (e *Error) Temporary() bool { return IsTemporary(e) }

// IsNotFound reports whether err says the name or record type does not
// exist (NXDOMAIN or NODATA).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsTemporary reports whether err is a lookup failure that a later retry
// may not have: a timeout, SERVFAIL, REFUSED, a network error, or a
// cancelled context.
func IsTemporary(err error) bool {
	return errors.Is(err, ErrTimeout) || errors.Is(err, ErrServFail) ||
		errors.Is(err, ErrRefused) || errors.Is(err, ErrNetwork) ||
		errors.Is(err, ErrBadResponse) || errors.Is(err, context.Canceled)
}

func newError(name string, qtype uint16, server string, sentinel, cause error) *Error {
	return &Error{Name: name, Type: qtype, Server: server, Err: sentinel, Cause: cause}
}

// ctxError turns a finished context into a lookup error.
func ctxError(ctx context.Context, name string, qtype uint16) *Error {
	err := ctx.Err()
	if errors.Is(err, context.Canceled) {
		return newError(name, qtype, "", context.Canceled, nil)
	}
	if err == nil { // past the deadline, a moment before ctx reports it
		err = context.DeadlineExceeded
	}
	return newError(name, qtype, "", ErrTimeout, err)
}
