package hygiene

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// NameBareLineEndings is the name of the BareLineEndings check.
const NameBareLineEndings = "bare-line-endings"

// LineFindings is what Scanner found in a message: line endings that are
// not CRLF pairs, and lines holding a lone dot next to such an ending (the
// "\n.\n", "\r.\r" and "\n.\r\n" family of SMTP smuggling, CVE-2023-51764
// and its kin): a server reading line endings differently would end the
// message there and run what follows as new commands.
type LineFindings struct {
	BareLF   int   // LF not preceded by CR
	BareCR   int   // CR not followed by LF
	DotLines int   // "." lines with a bare line ending on either side
	First    int64 // offset of the first finding, -1 when there is none
}

// Clean reports that nothing was found.
func (f LineFindings) Clean() bool { return f.BareLF == 0 && f.BareCR == 0 && f.DotLines == 0 }

// String summarises the findings for a log line.
func (f LineFindings) String() string {
	return fmt.Sprintf("bare-lf=%d bare-cr=%d dot-lines=%d first=%d", f.BareLF, f.BareCR, f.DotLines, f.First)
}

// Scanner finds bare line endings in a byte stream written to it in any
// chunks; its memory use is constant. The zero value is ready to use.
type Scanner struct {
	f         LineFindings
	off       int64
	started   bool
	pendingCR bool
	lineStart bool
	dot       bool // the current line so far is "."
	lastBare  bool // the line break before the current line was bare
}

func (sc *Scanner) init() {
	if !sc.started {
		sc.started, sc.lineStart, sc.f.First = true, true, -1
	}
}

func (sc *Scanner) note(at int64) {
	if sc.f.First < 0 || at < sc.f.First {
		sc.f.First = at
	}
}

// lineBreak ends a line at offset at; bare tells a bare CR or LF.
func (sc *Scanner) lineBreak(bare bool, at int64) {
	if sc.dot && (bare || sc.lastBare) {
		sc.f.DotLines++
		sc.note(at - 1)
	}
	sc.dot, sc.lineStart, sc.lastBare = false, true, bare
}

// Write scans p; it never fails. A stretch of well-formed CRLF lines is
// taken in one pass per line (bytes.IndexByte for the LF, and one
// bytes.Count of CRs for the whole stretch); only a stretch with a bare
// line ending is scanned again byte by byte at its line ends.
func (sc *Scanner) Write(p []byte) (int, error) {
	sc.init()
	n := len(p)
	i := 0
	// A CRLF split between two writes: finish it first, which leaves the
	// scanner in the state the fast path starts from.
	if sc.pendingCR && n > 0 && p[0] == '\n' {
		sc.step(p[0], sc.off)
		i = 1
	}
	if !sc.pendingCR && !sc.lastBare && sc.crlfOnly(p[i:]) {
		sc.off += int64(n)
		return n, nil
	}
	sc.scan(p, i)
	sc.off += int64(n)
	return n, nil
}

// crlfOnly takes q in one go when each of its line endings is a CRLF pair
// (a CR at its very end waits for the next write): then it holds nothing
// to find, and only the line state at its end matters. It reports false,
// leaving the scanner as it was, when q holds a bare CR or LF. The scanner
// must not be in the middle of a CRLF or just after a bare line ending.
func (sc *Scanner) crlfOnly(q []byte) bool {
	pairs, last := 0, -1
	for i := 0; ; {
		j := bytes.IndexByte(q[i:], '\n')
		if j < 0 {
			break
		}
		k := i + j
		if k == 0 || q[k-1] != '\r' {
			return false
		}
		pairs, last, i = pairs+1, k, k+1
	}
	tail := q[last+1:]
	cr := len(tail) > 0 && tail[len(tail)-1] == '\r'
	if cr {
		tail = tail[:len(tail)-1]
	}
	want := pairs
	if cr {
		want++
	}
	// Every LF has its CR; a CR anywhere else is a bare one.
	if bytes.Count(q, crByte) != want {
		return false
	}
	if last >= 0 {
		sc.dot, sc.lineStart = false, true
	}
	if len(tail) > 0 {
		sc.dot = sc.lineStart && len(tail) == 1 && tail[0] == '.'
		sc.lineStart = false
	}
	sc.pendingCR = cr
	return true
}

var crByte = []byte{'\r'}

// scan is the general scan of p from i, for a stretch with bare line
// endings: runs of ordinary bytes inside a line are skipped with
// bytes.IndexByte and line ends are stepped through byte by byte.
func (sc *Scanner) scan(p []byte, i int) {
	n := len(p)
	base := sc.off
	for i < n {
		if sc.pendingCR || sc.lineStart {
			sc.step(p[i], base+int64(i))
			i++
			continue
		}
		rest := p[i:]
		j := bytes.IndexByte(rest, '\n')
		seg := rest
		if j >= 0 {
			seg = rest[:j]
		}
		if k := bytes.IndexByte(seg, '\r'); k >= 0 {
			j = k
		} else if j < 0 {
			j = len(rest)
		}
		if j > 0 {
			sc.dot = false
		}
		i += j
		if i < n {
			sc.step(p[i], base+int64(i))
			i++
		}
	}
}

// step scans one byte at offset at.
func (sc *Scanner) step(c byte, at int64) {
	if sc.pendingCR {
		sc.pendingCR = false
		if c == '\n' {
			sc.lineBreak(false, at)
			return
		}
		sc.f.BareCR++
		sc.note(at - 1)
		sc.lineBreak(true, at-1)
	}
	switch c {
	case '\r':
		sc.pendingCR = true
	case '\n':
		sc.f.BareLF++
		sc.note(at)
		sc.lineBreak(true, at)
	case '.':
		sc.dot = sc.lineStart
		sc.lineStart = false
	default:
		sc.dot, sc.lineStart = false, false
	}
}

// Findings returns what was found so far, counting a CR that ends the
// stream as bare.
func (sc *Scanner) Findings() LineFindings {
	sc.init()
	f := sc.f
	if sc.pendingCR {
		f.BareCR++
		if f.First < 0 {
			f.First = sc.off - 1
		}
		if sc.dot {
			f.DotLines++
			if sc.off-2 < f.First {
				f.First = sc.off - 2
			}
		}
	} else if sc.dot && sc.lastBare {
		f.DotLines++
	}
	return f
}

// ScanLineEndings reads r to its end (or the context's) and returns the
// findings.
func ScanLineEndings(ctx context.Context, r io.Reader) (LineFindings, error) {
	var sc Scanner
	if wt, ok := r.(io.WriterTo); ok {
		// An in-memory body hands its bytes over without a copy.
		_, err := wt.WriteTo(&sc)
		return sc.Findings(), err
	}
	buf := make([]byte, 16<<10)
	for {
		if err := ctx.Err(); err != nil {
			return sc.Findings(), err
		}
		n, err := r.Read(buf)
		sc.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			return sc.Findings(), nil
		}
		if err != nil {
			return sc.Findings(), err
		}
	}
}

// scanBody scans a message; one held in memory is scanned in place,
// without a reader.
func scanBody(ctx context.Context, b smtpcheck.Body) (LineFindings, error) {
	if bb, ok := b.(smtpcheck.BytesBody); ok {
		var sc Scanner
		sc.Write(bb)
		return sc.Findings(), nil
	}
	rc, err := b.Open()
	if err != nil {
		return LineFindings{}, err
	}
	defer rc.Close()
	return ScanLineEndings(ctx, rc)
}

// NormalizeLineEndings returns a reader giving r's bytes with every bare
// LF and bare CR turned into CRLF, so that every later reader of the
// message sees the same lines. Dot lines stay dot lines: a relay writing
// the message on dot-stuffs them as usual. Apply it to the message as
// received (after dot-unstuffing) when BareLineEndings is in normalise mode.
func NormalizeLineEndings(r io.Reader) io.Reader { return &normalizer{r: r} }

type normalizer struct {
	r         io.Reader
	buf       [16 << 10]byte
	out       []byte
	pendingCR bool
	err       error
}

func (n *normalizer) Read(p []byte) (int, error) {
	for len(n.out) == 0 {
		if n.err != nil {
			if n.pendingCR {
				n.pendingCR = false
				n.out = append(n.out[:0], '\r', '\n')
				break
			}
			return 0, n.err
		}
		k, err := n.r.Read(n.buf[:])
		n.err = err
		n.out = n.out[:0]
		for _, c := range n.buf[:k] {
			if n.pendingCR {
				n.pendingCR = false
				n.out = append(n.out, '\r', '\n')
				if c == '\n' {
					continue
				}
			}
			switch c {
			case '\r':
				n.pendingCR = true
			case '\n':
				n.out = append(n.out, '\r', '\n')
			default:
				n.out = append(n.out, c)
			}
		}
	}
	k := copy(p, n.out)
	n.out = n.out[k:]
	return k, nil
}

// LineMode is what BareLineEndings does about bare line endings.
type LineMode uint8

// Line modes.
const (
	// LineReject refuses bare LF, bare CR and smuggling dot lines.
	LineReject LineMode = iota
	// LineNormalize accepts bare LF and CR (the server applies
	// NormalizeLineEndings) but still refuses smuggling dot lines, which
	// no honest client sends.
	LineNormalize
	// LineIgnore only records the findings.
	LineIgnore
)

// LineConfig configures BareLineEndings.
type LineConfig struct {
	Mode LineMode
}

type lineKey struct{}

// cleanFindings is the findings of a clean message, boxed once: storing
// it in a session allocates nothing. It is never modified.
var cleanFindings any = LineFindings{First: -1}

// LineFindingsOf returns the findings BareLineEndings recorded for the
// session's current message.
func LineFindingsOf(s *smtpcheck.Session) (LineFindings, bool) {
	f, ok := s.Value(lineKey{}).(LineFindings)
	return f, ok
}

// BareLineEndings scans the whole message (Session.Message, as received
// after dot-unstuffing, header included) for bare LF, bare CR and the
// non-standard end-of-data sequences of SMTP smuggling, and refuses per
// Mode with 550 5.5.2. The findings are kept in the session
// (LineFindingsOf). It runs at the end of data.
func BareLineEndings(cfg LineConfig) smtpcheck.Check { return bareLineEndingsTest(cfg).check() }

func bareLineEndingsTest(cfg LineConfig) test {
	return func(ctx context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if s.Message == nil {
			return nil
		}
		f, err := scanBody(ctx, s.Message)
		if err != nil {
			return &smtpcheck.Result{Err: err, Reason: smtpcheck.Reason{Check: NameBareLineEndings}}
		}
		if f == (LineFindings{First: -1}) {
			s.SetValue(lineKey{}, cleanFindings)
		} else {
			s.SetValue(lineKey{}, f)
		}
		refuseIt := false
		switch cfg.Mode {
		case LineReject:
			refuseIt = !f.Clean()
		case LineNormalize:
			refuseIt = f.DotLines > 0
		}
		if !refuseIt {
			return nil
		}
		rule := "bare-line-ending"
		if f.DotLines > 0 {
			rule = "smtp-smuggling"
		}
		r := refuse(reply.BareLineEnding(), NameBareLineEndings, rule, strconv.FormatInt(f.First, 10))
		r.Reason.Evidence = f.String()
		return &r
	}
}
