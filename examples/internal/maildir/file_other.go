//go:build !linux

package maildir

import (
	"os"
	"path/filepath"
)

// linkMode is unused here: only Linux has O_TMPFILE.
type linkMode int

// file is a message being written under a temporary name.
type file struct {
	f   *os.File
	tmp string
}

func (d *Dir) create(dir, name string) (*file, error) {
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, FileMode)
	if err != nil {
		return nil, err
	}
	// A umask can only narrow the mode; Chmod makes it exact.
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	return &file{f: f, tmp: tmp}, nil
}

func (f *file) write(p []byte) error {
	_, err := f.f.Write(p)
	return err
}

// commit syncs the file, then renames it to path.
func (f *file) commit(path string) error {
	err := f.f.Sync()
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.tmp, path)
	}
	if err != nil {
		os.Remove(f.tmp)
	}
	return err
}

func (f *file) abort() {
	f.f.Close()
	os.Remove(f.tmp)
}

func probeTmpfile(string) (bool, linkMode) { return false, 0 }

func umaskNarrows(os.FileMode) bool { return true }
