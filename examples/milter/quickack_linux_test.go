package main

import (
	"io"
	"net"
	"syscall"
)

// quickAckReader reads c acknowledging at once what it reads
// (TCP_QUICKACK after every read), as package gomilter does: Postfix
// writes an event it awaits no reply for and holds the next one (Nagle's
// algorithm) until the first is acknowledged, which the kernel would
// delay by 40 ms.
func quickAckReader(c net.Conn) io.Reader {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return readFunc(func(p []byte) (int, error) {
		n, err := c.Read(p)
		rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
		})
		return n, err
	})
}

type readFunc func(p []byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }
