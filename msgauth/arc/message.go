package arc

import (
	"hash"
	"io"
	"strings"
)

// field is one header field as received: name, colon, value with its
// folding, lines joined by CRLF (a bare LF ends a line as CRLF does), the
// final CRLF left off.
type field struct {
	name string // as written, without surrounding white space
	raw  string
}

// message is a message split into header fields and body.
type message struct {
	fields []field
	body   []byte
}

// parseMessage splits b. A header line that is neither a field nor a
// continuation is skipped: no signature can cover it.
func parseMessage(b []byte) *message {
	m := &message{}
	var cur []string
	flush := func() {
		if cur == nil {
			return
		}
		raw := strings.Join(cur, "\r\n")
		if colon := strings.IndexByte(raw, ':'); colon > 0 {
			m.fields = append(m.fields, field{name: strings.TrimRight(raw[:colon], " \t"), raw: raw})
		}
		cur = nil
	}
	rest := b
	for len(rest) > 0 {
		var line []byte
		line, rest = nextLine(rest)
		if len(line) == 0 {
			flush()
			m.body = rest
			return m
		}
		if (line[0] == ' ' || line[0] == '\t') && cur != nil {
			cur = append(cur, string(line))
			continue
		}
		flush()
		cur = []string{string(line)}
	}
	flush()
	return m
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// canonicalization is a header or body canonicalization (RFC 6376 3.4).
type canonicalization string

const (
	simple  canonicalization = "simple"
	relaxed canonicalization = "relaxed"
)

// parseCanon reads a c= value; the body part defaults to simple.
func parseCanon(c string) (header, body canonicalization, ok bool) {
	if c == "" {
		return simple, simple, true
	}
	h, b, found := strings.Cut(c, "/")
	if !found {
		b = "simple"
	}
	header, body = canonicalization(strings.ToLower(h)), canonicalization(strings.ToLower(b))
	valid := func(c canonicalization) bool { return c == simple || c == relaxed }
	return header, body, valid(header) && valid(body)
}

// canonHeader is a field in the header canonicalization c, ending in CRLF.
func canonHeader(raw string, c canonicalization) string {
	if c == simple {
		return raw + "\r\n"
	}
	// RFC 6376 3.4.2: lower-case name, unfolded value, runs of white
	// space as one space, none at either end of the value or around the
	// colon.
	colon := strings.IndexByte(raw, ':')
	var b strings.Builder
	b.Grow(len(raw) + 2)
	b.WriteString(strings.ToLower(strings.TrimRight(raw[:colon], " \t")))
	b.WriteByte(':')
	space := false
	started := false
	for i := colon + 1; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '\r', '\n':
		case ' ', '\t':
			space = started
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteByte(c)
			started = true
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// hashBody writes the body in canonicalization c to h, at most limit
// octets when limit >= 0 (the l= tag).
func hashBody(h hash.Hash, body []byte, c canonicalization, limit int64) {
	var w io.Writer = h
	if limit >= 0 {
		w = &limitWriter{w: h, n: limit}
	}
	crlf := []byte("\r\n")
	empty := 0 // empty lines not yet written: only written if a line follows
	wrote := false
	var buf []byte
	rest := body
	for len(rest) > 0 {
		var line []byte
		line, rest = nextLine(rest)
		if c == relaxed {
			// RFC 6376 3.4.4: runs of white space as one space, none
			// at the end of a line.
			buf = buf[:0]
			space := false
			for _, ch := range line {
				if ch == ' ' || ch == '\t' {
					space = true
					continue
				}
				if space {
					buf = append(buf, ' ')
					space = false
				}
				buf = append(buf, ch)
			}
			line = buf
		}
		if len(line) == 0 {
			empty++
			continue
		}
		for ; empty > 0; empty-- {
			w.Write(crlf)
		}
		w.Write(line)
		w.Write(crlf)
		wrote = true
	}
	if !wrote && c == simple {
		w.Write(crlf) // RFC 6376 3.4.3: an empty body is one CRLF
	}
}

type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

// withoutB returns the field with the b= tag's value, and the white space
// around it, removed (RFC 6376 3.7), as a signature field is hashed.
func withoutB(raw string) string {
	start := strings.IndexByte(raw, ':') + 1
	for start <= len(raw) {
		end := strings.IndexByte(raw[start:], ';')
		if end < 0 {
			end = len(raw)
		} else {
			end += start
		}
		part := raw[start:end]
		if eq := strings.IndexByte(part, '='); eq >= 0 && strings.Trim(part[:eq], " \t\r\n") == "b" {
			return raw[:start+eq+1] + raw[end:]
		}
		start = end + 1
	}
	return raw
}

// nextLine splits off the first line of b, without its CRLF or bare LF.
func nextLine(b []byte) (line, rest []byte) {
	nl := indexByte(b, '\n')
	if nl < 0 {
		line = b
	} else {
		line, rest = b[:nl], b[nl+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}
