package scanio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in, network, addr string
		ok                bool
	}{
		{"/run/clamav/clamd.ctl", "unix", "/run/clamav/clamd.ctl", true},
		{"unix:/run/spamd.sock", "unix", "/run/spamd.sock", true},
		{"127.0.0.1", "tcp", "127.0.0.1:3310", true},
		{"127.0.0.1:3311", "tcp", "127.0.0.1:3311", true},
		{"scanner.example,3312", "tcp", "scanner.example:3312", true},
		{"[::1]", "tcp", "[::1]:3310", true},
		{"[::1]:1", "tcp", "[::1]:1", true},
		{" localhost ", "tcp", "localhost:3310", true},
		{"", "", "", false},
		{"unix:", "", "", false},
		{"host name", "", "", false},
		{"host:", "", "", false},
	}
	for _, tt := range tests {
		a, err := ParseAddress(tt.in, "3310")
		if (err == nil) != tt.ok || a.Network != tt.network || a.Addr != tt.addr {
			t.Errorf("ParseAddress(%q) = %+v, %v; want %s %s ok=%v", tt.in, a, err, tt.network, tt.addr, tt.ok)
		}
	}
}

func TestErrnoAndDetail(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		err    error
		errno  int
		detail string
	}{
		{refused, 111, "connection refused"},
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), 110, "i/o timeout"},
		{context.DeadlineExceeded, 110, "i/o timeout"},
		{errors.New("odd"), 0, "error"},
	}
	for _, tt := range tests {
		if got := Errno(tt.err); got != tt.errno {
			t.Errorf("Errno(%v) = %d, want %d", tt.err, got, tt.errno)
		}
		if got := Detail(tt.err); got != tt.detail {
			t.Errorf("Detail(%v) = %q, want %q", tt.err, got, tt.detail)
		}
	}
	if !IsOpenError(&net.OpError{Op: "dial", Err: &os.SyscallError{Syscall: "socket", Err: syscall.EMFILE}}) {
		t.Error("IsOpenError(socket: EMFILE) = false")
	}
	if IsOpenError(refused) {
		t.Error("IsOpenError(connect refused) = true")
	}
}

// A cancelled context ends an exchange in progress at once.
func TestDialCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			buf := make([]byte, 1)
			c.Read(buf) // holds the connection open, silent
		}
	}()
	ctx, cancel := context.WithCancel(t.Context())
	c, err := Dial(ctx, Address{Network: "tcp", Addr: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	_, err = c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read after cancel = %v, want a deadline error", err)
	}
}
