package dnsname

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"plain", "mail.example.org", true},
		{"upper case", "MAIL.Example.ORG", true},
		{"underscore", "_dmarc.example.org", true},
		{"hyphen", "a-b.example", true},
		{"single label", "localhost", true},
		{"digits", "123.example", true},
		{"a-label", "xn--bcher-kva.example", true},
		{"empty", "", false},
		{"leading dot", ".example.org", false},
		{"trailing dot", "example.org.", false},
		{"empty label", "a..example", false},
		{"space", "a b.example", false},
		{"slash", "a/b.example", false},
		{"u-label", "bücher.example", false},
		{"label of 63", strings.Repeat("a", 63) + ".example", true},
		{"label of 64", strings.Repeat("a", 64) + ".example", false},
		{"253 octets", strings.Repeat("a.", 126) + "a", true},
		{"254 octets", strings.Repeat("a.", 126) + "ab", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Valid(tt.in); got != tt.want {
				t.Errorf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestToASCII(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            bool
	}{
		{"ascii lower-cased", "Mail.Example.ORG", "mail.example.org", false},
		{"trailing dot", "example.org.", "example.org", false},
		{"u-label", "Bücher.example", "xn--bcher-kva.example", false},
		{"full-width dot", "bücher。example", "xn--bcher-kva.example", false},
		{"nontransitional sharp s", "faß.example", "xn--fa-hia.example", false},
		{"underscore beside a u-label", "_x.bücher.example", "_x.xn--bcher-kva.example", false},
		{"bidi rule", "\u05d0a.example", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToASCII(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("ToASCII(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}
