//go:build !linux

package gomilter

import (
	"io"
	"net"
)

// quickAck returns c: only Linux has TCP_QUICKACK.
func quickAck(c net.Conn) (io.Reader, func()) { return c, nil }
