package callout

import (
	"bufio"
	"strings"
	"testing"
)

// FuzzReadReply: whatever a probed server sends is a reply or an error,
// never a panic; a reply has a code from 200 to 599 and printable text no
// longer than what was sent.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"220 mx.example.org ESMTP\r\n",
		"250-mx.example.org\r\n250-PIPELINING\r\n250 \r\n",
		"550 5.1.1 <a@b>: no such user\r\n",
		"451-4.3.0 first\n451 4.3.0 second\n",
		"250-a\r\n251 b\r\n",
		"HTTP/1.0 400 Bad Request\r\n",
		"220",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := readReply(bufio.NewReaderSize(strings.NewReader(s), 512))
		if err != nil {
			return
		}
		if r.Code < 200 || r.Code > 599 {
			t.Fatalf("readReply(%q) code %d", s, r.Code)
		}
		if len(r.Text) > len(s) || printable(r.Text) != r.Text {
			t.Fatalf("readReply(%q) text %q", s, r.Text)
		}
	})
}

// FuzzDecode: a cache record of any content decodes to a verdict or to
// nothing, and a verdict's encoding decodes to itself.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("2\t550\t1700000000000000000\trcpt\tmx.example.org[192.0.2.1]:25\t550 5.1.1 no such user\ta@example.org"))
	f.Add([]byte("1\t0\t0\t\t\t\t"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ok := decode(b)
		if !ok {
			return
		}
		w, ok := decode(encode(v))
		if !ok || w != v {
			t.Fatalf("decode(encode(%+v)) = %+v, %v", v, w, ok)
		}
	})
}
