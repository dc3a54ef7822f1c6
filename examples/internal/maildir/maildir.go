// Package maildir stores accepted messages as files in a directory, each
// one whole or not at all: a file's data reaches the disk (fsync) before
// the file appears under its name, so that a server answers 250 only for a
// message on disk and a reader of the directory never sees half a message.
// The example server (examples/smtpd) and the bare sink it is measured
// against (examples/smtpd/sink) both deliver through it, so the two write
// the very same files.
//
// On Linux a message is written to an unnamed file (O_TMPFILE) that linkat
// names once it is synced: no temporary name is ever seen and a failed
// delivery leaves nothing behind. Where the file system cannot do that, it
// is written under a hidden temporary name (".NAME.tmp") and renamed.
// Either way a delivery costs a handful of system calls: one write for the
// whole of a message up to 64 KiB.
//
// Files are private to the server's user: mode 0600 in directories 0700,
// whatever the umask.
package maildir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Modes of stored mail: a umask can only narrow them, so they are made
// exact where it would.
const (
	DirMode  = 0o700
	FileMode = 0o600
)

// bufSize is how much of a message one write takes.
const bufSize = 64 << 10

// Dir is a directory that messages are delivered to. Its methods may be
// called from many goroutines at once.
type Dir struct {
	path string
	// tmpfile: this file system names O_TMPFILE files (probed by Open),
	// and link is how.
	tmpfile bool
	link    linkMode
	// chmod: the umask may narrow FileMode, so each file is chmodded.
	chmod bool
	bufs  sync.Pool // *[]byte of bufSize
}

// Open makes path and its subdirectories subs (such as "quarantine") with
// mode 0700, narrowing ones that exist with wider permissions, and returns
// the directory to deliver to. subs must be on path's file system.
func Open(path string, subs ...string) (*Dir, error) {
	for _, d := range append([]string{""}, subs...) {
		d = filepath.Join(path, d)
		if err := os.MkdirAll(d, DirMode); err != nil {
			return nil, err
		}
		if err := os.Chmod(d, DirMode); err != nil {
			return nil, err
		}
	}
	d := &Dir{path: path, chmod: umaskNarrows(FileMode)}
	d.tmpfile, d.link = probeTmpfile(path)
	d.bufs.New = func() any { b := make([]byte, bufSize); return &b }
	return d, nil
}

// Path is the directory's path.
func (d *Dir) Path() string { return d.path }

// Deliver stores head followed by body as the file name in the
// subdirectory sub ("" for the directory itself; one given to Open). The
// file's data reaches the disk (fsync) before it appears under name; on
// any error, nothing appears.
func (d *Dir) Deliver(ctx context.Context, sub, name string, head []byte, body io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := d.path
	if sub != "" {
		dir = filepath.Join(dir, sub)
	}
	f, err := d.create(dir, name)
	if err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	bp := d.bufs.Get().(*[]byte)
	err = fill(f, *bp, head, body)
	d.bufs.Put(bp)
	if err == nil {
		err = f.commit(filepath.Join(dir, name))
	} else {
		f.abort()
	}
	if err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	return nil
}

// fill writes head and body to f through buf, in as few writes as buf
// allows.
func fill(f *file, buf, head []byte, body io.Reader) error {
	n := 0
	if len(head) >= len(buf) {
		if err := f.write(head); err != nil {
			return err
		}
	} else {
		n = copy(buf, head)
	}
	for {
		if n == len(buf) {
			if err := f.write(buf); err != nil {
				return err
			}
			n = 0
		}
		m, err := body.Read(buf[n:])
		n += m
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if n == 0 {
		return nil
	}
	return f.write(buf[:n])
}
