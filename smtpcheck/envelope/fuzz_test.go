package envelope

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"MAIL FROM:<a@example.org>", "MAIL FROM:<>", "RCPT TO:<postmaster>",
		"MAIL FROM: <a@example.org> SIZE=10", `RCPT TO:<"a\"@b"@example.org>`,
		"RCPT TO:<@r.example:u@[IPv6:2001:db8::1]>", "MAIL FROM:<jörg@bücher.example> SMTPUTF8",
		"MAIL FROM:<postmaster>", "RCPT TO:<>", "RCPT TO:<" + strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + ".org>",
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
		// The per-verb rules hold for every command that parses.
		if c.Path.Null && c.Verb != "MAIL" || c.Path.Postmaster() && c.Verb != "RCPT" {
			t.Fatalf("ParseCommand(%q) = %s %q, a path that verb may not take", line, c.Verb, c.Path.String())
		}
		if len(c.Path.String())+2 > MaxPathLength && len(c.Path.Route) == 0 {
			t.Fatalf("ParseCommand(%q) accepted a path of %d octets", line, len(c.Path.String())+2)
		}
		// A parsed path must reparse to itself.
		if !c.Path.Null {
			s := c.Path.String()
			p, err := ParseAddress(s, Options{StrictDots: strict, SMTPUTF8: true, MaxLocal: -1, MaxDomain: -1, MaxLabel: -1, MaxPath: -1})
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

// FuzzParseParts checks that ParseParts gives what ParsePath gives for the
// joined path, errors included, and that MaybeIP never turns away an
// address netip.ParseAddr accepts.
func FuzzParseParts(f *testing.F) {
	for _, s := range [][2]string{
		{"user", "example.org"}, {"postmaster", ""}, {"user", ""}, {`"a@b"`, "example.org"},
		{"a@b", "example.org"}, {"@r.example:u", "example.org"}, {"u", "[192.0.2.1]"},
		{"first..last", "example.org"}, {"jörg", "bücher.example"}, {"a", "-x.example"}, {"", ""},
	} {
		f.Add(s[0], s[1], false, false)
	}
	f.Fuzz(func(t *testing.T, local, domain string, strict, utf bool) {
		o := Options{StrictDots: strict, SMTPUTF8: utf}
		path := "<" + local + ">"
		if domain != "" {
			path = "<" + local + "@" + domain + ">"
		}
		want, wantErr := ParsePath(path, o)
		got, err := ParseParts(local, domain, o)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || got.String() != want.String() || got.Quoted != want.Quoted || got.Literal != want.Literal || len(got.Route) != len(want.Route) {
			t.Fatalf("ParseParts(%q, %q) = %+v, %v, want %+v, %v", local, domain, got, err, want, wantErr)
		}
		for _, s := range []string{local, domain} {
			if _, err := netip.ParseAddr(s); err == nil && !MaybeIP(s) {
				t.Fatalf("MaybeIP(%q) = false for an address", s)
			}
		}
	})
}
