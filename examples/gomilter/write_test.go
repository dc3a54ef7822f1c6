package gomilter

import (
	"encoding/binary"
	"net"
	"testing"
	"time"
)

func packet(code byte, data string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(data)+1)), append([]byte{code}, data...)...)
}

func TestAnswerEnds(t *testing.T) {
	cat := func(ps ...[]byte) []byte {
		var b []byte
		for _, p := range ps {
			b = append(b, p...)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"length only", packet('c', "")[:4], false},
		{"continue", packet('c', ""), true},
		{"body cut", packet('y', "550 5.7.1 no")[:10], false},
		{"reply", packet('y', "550 5.7.1 no"), true},
		{"header added", packet('h', "X-A\x00 b\x00"), false},
		{"quarantine", cat(packet('h', "X-A\x00 b\x00"), packet('q', "why\x00")), false},
		{"headers then accept", cat(packet('h', "X-A\x00 b\x00"), packet('q', "why\x00"), packet('a', "")), true},
		{"accept then a cut packet", cat(packet('a', ""), packet('c', "")[:3]), false},
	} {
		if got := answerEnds(tc.b); got != tc.want {
			t.Errorf("answerEnds(%s %q) = %v, want %v", tc.name, tc.b, got, tc.want)
		}
	}
}

// TestAnswerIsOneWrite checks that the connection sends the packets of an
// answer, written in pieces as the library writes them, in one write, and
// under the write deadline asked for.
func TestAnswerIsOneWrite(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &bufferedConn{Conn: a}
	got := make(chan []byte, 4)
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := b.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- append([]byte(nil), buf[:n]...)
		}
	}()
	want := append(packet('h', "X-A\x00 b\x00"), packet('a', "")...)
	for _, p := range [][]byte{want[:4], want[4:11], want[11:15], want[15:]} {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(p); err != nil {
			t.Fatal(err)
		}
		c.SetWriteDeadline(time.Time{})
	}
	if w := <-got; string(w) != string(want) {
		t.Fatalf("first write %q, want the whole answer %q", w, want)
	}
	// A peer that stops reading: the write ends at the deadline.
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	b.SetReadDeadline(time.Now()) // the reader stops
	<-got
	if _, err := c.Write(packet('c', "")); err == nil {
		t.Fatal("write to a peer not reading returned no error")
	}
}
