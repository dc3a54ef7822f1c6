package uri

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"strings"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/transform"
)

// Sizes of the walker's buffers; together with the HTML tokenizer's they
// bound the memory of an extraction whatever the message size.
const (
	lineBuf   = 64 << 10 // raw lines longer than this are handled in pieces
	textBuf   = 32 << 10 // decoded text is scanned this much at a time
	maxHeader = 64 << 10 // header bytes kept per part (the rest is skipped)
)

// errLimit ends a walk when MaxBytes has been read.
var errLimit = errors.New("uri: byte limit reached")

// walker reads a MIME message line by line in one pass, following nested
// multiparts with a stack of boundaries, the way SpamAssassin's parser does:
// nothing but the current line and one part's decoders is held in memory.
type walker struct {
	br     *bufio.Reader
	src    *errReader
	c      *collector
	bounds []string // open multipart boundaries, innermost last
	read   int64
	midLn  bool // the next read continues a line longer than the buffer
	// The delimiter that ended the last body read: its index in bounds, or
	// -1 at the end of input; closing for "--boundary--".
	endIdx   int
	endClose bool
	field    []byte // header() unfolds fields here; kept between calls
	body     bodyReader
}

// line returns the next raw line (or a piece of a long one) and whether it
// is a delimiter of an open multipart.
func (w *walker) line() ([]byte, error) {
	if w.read >= w.c.lim.MaxBytes {
		w.c.res.Truncated = true
		return nil, errLimit
	}
	b, err := w.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		err = nil
	}
	w.read += int64(len(b))
	if len(b) == 0 && err != nil {
		return nil, err
	}
	return b, nil
}

// delimiter reports whether a line starting a line is "--b" or "--b--" for
// an open boundary b, innermost first.
func (w *walker) delimiter(b []byte) (int, bool, bool) {
	if len(b) < 3 || b[0] != '-' || b[1] != '-' {
		return 0, false, false
	}
	for i := len(w.bounds) - 1; i >= 0; i-- {
		bd := w.bounds[i]
		if len(b)-2 < len(bd) || string(b[2:2+len(bd)]) != bd {
			continue
		}
		rest := b[2+len(bd):]
		closing := len(rest) >= 2 && rest[0] == '-' && rest[1] == '-'
		if closing {
			rest = rest[2:]
		}
		if len(bytes.TrimRight(rest, " \t\r\n")) == 0 {
			return i, closing, true
		}
	}
	return 0, false, false
}

// next returns the next body line, or io.EOF at a delimiter (recorded in
// endIdx, endClose) or at the end of input.
func (w *walker) next() ([]byte, error) {
	atStart := !w.midLn
	b, err := w.line()
	if err != nil {
		w.endIdx = -1
		return nil, io.EOF
	}
	w.midLn = b[len(b)-1] != '\n'
	if atStart {
		if i, closing, ok := w.delimiter(b); ok {
			w.endIdx, w.endClose = i, closing
			return nil, io.EOF
		}
	}
	return b, nil
}

// bodyReader reads one part's raw body, up to its delimiter.
type bodyReader struct {
	w    *walker
	pend []byte
	done bool
}

func (r *bodyReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.pend) == 0 {
			if r.done {
				break
			}
			if n > 0 && r.w.br.Buffered() == 0 {
				break // return what we have rather than block on the source
			}
			b, err := r.w.next()
			if err != nil {
				r.done = true
				break
			}
			r.pend = b
		}
		k := copy(p[n:], r.pend)
		r.pend = r.pend[k:]
		n += k
	}
	if n == 0 && r.done {
		return 0, io.EOF
	}
	return n, nil
}

// drain reads the rest of a body.
func (r *bodyReader) drain() {
	for !r.done {
		if _, err := r.w.next(); err != nil {
			r.done = true
		}
	}
	r.pend = nil
}

// header reads a part's header up to the blank line and returns its
// Content-Type and Content-Transfer-Encoding. ok is false when the header
// ended at a delimiter or the end of input instead.
func (w *walker) header() (ctype, cte string, ok bool) {
	cur := w.field[:0] // the field being unfolded, bounded
	defer func() { w.field = cur[:0] }()
	kept := 0
	for {
		b, err := w.next()
		if err != nil {
			ctype, cte = w.c.x.headerField(cur, ctype, cte)
			return ctype, cte, false
		}
		line := trimCRLF(b)
		if len(line) == 0 && b[len(b)-1] == '\n' {
			ctype, cte = w.c.x.headerField(cur, ctype, cte)
			return ctype, cte, true
		}
		sep := false // a folded line joins the field with one space
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') && len(cur) > 0 {
			line = bytes.TrimLeft(line, " \t")
			sep = true
		} else if len(cur) > 0 {
			ctype, cte = w.c.x.headerField(cur, ctype, cte)
			cur = cur[:0]
		}
		n := len(line)
		if sep {
			n++
		}
		if kept+n <= maxHeader {
			if sep {
				cur = append(cur, ' ')
			}
			cur = append(cur, line...)
			kept += n
		}
	}
}

// trimCRLF drops the CRs and LFs that end b.
func trimCRLF(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// headerField takes the Content-Type or Content-Transfer-Encoding value
// from one unfolded header field. A Content-Type parsed before is taken
// from the cache, as the string that was parsed, not copied again.
func (x *Extractor) headerField(f []byte, ctype, cte string) (string, string) {
	name, value, found := bytes.Cut(f, []byte(":"))
	if found {
		switch {
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Type")):
			value = bytes.TrimSpace(value)
			if t, ok := x.types.get(value); ok {
				ctype = t.raw
			} else {
				ctype = string(value)
			}
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Transfer-Encoding")):
			cte = string(bytes.TrimSpace(value))
		}
	}
	return ctype, cte
}

// entity walks one MIME entity whose header has been read: a multipart's
// parts, an attached message, or a leaf whose text is scanned.
func (w *walker) entity(ctype, cte string, depth int, digest bool) {
	mt, params := w.c.x.parseType(ctype, digest)
	w.c.res.Parts++
	if w.c.res.Parts > w.c.lim.MaxParts {
		w.c.res.Truncated = true
		w.skip()
		return
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		bd := params["boundary"]
		if bd == "" || len(bd) > 200 || depth >= w.c.lim.MaxDepth {
			if depth >= w.c.lim.MaxDepth {
				w.c.res.Truncated = true
			}
			w.skip()
			return
		}
		w.bounds = append(w.bounds, bd)
		k := len(w.bounds) - 1
		w.skip() // preamble
		for w.endIdx == k && !w.endClose {
			ct, te, ok := w.header()
			if !ok {
				continue
			}
			w.entity(ct, te, depth+1, mt == "multipart/digest")
		}
		w.bounds = w.bounds[:k]
		if w.endIdx == k { // closing delimiter: skip the epilogue
			w.skip()
		}
	case mt == "message/rfc822" || mt == "message/global":
		if depth >= w.c.lim.MaxDepth || !identityEncoding(cte) {
			w.c.res.Truncated = w.c.res.Truncated || depth >= w.c.lim.MaxDepth
			w.skip()
			return
		}
		ct, te, ok := w.header()
		if !ok {
			return
		}
		w.entity(ct, te, depth+1, false)
	case mt == "text/html" || mt == "application/xhtml+xml":
		w.leaf(cte, params["charset"], true)
	case strings.HasPrefix(mt, "text/"):
		w.leaf(cte, params["charset"], false)
	default:
		w.skip()
	}
}

// skip reads a body up to its delimiter without looking at it.
func (w *walker) skip() {
	for {
		if _, err := w.next(); err != nil {
			return
		}
	}
}

// parseType parses a Content-Type, remembering it: most parts carry one of
// a few ("text/plain; charset=utf-8"), and mime.ParseMediaType was a
// quarter of the cost of a small message.
func (x *Extractor) parseType(ctype string, digest bool) (string, map[string]string) {
	if ctype == "" {
		if digest {
			return "message/rfc822", nil
		}
		return "text/plain", nil
	}
	if t, ok := x.types.getString(ctype); ok {
		return t.mt, t.params
	}
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil && mt == "" {
		// A header too broken to parse: keep the type, lose the parameters.
		mt, _, _ = strings.Cut(ctype, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	x.types.put(ctype, mediaType{ctype, mt, params})
	return mt, params
}

// mediaType is a parsed Content-Type. Its params are shared by every
// message with the same header and must only be read.
type mediaType struct {
	raw    string // the value as written
	mt     string
	params map[string]string
}

func identityEncoding(cte string) bool {
	switch strings.ToLower(cte) {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}

// leaf decodes one text part (transfer encoding, then charset) and scans it.
func (w *walker) leaf(cte, cs string, isHTML bool) {
	// One part is read at a time: the walker holds its body reader, which
	// would otherwise be allocated for each part.
	w.body = bodyReader{w: w}
	body := &w.body
	var r io.Reader = body
	switch strings.ToLower(cte) {
	case "quoted-printable":
		r = &qpReader{br: bufio.NewReaderSize(r, 4096)}
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &b64Filter{r: r})
	}
	if cs != "" && !isUTF8(cs) {
		if enc, _ := charset.Lookup(cs); enc != nil {
			r = transform.NewReader(r, enc.NewDecoder())
		}
	}
	w.c.part = w.c.res.Parts
	if isHTML {
		_ = w.c.scanHTML(r)
	} else {
		_ = w.c.scanTextReader(r)
	}
	body.drain()
}

func isUTF8(cs string) bool {
	switch strings.ToLower(cs) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

// qpReader decodes quoted-printable leniently: soft line breaks join lines
// (so a URL broken across them is whole again), =XX escapes are decoded, and
// a malformed '=' is kept as it is rather than ending the part, as mail
// readers do.
type qpReader struct {
	br   *bufio.Reader
	out  []byte
	line []byte
	err  error
}

func (q *qpReader) Read(p []byte) (int, error) {
	for len(q.out) == 0 {
		if q.err != nil {
			return 0, q.err
		}
		raw, err := q.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			err = nil
		}
		q.err = err
		q.line = q.decode(q.line[:0], raw)
		q.out = q.line
	}
	n := copy(p, q.out)
	q.out = q.out[n:]
	return n, nil
}

func (q *qpReader) decode(dst, raw []byte) []byte {
	hard := len(raw) > 0 && raw[len(raw)-1] == '\n'
	body := bytes.TrimRight(raw, " \t\r\n")
	soft := len(body) > 0 && body[len(body)-1] == '='
	if soft {
		body = body[:len(body)-1]
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '=' && i+2 < len(body) && isHex(body[i+1]) && isHex(body[i+2]) {
			dst = append(dst, unhex(body[i+1])<<4|unhex(body[i+2]))
			i += 2
			continue
		}
		dst = append(dst, c)
	}
	if hard && !soft {
		dst = append(dst, '\n')
	}
	return dst
}

// b64Filter drops the bytes base64 bodies carry besides the alphabet
// (line ends, spaces, junk), which the standard decoder rejects.
type b64Filter struct{ r io.Reader }

func (f *b64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		j := 0
		for _, ch := range p[:n] {
			if 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '+' || ch == '/' || ch == '=' {
				p[j] = ch
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// scanTextReader scans a text stream in chunks, carrying the last partial
// token over to the next chunk so a URL split by a read is still seen whole.
func (c *collector) scanTextReader(r io.Reader) error {
	buf := c.text
	if len(buf) < textBuf {
		buf = make([]byte, textBuf)
	}
	n := 0
	for {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			if n > 0 {
				c.scanText(buf[:n], "text")
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		if n < len(buf) && m > 0 {
			continue
		}
		if n == 0 {
			continue
		}
		// Scan up to the last delimiter; keep the tail for the next round,
		// unless the whole buffer is one token.
		cut := n
		for i := n - 1; i >= 0; i-- {
			if !tokenChar[buf[i]] {
				cut = i + 1
				break
			}
		}
		if cut == n || cut == 0 {
			cut = n
		}
		c.scanText(buf[:cut], "text")
		n = copy(buf, buf[cut:n])
	}
}
