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
	return &walker{br: bufio.NewReaderSize(er, lineBuf), src: er, c: c, endIdx: -1}
}

func (w *walker) finish() (*Result, error) {
	w.c.res.Bytes = w.read
	if w.src.err != nil {
		return &w.c.res, w.src.err
	}
	return &w.c.res, nil
}
