package arc

import (
	"context"
	"errors"
	"fmt"
)

// ParseError is an ARC header field that does not parse: a bad tag list,
// a missing or unknown tag, an instance out of range. The chain fails.
type ParseError struct {
	Field    string // ARC-Seal, ARC-Message-Signature or ARC-Authentication-Results
	Instance int    // its i=, 0 when it has none that reads
	Msg      string
}

func (e *ParseError) Error() string {
	if e.Instance > 0 {
		return fmt.Sprintf("arc: %s i=%d: %s", e.Field, e.Instance, e.Msg)
	}
	return fmt.Sprintf("arc: %s: %s", e.Field, e.Msg)
}

// ChainError is a chain whose sets are not in order (RFC 8617 5.2 steps
// 2 to 4): a set missing or given twice, a seal that declares the wrong
// cv=, or a sealer that found the chain failed.
type ChainError struct {
	Instance int
	Msg      string
}

func (e *ChainError) Error() string { return fmt.Sprintf("arc: set i=%d: %s", e.Instance, e.Msg) }

// SignatureError is an ARC-Message-Signature or ARC-Seal that does not
// verify: a body hash mismatch, a bad signature, a key that cannot be
// used (revoked, too short, of the wrong type).
type SignatureError struct {
	Field    string
	Instance int
	Domain   string // d=
	Msg      string
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("arc: %s i=%d d=%s: %s", e.Field, e.Instance, e.Domain, e.Msg)
}

// KeyError is a key lookup that failed. Temporary ones (a timeout, a
// SERVFAIL) may pass on a later try, so a receiver answers them with a
// temporary reply, never a permanent one.
type KeyError struct {
	Name string // the DNS name looked up, selector._domainkey.domain
	Temp bool
	Err  error
}

func (e *KeyError) Error() string { return "arc: key " + e.Name + ": " + e.Err.Error() }

// Unwrap returns the lookup's error.
func (e *KeyError) Unwrap() error { return e.Err }

// Temporary reports whether a later lookup may succeed.
func (e *KeyError) Temporary() bool { return e.Temp }

// IsTemporary reports whether err is a temporary key lookup failure.
func IsTemporary(err error) bool {
	var k *KeyError
	return errors.As(err, &k) && k.Temp
}

// temporary classifies a resolver's error: it says so itself
// (*net.DNSError and the resolver package's errors have Temporary), or
// the deadline ran out.
func temporary(ctx context.Context, err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
