package ascii

import "testing"

func TestFold(t *testing.T) {
	tests := []struct {
		s, lower      string
		prefix, equal bool
	}{
		{"www.example", "www.", true, false},
		{"WwW.", "www.", true, true},
		{"ww", "www.", false, false},
		{"BASE", "base", true, true},
		{"bas", "base", false, false},
		{"BASE2", "base", true, false},
		{"b@se", "base", false, false},
		{"", "", true, true},
		{"\xc4\xb0", "i\xcc", false, false}, // no Unicode folding
	}
	for _, tt := range tests {
		if got := HasPrefixFold(tt.s, tt.lower); got != tt.prefix {
			t.Errorf("HasPrefixFold(%q, %q) = %v, want %v", tt.s, tt.lower, got, tt.prefix)
		}
		if got := HasPrefixFold([]byte(tt.s), tt.lower); got != tt.prefix {
			t.Errorf("HasPrefixFold([]byte(%q), %q) = %v, want %v", tt.s, tt.lower, got, tt.prefix)
		}
		if got := EqualFold(tt.s, tt.lower); got != tt.equal {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", tt.s, tt.lower, got, tt.equal)
		}
	}
}
