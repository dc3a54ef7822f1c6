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
		{"lowest code", "200 ok", 200, "", []string{"ok"}},
		{"second digit 5", "559 5.0.0 last of the grammar", 559, "5.0.0", []string{"last of the grammar"}},
		{"non-standard 420", "420 4.4.2 timeout", 420, "4.4.2", []string{"timeout"}},
		{"zero subject and detail", "500 5.0.0 x", 500, "5.0.0", []string{"x"}},
		{"leading zero is text without the enhanced shape", "250 05.7.1 text", 250, "", []string{"05.7.1 text"}},
		{"repeated code with leading zero stays text", "550-5.7.1 a\r\n550 5.07.1 b", 550, "5.7.1", []string{"a", "5.07.1 b"}},
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
		// RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39.
		{"1yz code", "150 opening data connection", ErrCode},
		{"connection refused 111", "111 connection refused", ErrCode},
		{"second digit 6", "560 5.7.1 x", ErrCode},
		{"second digit 9", "599 5.0.0 x", ErrCode},
		{"bad code on a continuation line", "550-5.7.1 a\r\n590 5.7.1 b", ErrCode},
		// RFC 3463 2: subject and detail without leading zeros.
		{"enhanced subject leading zero", "550 5.07.1 x", ErrEnhanced},
		{"enhanced detail leading zero", "550 5.7.01 x", ErrEnhanced},
		{"enhanced double zero", "550 5.00.0 x", ErrEnhanced},
		{"enhanced detail 010", "550 5.1.010 x", ErrEnhanced},
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

func TestParseErrorReason(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"150 x", "first digit 1 is not 2 to 5"},
		{"560 x", "second digit 6 is not 0 to 5"},
		{"550 5.07.1 x", "5.07.1: subject has a leading zero"},
		{"550 5.7.01 x", "5.7.01: detail has a leading zero"},
		{"550 3.7.1 x", "3.7.1: class 3 is not 2, 4 or 5"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.HasPrefix(pe.Reason, tt.reason) || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("Parse(%q) error = %v, want reason %q", tt.in, err, tt.reason)
		}
	}
}

func TestParseEnhancedGrammar(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"2.0.0", true}, {"4.7.1", true}, {"5.1.10", true}, {"5.7.999", true}, {"5.0.100", true},
		{"5.07.1", false}, {"5.7.01", false}, {"5.00.0", false}, {"5.7.1000", false}, {"1.0.0", false},
		{"3.0.0", false}, {"55.0.0", false}, {"5..1", false}, {"5.7.1.", false}, {"5.7", false}, {"5.7.x", false},
	}
	for _, tt := range tests {
		_, err := ParseEnhanced(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseEnhanced(%q) error = %v, want ok %v", tt.in, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrEnhanced) {
			t.Errorf("ParseEnhanced(%q) error = %v, want ErrEnhanced", tt.in, err)
		}
	}
	if _, err := New(550, "5.07.1", "x"); !errors.Is(err, ErrEnhanced) {
		t.Errorf("New(550, 5.07.1) error = %v, want ErrEnhanced", err)
	}
	if _, err := New(560, "5.7.1", "x"); !errors.Is(err, ErrCode) {
		t.Errorf("New(560, 5.7.1) error = %v, want ErrCode", err)
	}
}

// The sanitised text and the text as received sit side by side.
func TestParseReceived(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		received string
		text     []string // ReceivedText
		clean    []string // Text
	}{
		{name: "one line", in: "550 5.7.1 denied\r\n", received: "550 5.7.1 denied\r\n",
			text: []string{"5.7.1 denied"}, clean: []string{"denied"}},
		{name: "control bytes and spaces kept", in: "\r\n550-5.7.1  a\x1b[31m b \r\n550 5.7.1 \xffc\t\r\n\r\n", received: "550-5.7.1  a\x1b[31m b \r\n550 5.7.1 \xffc\t\r\n",
			text: []string{"5.7.1  a\x1b[31m b ", "5.7.1 \xffc\t"}, clean: []string{"a?[31m b", "?c"}},
		{name: "bare LF and no final line ending", in: "250-a\n250 b", received: "250-a\n250 b",
			text: []string{"a", "b"}, clean: []string{"a", "b"}},
		{name: "bare code", in: "250", received: "250", text: []string{""}, clean: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error %v", tt.in, err)
			}
			if r.Received() != tt.received {
				t.Errorf("Parse(%q).Received() = %q, want %q", tt.in, r.Received(), tt.received)
			}
			if got := r.ReceivedText(); strings.Join(got, "|") != strings.Join(tt.text, "|") || len(got) != len(tt.text) {
				t.Errorf("Parse(%q).ReceivedText() = %q, want %q", tt.in, got, tt.text)
			}
			if got := r.Text(); strings.Join(got, "|") != strings.Join(tt.clean, "|") {
				t.Errorf("Parse(%q).Text() = %q, want %q", tt.in, got, tt.clean)
			}
		})
	}
	// A reply of our own was not received.
	if r := RelayDenied("bob@example.org"); r.Received() != "" || r.ReceivedText() != nil {
		t.Errorf("RelayDenied: Received() = %q, ReceivedText() = %q, want none", r.Received(), r.ReceivedText())
	}
	// WithText replaces the text; WithCode keeps what was received.
	r := MustParse("550-5.1.8 a\r\n550 5.1.8 b\r\n")
	if w := r.WithText("new"); w.Received() != "" || strings.Join(w.Text(), "|") != "new" {
		t.Errorf("WithText: Received() = %q, Text() = %q", w.Received(), w.Text())
	}
	w, err := r.WithCode(450)
	if err != nil || w.String() != "450-4.1.8 a\r\n450 4.1.8 b\r\n" || w.Received() != r.Received() {
		t.Errorf("WithCode(450) = %q, %v, Received %q", w.String(), err, w.Received())
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
