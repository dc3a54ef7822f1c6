package reply

import (
	"errors"
	"fmt"
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
	Line  int    // 1-based line number within the input
	Input string // the line, cut to 80 bytes
	Err   error  // ErrEmpty, ErrSyntax, ErrCode, ErrContinuation or ErrEnhanced
}

// Error describes the failure with the line it happened on.
func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v (line %d: %q)", e.Err, e.Line, e.Input)
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *ParseError) Unwrap() error { return e.Err }

func parseErr(n int, line string, err error) error {
	if len(line) > 80 {
		line = line[:80]
	}
	return &ParseError{Line: n, Input: line, Err: err}
}

// Parse reads one reply received from a server, single or multi-line
// (RFC 5321 4.2.1), with or without an enhanced status code (RFC 2034),
// which is taken from the first line and removed from the others where it
// is repeated. It tolerates bare LF line endings, trailing spaces, a missing
// final line ending and blank lines around the reply. Basic codes 100..599
// are accepted, as servers and clients send the non-standard ones (101, 111,
// 420, ...); an enhanced code whose class differs from the basic code is kept
// (Classify reports it). Text is kept as received; Text and AppendTo
// sanitise it as they do for replies of our own.
//
// Garbage gets a *ParseError wrapping ErrEmpty, ErrSyntax, ErrCode,
// ErrContinuation or ErrEnhanced.
func Parse(s string) (Reply, error) {
	var (
		r        Reply
		n        int  // line number
		count    int  // reply lines seen
		done     bool // the last line (with ' ') was seen
		lastLine string
	)
	for len(s) > 0 {
		var line string
		if i := indexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			line, s = s, ""
		}
		n++
		line = trimRight(line)
		if line == "" {
			if count > 0 && !done {
				return Reply{}, parseErr(n, line, ErrSyntax)
			}
			continue
		}
		if done {
			return Reply{}, parseErr(n, line, ErrContinuation)
		}
		code, sep, text, err := splitLine(line)
		if err != nil {
			return Reply{}, parseErr(n, line, err)
		}
		if count == 0 {
			r.code = int16(code)
			e, rest, err := cutEnhanced(text)
			if err != nil {
				return Reply{}, parseErr(n, line, err)
			}
			r.enh, text = e, rest
		} else {
			if code != int(r.code) {
				return Reply{}, parseErr(n, line, ErrContinuation)
			}
			text = stripEnhanced(text, r.enh)
		}
		if count == 0 && sep != '-' && s == "" {
			// The common case: one line, one small allocation.
			r.lines = []string{text}
			return r, nil
		}
		r.lines = append(r.lines, text)
		count++
		lastLine = line
		if sep != '-' {
			done = true
		}
	}
	if count == 0 {
		return Reply{}, &ParseError{Err: ErrEmpty}
	}
	if !done {
		return Reply{}, parseErr(n, lastLine, ErrContinuation)
	}
	return r, nil
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

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
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
// bare "NNN".
func splitLine(line string) (code int, sep byte, text string, err error) {
	if len(line) < 3 {
		return 0, 0, "", ErrSyntax
	}
	for i := 0; i < 3; i++ {
		c := line[i]
		if c < '0' || c > '9' {
			return 0, 0, "", ErrSyntax
		}
		code = code*10 + int(c-'0')
	}
	if len(line) > 3 {
		sep = line[3]
		if sep != ' ' && sep != '-' {
			if sep >= '0' && sep <= '9' {
				return 0, 0, "", ErrCode // four or more digits
			}
			return 0, 0, "", ErrSyntax
		}
		text = line[4:]
		for len(text) > 0 && text[0] == ' ' {
			text = text[1:]
		}
	}
	if code < 100 || code > 599 {
		return 0, 0, "", ErrCode
	}
	return code, sep, text, nil
}

// cutEnhanced takes an enhanced status code off the front of text. A first
// word of the form digit.digits.digits is meant as one and must be valid; any
// other first word is ordinary text.
func cutEnhanced(text string) (Enhanced, string, error) {
	end := indexByte(text, ' ')
	if end < 0 {
		end = len(text)
	}
	word := text[:end]
	if !looksEnhanced(word) {
		return Enhanced{}, text, nil
	}
	e, err := ParseEnhanced(word)
	if err != nil {
		return Enhanced{}, "", ErrEnhanced
	}
	rest := text[end:]
	for len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	return e, rest, nil
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
