package msgauth

import (
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// FuzzFromDomain: any From: field value gives either a lower-case domain
// without '@', space or trailing dot, or a reason there is none; never a
// panic.
func FuzzFromDomain(f *testing.F) {
	f.Fuzz(func(t *testing.T, from string) {
		d, why := fromDomain(smtpcheck.Header{{Name: "From", Value: from}})
		if d == "" {
			if why == "" {
				t.Errorf("fromDomain(%q) gave neither a domain nor a reason", from)
			}
			return
		}
		if d != strings.ToLower(d) || strings.ContainsAny(d, "@ \t\r\n") || strings.HasSuffix(d, ".") {
			t.Errorf("fromDomain(%q) = %q", from, d)
		}
	})
}

func TestFromDomain(t *testing.T) {
	tests := []struct {
		name, from, want string
	}{
		{"display name", "Alice <alice@Example.NET>", "example.net"},
		{"bare", "alice@example.net", "example.net"},
		{"folded", "Alice\r\n <alice@example.net>", "example.net"},
		{"two authors, one domain", "a@example.net, b@EXAMPLE.net", "example.net"},
		{"two domains", "a@example.net, b@example.org", ""},
		{"no address", "Alice", ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got, _ := fromDomain(smtpcheck.Header{{Name: "From", Value: tt.from}}); got != tt.want {
			t.Errorf("%s: fromDomain(%q) = %q, want %q", tt.name, tt.from, got, tt.want)
		}
	}
	if got, why := fromDomain(smtpcheck.Header{{Name: "From", Value: "a@x.example"}, {Name: "from", Value: "b@y.example"}}); got != "" || why != "2 From: fields" {
		t.Errorf("two From: fields = %q, %q", got, why)
	}
}
