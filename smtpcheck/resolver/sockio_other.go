//go:build !linux

package resolver

// sockIO is a call's state for reading and writing a socket; elsewhere
// than on Linux the socket's own Read and Write serve.
type sockIO struct{}

func (x *sockIO) init() {}

// send writes b to the socket.
func (s *udpSock) send(_ *sockIO, b []byte) error {
	_, err := s.conn.Write(b)
	return err
}

// recv reads a datagram into b.
func (s *udpSock) recv(_ *sockIO, b []byte) (int, error) {
	return s.conn.Read(b)
}
