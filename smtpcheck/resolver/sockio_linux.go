//go:build linux

package resolver

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// sockIO sends and receives datagrams on a socket with raw system calls,
// through the socket's syscall.RawConn so that waiting, deadlines and
// closing stay the runtime poller's. A raw call skips the runtime's
// system call bookkeeping, which for a call that never blocks (the socket
// is non-blocking) is pure cost: whenever the process has gone idle
// waiting for an answer, as a lone query does, the next system call made
// the ordinary way wakes the runtime's monitor thread, and it then polls
// for a while before it sleeps again, a fifth of a query's CPU.
//
// One sockIO serves one call at a time; its functions are bound once so
// that a call allocates nothing.
type sockIO struct {
	b     []byte
	n     int
	errno syscall.Errno
	rd    func(fd uintptr) bool
	wr    func(fd uintptr) bool
}

func (x *sockIO) init() {
	x.rd, x.wr = x.read, x.write
}

func (x *sockIO) read(fd uintptr) bool  { return x.do(syscall.SYS_READ, fd) }
func (x *sockIO) write(fd uintptr) bool { return x.do(syscall.SYS_WRITE, fd) }

// do makes the system call trap on fd with x.b, and reports false only
// when it would block.
func (x *sockIO) do(trap, fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(x.b))), uintptr(len(x.b)))
		switch e {
		case 0:
			x.n, x.errno = int(n), 0
			return true
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			x.n, x.errno = 0, e
			return true
		}
	}
}

// send writes b to the socket.
func (s *udpSock) send(x *sockIO, b []byte) error {
	x.b, x.errno = b, 0
	err := s.raw.Write(x.wr)
	x.b = nil
	return s.ioError("write", err, x.errno)
}

// recv reads a datagram into b.
func (s *udpSock) recv(x *sockIO, b []byte) (int, error) {
	x.b, x.errno = b, 0
	err := s.raw.Read(x.rd)
	x.b = nil
	if err = s.ioError("read", err, x.errno); err != nil {
		return 0, err
	}
	return x.n, nil
}

// ioError is the error of a read or write as net.UDPConn would give it.
func (s *udpSock) ioError(op string, err error, errno syscall.Errno) error {
	if err == nil && errno != 0 {
		err = os.NewSyscallError(op, errno)
	}
	if err == nil {
		return nil
	}
	return &net.OpError{Op: op, Net: "udp", Source: s.conn.LocalAddr(), Addr: s.conn.RemoteAddr(), Err: err}
}
