package smtpcheck

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxHeaderKept bounds the header SplitMessage keeps in memory; fields
// past it are skipped (the body still starts where it should). Postfix's
// header_size_limit is a tenth of it.
const maxHeaderKept = 1 << 20

// SplitMessage splits a whole message, as received after dot-unstuffing,
// into the header fields and the body: the Session's Header and Body, with
// the message itself as Session.Message. Every front-end calls it, so every
// check sees the same split.
//
// The header ends at the first empty line, which belongs to neither part.
// A line that is neither a header field nor the continuation of one also
// ends the header and is the body's first line, as Postfix's cleanup takes a
// message that lacks the empty line. Lines may end in CRLF or a bare LF and
// be of any length. A folded value keeps its line breaks and continuation
// lines as received. At most 1 MiB of header is kept; later fields are
// skipped.
//
// The body is a view of m from the body's first octet: nothing is copied.
// The error is m's, when it cannot be read.
func SplitMessage(m Body) (Header, Body, error) {
	rc, err := m.Open()
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	h, off, err := readHeader(rc, m.Size())
	if err != nil {
		return nil, nil, err
	}
	return h, sectionOf(m, off), nil
}

// readHeader reads header fields from r and returns them with the offset of
// the body.
func readHeader(r io.Reader, size int64) (Header, int64, error) {
	// A buffer no larger than the message: most headers are a few KiB,
	// and a front-end parses one per message.
	br := bufio.NewReaderSize(r, int(min(size+1, 16<<10)))
	var (
		h    Header
		off  int64
		kept int
		full bool // past the budget: later fields are skipped
		line []byte
	)
	for {
		line = line[:0]
		n, eof := 0, false
		for {
			chunk, err := br.ReadSlice('\n')
			n += len(chunk)
			// Past the budget, a line's start still tells what it is.
			if room := max(maxHeaderKept-kept, 1024) - len(line); room > 0 {
				line = append(line, chunk[:min(len(chunk), room)]...)
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return nil, 0, err
			}
			break
		}
		if n == 0 {
			return h, off, nil
		}
		content := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		switch {
		case n <= 2 && len(content) == 0 && (eof || line[len(line)-1] == '\n'):
			// The empty line: the body follows it.
			return h, off + int64(n), nil
		case len(content) > 0 && (content[0] == ' ' || content[0] == '\t') && (len(h) > 0 || full):
			full = full || kept+len(content)+2 > maxHeaderKept
			if !full {
				h[len(h)-1].Value += "\r\n" + string(content)
				kept += len(content) + 2
			}
		default:
			name, value, ok := field(content)
			if !ok {
				return h, off, nil
			}
			full = full || kept+n > maxHeaderKept
			if !full {
				h = append(h, HeaderField{Name: string(name), Value: string(value)})
				kept += len(content)
			}
		}
		off += int64(n)
		if eof {
			return h, off, nil
		}
	}
}

// field splits a header line into name and value (leading blanks
// removed); ok is false for a line that is no field: no colon, or a name
// holding a blank or a control character (blanks before the colon are
// allowed, RFC 5322 4.5.3's obsolete form). 8-bit bytes are let through,
// so that the header checks see, and judge, a field name that breaks RFC
// 5322.
func field(line []byte) (name, value []byte, ok bool) {
	name, value, ok = bytes.Cut(line, []byte(":"))
	if !ok {
		return nil, nil, false
	}
	bare := bytes.TrimRight(name, " \t")
	if len(bare) == 0 {
		return nil, nil, false
	}
	for _, c := range bare {
		if c < 33 || c == 127 {
			return nil, nil, false
		}
	}
	return name, bytes.TrimLeft(value, " \t"), true
}

// sectionOf returns the part of m from offset off on.
func sectionOf(m Body, off int64) Body {
	switch {
	case off == 0:
		return m
	case off >= m.Size():
		return BytesBody(nil)
	}
	if b, ok := m.(BytesBody); ok {
		return b[off:]
	}
	return &section{m: m, off: off}
}

// section is a Body from an offset of another: Open skips the header, by
// seeking when the reader can.
type section struct {
	m   Body
	off int64
}

func (s *section) Open() (io.ReadCloser, error) {
	rc, err := s.m.Open()
	if err != nil {
		return nil, err
	}
	if sk, ok := rc.(io.Seeker); ok {
		_, err = sk.Seek(s.off, io.SeekStart)
	} else {
		_, err = io.CopyN(io.Discard, rc, s.off)
	}
	if err != nil {
		rc.Close()
		return nil, err
	}
	return rc, nil
}

func (s *section) Size() int64 { return s.m.Size() - s.off }
