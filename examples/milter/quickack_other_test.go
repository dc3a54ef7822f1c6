//go:build !linux

package main

import (
	"io"
	"net"
)

// quickAckReader returns c: only Linux has TCP_QUICKACK.
func quickAckReader(c net.Conn) io.Reader { return c }
