package arc

import (
	"crypto/sha256"
	"strings"
	"testing"
)

func TestParseTags(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want tags
		err  string
	}{
		{"plain", "i=1; a=rsa-sha256; d=example.org", tags{"i": "1", "a": "rsa-sha256", "d": "example.org"}, ""},
		{"folding white space", " i = 2 ;\r\n\tcv=pass;\r\n b=ab\r\n cd ", tags{"i": "2", "cv": "pass", "b": "ab\r\n cd"}, ""},
		{"final semicolon", "i=1;", tags{"i": "1"}, ""},
		{"empty value", "b=", tags{"b": ""}, ""},
		{"value with =", "x=a=b", tags{"x": "a=b"}, ""},
		{"empty middle tag", "i=1;;d=x", nil, "empty tag"},
		{"no =", "i=1; cv", nil, "is not tag=value"},
		{"bad name", "1i=1", nil, "is not a tag name"},
		{"underscore inside", "a_b=1", tags{"a_b": "1"}, ""},
		{"twice", "i=1; i=2", nil, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTags(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseTags(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("parseTags(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("parseTags(%q)[%s] = %q, want %q", tt.in, k, got[k], v)
				}
			}
		})
	}
}

// RFC 6376 3.4.5's example, and the corner cases around it.
func TestCanonHeader(t *testing.T) {
	tests := []struct {
		raw, relaxed, simple string
	}{
		{"A: X", "a:X\r\n", "A: X\r\n"},
		{"B : Y\t\r\n\tZ  ", "b:Y Z\r\n", "B : Y\t\r\n\tZ  \r\n"},
		{"Subject:", "subject:\r\n", "Subject:\r\n"},
		{"X-Empty:   \r\n  ", "x-empty:\r\n", "X-Empty:   \r\n  \r\n"},
		{"ARC-Seal: i=1;  b=x\r\n\t y", "arc-seal:i=1; b=x y\r\n", "ARC-Seal: i=1;  b=x\r\n\t y\r\n"},
	}
	for _, tt := range tests {
		if got := canonHeader(tt.raw, relaxed); got != tt.relaxed {
			t.Errorf("canonHeader(%q, relaxed) = %q, want %q", tt.raw, got, tt.relaxed)
		}
		if got := canonHeader(tt.raw, simple); got != tt.simple {
			t.Errorf("canonHeader(%q, simple) = %q, want %q", tt.raw, got, tt.simple)
		}
	}
}

// recorder is a hash.Hash that keeps what is written, to read the
// canonical body back.
type recorder struct{ strings.Builder }

func (r *recorder) Reset()              { r.Builder.Reset() }
func (r *recorder) Sum(b []byte) []byte { return b }
func (r *recorder) BlockSize() int      { return sha256.BlockSize }
func (r *recorder) Size() int           { return 0 }

func TestCanonBody(t *testing.T) {
	tests := []struct {
		name, body, relaxed, simple string
		limit                       int64
	}{
		{"RFC 6376 3.4.5", " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n", " C \r\nD \t E\r\n", -1},
		{"empty", "", "", "\r\n", -1},
		{"only empty lines", "\r\n\r\n", "", "\r\n", -1},
		{"white space lines are empty when relaxed", "x\r\n  \r\n\t\r\n", "x\r\n", "x\r\n  \r\n\t\r\n", -1},
		{"no final line end", "a\r\nb", "a\r\nb\r\n", "a\r\nb\r\n", -1},
		{"bare LF", "a\nb\n\n", "a\r\nb\r\n", "a\r\nb\r\n", -1},
		{"inner empty lines kept", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n", -1},
		{"l= cuts", "hello world\r\n", "hel", "hel", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for c, want := range map[canonicalization]string{relaxed: tt.relaxed, simple: tt.simple} {
				var r recorder
				hashBody(&r, []byte(tt.body), c, tt.limit)
				if got := r.String(); got != want {
					t.Errorf("body %q %s = %q, want %q", tt.body, c, got, want)
				}
			}
		})
	}
}

func TestWithoutB(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ARC-Seal: i=1; cv=none; b=abc\r\n\tdef", "ARC-Seal: i=1; cv=none; b="},
		{"ARC-Seal: i=1; b = abc ; bh=xyz", "ARC-Seal: i=1; b =; bh=xyz"},
		{"ARC-Message-Signature: i=1; bh=xyz; b=abc", "ARC-Message-Signature: i=1; bh=xyz; b="},
		{"X: i=1", "X: i=1"},
	}
	for _, tt := range tests {
		if got := withoutB(tt.in); got != tt.want {
			t.Errorf("withoutB(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseMessage(t *testing.T) {
	m := parseMessage([]byte("A: 1\r\n  folded\r\nnot a field\r\nB:2\n\nbody\r\n"))
	if len(m.fields) != 2 || m.fields[0].raw != "A: 1\r\n  folded" || m.fields[1].name != "B" || string(m.body) != "body\r\n" {
		t.Errorf("parseMessage = %+v body %q", m.fields, m.body)
	}
	if m := parseMessage([]byte("A: 1\r\n")); len(m.fields) != 1 || len(m.body) != 0 {
		t.Errorf("header only: %+v body %q", m.fields, m.body)
	}
}
