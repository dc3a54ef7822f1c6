package uri

import (
	"bufio"
	"io"
)

// Extract reads a whole message (header, blank line, body) and returns the
// hosts it links to. It reads r once, streaming: memory is bounded by lim,
// not by the message size. An error is returned only when r fails; a limit
// that stops the extraction early sets Result.Truncated instead.
func Extract(r io.Reader, lim Limits) (*Result, error) {
	w := newWalker(r, lim)
	ct, te, ok := w.header()
	if ok {
		w.entity(ct, te, 0, false)
	}
	return w.finish()
}

// ExtractBody reads a message body whose header has already been parsed (as
// an SMTP server has it at end of data): contentType and transferEncoding are
// the top-level Content-Type and Content-Transfer-Encoding values, "" when
// absent.
func ExtractBody(contentType, transferEncoding string, body io.Reader, lim Limits) (*Result, error) {
	w := newWalker(body, lim)
	w.entity(contentType, transferEncoding, 0, false)
	return w.finish()
}

// ExtractText returns the hosts in plain text (no MIME, no HTML).
func ExtractText(text string, lim Limits) *Result {
	c := newCollector(lim)
	c.part = 1
	c.res.Parts = 1
	c.res.Bytes = int64(len(text))
	c.scanText([]byte(text), "text")
	return &c.res
}

// ExtractHTML returns the hosts in an HTML document read from r.
func ExtractHTML(r io.Reader, lim Limits) (*Result, error) {
	c := newCollector(lim)
	c.part = 1
	c.res.Parts = 1
	err := c.scanHTML(r)
	return &c.res, err
}

// errReader remembers a read error of the source, which the walker
// otherwise treats as the end of input.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

func newWalker(r io.Reader, lim Limits) *walker {
	c := newCollector(lim)
	er := &errReader{r: r}
	lb := lineBuf
	if n, ok := sizeHint(r); ok {
		// A buffer larger than the whole message reads it the same way as
		// a full-size one: no line can be longer. Decoded text may grow
		// past the raw bytes only by charset conversion (at most 4 bytes
		// of UTF-8 a byte); the scan buffer is sized for that.
		lb = min(lineBuf, n+1)
		c.textCap = min(textBuf, 4*n+64)
	}
	return &walker{br: bufio.NewReaderSize(er, lb), src: er, c: c, endIdx: -1}
}

// sizeHint returns how many bytes r holds when it can tell (a
// bytes.Reader, strings.Reader or bytes.Buffer), so that a small message
// does not cost buffers sized for the largest.
func sizeHint(r io.Reader) (int, bool) {
	if l, ok := r.(interface{ Len() int }); ok {
		return l.Len(), true
	}
	return 0, false
}

func (w *walker) finish() (*Result, error) {
	w.c.res.Bytes = w.read
	if w.src.err != nil {
		return &w.c.res, w.src.err
	}
	return &w.c.res, nil
}
