// Package spool holds one message as a front-end receives it: in memory up
// to a threshold, the rest in a temporary file, so that a session's memory
// does not grow with the message. It is an io.Writer while the message
// comes in, then a smtpcheck.Body that checks open as often as they need.
// The go-smtp adapter and the milter adapter both spool through it.
package spool

import (
	"io"
	"os"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Spool is one message. The file is created with mode 0600 and unlinked at
// once where the system allows (it then lives only as long as its
// descriptor: however the session ends, no path is left behind); Close
// releases it.
type Spool struct {
	dir     string
	pattern string
	max     int // bytes kept in memory
	mem     []byte
	f       *os.File
	size    int64
	// path is the file's name while it is still linked (systems that
	// cannot remove an open file); Close removes it.
	path string
	err  error
}

// New returns an empty spool that keeps up to max bytes in memory and the
// rest in a file in dir (the system's temporary directory when empty)
// named by pattern, as os.CreateTemp takes it ("smtppolicy-spool-*"), so
// an administrator can tell whose a file is.
func New(dir string, max int, pattern string) *Spool {
	return &Spool{dir: dir, max: max, pattern: pattern}
}

// Write appends p to the message; after an error it keeps failing.
func (sp *Spool) Write(p []byte) (int, error) {
	if sp.err != nil {
		return 0, sp.err
	}
	if sp.f == nil && len(sp.mem)+len(p) <= sp.max {
		if sp.mem == nil {
			// Most messages are a few KiB: start small, append grows it.
			sp.mem = make([]byte, 0, min(sp.max, 8<<10))
		}
		sp.mem = append(sp.mem, p...)
		sp.size += int64(len(p))
		return len(p), nil
	}
	if sp.f == nil {
		if sp.err = sp.toFile(); sp.err != nil {
			return 0, sp.err
		}
	}
	n, err := sp.f.Write(p)
	sp.size += int64(n)
	sp.err = err
	return n, err
}

// ReadFrom appends what r gives to its end. While the message fits in
// memory it is read there directly, without the 32 KiB buffer io.Copy
// would allocate for every message; past the threshold it goes on to the
// file as Write does.
func (sp *Spool) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for sp.f == nil && sp.err == nil && len(sp.mem) < sp.max {
		if len(sp.mem) == cap(sp.mem) {
			// Grow as append would, but never past the threshold.
			grown := make([]byte, len(sp.mem), min(sp.max, max(2*cap(sp.mem), 8<<10)))
			copy(grown, sp.mem)
			sp.mem = grown
		}
		n, err := r.Read(sp.mem[len(sp.mem):cap(sp.mem)])
		sp.mem = sp.mem[:len(sp.mem)+n]
		sp.size += int64(n)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	if sp.err != nil {
		return total, sp.err
	}
	// The threshold is reached (or the file is there): Write decides
	// from here, a message of exactly the threshold staying in memory.
	n, err := io.Copy(writeOnly{sp}, r)
	return total + n, err
}

// writeOnly hides Spool.ReadFrom from io.Copy.
type writeOnly struct{ io.Writer }

// WriteString appends s to the message.
func (sp *Spool) WriteString(s string) (int, error) { return sp.Write([]byte(s)) }

// toFile moves what is in memory to a new temporary file.
func (sp *Spool) toFile() error {
	f, err := os.CreateTemp(sp.dir, sp.pattern) // mode 0600
	if err != nil {
		return err
	}
	if os.Remove(f.Name()) != nil {
		sp.path = f.Name()
	}
	sp.f = f
	_, err = f.Write(sp.mem)
	sp.mem = nil
	return err
}

// Err is the error that stopped the spool, if any (such as a full disk).
func (sp *Spool) Err() error { return sp.err }

// InFile reports whether the message went to a file.
func (sp *Spool) InFile() bool { return sp.f != nil }

// Size is the number of bytes written so far.
func (sp *Spool) Size() int64 { return sp.size }

// Body returns the message as a smtpcheck.Body, valid until Close or the
// next Write. A message held in memory is a smtpcheck.BytesBody, read
// without a copy.
func (sp *Spool) Body() smtpcheck.Body {
	if sp.f == nil {
		return smtpcheck.BytesBody(sp.mem)
	}
	return fileBody{f: sp.f, size: sp.size}
}

// BodyFrom returns the message from offset off on (its body, past a header
// already parsed), valid as Body's.
func (sp *Spool) BodyFrom(off int64) smtpcheck.Body {
	off = min(max(off, 0), sp.size)
	if sp.f == nil {
		return smtpcheck.BytesBody(sp.mem[off:])
	}
	return fileBody{f: sp.f, off: off, size: sp.size - off}
}

// Close releases the memory and the file; later writes fail.
func (sp *Spool) Close() error {
	sp.mem = nil
	sp.err = os.ErrClosed
	if sp.f == nil {
		return nil
	}
	err := sp.f.Close()
	if sp.path != "" {
		os.Remove(sp.path)
	}
	sp.f = nil
	return err
}

// fileBody reads a spooled message; every reader is independent (ReadAt),
// so checks running in parallel can read it at once.
type fileBody struct {
	f         *os.File
	off, size int64
}

func (b fileBody) Open() (io.ReadCloser, error) {
	return sectionCloser{io.NewSectionReader(b.f, b.off, b.size)}, nil
}

func (b fileBody) Size() int64 { return b.size }

// sectionCloser is a file section that can seek (smtpcheck.SplitMessage's
// body view skips the header by seeking) and whose Close leaves the file
// open for the next reader.
type sectionCloser struct{ *io.SectionReader }

func (sectionCloser) Close() error { return nil }
