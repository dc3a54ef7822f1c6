package uri

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// onlyReader hides a reader's Len and other methods: a plain stream.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// A message gives the same result whether its reader tells its length or
// not; each call runs in state pooled from the calls before it, whose
// hosts and buffers must leave nothing behind.
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

// Extractions running at once, each in pooled state, find what each finds
// alone.
func TestPooledExtractionsConcurrent(t *testing.T) {
	msgs := []string{
		string(oneKiBMessage()),
		"Content-Type: text/html\r\n\r\n" + string(htmlCorpus(20<<10)),
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhttp://p.example.org/ www.q.example.net\r\n--b\r\nContent-Type: text/html\r\n\r\n<base href=http://base.example.com/><a href=x>y</a>\r\n--b--\r\n",
		"\r\n" + strings.Repeat("http://h.example.com/ x@m.example.org 2130706433. ", 100),
	}
	want := make([]*Result, len(msgs))
	for i, m := range msgs {
		r, err := Extract(strings.NewReader(m), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 50 {
				i := (g + k) % len(msgs)
				r, err := Extract(strings.NewReader(msgs[i]), Limits{})
				if err != nil || !reflect.DeepEqual(r, want[i]) {
					t.Errorf("message %d: Extract = %+v, %v; alone %+v", i, r, err, want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}
