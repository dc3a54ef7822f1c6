package gomilter

import (
	"io"
	"net"
	"syscall"
)

// quickAck returns a reader of c that acknowledges what it reads at once
// (TCP_QUICKACK, which Linux drops again after a while, so it is set after
// every read). Where the filter asks for no reply to an event, it sends
// nothing that would carry the acknowledgement, and the MTA's next event,
// held by Nagle's algorithm until the last is acknowledged, waited for the
// delayed acknowledgement: 40 ms a message, half the messages per second
// behind Postfix with an empty policy. A unix socket has no such delay.
func quickAck(c net.Conn) io.Reader {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckReader{c: c, rc: rc}
}

type quickAckReader struct {
	c  net.Conn
	rc syscall.RawConn
}

func (q *quickAckReader) Read(p []byte) (int, error) {
	n, err := q.c.Read(p)
	q.rc.Control(func(fd uintptr) {
		// Best effort: a failure leaves the kernel's delayed acknowledgement.
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return n, err
}
