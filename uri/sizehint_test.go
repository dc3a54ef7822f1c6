package uri

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
)

// onlyReader hides a reader's Len, so Extract cannot size its buffers.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// Buffers sized to a message that says its length find the same hosts as
// full-size buffers on a stream that does not.
func TestSizedBuffersFindTheSameHosts(t *testing.T) {
	long := strings.Repeat("word ", 30000) // a 150 KB line, past the full-size buffer
	tests := []struct {
		name string
		msg  string
	}{
		{"1KiB", string(oneKiBMessage())},
		{"plain 200K", "Content-Type: text/plain\r\n\r\n" + string(textCorpus(200<<10))},
		{"html 200K", "Content-Type: text/html\r\n\r\n" + string(htmlCorpus(200<<10))},
		{"long line", "Content-Type: text/plain\r\n\r\nhttp://a.example.com/ " + long + " http://b.example.net/x\r\n"},
		{"latin1", "Content-Type: text/plain; charset=iso-8859-1\r\n\r\n\xe9\xe9\xe9 http://caf\xe9.example.org/ www.c.example.com\r\n"},
		{"qp", "Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<a href=3D\"http://q.exa=\r\nmple.com/\">x</a>\r\n"},
		{"tiny", "\r\nwww.d.example.com"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sized, err1 := Extract(bytes.NewReader([]byte(tt.msg)), Limits{})
			full, err2 := Extract(onlyReader{strings.NewReader(tt.msg)}, Limits{})
			if err1 != nil || err2 != nil {
				t.Fatalf("Extract errors: sized %v, stream %v", err1, err2)
			}
			if !reflect.DeepEqual(sized, full) {
				t.Errorf("Extract(sized) = %+v\nExtract(stream) = %+v", sized, full)
			}
			if tt.name != "empty" && tt.name != "tiny" && len(sized.Hosts) == 0 {
				t.Errorf("Extract found no hosts in %s", tt.name)
			}
		})
	}
}
