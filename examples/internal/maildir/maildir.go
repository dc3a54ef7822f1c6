// Package maildir stores accepted messages as files in a directory, each
// one whole or not at all: a file is written under a temporary name,
// fsynced, and only then given its final name, so that a server answers
// 250 only for a message that is on disk and a reader of the directory
// never sees half a message. The example server (examples/smtpd) and the
// bare sink it is measured against (examples/smtpd/sink) both deliver
// through it, so the two write the very same files.
//
// Files are private to the server's user: mode 0600 in directories 0700,
// whatever the umask.
package maildir

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Modes of stored mail: a umask can only narrow them, so they are set
// exactly after creation.
const (
	DirMode  = 0o700
	FileMode = 0o600
)

// Dir is a directory that messages are delivered to.
type Dir struct {
	path string
}

// Open makes path and its subdirectories subs (such as "quarantine") with
// mode 0700, narrowing ones that exist with wider permissions, and returns
// the directory to deliver to.
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
	return &Dir{path: path}, nil
}

// Path is the directory's path.
func (d *Dir) Path() string { return d.path }

// Deliver stores head followed by body as the file name in the
// subdirectory sub ("" for the directory itself). The file's data reaches
// the disk (fsync) before the file appears under name; on any error no
// file is left.
func (d *Dir) Deliver(ctx context.Context, sub, name string, head []byte, body io.Reader) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Join(d.path, sub)
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, FileMode)
	if err != nil {
		return err
	}
	err = f.Chmod(FileMode)
	if err == nil {
		_, err = f.Write(head)
	}
	if err == nil {
		_, err = io.Copy(f, body)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("maildir: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}
