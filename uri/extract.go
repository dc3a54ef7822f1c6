package uri

import (
	"bufio"
	"io"
	"sync"
)

// Extract reads a whole message (header, blank line, body) and returns the
// hosts it links to. It reads r once, streaming: memory is bounded by lim,
// not by the message size. An error is returned only when r fails; a limit
// that stops the extraction early sets Result.Truncated instead.
func Extract(r io.Reader, lim Limits) (*Result, error) {
	x := getExtraction(r, lim)
	defer x.release()
	ct, te, ok := x.w.header()
	if ok {
		x.w.entity(ct, te, 0, false)
	}
	return x.w.finish()
}

// ExtractBody reads a message body whose header has already been parsed (as
// an SMTP server has it at end of data): contentType and transferEncoding are
// the top-level Content-Type and Content-Transfer-Encoding values, "" when
// absent.
func ExtractBody(contentType, transferEncoding string, body io.Reader, lim Limits) (*Result, error) {
	x := getExtraction(body, lim)
	defer x.release()
	x.w.entity(contentType, transferEncoding, 0, false)
	return x.w.finish()
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

// extraction is the state of one Extract call. It is pooled: a small
// message cost more in allocating and clearing the line and text buffers
// (64 KiB and 32 KiB) and the walker than in scanning.
type extraction struct {
	w  walker
	c  collector
	er errReader
}

var extractions = sync.Pool{New: func() any {
	x := new(extraction)
	x.w.br = bufio.NewReaderSize(nil, lineBuf)
	x.c.text = make([]byte, textBuf)
	return x
}}

// maxPooledSeen is the largest set of seen hosts kept for the next
// extraction; clearing a map costs time in proportion to its size.
const maxPooledSeen = 256

func getExtraction(r io.Reader, lim Limits) *extraction {
	x := extractions.Get().(*extraction)
	seen, text := x.c.seen, x.c.text
	if seen == nil {
		seen = make(map[string]struct{})
	}
	x.c = collector{lim: lim.withDefaults(), seen: seen, text: text}
	x.er = errReader{r: r}
	x.w.br.Reset(&x.er)
	x.w = walker{br: x.w.br, src: &x.er, c: &x.c, bounds: x.w.bounds[:0], endIdx: -1, field: x.w.field[:0]}
	return x
}

// release returns x to the pool, keeping its buffers but nothing of the
// message.
func (x *extraction) release() {
	x.w.br.Reset(nil)
	if len(x.c.seen) > maxPooledSeen {
		x.c.seen = nil
	} else {
		clear(x.c.seen)
	}
	clear(x.w.bounds)
	x.c.res = Result{}
	x.er = errReader{}
	extractions.Put(x)
}

// finish returns the result, which the caller owns: the collector is
// pooled.
func (w *walker) finish() (*Result, error) {
	w.c.res.Bytes = w.read
	res := new(Result)
	*res = w.c.res
	if w.src.err != nil {
		return res, w.src.err
	}
	return res, nil
}
