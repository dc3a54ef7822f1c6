package uri

import (
	"bufio"
	"io"
	"slices"
	"sync"
)

// Extractor finds the hosts messages link to, and keeps what one message
// taught it for the next: parsed hosts, public suffix answers and
// Content-Type values, in caches of fixed size (about 1.5 MB each at most),
// and the buffers of finished extractions. A program keeps one Extractor
// for all its messages; it is safe for concurrent use. The zero value is
// ready to use but caches nothing.
type Extractor struct {
	hosts    *nameCache[Host]
	suffixes *nameCache[bool]
	types    *nameCache[mediaType]
	// extractions holds *extraction, scanners *htmlScanner: a small
	// message cost more in allocating and clearing their buffers than in
	// scanning.
	extractions sync.Pool
	scanners    sync.Pool
}

// NewExtractor returns an Extractor with empty caches.
func NewExtractor() *Extractor {
	return &Extractor{
		hosts:    newNameCache[Host](),
		suffixes: newNameCache[bool](),
		types:    newNameCache[mediaType](),
	}
}

// Extract reads a whole message (header, blank line, body) and returns the
// hosts it links to. It reads r once, streaming: memory is bounded by lim,
// not by the message size. An error is returned only when r fails; a limit
// that stops the extraction early sets Result.Truncated instead.
func (x *Extractor) Extract(r io.Reader, lim Limits) (*Result, error) {
	e := x.get(r, lim)
	defer x.put(e)
	ct, te, ok := e.w.header()
	if ok {
		e.w.entity(ct, te, 0, false)
	}
	return e.w.finish()
}

// ExtractBody reads a message body whose header has already been parsed (as
// an SMTP server has it at end of data): contentType and transferEncoding are
// the top-level Content-Type and Content-Transfer-Encoding values, "" when
// absent.
func (x *Extractor) ExtractBody(contentType, transferEncoding string, body io.Reader, lim Limits) (*Result, error) {
	e := x.get(body, lim)
	defer x.put(e)
	e.w.entity(contentType, transferEncoding, 0, false)
	return e.w.finish()
}

// ExtractText returns the hosts in plain text (no MIME, no HTML).
func (x *Extractor) ExtractText(text string, lim Limits) *Result {
	c := x.newCollector(lim)
	c.part = 1
	c.res.Parts = 1
	c.res.Bytes = int64(len(text))
	c.scanText([]byte(text), "text")
	return &c.res
}

// ExtractHTML returns the hosts in an HTML document read from r.
func (x *Extractor) ExtractHTML(r io.Reader, lim Limits) (*Result, error) {
	c := x.newCollector(lim)
	c.part = 1
	c.res.Parts = 1
	err := c.scanHTML(r)
	return &c.res, err
}

// Extract is Extractor.Extract for one message, with nothing kept for the
// next: a program reading many keeps an Extractor (NewExtractor).
func Extract(r io.Reader, lim Limits) (*Result, error) {
	return new(Extractor).Extract(r, lim)
}

// ExtractBody is Extractor.ExtractBody for one message, with nothing kept
// for the next.
func ExtractBody(contentType, transferEncoding string, body io.Reader, lim Limits) (*Result, error) {
	return new(Extractor).ExtractBody(contentType, transferEncoding, body, lim)
}

// ExtractText is Extractor.ExtractText with nothing kept for the next call.
func ExtractText(text string, lim Limits) *Result {
	return new(Extractor).ExtractText(text, lim)
}

// ExtractHTML is Extractor.ExtractHTML with nothing kept for the next call.
func ExtractHTML(r io.Reader, lim Limits) (*Result, error) {
	return new(Extractor).ExtractHTML(r, lim)
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

// extraction is the state of one Extract call, pooled by its Extractor
// with its line and text buffers (64 KiB and 32 KiB).
type extraction struct {
	w  walker
	c  collector
	er errReader
}

// maxPooledSeen is the largest set of seen hosts kept for the next
// extraction; clearing a map costs time in proportion to its size.
const maxPooledSeen = 256

// get takes an extraction from the pool, set to read r.
func (x *Extractor) get(r io.Reader, lim Limits) *extraction {
	e, _ := x.extractions.Get().(*extraction)
	if e == nil {
		e = new(extraction)
		e.w.br = bufio.NewReaderSize(nil, lineBuf)
		e.c.text = make([]byte, textBuf)
	}
	seen, text, hosts := e.c.seen, e.c.text, e.c.hosts
	if seen == nil {
		seen = make(map[string]struct{})
	}
	e.c = collector{x: x, lim: lim.withDefaults(), seen: seen, text: text, hosts: hosts}
	e.er = errReader{r: r}
	e.w.br.Reset(&e.er)
	e.w = walker{br: e.w.br, src: &e.er, c: &e.c, bounds: e.w.bounds[:0], endIdx: -1, field: e.w.field[:0]}
	return e
}

// put returns e to the pool, keeping its buffers but nothing of the
// message.
func (x *Extractor) put(e *extraction) {
	e.w.br.Reset(nil)
	if len(e.c.seen) > maxPooledSeen {
		e.c.seen = nil
	} else {
		clear(e.c.seen)
	}
	clear(e.w.bounds)
	// The hosts' scratch is kept emptied, so that it holds no name of this
	// message; a scratch that append outgrew was filled to its capacity.
	hs, old := e.c.res.Hosts, e.c.hosts
	if len(hs) > 0 && cap(hs) != cap(old) {
		clear(old[:cap(old)])
	}
	clear(hs)
	if cap(hs) > maxPooledSeen {
		hs = nil
	}
	if hs != nil {
		e.c.hosts = hs[:0]
	}
	e.c.res = Result{}
	e.c.x = nil
	e.er = errReader{}
	x.extractions.Put(e)
}

// smallHosts is the most hosts a result holds in the allocation of the
// Result itself: most messages link to a few.
const smallHosts = 4

// result copies the result out of the collector, whose hosts are scratch
// kept for the next extraction.
func (c *collector) result() *Result {
	hs := c.res.Hosts
	if len(hs) == 0 || len(hs) > smallHosts {
		res := new(Result)
		*res = c.res
		res.Hosts = slices.Clone(hs)
		return res
	}
	box := new(struct {
		r Result
		h [smallHosts]Host
	})
	box.r = c.res
	box.r.Hosts = box.h[:copy(box.h[:], hs):len(hs)]
	return &box.r
}

// finish returns the result, which the caller owns: the collector is
// pooled.
func (w *walker) finish() (*Result, error) {
	w.c.res.Bytes = w.read
	res := w.c.result()
	if w.src.err != nil {
		return res, w.src.err
	}
	return res, nil
}
