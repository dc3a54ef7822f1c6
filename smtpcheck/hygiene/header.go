package hygiene

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/smtppolicy/smtppolicy/internal/ascii"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/envelope"
)

// Check names of the message checks.
const (
	NameHeaderASCII      = "header-7bit"
	NameMinHeaders       = "header-min"
	NameMessageID        = "header-message-id"
	NameDateSyntax       = "header-date"
	NameDuplicateHeaders = "header-duplicate"
	NameHeaderLength     = "header-line-length"
	NameMessageSize      = "message-size"
)

// HeaderASCIIConfig configures HeaderASCII.
type HeaderASCIIConfig struct{}

// HeaderASCII refuses raw 8-bit bytes in the header unless the client gave
// SMTPUTF8 (RFC 5322 2.2, RFC 6532; smtpf rfc2822-7bit-headers). 554 5.6.0
// (smtpf#456).
func HeaderASCII(cfg HeaderASCIIConfig) smtpcheck.Check { return headerASCIITest(cfg).check() }

func headerASCIITest(_ HeaderASCIIConfig) test {
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if s.Header == nil || (s.Mail != nil && s.Mail.SMTPUTF8) {
			return nil
		}
		for _, f := range s.Header {
			if !highBit(f.Name) && !highBit(f.Value) {
				continue
			}
			for _, v := range [2]string{f.Name, f.Value} {
				for i := 0; i < len(v); i++ {
					if v[i] >= 0x80 {
						return ptr(refuse(reply.HeaderNotASCII(v[i]), NameHeaderASCII, "rfc2822-7bit-headers", f.Name))
					}
				}
			}
		}
		return nil
	}
}

// highBit reports a byte of v at or above 0x80; it ORs the bytes together
// rather than branching on each.
func highBit(v string) bool {
	var or byte
	for i := 0; i < len(v); i++ {
		or |= v[i]
	}
	return or >= 0x80
}

// MinHeadersConfig configures MinHeaders.
type MinHeadersConfig struct {
	// AllowMissingMessageID accepts a message without Message-ID, which
	// RFC 5322 only recommends. Large receivers now require it, so the
	// zero value does too.
	AllowMissingMessageID bool
}

// MinHeaders requires the header fields RFC 5322 3.6 makes mandatory (From
// and Date) and a Message-ID, and checks the Message-ID's syntax (smtpf
// rfc2822-min-headers). Missing fields get 554 5.6.0 (smtpf#462), a
// malformed Message-ID 554 5.6.0 (smtpf#458).
func MinHeaders(cfg MinHeadersConfig) smtpcheck.Check { return minHeadersTest(cfg).check() }

func minHeadersTest(cfg MinHeadersConfig) test {
	return onHeader(func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		var from, date, mid bool
		var midValue string
		for _, f := range s.Header {
			// "From", "Date" and "Message-ID" begin with letters that
			// fold only to themselves: the first byte turns other names
			// away.
			if f.Name == "" {
				continue
			}
			if c := f.Name[0] | 0x20; c != 'f' && c != 'd' && c != 'm' {
				continue
			}
			switch {
			case strings.EqualFold(f.Name, "From"):
				from = true
			case strings.EqualFold(f.Name, "Date"):
				date = true
			case strings.EqualFold(f.Name, "Message-ID"):
				if !mid {
					mid, midValue = true, f.Value
				}
			}
		}
		var missing string
		switch {
		case !from:
			missing = "From"
		case !date:
			missing = "Date"
		case !mid && !cfg.AllowMissingMessageID:
			missing = "Message-ID"
		}
		if missing != "" {
			return ptr(refuse(reply.MissingRequiredHeaders(), NameMinHeaders, "rfc2822-min-headers", missing))
		}
		if mid && !ValidMessageID(midValue) {
			return ptr(refuse(reply.InvalidMessageIDHeader(), NameMessageID, "rfc2822-min-headers", truncate(midValue, 80)))
		}
		return nil
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ValidMessageID reports whether v is an RFC 5322 3.6.4 msg-id: optional
// white space and comments around "<" dot-atom-text "@" (dot-atom-text or
// a no-fold-literal) ">".
func ValidMessageID(v string) bool {
	v = strings.TrimSpace(stripComments(v))
	if len(v) < 5 || v[0] != '<' || v[len(v)-1] != '>' {
		return false
	}
	v = v[1 : len(v)-1]
	at := strings.LastIndexByte(v, '@')
	if at <= 0 || at == len(v)-1 {
		return false
	}
	left, right := v[:at], v[at+1:]
	if !dotAtomText(left) {
		return false
	}
	if right[0] == '[' {
		if len(right) < 2 || right[len(right)-1] != ']' {
			return false
		}
		for i := 1; i < len(right)-1; i++ {
			if c := right[i]; c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
				return false
			}
		}
		return true
	}
	return dotAtomText(right)
}

func dotAtomText(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if s[i-1] == '.' { // i > 0: s does not start with a dot
				return false
			}
			continue
		}
		if !envelope.IsAtext(c) {
			return false
		}
	}
	return true
}

// stripComments removes RFC 5322 comments (nested parentheses, quoted
// pairs) outside quoted strings, and unfolds CRLF.
func stripComments(v string) string {
	if !hasCommentOrBreak(v) {
		return v
	}
	var b strings.Builder
	depth := 0
	quoted := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\r' || c == '\n':
			continue
		case c == '\\' && (depth > 0 || quoted) && i+1 < len(v):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(v[i+1])
			}
			i++
			continue
		case c == '"' && depth == 0:
			quoted = !quoted
		case c == '(' && !quoted:
			depth++
			continue
		case c == ')' && !quoted && depth > 0:
			depth--
			b.WriteByte(' ')
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// hasCommentOrBreak reports a '(', CR or LF in v: one pass over a short
// header value rather than three searches.
func hasCommentOrBreak(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '(' || c == '\r' || c == '\n' {
			return true
		}
	}
	return false
}

// DateConfig configures DateSyntax.
type DateConfig struct {
	// Strict refuses the obsolete forms RFC 5322 4.3 still asks receivers
	// to accept: zone names such as GMT or EST and two-digit years. Off by
	// default; "GMT" is common in legitimate mail.
	Strict bool
	// AllowMissing passes a message without a Date field; MinHeaders is the
	// check that requires one.
	AllowMissing bool
}

// DateSyntax checks the Date and Resent-Date fields against the RFC 5322
// 3.3 date-time grammar: day, month name, four-digit year, hh:mm[:ss] and
// a numeric zone, with optional day name and comments (smtpf
// rfc2822-strict-date). A bad Date gets 554 5.6.0 (smtpf#457), a bad
// Resent-Date 554 5.6.0 (smtpf#461).
func DateSyntax(cfg DateConfig) smtpcheck.Check { return dateSyntaxTest(cfg).check() }

func dateSyntaxTest(cfg DateConfig) test {
	return onHeader(func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		for _, f := range s.Header {
			// Both names begin with letters that fold only to
			// themselves.
			if f.Name == "" {
				continue
			}
			if c := f.Name[0] | 0x20; c != 'd' && c != 'r' {
				continue
			}
			resent := strings.EqualFold(f.Name, "Resent-Date")
			if !resent && !strings.EqualFold(f.Name, "Date") {
				continue
			}
			if err := ParseDate(f.Value, cfg.Strict); err != nil {
				rep := reply.InvalidDateHeader()
				if resent {
					rep = reply.InvalidResentDateHeader()
				}
				r := refuse(rep, NameDateSyntax, "rfc2822-strict-date", truncate(f.Value, 80))
				r.Reason.Evidence = err.Error()
				return &r
			}
		}
		return nil
	})
}

var monthNames = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
var dayNames = [...]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
var obsZones = [...]string{"ut", "gmt", "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt"}

// ParseDate checks v against the RFC 5322 date-time grammar. With strict,
// the obsolete zone names and two-digit years are errors too.
func ParseDate(v string, strict bool) error {
	var buf [7]string
	f, n := dateFields(stripComments(v), &buf)
	if n > 0 {
		if name, comma := strings.CutSuffix(f[0], ","); comma || (n > 1 && f[1] == ",") {
			if !foldOneOf(name, dayNames[:]) {
				return fmt.Errorf("bad day name %q", name)
			}
			f, n = f[1:], n-1
			if !comma {
				f, n = f[1:], n-1
			}
		}
	}
	if n != 5 {
		return fmt.Errorf("want day month year time zone, got %d fields", n)
	}
	if _, err := number(f[0], 1, 2, 1, 31); err != nil {
		return fmt.Errorf("bad day: %w", err)
	}
	if !foldOneOf(f[1], monthNames[:]) {
		return fmt.Errorf("bad month %q", f[1])
	}
	yearMin := 4
	if !strict {
		yearMin = 2
	}
	if _, err := number(f[2], yearMin, 4, 0, 9999); err != nil {
		return fmt.Errorf("bad year: %w", err)
	}
	if err := timeOfDay(f[3]); err != nil {
		return err
	}
	z := f[4]
	if len(z) == 5 && (z[0] == '+' || z[0] == '-') {
		if _, err := number(z[1:3], 2, 2, 0, 99); err != nil {
			return fmt.Errorf("bad zone %q", z)
		}
		if _, err := number(z[3:], 2, 2, 0, 59); err != nil {
			return fmt.Errorf("bad zone %q", z)
		}
		return nil
	}
	if !strict && foldOneOf(z, obsZones[:]) {
		return nil
	}
	return fmt.Errorf("bad zone %q", z)
}

// dateFields splits v at white space as strings.Fields does (Unicode white
// space such as U+00A0 too), into buf while it lasts: it returns the fields
// kept and how many there are in all, without allocating (a date has at
// most seven).
func dateFields(v string, buf *[7]string) ([]string, int) {
	n, start := 0, -1
	for i := 0; i < len(v); {
		b := v[i]
		space, size := asciiSpace[b], 1
		if b >= utf8.RuneSelf {
			var c rune
			c, size = utf8.DecodeRuneInString(v[i:])
			space = unicode.IsSpace(c)
		}
		if !space {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			if n < len(buf) {
				buf[n] = v[start:i]
			}
			n++
			start = -1
		}
		i += size
	}
	if start >= 0 {
		if n < len(buf) {
			buf[n] = v[start:]
		}
		n++
	}
	return buf[:min(n, len(buf))], n
}

var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// timeOfDay checks hh:mm or hh:mm:ss.
func timeOfDay(t string) error {
	limits := [3]int{23, 59, 60}
	parts := 1
	for i := 0; i < len(t); i++ {
		if t[i] == ':' {
			parts++
		}
	}
	if parts != 2 && parts != 3 {
		return fmt.Errorf("bad time %q", t)
	}
	rest := t
	for i := 0; i < parts; i++ {
		p := rest
		if j := strings.IndexByte(rest, ':'); j >= 0 {
			p, rest = rest[:j], rest[j+1:]
		}
		if _, err := number(p, 2, 2, 0, limits[i]); err != nil {
			return fmt.Errorf("bad time %q: %w", t, err)
		}
	}
	return nil
}

// foldOneOf reports whether strings.ToLower(s) is in list (whose names are
// lower-case ASCII), without allocating for ASCII s.
func foldOneOf(s string, list []string) bool {
	if !isASCII(s) {
		return oneOf(strings.ToLower(s), list)
	}
	for _, l := range list {
		if ascii.EqualFold(s, l) {
			return true
		}
	}
	return false
}

func oneOf(s string, list []string) bool {
	for _, l := range list {
		if s == l {
			return true
		}
	}
	return false
}

func number(s string, minDigits, maxDigits, min, max int) (int, error) {
	if len(s) < minDigits || len(s) > maxDigits {
		return 0, fmt.Errorf("%q: want %d to %d digits", s, minDigits, maxDigits)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q: not a number", s)
		}
		n = n*10 + int(s[i]-'0')
	}
	if n < min || n > max {
		return 0, fmt.Errorf("%q: out of range", s)
	}
	return n, nil
}

// defaultSingletons are the fields RFC 5322 3.6 allows at most once.
var defaultSingletons = [...]string{"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID", "In-Reply-To", "References", "Subject"}

// DuplicateConfig configures DuplicateHeaders.
type DuplicateConfig struct {
	// Fields are the fields that may appear at most once; nil means those
	// of RFC 5322 3.6 (Date, From, Sender, Reply-To, To, Cc, Bcc,
	// Message-ID, In-Reply-To, References, Subject).
	Fields []string
}

// DuplicateHeaders refuses a message with a singleton field more than once:
// two From or Subject fields are shown differently by different clients,
// which spoofing exploits. 554 5.6.0.
func DuplicateHeaders(cfg DuplicateConfig) smtpcheck.Check { return duplicateHeadersTest(cfg).check() }

func duplicateHeadersTest(cfg DuplicateConfig) test {
	fields := cfg.Fields
	if fields == nil {
		fields = defaultSingletons[:]
	}
	fields = append([]string(nil), fields...)
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if len(s.Header) < 2 {
			return nil
		}
		var seen [64]bool // fields is bounded in practice; beyond 64, no check
		for _, f := range s.Header {
			ascii := !highBit(f.Name)
			for i, name := range fields {
				// Only a name of the same length can match, or a longer
				// one with non-ASCII bytes (U+017F folds to "s", U+212A
				// to "k"), which spares most EqualFold calls.
				if i >= len(seen) || len(f.Name) != len(name) && (ascii || len(f.Name) < len(name)) || !strings.EqualFold(f.Name, name) {
					continue
				}
				if seen[i] {
					return ptr(refuse(reply.DuplicateHeader(name), NameDuplicateHeaders, "rfc5322-3.6", name))
				}
				seen[i] = true
			}
		}
		return nil
	}
}

// HeaderLengthConfig configures HeaderLineLength.
type HeaderLengthConfig struct {
	// Max is the longest header line in octets without CRLF; zero means 998
	// (RFC 5322 2.1.1).
	Max int
}

// HeaderLineLength refuses a header line longer than the limit: the folded
// lines as sent, each counted on its own. 554 5.5.2 (smtpf#321).
func HeaderLineLength(cfg HeaderLengthConfig) smtpcheck.Check {
	return headerLineLengthTest(cfg).check()
}

func headerLineLengthTest(cfg HeaderLengthConfig) test {
	max := positiveOr(cfg.Max, 998)
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		for _, f := range s.Header {
			first := len(f.Name) + 2 // "Name: "
			v := f.Value
			for {
				i := strings.IndexByte(v, '\n')
				line := v
				if i >= 0 {
					line = v[:i]
				}
				n := len(strings.TrimSuffix(line, "\r")) + first
				first = 0
				if n > max {
					return ptr(refuse(reply.ContentLineTooLong(int64(n)), NameHeaderLength, "rfc5322-2.1.1", f.Name))
				}
				if i < 0 {
					break
				}
				v = v[i+1:]
			}
		}
		return nil
	}
}

// SizeConfig configures MessageSize.
type SizeConfig struct {
	// Max is the largest message in octets; zero means 50 MiB, negative
	// turns the check off.
	Max int64
}

// DefaultMaxSize is MessageSize's limit when none is configured.
const DefaultMaxSize = 50 << 20

// MessageSize refuses a message over the size limit: at MAIL when the
// client declares a larger SIZE (RFC 1870), and at the end of data by the
// size received (Session.Message: header and body). 552 5.3.4.
func MessageSize(cfg SizeConfig) smtpcheck.Check { return messageSizeTest(cfg).check() }

func messageSizeTest(cfg SizeConfig) test {
	max := cfg.Max
	if max == 0 {
		max = DefaultMaxSize
	}
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if max < 0 {
			return nil
		}
		var size int64
		switch {
		case s.Message != nil:
			size = s.Message.Size()
		case s.Mail != nil && s.Stage <= smtpcheck.StageData:
			size = s.Mail.Size
		}
		if size <= max {
			return nil
		}
		r := refuse(reply.MessageTooBig(), NameMessageSize, "message_size_limit", strconv.FormatInt(size, 10))
		r.Reason.Evidence = "max " + strconv.FormatInt(max, 10)
		r.Immediate = true
		return &r
	}
}
