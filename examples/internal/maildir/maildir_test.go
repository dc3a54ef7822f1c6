package maildir

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

// modes are the ways a file is made: unnamed then linked (where the file
// system has O_TMPFILE; by its descriptor or by its /proc/self/fd path)
// and the create+rename fallback, forced here.
func modes(t *testing.T, dir string) map[string]*Dir {
	t.Helper()
	d, err := Open(dir, "quarantine")
	if err != nil {
		t.Fatal(err)
	}
	fallback, err := Open(dir, "quarantine")
	if err != nil {
		t.Fatal(err)
	}
	fallback.tmpfile = false
	m := map[string]*Dir{"create+rename": fallback}
	if d.tmpfile {
		m["O_TMPFILE+linkat"] = d
		if d.link == linkEmptyPath {
			// The way for a server without CAP_DAC_READ_SEARCH.
			proc, err := Open(dir, "quarantine")
			if err != nil {
				t.Fatal(err)
			}
			proc.link = linkProc
			m["O_TMPFILE+linkat-proc"] = proc
		}
	} else if runtime.GOOS == "linux" {
		t.Logf("%s: no O_TMPFILE here; only the fallback is tested", dir)
	}
	return m
}

// chunked hands out its bytes a few at a time, and calls during in the
// middle of the message: a slow client.
type chunked struct {
	b      []byte
	reads  int
	during func()
	err    error // returned once the bytes run out, instead of io.EOF
}

func (c *chunked) Read(p []byte) (int, error) {
	c.reads++
	if c.reads == 3 && c.during != nil {
		c.during()
	}
	if len(c.b) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	n := copy(p, c.b[:min(len(c.b), 1000)])
	c.b = c.b[n:]
	return n, nil
}

// entries lists a directory's names, hidden ones included.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// A delivered message is one file under its name, with the head and every
// byte of the body, mode 0600, and no temporary file beside it; while the
// message is still coming in, nothing is under that name.
func TestMaildirDeliverStoresOneWholeFile(t *testing.T) {
	head := []byte("Received: from mx.example.net\r\n")
	// Larger than a write: the file is filled in several.
	body := bytes.Repeat([]byte("0123456789abcdef"), bufSize/16*3+7)
	for mode, d := range modes(t, t.TempDir()) {
		for _, sub := range []string{"", "quarantine"} {
			t.Run(mode+"/"+sub, func(t *testing.T) {
				dir := filepath.Join(d.Path(), sub)
				name := "1.eml"
				var seen []string
				r := &chunked{b: body, during: func() { seen = entries(t, dir) }}
				if err := d.Deliver(context.Background(), sub, name, head, r); err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				for _, n := range seen {
					if n == name {
						t.Errorf("%s was visible before the message was whole", name)
					}
				}
				if got := entries(t, dir); len(got) != 1 || got[0] != name {
					t.Fatalf("directory holds %q, want only %q", got, name)
				}
				path := filepath.Join(dir, name)
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if want := append(append([]byte{}, head...), body...); !bytes.Equal(got, want) {
					t.Errorf("stored %d bytes, want the %d of head and body", len(got), len(want))
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if m := fi.Mode().Perm(); m != FileMode {
					t.Errorf("stored file has mode %o, want %o", m, FileMode)
				}
				os.Remove(path)
			})
		}
	}
}

// A message that cannot be read to its end (the client left) leaves
// nothing in the directory, under its name or any other.
func TestMaildirDeliverFailureLeavesNothing(t *testing.T) {
	for mode, d := range modes(t, t.TempDir()) {
		t.Run(mode, func(t *testing.T) {
			gone := errors.New("client left")
			r := &chunked{b: bytes.Repeat([]byte("x"), 5000), err: gone}
			err := d.Deliver(context.Background(), "", "lost.eml", []byte("Received: x\r\n"), r)
			if !errors.Is(err, gone) {
				t.Fatalf("Deliver = %v, want %v", err, gone)
			}
			if got := entries(t, d.Path()); len(got) != 0 {
				t.Errorf("a failed delivery left %q", got)
			}
		})
	}
}

// The file is 0600 even under a umask that would take bits from it.
func TestMaildirFileModeExactUnderNarrowUmask(t *testing.T) {
	old := syscall.Umask(0o277)
	defer syscall.Umask(old)
	for mode, d := range modes(t, t.TempDir()) {
		t.Run(mode, func(t *testing.T) {
			name := mode + ".eml"
			if err := d.Deliver(context.Background(), "", name, nil, bytes.NewReader([]byte("x"))); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(d.Path(), name))
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m != FileMode {
				t.Errorf("mode %o under umask 0277, want %o", m, FileMode)
			}
		})
	}
}
