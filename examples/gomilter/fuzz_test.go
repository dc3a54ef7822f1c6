package gomilter

import (
	"strings"
	"testing"
)

func TestMailFacts(t *testing.T) {
	for _, tc := range []struct {
		from, args string
		size       int64
		body       string
		utf8       bool
	}{
		{"a@client.example", "", 0, "", false},
		{"a@client.example", "SIZE=1000 BODY=8bitmime", 1000, "8BITMIME", false},
		{"", "size=12 SMTPUTF8", 12, "", true},
		{"a@client.example", "SIZE=-5 SIZE=x", 0, "", false},
		{"a@client.example", "SIZE=99999999999999999999", 0, "", false},
	} {
		m := mailFacts(tc.from, tc.args)
		if m.Size != tc.size || m.Body != tc.body || m.SMTPUTF8 != tc.utf8 || m.From.String() != tc.from {
			t.Errorf("mailFacts(%q, %q) = %+v, want size %d body %q utf8 %v", tc.from, tc.args, m, tc.size, tc.body, tc.utf8)
		}
	}
}

// FuzzMailFacts feeds the sender and ESMTP parameters as an MTA passes
// them: never a panic, never a negative size, the command line kept.
func FuzzMailFacts(f *testing.F) {
	f.Add("a@client.example", "SIZE=1000 BODY=8BITMIME")
	f.Add("", "SMTPUTF8")
	f.Add("@@", "SIZE= =BODY")
	f.Fuzz(func(t *testing.T, from, args string) {
		m := mailFacts(from, args)
		if m.Size < 0 {
			t.Fatalf("mailFacts(%q, %q).Size = %d", from, args, m.Size)
		}
		if !strings.HasPrefix(m.Raw, "MAIL FROM:<"+from+">") {
			t.Fatalf("mailFacts(%q, %q).Raw = %q", from, args, m.Raw)
		}
	})
}

// FuzzParseMacroList feeds milter_*_macros values as main.cf holds them.
func FuzzParseMacroList(f *testing.F) {
	f.Add("j {daemon_name} {daemon_addr} v _")
	f.Add("i, {auth_type}\t{auth_authen}")
	f.Add(",,, ")
	f.Fuzz(func(t *testing.T, v string) {
		for _, n := range ParseMacroList(v) {
			if n == "" || strings.ContainsAny(n, " \t,\n") {
				t.Fatalf("ParseMacroList(%q) gave %q", v, n)
			}
		}
	})
}
