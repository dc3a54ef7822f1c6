package reply

import (
	"errors"
	"fmt"
	"strings"
)

// Errors a ParseError wraps; test with errors.Is. ErrCode and ErrEnhanced
// (declared with Reply) are wrapped too.
var (
	// ErrEmpty reports input with no reply line at all.
	ErrEmpty = errors.New("reply: empty input")
	// ErrSyntax reports a line that is not "NNN", "NNN text" or "NNN-text":
	// a non-numeric code, or something other than ' ' or '-' after it.
	ErrSyntax = errors.New("reply: not an SMTP reply line")
	// ErrContinuation reports lines of one reply that disagree: different
	// codes, a last line that announces more ("550-"), or lines after the last.
	ErrContinuation = errors.New("reply: continuation lines disagree")
)

// ParseError is the error Parse returns: which line failed and why.
type ParseError struct {
	Line   int    // 1-based line number within the input
	Input  string // the line, cut to 80 bytes
	Err    error  // ErrEmpty, ErrSyntax, ErrCode, ErrContinuation or ErrEnhanced
	Reason string // what in the line broke the rule, such as "first digit 1 is not 2 to 5"; may be empty
}

// Error describes the failure with the line it happened on.
func (e *ParseError) Error() string {
	msg := e.Err.Error()
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Line == 0 {
		return msg
	}
	return fmt.Sprintf("%s (line %d: %q)", msg, e.Line, e.Input)
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *ParseError) Unwrap() error { return e.Err }

func parseErr(n int, line string, err error, reason string) error {
	if len(line) > 80 {
		line = line[:80]
	}
	return &ParseError{Line: n, Input: line, Err: err, Reason: reason}
}

// Parse reads one reply received from a server, single or multi-line
// (RFC 5321 4.2.1), with or without an enhanced status code (RFC 2034),
// which is taken from the first line and removed from the others where it
// is repeated. It tolerates bare LF line endings, trailing spaces, a missing
// final line ending and blank lines around the reply.
//
// The grammar is RFC 5321 4.2's: a basic code's first digit is 2 to 5 and its
// second 0 to 5, so 1yz and x6z..x9z codes are refused (ErrCode). A first word
// of the form digit.digits.digits is meant as an enhanced code and must be
// one (RFC 3463 2: class 2, 4 or 5, subject and detail of one to three digits
// without a leading zero), or Parse fails with ErrEnhanced; an enhanced code
// whose class differs from the basic code is kept (Classify reports it).
//
// Text keeps the lines sanitised, as for replies of our own; Received and
// ReceivedText give the reply exactly as received. Parse does not allocate
// for a valid reply: the Reply refers to s.
//
// Garbage gets a *ParseError wrapping ErrEmpty, ErrSyntax, ErrCode,
// ErrContinuation or ErrEnhanced.
func Parse(s string) (Reply, error) {
	var (
		r          Reply
		n          int  // line number
		count      int  // reply lines seen
		done       bool // the last line (with ' ') was seen
		lastLine   string
		start, end int // the reply's bytes in s
	)
	for off := 0; off < len(s); {
		lineStart := off
		var line string
		if i := indexByte(s[off:], '\n'); i >= 0 {
			line, off = s[off:off+i], off+i+1
		} else {
			line, off = s[off:], len(s)
		}
		n++
		line = trimRight(line)
		if line == "" {
			if count > 0 && !done {
				return Reply{}, parseErr(n, line, ErrSyntax, "blank line inside a reply")
			}
			continue
		}
		if done {
			return Reply{}, parseErr(n, line, ErrContinuation, "a line after the last line")
		}
		code, sep, text, reason, err := splitLine(line)
		if err != nil {
			return Reply{}, parseErr(n, line, err, reason)
		}
		if count == 0 {
			r.code = int16(code)
			e, _, reason, err := cutEnhanced(text)
			if err != nil {
				return Reply{}, parseErr(n, line, err, reason)
			}
			r.enh = e
			start = lineStart
		} else if code != int(r.code) {
			return Reply{}, parseErr(n, line, ErrContinuation, "the code differs from the first line's")
		}
		count++
		lastLine, end = line, off
		if sep != '-' {
			done = true
		}
	}
	if count == 0 {
		return Reply{}, &ParseError{Err: ErrEmpty}
	}
	if !done {
		return Reply{}, parseErr(n, lastLine, ErrContinuation, "the last line announces more")
	}
	r.raw = s[start:end]
	return r, nil
}

// parsedLines walks the text lines of a parsed reply as Parse defines them:
// codes and separators removed, the enhanced code taken from the first line
// and removed from the others where they repeat it, trailing white space
// trimmed. The reply was validated when parsed, so no line fails here.
type parsedLines struct {
	rest  string
	first bool
	enh   Enhanced
}

func newParsedLines(raw string) parsedLines { return parsedLines{rest: raw, first: true} }

func (p *parsedLines) next() (string, bool) {
	for p.rest != "" {
		var line string
		if i := indexByte(p.rest, '\n'); i >= 0 {
			line, p.rest = p.rest[:i], p.rest[i+1:]
		} else {
			line, p.rest = p.rest, ""
		}
		line = trimRight(line)
		if line == "" {
			continue
		}
		_, _, text, _, _ := splitLine(line)
		if p.first {
			// The enhanced code as received: WithCode may since have
			// changed the reply's class, not the repeats in the text.
			p.enh, text, _, _ = cutEnhanced(text)
			p.first = false
		} else {
			text = stripEnhanced(text, p.enh)
		}
		return text, true
	}
	return "", false
}

// Received returns a parsed reply exactly as Parse received it: its lines
// from the first code to the end of the last line, with their line endings,
// control bytes and white space, and without the blank lines around it. It
// is "" for a reply that was not parsed. Text gives the sanitised lines.
func (r Reply) Received() string { return r.raw }

// ReceivedText returns the text of each line of a parsed reply exactly as
// received: everything after the basic code and its separator, the enhanced
// code and white space included, the line ending excluded. It is nil for a
// reply that was not parsed. Text gives the lines sanitised and without the
// enhanced code.
func (r Reply) ReceivedText() []string {
	if r.raw == "" {
		return nil
	}
	var out []string
	for rest := r.raw; rest != ""; {
		line := rest
		if i := indexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
			if line != "" && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
		} else {
			rest = ""
		}
		if len(line) > 4 {
			out = append(out, line[4:])
		} else {
			out = append(out, "")
		}
	}
	return out
}

// MustParse is Parse for replies written in the program's source; it panics
// on an error, so never use it on received text.
func MustParse(s string) Reply {
	r, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return r
}

// indexByte is strings.IndexByte, whose assembly finds the line ends of
// a long reply several bytes at a time.
func indexByte(s string, c byte) int {
	return strings.IndexByte(s, c)
}

// trimRight removes a trailing CR and trailing spaces and tabs.
func trimRight(s string) string {
	for len(s) > 0 {
		switch s[len(s)-1] {
		case '\r', ' ', '\t':
			s = s[:len(s)-1]
		default:
			return s
		}
	}
	return s
}

// splitLine splits "NNN-text" or "NNN text" into its parts; sep is 0 for a
// bare "NNN". The code follows RFC 5321 4.2: %x32-35 %x30-35 %x30-39.
func splitLine(line string) (code int, sep byte, text, reason string, err error) {
	if len(line) < 3 {
		return 0, 0, "", "shorter than a reply code", ErrSyntax
	}
	for i := 0; i < 3; i++ {
		c := line[i]
		if c < '0' || c > '9' {
			return 0, 0, "", "the reply code is not three digits", ErrSyntax
		}
		code = code*10 + int(c-'0')
	}
	if len(line) > 3 {
		sep = line[3]
		if sep != ' ' && sep != '-' {
			if sep >= '0' && sep <= '9' {
				return 0, 0, "", "four or more digits", ErrCode
			}
			return 0, 0, "", "neither space nor hyphen after the code", ErrSyntax
		}
		text = line[4:]
		for len(text) > 0 && text[0] == ' ' {
			text = text[1:]
		}
	}
	switch {
	case line[0] < '2' || line[0] > '5':
		return 0, 0, "", "first digit " + line[:1] + " is not 2 to 5 (RFC 5321 4.2)", ErrCode
	case line[1] > '5':
		return 0, 0, "", "second digit " + line[1:2] + " is not 0 to 5 (RFC 5321 4.2)", ErrCode
	}
	return code, sep, text, "", nil
}

// cutEnhanced takes an enhanced status code off the front of text. A first
// word of the form digit.digits.digits is meant as one and must be valid; any
// other first word is ordinary text.
func cutEnhanced(text string) (e Enhanced, rest, reason string, err error) {
	end := indexByte(text, ' ')
	if end < 0 {
		end = len(text)
	}
	word := text[:end]
	if !looksEnhanced(word) {
		return Enhanced{}, text, "", nil
	}
	e, reason = parseEnhanced(word)
	if reason != "" {
		return Enhanced{}, "", word + ": " + reason + " (RFC 3463 2)", ErrEnhanced
	}
	rest = text[end:]
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	return e, rest, "", nil
}

// looksEnhanced reports a word of one digit, a dot, digits, a dot, digits.
func looksEnhanced(w string) bool {
	if len(w) < 5 || w[0] < '0' || w[0] > '9' || w[1] != '.' {
		return false
	}
	dots, run := 1, 0
	for i := 2; i < len(w); i++ {
		switch c := w[i]; {
		case c == '.':
			if run == 0 {
				return false
			}
			dots, run = dots+1, 0
		case c >= '0' && c <= '9':
			run++
		default:
			return false
		}
	}
	return dots == 2 && run > 0
}

// stripEnhanced removes the reply's enhanced code where a continuation line
// repeats it.
func stripEnhanced(text string, e Enhanced) string {
	if e.IsZero() {
		return text
	}
	var buf [16]byte
	code := e.appendTo(buf[:0])
	if len(text) < len(code) || text[:len(code)] != string(code) {
		return text
	}
	rest := text[len(code):]
	if rest != "" && rest[0] != ' ' {
		return text
	}
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	return rest
}
