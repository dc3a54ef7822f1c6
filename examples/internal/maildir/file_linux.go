package maildir

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// linkMode is how an O_TMPFILE file gets its name.
type linkMode int

const (
	// linkEmptyPath: linkat(fd, "", AT_EMPTY_PATH), where the kernel
	// allows it (CAP_DAC_READ_SEARCH, or a kernel that lets the opener).
	linkEmptyPath linkMode = iota
	// linkProc: linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW), open(2)'s
	// way for everyone else.
	linkProc
)

// file is a message being written: an unnamed file (tmp "") or one under
// a temporary name.
type file struct {
	fd   int
	tmp  string
	link linkMode
}

// create opens the file that name will be: unnamed where the directory
// allows, else under ".name.tmp".
func (d *Dir) create(dir, name string) (*file, error) {
	if d.tmpfile {
		fd, err := openRetry(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, FileMode)
		if err == nil {
			return d.exact(&file{fd: fd, link: d.link})
		}
		if !noTmpfile(err) {
			return nil, &os.PathError{Op: "open", Path: dir, Err: err}
		}
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	fd, err := openRetry(tmp, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, FileMode)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: tmp, Err: err}
	}
	return d.exact(&file{fd: fd, tmp: tmp})
}

// exact sets f's mode to FileMode when the umask narrowed it.
func (d *Dir) exact(f *file) (*file, error) {
	if !d.chmod {
		return f, nil
	}
	if err := unix.Fchmod(f.fd, FileMode); err != nil {
		f.abort()
		return nil, err
	}
	return f, nil
}

func (f *file) write(p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(f.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// commit syncs the file, then names it path.
func (f *file) commit(path string) error {
	err := f.sync()
	if err == nil && f.tmp == "" {
		err = linkFD(f.fd, f.link, path)
	}
	if cerr := unix.Close(f.fd); err == nil {
		err = cerr
	}
	if err == nil && f.tmp != "" {
		err = unix.Rename(f.tmp, path)
	}
	if err != nil {
		if f.tmp != "" {
			unix.Unlink(f.tmp)
		}
		return &os.PathError{Op: "store", Path: path, Err: err}
	}
	return nil
}

func (f *file) sync() error {
	for {
		if err := unix.Fsync(f.fd); err != unix.EINTR {
			return err
		}
	}
}

// abort drops the file: an unnamed one goes with its descriptor.
func (f *file) abort() {
	unix.Close(f.fd)
	if f.tmp != "" {
		unix.Unlink(f.tmp)
	}
}

func linkFD(fd int, how linkMode, path string) error {
	if how == linkEmptyPath {
		return unix.Linkat(fd, "", unix.AT_FDCWD, path, unix.AT_EMPTY_PATH)
	}
	return unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
}

func openRetry(path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, mode)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// noTmpfile reports an open error that says the file system (or kernel)
// has no O_TMPFILE.
func noTmpfile(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL)
}

// probeTmpfile reports whether files in dir can be made unnamed and named
// later, and how.
func probeTmpfile(dir string) (bool, linkMode) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, FileMode)
	if err != nil {
		return false, 0
	}
	defer unix.Close(fd)
	probe := filepath.Join(dir, ".probe-"+strconv.Itoa(os.Getpid())+".tmp")
	for _, how := range []linkMode{linkEmptyPath, linkProc} {
		if linkFD(fd, how, probe) == nil {
			unix.Unlink(probe)
			return true, how
		}
	}
	return false, 0
}

// umaskNarrows reports whether the process's umask may take bits from
// mode; true when it cannot be read (/proc/self/status, Linux 4.7).
func umaskNarrows(mode os.FileMode) bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return true
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			u, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			return err != nil || os.FileMode(u)&mode != 0
		}
	}
	return true
}
