package envelope

import (
	"strings"
	"testing"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"MAIL FROM:<a@example.org>", "MAIL FROM:<>", "RCPT TO:<postmaster>",
		"MAIL FROM: <a@example.org> SIZE=10", `RCPT TO:<"a\"@b"@example.org>`,
		"RCPT TO:<@r.example:u@[IPv6:2001:db8::1]>", "MAIL FROM:<jörg@bücher.example> SMTPUTF8",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, line string, strict bool) {
		c, err := ParseCommand(line, Options{StrictDots: strict})
		if err != nil {
			if RuleOf(err) == "" {
				t.Fatalf("ParseCommand(%q) error %v is not an *Error", line, err)
			}
			return
		}
		// A parsed path must reparse to itself.
		if !c.Path.Null {
			s := c.Path.String()
			p, err := ParseAddress(s, Options{StrictDots: strict, SMTPUTF8: true, MaxLocal: -1, MaxDomain: -1, MaxLabel: -1})
			if err != nil || p.String() != s {
				t.Fatalf("ParseAddress(%q) = %q, %v; want it to reparse", s, p.String(), err)
			}
		}
		_ = c.Path.Unquoted()
	})
}

func FuzzParseHelo(f *testing.F) {
	for _, s := range []string{"mx.example.org", "[192.0.2.1]", "[IPv6:::1]", "localhost", "192.0.2.1", "a..b", "[x:y]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHelo(s)
		if err != nil {
			if RuleOf(err) == "" {
				t.Fatalf("ParseHelo(%q) error %v is not an *Error", s, err)
			}
			return
		}
		if h.Kind == HeloInvalid {
			t.Fatalf("ParseHelo(%q) = invalid kind without error", s)
		}
		if h.Kind == HeloFQDN && !strings.Contains(strings.TrimSuffix(s, "."), ".") {
			t.Fatalf("ParseHelo(%q) = fqdn for a single label", s)
		}
	})
}
