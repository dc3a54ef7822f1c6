package smtppolicy_test

import (
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/uri"
)

// A domain a link check finds in a message and the name a domain list is
// asked about are one name: dnsbl and uri accept and spell the same names
// (the ones both read as domains: two labels or more, no numeric TLD).
func TestHostNamesAgree(t *testing.T) {
	tests := []struct {
		in, want string // want "" when both refuse
	}{
		{"Mail.Example.ORG", "mail.example.org"},
		{"example.org.", "example.org"},
		{"_spf.example.org", "_spf.example.org"},
		{"Bücher.example", "xn--bcher-kva.example"},
		{"_x.bücher.example", "_x.xn--bcher-kva.example"},
		{"faß.example", "xn--fa-hia.example"},
		{"bücher。example", "xn--bcher-kva.example"},
		{strings.Repeat("a", 64) + ".example", ""},
		{"a b.example", ""},
		{"a..example", ""},
		{"\u05d0a.example", ""},
	}
	for _, tt := range tests {
		d, derr := dnsbl.NormalizeDomain(tt.in)
		h, uerr := uri.ParseHost(tt.in)
		if tt.want == "" {
			if derr == nil || uerr == nil {
				t.Errorf("%q: dnsbl.NormalizeDomain = %q, %v; uri.ParseHost = %q, %v; want both to refuse", tt.in, d, derr, h.Name, uerr)
			}
			continue
		}
		if derr != nil || uerr != nil || d != tt.want || h.Name != tt.want {
			t.Errorf("%q: dnsbl.NormalizeDomain = %q, %v; uri.ParseHost = %q, %v; want %q from both", tt.in, d, derr, h.Name, uerr, tt.want)
		}
	}
}
