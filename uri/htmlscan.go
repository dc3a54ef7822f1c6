package uri

import (
	"bytes"
	"hash/maphash"
	"io"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/smtppolicy/smtppolicy/internal/ascii"
)

// htmlScanner finds hosts in HTML without building tokens. It splits the
// input where x/net/html's tokenizer does (text, tags, comments, doctypes,
// raw-text elements such as <script> and <title>, the same end-of-input
// rules), so it sees the same text and attributes; but it finds token ends
// with bytes.IndexByte, decodes only the text and attribute values that have
// character references, and reads a tag's attributes only when the tag has a
// byte a link needs. The tokenizer allocated for nearly every tag and
// attribute it returned, which made it most of the cost of HTML.
//
// Tag names are compared in ASCII, as the tokenizer compares them when it
// picks raw-text elements (the code before this scanner matched "script"
// and "style" with bytes.EqualFold, which folds "ſ" to "s": "<ſcript>" hid
// the text after it).
type htmlScanner struct {
	c      *collector
	r      io.Reader
	buf    []byte
	eof    bool  // r has no more input
	err    error // r's error, when it was not io.EOF
	stop   bool  // an unfinished tag at the end of input: nothing more is read
	base   []byte
	rawTag string // the raw-text element whose end tag ends the next text
	attrs  []attrSpan
	val    []byte               // scratch for an attribute value with NULs, CRs or references
	text   []byte               // scratch for text with references
	memo   map[uint64]memoEntry // by memoHash
	seed   maphash.Seed         // memoHash's
	// sighted holds the hashes of values met once: a value is only
	// remembered when met again, so text that never repeats costs a hash,
	// not an entry. A stale or overwritten slot only costs a miss.
	sighted [1024]uint64
}

// memoEntry is what scanning one text or attribute value did, when all it
// did was count mentions of hosts already seen.
type memoEntry struct {
	where, v string
	gen      uint64 // the collector's gen when it was scanned
	mentions int
}

// HTML mail repeats itself: the same style on every cell, the same link on
// every button. A text or attribute value scanned again while the result
// has not changed but for mentions (the collector's gen is the same) would
// only count the same mentions again; the memo does that without scanning.
const (
	memoMax    = 256 // entries; a full memo is emptied
	memoMaxLen = 256 // the longest value remembered
)

// memoHash hashes a value and where it is (never 0).
func (s *htmlScanner) memoHash(where string, v []byte) uint64 {
	return (maphash.Bytes(s.seed, v) ^ uint64(len(where))<<56 ^ uint64(where[0])<<48) | 1
}

// recall counts the mentions of a value scanned before at the current gen
// and reports true; else it returns the value's hash for remember, or 0
// when it is not to be remembered.
func (s *htmlScanner) recall(where string, v []byte) (uint64, bool) {
	if len(v) > memoMaxLen {
		return 0, false
	}
	h := s.memoHash(where, v)
	if slot := &s.sighted[h%uint64(len(s.sighted))]; *slot != h {
		*slot = h
		return 0, false
	}
	if e, ok := s.memo[h]; ok && e.gen == s.c.gen && e.where == where && e.v == string(v) {
		s.c.res.Mentions += e.mentions
		return 0, true
	}
	return h, false
}

// remember records what scanning value v did, when it changed nothing but
// mentions: gen and mentions are the collector's before.
func (s *htmlScanner) remember(h uint64, where string, v []byte, gen uint64, mentions int) {
	if h == 0 || s.c.gen != gen {
		return
	}
	if s.memo == nil {
		s.memo = make(map[uint64]memoEntry)
	}
	if len(s.memo) >= memoMax {
		clear(s.memo)
	}
	s.memo[h] = memoEntry{where, string(v), gen, s.c.res.Mentions - mentions}
}

// attrSpan locates one URL attribute of the current tag in the buffer.
type attrSpan struct {
	vs, ve int
	where  string // the attribute's name, as urlAttrName gives it
	quote  byte   // '"' or '\'' for a quoted value, else 0
}

// htmlBufSize is the scanner's first buffer; it doubles, up to maxHTMLBuf,
// only for a token that does not fit.
const htmlBufSize = 32 << 10

// scanHTML finds hosts in an HTML part: URL attributes, the visible text,
// and relative links resolved against <base href>.
func (c *collector) scanHTML(r io.Reader) error {
	s, _ := c.x.scanners.Get().(*htmlScanner)
	if s == nil {
		// The sighted table holds hashes of this seed: a scanner keeps it.
		s = &htmlScanner{seed: maphash.MakeSeed()}
	}
	if cap(s.buf) < htmlBufSize {
		s.buf = make([]byte, htmlBufSize)
	}
	// Fields are reset one by one: the sighted table is kept (a stale hash
	// only costs a miss), and copying it with the struct cost more than a
	// small message's scan.
	s.c, s.r, s.buf = c, r, s.buf[:cap(s.buf)]
	s.eof, s.err, s.stop, s.base, s.rawTag = false, nil, false, nil, ""
	s.attrs, s.val, s.text = s.attrs[:0], s.val[:0], s.text[:0]
	clear(s.memo)
	err := s.run()
	// A buffer grown for one huge token is not kept.
	if cap(s.buf) > htmlBufSize {
		s.buf = nil
	}
	if cap(s.val) > htmlBufSize {
		s.val = nil
	}
	if cap(s.text) > htmlBufSize {
		s.text = nil
	}
	s.c, s.r, s.base = nil, nil, nil
	clear(s.memo)
	c.x.scanners.Put(s)
	return err
}

// run scans tokens from the buffer, refilling it as they need, until the
// input ends.
func (s *htmlScanner) run() error {
	start, end := 0, 0
	for {
		for start < end && !s.stop {
			n := s.step(s.buf[start:end])
			if n == 0 {
				break
			}
			start += n
		}
		if s.stop || s.eof && start == end {
			return s.err
		}
		// The token at start needs more input.
		end = copy(s.buf, s.buf[start:end])
		start = 0
		if end == len(s.buf) {
			if end >= maxHTMLBuf {
				// As the tokenizer did: the token is dropped and the rest
				// of the part read as text.
				if s.err != nil {
					return s.err
				}
				return s.c.scanTextReader(s.r)
			}
			nb := make([]byte, min(2*len(s.buf), maxHTMLBuf))
			copy(nb, s.buf[:end])
			s.buf = nb
		}
		end = s.fill(end)
	}
}

// fill reads into buf[end:] until it is full or the input ends: a token cut
// by a short read is parsed again, and refilling only a little each time
// would make that quadratic.
func (s *htmlScanner) fill(end int) int {
	empty := 0
	for end < len(s.buf) && !s.eof {
		n, err := s.r.Read(s.buf[end:])
		end += n
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.err = err
			}
			break
		}
		if n == 0 {
			if empty++; empty >= 100 {
				s.eof, s.err = true, io.ErrNoProgress
			}
			continue
		}
		empty = 0
	}
	return end
}

// step handles the token at the start of b and returns its length, or 0 when
// b ends before the token does and more input may follow.
func (s *htmlScanner) step(b []byte) int {
	if s.rawTag != "" {
		n, ok := rawTextEnd(b, s.rawTag, s.eof)
		if !ok {
			return 0
		}
		tag := s.rawTag
		if tag != "plaintext" {
			s.rawTag = ""
		}
		if n > 0 {
			s.rawText(tag, b[:n])
			return n
		}
	}
	if n, ok := textEnd(b, s.eof); !ok {
		return 0
	} else if n > 0 {
		s.scanText(b[:n], true)
		return n
	}
	// b[0] == '<' and b[1] starts a tag, an end tag or a comment.
	switch c := b[1]; {
	case isASCIILetter(c):
		end, nameEnd := s.tag(b, 1, true)
		if end < 0 {
			return s.unfinished(b)
		}
		s.startTag(b[:end], b[1:nameEnd])
		return end
	case c == '/':
		if len(b) < 3 {
			if !s.eof {
				return 0
			}
			// "</" at the end of input is text.
			s.scanText(b, true)
			return len(b)
		}
		switch c := b[2]; {
		case c == '>':
			return 3
		case isASCIILetter(c):
			end, _ := s.tag(b, 2, false)
			if end < 0 {
				return s.unfinished(b)
			}
			return end
		}
		return s.closeAngle(b, 2)
	case c == '!':
		if len(b) < 4 && !s.eof {
			return 0
		}
		if len(b) >= 4 && b[2] == '-' && b[3] == '-' {
			return s.comment(b)
		}
		return s.closeAngle(b, 2)
	default: // '?'
		return s.closeAngle(b, 2)
	}
}

// unfinished handles a tag that b ends inside of: more input is needed, or,
// at the end of input, the tag and everything after it is dropped.
func (s *htmlScanner) unfinished(b []byte) int {
	if !s.eof {
		return 0
	}
	s.stop = true
	return len(b)
}

// closeAngle ends a bogus comment, doctype or processing instruction at the
// first '>' from b[from], or at the end of input.
func (s *htmlScanner) closeAngle(b []byte, from int) int {
	if i := bytes.IndexByte(b[from:], '>'); i >= 0 {
		return from + i + 1
	}
	if s.eof {
		return len(b)
	}
	return 0
}

// comment ends a "<!--" comment as the tokenizer does: at "-->", "--!>",
// or a '>' right after the opening dashes ("<!-->", "<!--->").
func (s *htmlScanner) comment(b []byte) int {
	dashes, beginning := 0, true
	for j := 4; j < len(b); j++ {
		switch b[j] {
		case '-':
			dashes++
			continue
		case '>':
			if dashes >= 2 || beginning {
				return j + 1
			}
		case '!':
			if dashes >= 2 {
				if j+1 >= len(b) {
					break
				}
				j++
				if b[j] == '>' {
					return j + 1
				}
				if b[j] == '-' {
					dashes, beginning = 1, false
					continue
				}
			}
		}
		dashes, beginning = 0, false
	}
	if s.eof {
		return len(b)
	}
	return 0
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
}

// openAt returns the index of the first '<' in b from i on that has a byte
// after it, or -1 when b ends first.
func openAt(b []byte, i int) int {
	j := bytes.IndexByte(b[i:], '<')
	if j < 0 || i+j+1 >= len(b) {
		return -1
	}
	return i + j
}

// textEnd returns the length of the text at the start of b: up to a '<'
// that starts a tag, end tag, comment or doctype. ok is false when b ends
// first and more input may follow.
func textEnd(b []byte, eof bool) (int, bool) {
	for i := 0; ; {
		j := openAt(b, i)
		if j < 0 {
			return len(b), eof
		}
		if c := b[j+1]; isASCIILetter(c) || c == '/' || c == '!' || c == '?' {
			return j, true
		}
		i = j + 1
	}
}

// skipSpace returns the index of the first non-space byte from b[i].
func skipSpace(b []byte, i int) int {
	for i < len(b) && isHTMLSpace(b[i]) {
		i++
	}
	return i
}

// tag parses the tag that starts b, whose name starts at b[i], as the
// tokenizer's readTag does (quoted values may hold '>'), and returns the
// index after its '>' and the end of its name; end is -1 when b ends first.
// With save, the URL attributes are recorded in s.attrs: the first of each
// name only, as the tokenizer drops repeated attributes, so a tag of many
// attributes takes no more room than one of each.
func (s *htmlScanner) tag(b []byte, i int, save bool) (end, nameEnd int) {
	s.attrs = s.attrs[:0]
	var seen uint32 // URL attributes already met
	j := i + 1
	for ; ; j++ {
		if j >= len(b) {
			return -1, 0
		}
		if c := b[j]; isHTMLSpace(c) {
			nameEnd = j
			j++
			break
		} else if c == '/' || c == '>' {
			nameEnd = j
			break
		}
	}
	for {
		if j = skipSpace(b, j); j >= len(b) {
			return -1, 0
		}
		if b[j] == '>' {
			return j + 1, nameEnd
		}
		a, ks := attrSpan{}, j
		for ; j < len(b); j++ {
			c := b[j]
			if c == '=' && j == ks {
				continue // a leading '=' is part of the name
			}
			if c == '=' || c == '/' || c == '>' || isHTMLSpace(c) {
				break
			}
		}
		ke := j
		if j = skipSpace(b, j); j >= len(b) {
			return -1, 0
		}
		a.vs, a.ve = j, j
		switch b[j] {
		case '/':
			j++
		case '=':
			if j = skipSpace(b, j+1); j >= len(b) {
				return -1, 0
			}
			switch q := b[j]; q {
			case '>':
			case '"', '\'':
				k := bytes.IndexByte(b[j+1:], q)
				if k < 0 {
					return -1, 0
				}
				a.vs, a.ve, a.quote = j+1, j+1+k, q
				j += k + 2
			default:
				a.vs = j
				for ; ; j++ {
					if j >= len(b) {
						return -1, 0
					}
					if c := b[j]; isHTMLSpace(c) {
						a.ve = j
						j++
						break
					} else if c == '>' {
						a.ve = j
						break
					}
				}
			}
		}
		if save {
			if where, idx := urlAttrName(b[ks:ke]); idx >= 0 && seen&(1<<idx) == 0 {
				seen |= 1 << idx
				a.where = where
				s.attrs = append(s.attrs, a)
			}
		}
	}
}

// rawTags are the elements whose content the tokenizer reads as raw text, up
// to their end tag.
var rawTags = [...]string{"iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp"}

// linkByte marks the bytes without which a tag's attributes cannot hold a
// host (the dot of a name, the colon of a scheme, a backslash, or a
// character reference that could stand for them).
var linkByte = func() (t [256]bool) {
	for _, c := range []byte(".:&\\") {
		t[c] = true
	}
	return t
}()

// startTag handles a start tag whose raw text is raw: raw-text elements,
// <base href>, and the URL attributes.
func (s *htmlScanner) startTag(raw, name []byte) {
	if len(name) >= 3 && len(name) <= 9 {
		for _, t := range rawTags {
			if ascii.EqualFold(name, t) {
				s.rawTag = t
				break
			}
		}
	}
	isBase := ascii.EqualFold(name, "base")
	if s.base == nil && !isBase && !hasLinkByte(raw) {
		return
	}
	for _, a := range s.attrs {
		v := s.attrValue(raw, a)
		if isBase && a.where == "href" {
			s.base = s.c.baseHost(v)
			clear(s.memo) // relative links now resolve elsewhere
			continue
		}
		h, done := s.recall(a.where, v)
		if done {
			continue
		}
		gen, mentions := s.c.gen, s.c.res.Mentions
		s.c.urlAttr(a.where, v, s.base)
		s.remember(h, a.where, v, gen, mentions)
	}
}

func hasLinkByte(b []byte) bool {
	for _, c := range b {
		if linkByte[c] {
			return true
		}
	}
	return false
}

// urlAttrName returns the name of the URL attribute (one whose value is a
// URL or holds them) with key k, in any case, as Host.Where names it, and
// its index for telling repeated attributes; idx is -1 for other keys.
func urlAttrName(k []byte) (where string, idx int) {
	if len(k) < 3 || len(k) > len("imagesrcset") {
		return "", -1
	}
	var lower [16]byte
	for i, c := range k {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower[:len(k)]) {
	case "href":
		return "href", 0
	case "src":
		return "src", 1
	case "action":
		return "action", 2
	case "background":
		return "background", 3
	case "formaction":
		return "formaction", 4
	case "cite":
		return "cite", 5
	case "data":
		return "data", 6
	case "poster":
		return "poster", 7
	case "longdesc":
		return "longdesc", 8
	case "lowsrc":
		return "lowsrc", 9
	case "dynsrc":
		return "dynsrc", 10
	case "codebase":
		return "codebase", 11
	case "usemap":
		return "usemap", 12
	case "manifest":
		return "manifest", 13
	case "icon":
		return "icon", 14
	case "ping":
		return "ping", 15
	case "xlink:href":
		return "xlink:href", 16
	case "srcset":
		return "srcset", 17
	case "content":
		return "content", 18
	case "style":
		return "style", 19
	case "imagesrcset":
		return "imagesrcset", 20
	case "archive":
		return "archive", 21
	}
	return "", -1
}

// attrValue returns an attribute's value as the tokenizer's TagAttr does:
// NULs replaced, newlines normalised, character references decoded.
func (s *htmlScanner) attrValue(raw []byte, a attrSpan) []byte {
	v := raw[a.vs:a.ve]
	nulCR, amp := valueBytes(v)
	if !nulCR {
		if !amp {
			return v
		}
	} else {
		s.val = convertNULAndCR(s.val[:0], v)
		v = s.val
		if bytes.IndexByte(v, '&') < 0 {
			return v
		}
	}
	t, ok := unescapeFast(s.text[:0], v)
	s.text = t
	if ok {
		return t
	}
	return tokenizerAttr(raw[a.vs:a.ve], a.quote)
}

// valueBytes reports the bytes that make an attribute value differ from its
// raw text: NUL or CR, and '&'. Three bytes.IndexByte calls cost less than
// one loop over the usual URL.
func valueBytes(v []byte) (nulCR, amp bool) {
	nulCR = bytes.IndexByte(v, 0) >= 0 || bytes.IndexByte(v, '\r') >= 0
	return nulCR, bytes.IndexByte(v, '&') >= 0
}

// convertNULAndCR appends v to dst with NUL bytes as U+FFFD and "\r\n" and
// "\r" as "\n", as the tokenizer returns text and attribute values.
func convertNULAndCR(dst, v []byte) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case 0:
			dst = append(dst, "\uFFFD"...)
		case '\r':
			dst = append(dst, '\n')
			if i+1 < len(v) && v[i+1] == '\n' {
				i++
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// tokenizerAttr decodes a value with a character reference unescapeFast
// does not know by having the tokenizer read it: the rules for legacy names
// without ';' in attributes are the tokenizer's own. Such values are rare.
func tokenizerAttr(v []byte, quote byte) []byte {
	var b bytes.Buffer
	b.WriteString("<a v=")
	if quote != 0 {
		b.WriteByte(quote)
	}
	b.Write(v)
	if quote != 0 {
		b.WriteByte(quote)
	}
	b.WriteByte('>')
	z := html.NewTokenizer(&b)
	z.Next()
	_, val, _ := z.TagAttr()
	return val
}

// rawText scans the text of a raw-text element: not the code of <script>
// and <style>, which is not visible; character references are decoded only
// in <title> and <textarea>, as the tokenizer does.
func (s *htmlScanner) rawText(tag string, b []byte) {
	switch tag {
	case "script", "style":
		return
	}
	if bytes.IndexByte(b, 0) >= 0 {
		s.val = convertNULAndCR(s.val[:0], b)
		b = s.val
	}
	s.scanText(b, tag == "title" || tag == "textarea")
}

// scanText scans text, decoding its character references when decode is
// set.
func (s *htmlScanner) scanText(b []byte, decode bool) {
	if decode && bytes.IndexByte(b, '&') >= 0 {
		t, ok := unescapeFast(s.text[:0], b)
		s.text = t
		if !ok {
			t = []byte(html.UnescapeString(string(b)))
		}
		b = t
	}
	h, done := s.recall("text", b)
	if done {
		return
	}
	gen, mentions := s.c.gen, s.c.res.Mentions
	s.c.scanText(b, "text")
	s.remember(h, "text", b, gen, mentions)
}

// rawTextEnd returns the length of the raw text of element tag at the start
// of b: up to its end tag, or all of b at the end of input. ok is false when
// more input is needed to tell.
func rawTextEnd(b []byte, tag string, eof bool) (int, bool) {
	if tag == "plaintext" {
		return len(b), eof
	}
	if tag == "script" {
		return scriptEnd(b, eof)
	}
	for i := 0; ; {
		j := openAt(b, i)
		if j < 0 {
			return len(b), eof
		}
		if b[j+1] != '/' {
			i = j + 1
			continue
		}
		k, m := endTagAt(b, j+2, tag)
		switch m {
		case endTagMatch:
			return j, true
		case endTagShort:
			return len(b), eof
		}
		i = k
	}
}

// Results of endTagAt.
const (
	endTagNo    = iota // not the end tag; go on from the index returned
	endTagMatch        // the end tag
	endTagShort        // b ends first
)

// endTagAt matches the name and delimiter of end tag "</tag" after its
// "</", at b[i], as the tokenizer's readRawEndTag does: only the ASCII
// upper- and lower-case letters of the name, and one of " \n\r\t\f/>" after.
func endTagAt(b []byte, i int, tag string) (int, int) {
	for k := 0; k < len(tag); k++ {
		if i+k >= len(b) {
			return 0, endTagShort
		}
		if c := b[i+k]; c != tag[k] && c != tag[k]-('a'-'A') {
			return i + k, endTagNo
		}
	}
	i += len(tag)
	if i >= len(b) {
		return 0, endTagShort
	}
	switch b[i] {
	case ' ', '\n', '\r', '\t', '\f', '/', '>':
		return i, endTagMatch
	}
	return i, endTagNo
}

// States of a script's text, named as in the HTML standard.
const (
	scriptData = iota
	scriptEscaped
	scriptEscapedDash
	scriptEscapedDashDash
	scriptDoubleEscaped
	scriptDoubleEscapedDash
	scriptDoubleEscapedDashDash
)

// scriptEnd returns the length of a script's text, following the rules for
// "<!--" and "<script>" inside it that hide a "</script>", as the
// tokenizer's readScript does.
func scriptEnd(b []byte, eof bool) (int, bool) {
	st := scriptData
	for i := 0; i < len(b); {
		c := b[i]
		i++
		if c == '<' && st < scriptDoubleEscaped && i < len(b) && b[i] == '/' {
			// "</script" ends the text in the data and escaped states
			// alike; another end tag clears the escaped states' dashes.
			k, m := endTagAt(b, i+1, "script")
			switch m {
			case endTagMatch:
				return i - 1, true
			case endTagShort:
				return len(b), eof
			}
			i = k
			if st != scriptData {
				st = scriptEscaped
			}
			continue
		}
		switch st {
		case scriptData:
			if c != '<' {
				// Only '<' matters here: skip to the next one.
				k := bytes.IndexByte(b[i:], '<')
				if k < 0 {
					i = len(b)
					continue
				}
				i += k
				continue
			}
			if i >= len(b) {
				return len(b), eof
			}
			// "<!--" enters the escaped state.
			if b[i] == '!' {
				if i+1 >= len(b) {
					return len(b), eof
				}
				if b[i+1] != '-' {
					i++
					continue
				}
				if i+2 >= len(b) {
					return len(b), eof
				}
				if b[i+2] != '-' {
					i += 2
					continue
				}
				i += 3
				st = scriptEscapedDashDash
			}
		case scriptEscaped, scriptEscapedDash, scriptEscapedDashDash:
			if c != '<' {
				st = dashes(c, st, scriptEscaped)
				continue
			}
			if i >= len(b) {
				return len(b), eof
			}
			if isASCIILetter(b[i]) {
				k, m := doubleEscapeAt(b, i)
				switch m {
				case endTagMatch:
					st = scriptDoubleEscaped
				case endTagShort:
					return len(b), eof
				default:
					st = scriptEscaped
				}
				i = k
			} else {
				st = scriptData
			}
		default: // the double-escaped states
			if c != '<' {
				st = dashes(c, st, scriptDoubleEscaped)
				continue
			}
			if i >= len(b) {
				return len(b), eof
			}
			if b[i] != '/' {
				st = scriptDoubleEscaped
				continue
			}
			k, m := endTagAt(b, i+1, "script")
			switch m {
			case endTagMatch:
				i = k + 1 // past "</script>"'s last byte
				st = scriptEscaped
			case endTagShort:
				return len(b), eof
			default:
				i = k
				st = scriptDoubleEscaped
			}
		}
	}
	return len(b), eof
}

// dashes steps the "-->" that ends an escaped or a double-escaped script
// text on a byte other than '<': base is the family's state without a
// dash, base+1 after one, base+2 after two, and "-->" leaves for
// scriptData. Any other byte goes back to base.
func dashes(c byte, st, base int) int {
	switch {
	case c == '-' && st == base:
		return base + 1
	case c == '-':
		return base + 2
	case c == '>' && st == base+2:
		return scriptData
	}
	return base
}

// doubleEscapeAt matches "script" and a delimiter at b[i] (after a '<' in an
// escaped script), which enters the double-escaped state.
func doubleEscapeAt(b []byte, i int) (int, int) {
	for k := 0; k < len("script"); k++ {
		if i+k >= len(b) {
			return 0, endTagShort
		}
		if c := b[i+k]; c != "script"[k] && c != "SCRIPT"[k] {
			return i + k, endTagNo
		}
	}
	i += len("script")
	if i >= len(b) {
		return 0, endTagShort
	}
	switch b[i] {
	case ' ', '\n', '\r', '\t', '\f', '/', '>':
		return i + 1, endTagMatch
	}
	return i, endTagNo
}

// knownEntities are the named character references (with their ';') that
// unescapeFast decodes itself; their values are the tokenizer's.
var knownEntities = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"amp", "lt", "gt", "quot", "apos", "nbsp", "AMP", "LT", "GT", "QUOT",
		"mdash", "ndash", "hellip", "copy", "reg", "trade", "laquo", "raquo",
		"lsquo", "rsquo", "ldquo", "rdquo", "sbquo", "bdquo", "bull", "middot",
		"euro", "pound", "yen", "cent", "sect", "deg", "plusmn", "times", "divide",
		"zwnj", "zwj", "shy", "ensp", "emsp", "thinsp", "iexcl", "iquest",
		"period", "colon", "sol", "bsol", "commat", "num", "excl", "comma",
		"auml", "ouml", "uuml", "Auml", "Ouml", "Uuml", "szlig", "eacute", "egrave",
		"agrave", "aacute", "ccedil", "ntilde", "oacute", "iacute", "uacute",
	} {
		k := n + ";"
		m[k] = html.UnescapeString("&" + k)
	}
	return m
}()

// unescapeFast appends src to dst with its character references decoded as
// the tokenizer decodes them, in text and in attribute values alike: numeric
// references, and the names of knownEntities followed by ';'. ok is false at
// any other name, whose decoding depends on the legacy rules for names
// without ';'; the caller then has the tokenizer decode src.
func unescapeFast(dst, src []byte) ([]byte, bool) {
	for {
		i := bytes.IndexByte(src, '&')
		if i < 0 {
			return append(dst, src...), true
		}
		dst = append(dst, src[:i]...)
		src = src[i:]
		if len(src) >= 2 && src[1] == '#' {
			r, n := numericRef(src)
			if n == 0 {
				dst = append(dst, '&')
				src = src[1:]
				continue
			}
			dst = utf8.AppendRune(dst, r)
			src = src[n:]
			continue
		}
		j := 1
		for j < len(src) && (isASCIILetter(src[j]) || '0' <= src[j] && src[j] <= '9') {
			j++
		}
		if j == 1 {
			dst = append(dst, '&') // "&" before no name is itself
			src = src[1:]
			continue
		}
		if j >= len(src) || src[j] != ';' {
			return dst, false
		}
		v, ok := knownEntities[string(src[1:j+1])]
		if !ok {
			return dst, false
		}
		dst = append(dst, v...)
		src = src[j+1:]
	}
}

// numericRef decodes the "&#..." at the start of s as the tokenizer does;
// n is 0 when no digits follow.
func numericRef(s []byte) (rune, int) {
	i := 2
	if i >= len(s) {
		return 0, 0
	}
	hex := false
	if s[i] == 'x' || s[i] == 'X' {
		hex = true
		i++
	}
	i0 := i
	x := rune(0)
	for ; i < len(s); i++ {
		c := s[i]
		var d rune
		mult := rune(10)
		switch {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case hex && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case hex && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		default:
			goto done
		}
		if hex {
			mult = 16
		}
		if x <= 0x10FFFF {
			x = mult*x + d
		}
	}
done:
	if i == i0 {
		return 0, 0
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	switch {
	case 0x80 <= x && x <= 0x9F:
		x = cp1252[x-0x80]
	case x == 0 || 0xD800 <= x && x <= 0xDFFF || x > 0x10FFFF:
		x = utf8.RuneError
	}
	return x, i
}

// cp1252 is what numeric references to 0x80-0x9F stand for (the
// tokenizer's replacementTable).
var cp1252 = [32]rune{
	'\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
	'\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
	'\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
	'\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178',
}
