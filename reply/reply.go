// Package reply is a typed catalog of SMTP replies: a basic code, an RFC 3463
// enhanced status code and text, written to the wire safely (RFC 5321, RFC 2034),
// parsed from other servers, classified and explained in plain language.
//
// Every reply smtppolicy gives comes from a named constructor in this package
// (RelayDenied, HostBlacklisted, ...), so a reply's code, enhanced code and text
// never disagree. Replies built by hand go through New, which refuses a basic and
// an enhanced code of different classes. Replies of the source lists that
// smtppolicy never gives have no constructor: Lookup, ByRef and Identify
// reach them, and Entry.Reply builds them.
//
// The catalog holds every reply of the lists the product grew from (smtpf's
// numbered replies, Postfix's, the Barracuda gateway's named codes) and the
// replies of its own checks, each with an explanation an administrator can
// act on and its references (Entry.Refs), which name where the reply comes
// from:
//
//   - "smtpf#288": reply number 288 of smtpf, the SMTP filter whose
//     numbered reply list this catalog began with; one entry may carry
//     several numbers that give the same reply.
//   - "postfix": a reply the Postfix SMTP server gives in the same words.
//   - "barracuda:5XX_BLOCKED_RBL": a named reply code of the Barracuda
//     spam gateway, as its documentation and bounces name it.
//   - "smtppolicy": a reply of this product's own checks that none of the
//     lists has (SPF, greylisting, SMTP smuggling).
//
// ByRef finds an entry by reference. Parse reads replies from other servers;
// Classify, Explain and Identify tell what a received reply means, whether
// to retry, and which catalog rule produced it.
package reply

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Enhanced is an RFC 3463 enhanced status code, class.subject.detail.
// The zero value means "no enhanced code".
type Enhanced struct {
	Class   uint8  // 2, 4 or 5
	Subject uint16 // 0..999
	Detail  uint16 // 0..999
}

// IsZero reports whether e carries no enhanced code.
func (e Enhanced) IsZero() bool { return e.Class == 0 }

// String returns the dotted form, such as "5.7.1", or "" for the zero value.
func (e Enhanced) String() string {
	if e.IsZero() {
		return ""
	}
	return string(e.appendTo(nil))
}

func (e Enhanced) appendTo(dst []byte) []byte {
	dst = append(dst, '0'+e.Class, '.')
	dst = appendSmall(dst, e.Subject)
	dst = append(dst, '.')
	return appendSmall(dst, e.Detail)
}

// appendSmall appends n in decimal, as strconv.AppendUint does, for the
// one to three digits of an enhanced code's subject and detail.
func appendSmall(dst []byte, n uint16) []byte {
	switch {
	case n < 10:
		return append(dst, '0'+byte(n))
	case n < 100:
		return append(dst, '0'+byte(n/10), '0'+byte(n%10))
	case n < 1000:
		return append(dst, '0'+byte(n/100), '0'+byte(n/10%10), '0'+byte(n%10))
	}
	return strconv.AppendUint(dst, uint64(n), 10)
}

// ErrEnhanced reports an enhanced status code that is not class.subject.detail
// with a class of 2, 4 or 5 and subject and detail of one to three digits
// without a leading zero (RFC 3463 2).
var ErrEnhanced = errors.New("reply: malformed enhanced status code")

// ParseEnhanced parses "class.subject.detail", such as "4.7.1" or "5.7.27".
func ParseEnhanced(s string) (Enhanced, error) {
	e, reason := parseEnhanced(s)
	if reason != "" {
		return Enhanced{}, fmt.Errorf("%w: %q: %s", ErrEnhanced, s, reason)
	}
	return e, nil
}

// parseEnhanced is ParseEnhanced without the error value: reason says what
// is wrong, "" when s is a valid code. RFC 3463 2:
//
//	status-code = class "." subject "." detail
//	class       = "2" / "4" / "5"
//	subject     = "0" / ("1"-"9" 0*2DIGIT)
//	detail      = "0" / ("1"-"9" 0*2DIGIT)
func parseEnhanced(s string) (Enhanced, string) {
	var n [3]uint16
	part, digits := 0, 0
	lead := false // the current part began with "0"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if digits == 0 {
				return Enhanced{}, "empty part"
			}
			if part == 2 {
				return Enhanced{}, "more than three parts"
			}
			part, digits = part+1, 0
		case c >= '0' && c <= '9':
			if digits > 0 && lead {
				return Enhanced{}, enhancedPartNames[part] + " has a leading zero"
			}
			lead = digits == 0 && c == '0'
			digits++
			if part == 0 && digits > 1 {
				return Enhanced{}, "class of more than one digit"
			}
			if digits > 3 {
				return Enhanced{}, enhancedPartNames[part] + " of more than three digits"
			}
			n[part] = n[part]*10 + uint16(c-'0')
		default:
			return Enhanced{}, "not digits and dots"
		}
	}
	if part != 2 || digits == 0 {
		return Enhanced{}, "not class.subject.detail"
	}
	if n[0] != 2 && n[0] != 4 && n[0] != 5 {
		return Enhanced{}, "class " + string(rune('0'+n[0])) + " is not 2, 4 or 5"
	}
	return Enhanced{Class: uint8(n[0]), Subject: n[1], Detail: n[2]}, ""
}

var enhancedPartNames = [3]string{"class", "subject", "detail"}

// ErrCode reports a basic reply code outside RFC 5321 4.2's grammar: a
// first digit of 2 to 5 and a second of 0 to 5.
var ErrCode = errors.New("reply: basic code out of range")

// ErrClassMismatch reports an enhanced code whose class differs from the first
// digit of the basic code, such as 550 with 4.7.1.
var ErrClassMismatch = errors.New("reply: enhanced code class does not match basic code")

// Reply is one SMTP reply: a basic code, an optional enhanced status code and
// one or more lines of text. Build one with New, a catalog constructor, or
// Parse; the zero Reply is not valid.
//
// A Reply is a small value: copying it is cheap and it holds no pointers into
// caller memory other than the strings it was given.
type Reply struct {
	code  int16
	enh   Enhanced
	entry *Entry // catalog entry, or nil for replies built by New or Parse
	args  [maxArgs]string
	lines []string // literal text lines of a reply built by New or WithText
	raw   string   // a parsed reply as received; its text lines are derived from it
}

// maxArgs is the largest number of template parameters a catalog entry takes.
const maxArgs = 6

// New builds a reply of our own. The basic code must be within 200..559
// with a second digit of 0 to 5 (RFC 5321 4.2), and a non-empty enhanced code
// must parse and share the basic code's class. Text lines are sanitised when
// written: control bytes never reach the wire.
func New(code int, enhanced string, text ...string) (Reply, error) {
	if code < 200 || code > 599 || code/10%10 > 5 {
		return Reply{}, fmt.Errorf("%w: %d", ErrCode, code)
	}
	var e Enhanced
	if enhanced != "" {
		var err error
		if e, err = ParseEnhanced(enhanced); err != nil {
			return Reply{}, err
		}
		if int(e.Class) != code/100 {
			return Reply{}, fmt.Errorf("%w: %d with %s", ErrClassMismatch, code, enhanced)
		}
	}
	if len(text) == 0 {
		text = []string{""}
	}
	return Reply{code: int16(code), enh: e, lines: append([]string(nil), text...)}, nil
}

// MustNew is New for replies fixed at compile time; it panics on an invalid
// code pair, so use it only with constants.
func MustNew(code int, enhanced string, text ...string) Reply {
	r, err := New(code, enhanced, text...)
	if err != nil {
		panic(err)
	}
	return r
}

// Code returns the basic reply code, such as 550.
func (r Reply) Code() int { return int(r.code) }

// Enhanced returns the enhanced status code; it is zero when the reply has none.
func (r Reply) Enhanced() Enhanced { return r.enh }

// IsZero reports whether r is the zero Reply (no reply at all).
func (r Reply) IsZero() bool { return r.code == 0 }

// Entry returns the catalog entry the reply was built from, or nil for a reply
// built by New or Parse.
func (r Reply) Entry() *Entry { return r.entry }

// Args returns the template arguments of a catalog reply, in parameter order.
func (r Reply) Args() []string {
	if r.entry == nil {
		return nil
	}
	return r.args[:len(r.entry.Params)]
}

// Text returns the reply's text lines, without codes, after sanitising and
// template expansion but before folding.
func (r Reply) Text() []string {
	if r.raw != "" {
		var out []string
		for it := newParsedLines(r.raw); ; {
			l, ok := it.next()
			if !ok {
				return out
			}
			out = append(out, string(appendSanitized(nil, l)))
		}
	}
	if r.entry == nil {
		out := make([]string, len(r.lines))
		for i, l := range r.lines {
			out[i] = string(appendSanitized(nil, l))
		}
		return out
	}
	return strings.Split(string(r.entry.appendText(nil, &r.args)), "\n")
}

// WithText returns a copy of r with its text replaced, keeping the codes: the
// way a user overrides the wording of a catalog reply.
func (r Reply) WithText(text ...string) Reply {
	if len(text) == 0 {
		text = []string{""}
	}
	return Reply{code: r.code, enh: r.enh, lines: append([]string(nil), text...)}
}

// IsPositive reports a 2xx or 3xx reply.
func (r Reply) IsPositive() bool { return r.code >= 200 && r.code < 400 }

// IsTransient reports a 4xx reply: the client should retry later.
func (r Reply) IsTransient() bool { return r.code >= 400 && r.code < 500 }

// IsPermanent reports a 5xx reply: the client should not retry.
func (r Reply) IsPermanent() bool { return r.code >= 500 && r.code < 600 }

// String returns the reply in wire form, CRLF line endings included.
func (r Reply) String() string { return string(r.AppendTo(nil)) }

// Error makes a Reply usable as an error value; it returns the first line
// without CRLF.
func (r Reply) Error() string {
	b := r.AppendTo(nil)
	if i := strings.IndexByte(string(b), '\r'); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
