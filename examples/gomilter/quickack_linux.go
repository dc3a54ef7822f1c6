package gomilter

import (
	"io"
	"net"
	"syscall"
)

// quickAck returns a reader of c that has what it read acknowledged at
// once (TCP_QUICKACK) unless the filter answers it first, and the function
// the writer calls when it has answered. Where the filter asks for no
// reply to an event, it sends nothing that would carry the
// acknowledgement, and the MTA's next event, held by Nagle's algorithm
// until the last is acknowledged, waited for the delayed acknowledgement:
// 40 ms a message, half the messages per second behind Postfix with an
// empty policy. So before it reads again after an event it has not
// answered, the reader has the kernel send the acknowledgement; what the
// filter answers is acknowledged by its answer, without the system call.
// A unix socket has no such delay.
func quickAck(c net.Conn) (io.Reader, func()) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c, nil
	}
	q := &quickAckReader{c: c, rc: rc}
	return q, q.answered
}

type quickAckReader struct {
	c  net.Conn
	rc syscall.RawConn
	// unanswered is set when data was read and no answer was written
	// since.
	unanswered bool
}

func (q *quickAckReader) Read(p []byte) (int, error) {
	if q.unanswered {
		q.unanswered = false
		q.rc.Control(func(fd uintptr) {
			// Best effort: a failure leaves the kernel's delayed
			// acknowledgement. Linux drops quick-ack mode again after a
			// while, so it is set each time.
			syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
		})
	}
	n, err := q.c.Read(p)
	if n > 0 {
		q.unanswered = true
	}
	return n, err
}

func (q *quickAckReader) answered() { q.unanswered = false }
