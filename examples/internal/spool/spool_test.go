package spool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// A message is in memory up to the threshold and in a file past it, whether
// written or read from the client (ReadFrom); either way the body reads
// back byte for byte, any number of times, no file name
// is left in the directory, and after Close every write fails.
func TestSpool(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		inFile bool
	}{
		{"empty", 0, false},
		{"at the threshold", 1024, false},
		{"past it", 1025, true},
		{"large", 3 << 20, true},
	} {
		for _, fill := range []string{"Write", "ReadFrom"} {
			t.Run(tc.name+"/"+fill, func(t *testing.T) {
				dir := t.TempDir()
				sp := New(dir, 1024, "smtppolicy-test-*")
				want := bytes.Repeat([]byte("0123456789abcdef\r\n"), tc.size/18+1)[:tc.size]
				if fill == "ReadFrom" {
					// A client's message comes in pieces: 1000 octets a read.
					n, err := sp.ReadFrom(io.MultiReader(chunks(want, 1000)...))
					if err != nil || n != int64(tc.size) {
						t.Fatalf("ReadFrom = %d, %v; want %d, nil", n, err, tc.size)
					}
				}
				for rest := want; fill == "Write" && len(rest) > 0; {
					n := min(len(rest), 1000)
					if _, err := sp.Write(rest[:n]); err != nil {
						t.Fatal(err)
					}
					rest = rest[n:]
				}
				if sp.InFile() != tc.inFile || sp.Size() != int64(tc.size) {
					t.Errorf("InFile %v Size %d, want %v %d", sp.InFile(), sp.Size(), tc.inFile, tc.size)
				}
				for i := 0; i < 2; i++ {
					r, err := sp.Body().Open()
					if err != nil {
						t.Fatal(err)
					}
					got, _ := io.ReadAll(r)
					r.Close()
					if !bytes.Equal(got, want) {
						t.Errorf("read %d: %d bytes back, want %d", i, len(got), len(want))
					}
				}
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("%d names left in the spool directory while the message is held", len(ents))
				}
				sp.Close()
				if _, err := sp.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
					t.Errorf("Write after Close: %v, want os.ErrClosed", err)
				}
			})
		}
	}
}

// chunks splits b into readers of n octets each.
func chunks(b []byte, n int) []io.Reader {
	var rs []io.Reader
	for len(b) > 0 {
		k := min(len(b), n)
		rs = append(rs, bytes.NewReader(b[:k]))
		b = b[k:]
	}
	return rs
}

// A spool that cannot create its file reports why, and keeps failing.
func TestSpoolNoDirectory(t *testing.T) {
	sp := New(t.TempDir()+"/missing", 4, "smtppolicy-test-*")
	if _, err := sp.Write([]byte("more than four")); err == nil {
		t.Fatal("write past the threshold into a missing directory succeeded")
	}
	if sp.Err() == nil {
		t.Error("Err is nil after a failed write")
	}
	if _, err := sp.Write([]byte("x")); err == nil {
		t.Error("a later small write succeeded after the spool failed")
	}
}
