package gomilter

import (
	"io"
	"net"
	"testing"
)

// TestQuickAckReadsAsTheConnection checks that the reader acknowledging at
// once gives what the MTA wrote, in order, and its end.
func TestQuickAckReadsAsTheConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		c.Write([]byte("first packet,"))
		c.Write([]byte("second packet"))
		c.Close()
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, _ := quickAck(c)
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "first packet,second packet" {
		t.Fatalf("read %q, %v", got, err)
	}
}
