package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY opens a pseudo-terminal and returns its terminal side.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptm.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptm.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, ptm.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pts.Close() })
	return pts
}

// With no argument and a terminal on standard input, explain prints its
// usage instead of waiting for input that will not come; a pipe or a file
// (even /dev/null) is still read.
func TestTerminalStdinPrintsUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, openPTY(t), &out, &errb); code != 2 || !strings.Contains(errb.String(), "Usage: explain [REPLY LINE]...") {
		t.Errorf("run with a terminal = %d, stderr %q; want 2 and the usage", code, errb.String())
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	errb.Reset()
	if code := run(nil, null, &out, &errb); code != 1 || !strings.Contains(errb.String(), "empty input") {
		t.Errorf("run with /dev/null = %d, stderr %q; want 1 and empty input", code, errb.String())
	}
}
