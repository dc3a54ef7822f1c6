package reply

import (
	"bytes"
	"strconv"
	"strings"
)

// Wire limits from RFC 5321 section 4.5.3.1.5: a reply line is at most 512
// octets including the CRLF.
const (
	MaxLineLength = 512
	maxContent    = MaxLineLength - 2
	// maxArgLength caps one client-supplied template argument, so a 1 MB HELO
	// cannot turn into a thousand-line reply.
	maxArgLength = 256
)

// AppendTo appends the reply in wire form to dst and returns the extended
// buffer: every line carries the basic code, '-' on all lines but the last,
// the enhanced code (RFC 2034), text folded at word boundaries so no line
// exceeds 512 octets, and CRLF. Control bytes in the text are written as '?'.
// With a reused buffer, a one-line catalog reply formats without allocating.
func (r Reply) AppendTo(dst []byte) []byte {
	if r.code == 0 {
		return dst
	}
	start := len(dst)
	dst = r.appendPrefix(dst, ' ')
	textStart := len(dst)
	dst = r.appendRawText(dst)
	text := dst[textStart:]
	if r.enh.IsZero() {
		guardEnhanced(text)
	}
	// A catalog template without a line break cannot make one: its
	// arguments are sanitised.
	oneLine := r.entry != nil && !r.entry.multiline || !containsNL(text)
	if len(text) <= maxContent-(textStart-start) && oneLine {
		if len(text) == 0 && textStart > start {
			dst = dst[:textStart-1] // no trailing space after the codes
		}
		return append(dst, '\r', '\n')
	}
	// Slow path: several lines or folding. Copy the text out, then rewrite.
	raw := append([]byte(nil), text...)
	dst = dst[:start]
	return r.appendFolded(dst, raw)
}

// guardEnhanced keeps the text of a reply without an enhanced code from
// starting with a word a reader would take for one ("0.0.0 ESMTP" from a
// hostile host name): its first dot is written as '?', as other bytes that
// would change the reply's meaning are.
func guardEnhanced(text []byte) {
	if start, ok := leadsEnhanced(text); ok {
		text[start+1] = '?'
	}
}

// leadsEnhanced reports whether the first word of b, after the spaces a
// parser skips, looks like an enhanced status code, and where it starts.
func leadsEnhanced(b []byte) (start int, ok bool) {
	for start < len(b) && b[start] == ' ' {
		start++
	}
	end := start
	for end < len(b) && b[end] != ' ' && b[end] != '\n' {
		end++
	}
	return start, looksEnhanced(string(b[start:end])) // the conversion does not allocate
}

func containsNL(b []byte) bool {
	for _, c := range b {
		if c == '\n' {
			return true
		}
	}
	return false
}

func (r Reply) appendPrefix(dst []byte, sep byte) []byte {
	if e := r.entry; e != nil && sep == ' ' && e.prefix != "" && int(r.code) == e.Code && r.enh == e.Enhanced {
		return append(dst, e.prefix...)
	}
	if r.code >= 100 && r.code <= 999 {
		c := byte(r.code / 100)
		dst = append(dst, '0'+c, '0'+byte(r.code/10%10), '0'+byte(r.code%10), sep)
	} else {
		dst = strconv.AppendInt(dst, int64(r.code), 10)
		dst = append(dst, sep)
	}
	if !r.enh.IsZero() {
		dst = r.enh.appendTo(dst)
		dst = append(dst, ' ')
	}
	return dst
}

// appendRawText appends the sanitised text with '\n' between logical lines.
func (r Reply) appendRawText(dst []byte) []byte {
	if r.entry != nil {
		return r.entry.appendText(dst, &r.args)
	}
	if r.raw != "" {
		it := newParsedLines(r.raw)
		for i := 0; ; i++ {
			l, ok := it.next()
			if !ok {
				return dst
			}
			if i > 0 {
				dst = append(dst, '\n')
			}
			dst = appendSanitized(dst, l)
		}
	}
	for i, l := range r.lines {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = appendSanitized(dst, l)
	}
	return dst
}

// Lines returns the reply's text as it is written on the wire: one string
// per reply line, folded to the 512-octet limit, sanitised, without the
// codes and the CRLF. A server library that writes the codes itself (such
// as go-smtp's SMTPError) takes these lines and needs no wire parsing:
//
//	code + "-" + enhanced + " " + line   (every line but the last)
//	code + " " + enhanced + " " + line   (the last)
//
// gives exactly what AppendTo writes, except that AppendTo leaves out the
// space after the codes on a line with no text.
func (r Reply) Lines() []string {
	if r.code == 0 {
		return nil
	}
	raw := r.appendRawText(nil)
	if r.enh.IsZero() {
		guardEnhanced(raw)
	}
	chunks := r.fold(raw)
	lines := make([]string, len(chunks))
	for i, c := range chunks {
		lines[i] = string(c)
	}
	return lines
}

// appendFolded writes each logical line of raw, folded to fit the wire limit.
func (r Reply) appendFolded(dst, raw []byte) []byte {
	chunks := r.fold(raw)
	for i, c := range chunks {
		sep := byte('-')
		if i == len(chunks)-1 {
			sep = ' '
		}
		lineStart := len(dst)
		dst = r.appendPrefix(dst, sep)
		if len(c) == 0 && len(dst)-lineStart > 4 {
			dst = dst[:len(dst)-1]
		}
		dst = append(dst, c...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// fold splits the sanitised text raw ('\n' between logical lines) into the
// text of each wire line, each short enough for the line's codes and CRLF.
func (r Reply) fold(raw []byte) [][]byte {
	prefixLen := len(r.appendPrefix(make([]byte, 0, 16), ' '))
	width := maxContent - prefixLen
	var chunks [][]byte
	for len(raw) >= 0 {
		line := raw
		nl := -1
		for i, c := range raw {
			if c == '\n' {
				nl = i
				break
			}
		}
		if nl >= 0 {
			line = raw[:nl]
		}
		// Without an enhanced code, a hard cut of the first word could leave
		// something that reads as one ("5.5.2" out of "5.5.2222..."): guard it.
		chunks = appendFold(chunks, line, width, r.enh.IsZero() && len(chunks) == 0)
		if nl < 0 {
			break
		}
		raw = raw[nl+1:]
	}
	return chunks
}

// appendFold splits one line into chunks of at most width bytes, breaking at
// the last space that fits, or hard at width when a word is longer than that.
// With guardFirst, the first chunk never reads as an enhanced status code.
func appendFold(chunks [][]byte, line []byte, width int, guardFirst bool) [][]byte {
	for first := guardFirst; len(line) > width; first = false {
		cut := -1
		for i := width; i > 0; i-- {
			if line[i] == ' ' {
				cut = i
				break
			}
		}
		if cut <= 0 {
			w := width
			if start, ok := leadsEnhanced(line[:w]); first && ok {
				w = start + 4 // no word of four bytes looks like an enhanced code
			}
			chunks = append(chunks, line[:w])
			line = line[w:]
			continue
		}
		chunks = append(chunks, line[:cut])
		line = line[cut+1:]
	}
	return append(chunks, line)
}

// appendSanitized appends s with every byte outside printable ASCII replaced
// by '?': no CR, LF, NUL or other control byte from a client can reach the
// wire and start a reply line of its own.
func appendSanitized(dst []byte, s string) []byte {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			clean = false
			break
		}
	}
	if clean { // the common case: one copy
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendArg appends a template argument: sanitised and capped in length.
func appendArg(dst []byte, s string) []byte {
	if len(s) > maxArgLength {
		dst = appendSanitized(dst, s[:maxArgLength])
		return append(dst, "..."...)
	}
	return appendSanitized(dst, s)
}

// AppendText appends the reply's text lines, as Text returns them, joined
// by sep: a front-end that writes the text inside a line of its own (a
// Postfix policy answer, a log field) gets it without a slice of strings.
func (r Reply) AppendText(dst []byte, sep string) []byte {
	start := len(dst)
	dst = r.appendRawText(dst)
	if sep == "\n" || bytes.IndexByte(dst[start:], '\n') < 0 {
		return dst
	}
	// Rare (a reply of several lines): the lines again, with sep.
	text := string(dst[start:])
	dst = dst[:start]
	for i, l := range strings.Split(text, "\n") {
		if i > 0 {
			dst = append(dst, sep...)
		}
		dst = append(dst, l...)
	}
	return dst
}
