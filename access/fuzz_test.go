package access

import (
	"net/netip"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add(testMap)
	f.Add("Connect:2001:db8::1 OK\nConnect:[192.0.2.1] REJECT\n")
	f.Add(`To:x [10.0.0.0/8]OK !*.a!REJECT:"550 5.7.1 no" /^b/TAG DUNNO`)
	f.Add("Msg-Limit-To: 10/1h\nLength-From: 5M\nGrey-To: 5m\n")
	f.Add("From:a\x00 OK\n")
	f.Fuzz(func(t *testing.T, input string) {
		m, err := Parse(strings.NewReader(input), "fuzz.map")
		if err != nil {
			if m != nil {
				t.Fatalf("Parse(%q) returned a map with error %v", input, err)
			}
			return
		}
		// the filter must never turn away a key that exists
		for k := range m.keys {
			if !m.filter.mayHave([]byte(k)) {
				t.Fatalf("Parse(%q): filter misses key %q", input, k)
			}
		}
		// lookups on whatever loaded must not panic
		c := Client{IP: netip.MustParseAddr("192.0.2.1"), Name: "a.example"}
		m.Connect(c)
		m.ConnectFrom(c, "u", "a.example", false)
		m.FromTo("u", "a.example", "v", "b.example", false)
		m.Body("b.example")
	})
}

func FuzzPatternList(f *testing.F) {
	f.Add(`[192.0.2.0/24]OK !*.dial.example!REJECT /^mx[0-9]+\./TAG TEMPFAIL`, "mx1.example")
	f.Add(`/a\/b/OK`, "a/b")
	f.Add(`REJECT:"451 4.7.1 later"`, "")
	f.Add(`!**?*!OK`, "abc")
	f.Fuzz(func(t *testing.T, value, subject string) {
		var v Value
		if err := parseActionValue(&v, value); err != nil {
			return
		}
		got := v.Decide(Subject{IP: netip.MustParseAddr("192.0.2.1"), Text: subject})
		if got.Action > Skip {
			t.Fatalf("Decide gave action %d out of range", got.Action)
		}
	})
}

// FuzzMailKeys checks that the lookups build the same keys as MailChain
// for any address.
func FuzzMailKeys(f *testing.F) {
	f.Add("User+x", "Example.ORG.")
	f.Add("", "")
	f.Add("@", "a..b.")
	f.Fuzz(func(t *testing.T, local, domain string) {
		if got, want := keysOf(t, mailKeysOf(local, domain)), MailChain(local, domain, false); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("mail keys(%q, %q) = %q, want %q", local, domain, got, want)
		}
	})
}
