package smtpcheck_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// streamBody is a Body that is not a BytesBody and whose reader cannot
// seek: the path a front-end's own Body type takes.
type streamBody []byte

func (b streamBody) Open() (io.ReadCloser, error) {
	return io.NopCloser(io.MultiReader(bytes.NewReader(b))), nil
}
func (b streamBody) Size() int64 { return int64(len(b)) }

func readAll(t testing.TB, b smtpcheck.Body) string {
	t.Helper()
	rc, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != b.Size() {
		t.Errorf("body reads %d bytes, Size() = %d", len(got), b.Size())
	}
	return string(got)
}

func TestSplitMessage(t *testing.T) {
	long := strings.Repeat("x", 70000)
	tests := []struct {
		name   string
		msg    string
		header smtpcheck.Header
		body   string
	}{
		{"crlf", "Subject: hi\r\nFrom: a@example.net\r\n\r\nbody\r\n",
			smtpcheck.Header{{"Subject", "hi"}, {"From", "a@example.net"}}, "body\r\n"},
		{"bare lf", "Subject: hi\n\nbody\n", smtpcheck.Header{{"Subject", "hi"}}, "body\n"},
		{"folded", "Subject: a\r\n\tb\r\n c\r\nTo: x\r\n\r\n.",
			smtpcheck.Header{{"Subject", "a\r\n\tb\r\n c"}, {"To", "x"}}, "."},
		{"blank before colon", "Subject : hi\r\n\r\nb", smtpcheck.Header{{"Subject ", "hi"}}, "b"},
		{"8-bit field name", "\u017fubject: x\r\n\r\nb", smtpcheck.Header{{"\u017fubject", "x"}}, "b"},
		{"value without blank", "X-A:b\r\n\r\n", smtpcheck.Header{{"X-A", "b"}}, ""},
		{"no empty line, header only", "Subject: hi\r\nTo: x\r\n", smtpcheck.Header{{"Subject", "hi"}, {"To", "x"}}, ""},
		{"no final line break", "Subject: hi", smtpcheck.Header{{"Subject", "hi"}}, ""},
		{"non-field line starts the body", "Subject: hi\r\nHello Bob, see http://x.example/\r\n",
			smtpcheck.Header{{"Subject", "hi"}}, "Hello Bob, see http://x.example/\r\n"},
		{"mbox From line", "From alice Mon Nov 23\r\nSubject: x\r\n", nil, "From alice Mon Nov 23\r\nSubject: x\r\n"},
		{"leading continuation", " folded\r\nSubject: x\r\n", nil, " folded\r\nSubject: x\r\n"},
		{"empty message", "", nil, ""},
		{"empty header", "\r\nbody", nil, "body"},
		{"line longer than any buffer", "X-Long: " + long + "\r\n\r\n" + long,
			smtpcheck.Header{{"X-Long", long}}, long},
		{"body line of any length", "Subject: x\r\n\r\n" + long + "\r\n", smtpcheck.Header{{"Subject", "x"}}, long + "\r\n"},
	}
	for _, tt := range tests {
		for _, kind := range []string{"bytes", "stream"} {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				var m smtpcheck.Body = smtpcheck.BytesBody(tt.msg)
				if kind == "stream" {
					m = streamBody(tt.msg)
				}
				h, body, err := smtpcheck.SplitMessage(m)
				if err != nil {
					t.Fatalf("SplitMessage: %v", err)
				}
				if fmt.Sprint(h) != fmt.Sprint(tt.header) {
					t.Errorf("SplitMessage(%.40q) header = %q, want %q", tt.msg, h, tt.header)
				}
				if got := readAll(t, body); got != tt.body {
					t.Errorf("SplitMessage(%.40q) body = %.60q, want %.60q", tt.msg, got, tt.body)
				}
			})
		}
	}
}

// A header past the 1 MiB budget keeps its first fields and still finds
// the body.
func TestSplitMessageHugeHeader(t *testing.T) {
	var b strings.Builder
	b.WriteString("Subject: first\r\n")
	for b.Len() < 3<<20 {
		b.WriteString("X-Junk: " + strings.Repeat("j", 990) + "\r\n")
	}
	b.WriteString("\r\nthe body\r\n")
	h, body, err := smtpcheck.SplitMessage(streamBody(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := h.Get("Subject"); v != "first" {
		t.Errorf("Subject = %q, want first", v)
	}
	size := 0
	for _, f := range h {
		size += len(f.Name) + len(f.Value)
	}
	if size > 1<<20 {
		t.Errorf("kept %d header bytes, want at most 1 MiB", size)
	}
	if got := readAll(t, body); got != "the body\r\n" {
		t.Errorf("body = %q, want %q", got, "the body\r\n")
	}
}

func FuzzSplitMessage(f *testing.F) {
	for _, s := range []string{"Subject: hi\r\n\r\nbody", "A: b\n c\n\nx", "no header\r\n", "\r\n", "A:\r", ": x\r\n\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		h1, b1, err := smtpcheck.SplitMessage(smtpcheck.BytesBody(msg))
		if err != nil {
			t.Fatal(err)
		}
		h2, b2, err := smtpcheck.SplitMessage(streamBody(msg))
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, b1)
		if !bytes.HasSuffix(msg, []byte(body)) {
			t.Fatalf("body %q is not the end of the message %q", body, msg)
		}
		if got := readAll(t, b2); got != body || fmt.Sprint(h1) != fmt.Sprint(h2) {
			t.Fatalf("stream and bytes split differ: %q/%q vs %q/%q", h2, got, h1, body)
		}
	})
}

// A front-end hands the whole message to SplitMessage; checks then read the
// header fields and the body after them.
func ExampleSplitMessage() {
	msg := smtpcheck.BytesBody("Subject: hello\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n")
	h, body, _ := smtpcheck.SplitMessage(msg)
	s := &smtpcheck.Session{Header: h, Body: body, Message: msg}
	cte, _ := s.Header.Get("Content-Transfer-Encoding")
	rc, _ := s.Body.Open()
	b, _ := io.ReadAll(rc)
	fmt.Printf("%s body %q, %d of %d bytes\n", cte, b, s.Body.Size(), s.Message.Size())
	// Output:
	// base64 body "aGVsbG8=\r\n", 10 of 63 bytes
}
