package reply

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		code  int
		enh   string
		lines []string
	}{
		{"one line", "550 5.7.1 relaying denied\r\n", 550, "5.7.1", []string{"relaying denied"}},
		{"no line ending", "250 2.0.0 Ok", 250, "2.0.0", []string{"Ok"}},
		{"no enhanced code", "220 mx.example.org ESMTP\r\n", 220, "", []string{"mx.example.org ESMTP"}},
		{"bare code", "250\r\n", 250, "", []string{""}},
		{"bare LF", "550-5.7.1 first\n550 5.7.1 second\n", 550, "5.7.1", []string{"first", "second"}},
		{"trailing space", "451 4.7.1 try again later   \r\n", 451, "4.7.1", []string{"try again later"}},
		{"multi-line without repeated code", "250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n",
			250, "", []string{"mx.example.org", "PIPELINING", "SIZE 10240000"}},
		{"enhanced only on first line", "550-5.1.1 no such user\r\n550 see the FAQ\r\n", 550, "5.1.1", []string{"no such user", "see the FAQ"}},
		{"blank lines around", "\r\n554 5.7.1 blocked\r\n\r\n", 554, "5.7.1", []string{"blocked"}},
		{"class mismatch kept", "550 4.7.1 mixed up\r\n", 550, "4.7.1", []string{"mixed up"}},
		{"non-standard code", "111 connection refused", 111, "", []string{"connection refused"}},
		{"dotted quad is text", "250 192.0.2.1 is your address", 250, "", []string{"192.0.2.1 is your address"}},
		{"three-digit detail", "556 5.1.10 null MX", 556, "5.1.10", []string{"null MX"}},
		{"continuation with empty text", "550-5.7.1\r\n550 5.7.1 text", 550, "5.7.1", []string{"", "text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error %v", tt.in, err)
			}
			if r.Code() != tt.code || r.Enhanced().String() != tt.enh {
				t.Errorf("Parse(%q) = %d %q, want %d %q", tt.in, r.Code(), r.Enhanced(), tt.code, tt.enh)
			}
			if got := r.Text(); strings.Join(got, "|") != strings.Join(tt.lines, "|") {
				t.Errorf("Parse(%q).Text() = %q, want %q", tt.in, got, tt.lines)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrEmpty},
		{"blank lines", "\r\n\r\n", ErrEmpty},
		{"code over 599", "600 too high", ErrCode},
		{"code 099", "099 low", ErrCode},
		{"four digits", "5500 5.7.1 x", ErrCode},
		{"non-numeric", "5x0 5.7.1 x", ErrSyntax},
		{"words", "hello world", ErrSyntax},
		{"short", "55", ErrSyntax},
		{"bad separator", "550:5.7.1 x", ErrSyntax},
		{"mismatched continuation codes", "550-5.7.1 a\r\n551 5.7.1 b", ErrContinuation},
		{"unfinished", "550-5.7.1 a\r\n550-5.7.1 b\r\n", ErrContinuation},
		{"text after the last line", "550 5.7.1 a\r\n550 5.7.1 b", ErrContinuation},
		{"blank line inside", "550-a\r\n\r\n550 b", ErrSyntax},
		{"enhanced four-digit detail", "550 5.7.1000 x", ErrEnhanced},
		{"enhanced four-digit subject", "550 5.1000.1 x", ErrEnhanced},
		{"enhanced class 3", "550 3.7.1 x", ErrEnhanced},
		{"garbage continuation", "550-5.7.1 a\r\nxyz", ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q) = %v, %v, want error %v", tt.in, r.Error(), err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T, want *ParseError", tt.in, err)
			}
			if pe.Error() == "" {
				t.Errorf("ParseError.Error() is empty")
			}
		})
	}
}

func TestParseFormatRoundTrip(t *testing.T) {
	for _, e := range Catalog() {
		args := make([]string, len(e.Params))
		for i, p := range e.Params {
			args[i] = sampleArg(p.Kind)
		}
		r := e.Reply(args...)
		wire := r.String()
		p, err := Parse(wire)
		if err != nil {
			t.Errorf("Parse(%s: %q) error %v", e.Name, wire, err)
			continue
		}
		if p.Code() != r.Code() || p.Enhanced() != r.Enhanced() || strings.Join(p.Text(), "\n") != strings.Join(r.Text(), "\n") {
			t.Errorf("Parse(%q) = %q, want the reply %s built", wire, p.String(), e.Name)
		}
	}
}

func sampleArg(k Kind) string {
	switch k {
	case KindIP:
		return "192.0.2.1"
	case KindNumber:
		return "7"
	case KindAffix:
		return "s"
	case KindAddress:
		return "bob@example.org"
	case KindHost:
		return "mx.example.org"
	case KindWord:
		return "token"
	}
	return "some text"
}
