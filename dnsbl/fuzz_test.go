package dnsbl_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/dnsbl"
)

func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		"zen.example", "zen.example=127.0.0.[2..11]", "zen.example=127.0.0.[2;4;10..11]",
		"dbl.example&0.0.0.4", "zen.example*3", "list.dnswl.example=127.0.[0..255].[1..3]*-2",
		"zen.example=127.0.0.[", "=", "*", "a&b*c", "zen.example=1.2.3.4.5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		l, err := dnsbl.ParseList(spec)
		if err != nil {
			return
		}
		// A parsed list prints back to a spec that parses to the same list.
		l2, err := dnsbl.ParseList(l.String())
		if err != nil || l2.String() != l.String() || l2.Weight != l.Weight {
			t.Fatalf("ParseList(%q).String() = %q does not round-trip: %v", spec, l.String(), err)
		}
		if l.Match(netip.MustParseAddr("10.0.0.2")) {
			t.Fatalf("ParseList(%q) matches an answer outside 127/8", spec)
		}
	})
}

func FuzzDomainQueryName(f *testing.F) {
	for _, s := range []string{"spam.example", "BÜCHER.example.", "[192.0.2.1]", "a..b", "x\x00.y", "localhost", "xn--bcher-kva.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, domain string) {
		q, err := dnsbl.DomainQueryName(domain, "dbl.example")
		if err != nil {
			return
		}
		// Whatever the input, the query stays inside the zone, in plain
		// lower-case LDH labels, within DNS limits.
		if !strings.HasSuffix(q, ".dbl.example.") || len(q) > 254 {
			t.Fatalf("DomainQueryName(%q) = %q: outside the zone or too long", domain, q)
		}
		for _, label := range strings.Split(strings.TrimSuffix(q, "."), ".") {
			if label == "" || len(label) > 63 {
				t.Fatalf("DomainQueryName(%q) = %q: bad label %q", domain, q, label)
			}
			for _, c := range []byte(label) {
				if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
					t.Fatalf("DomainQueryName(%q) = %q: octet %q", domain, q, c)
				}
			}
		}
	})
}

func FuzzIPQueryName(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1})
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		q, err := dnsbl.IPQueryName(ip, "zen.example")
		if err != nil {
			t.Fatalf("IPQueryName(%s) error %v", ip, err)
		}
		labels := strings.Count(q, ".") - 2
		if want := map[bool]int{true: 4, false: 32}[ip.Unmap().Is4()]; labels != want {
			t.Fatalf("IPQueryName(%s) = %q: %d labels before the zone, want %d", ip, q, labels, want)
		}
	})
}

func FuzzNewTemplate(f *testing.F) {
	for _, s := range []string{dnsbl.PostfixTemplate, "$ip ${text?; $text} ${zone:none} $$", "${text?${zone?x}}", "${", "$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tpl, err := dnsbl.NewTemplate(554, "5.7.1", text)
		if err != nil {
			return
		}
		r := tpl.Reply(map[string]string{"ip": "192.0.2.1", "zone": "zen.example", "text": "reason\r\nRSET"})
		if r.Code() != 554 {
			t.Fatalf("NewTemplate(%q).Reply code = %d, want 554", text, r.Code())
		}
		// The wire form keeps a TXT record's CR LF from starting a command.
		if w := r.String(); strings.Contains(strings.TrimSuffix(w, "\r\n"), "\r\nRSET") {
			t.Fatalf("NewTemplate(%q).Reply = %q: a TXT line break reached the wire", text, w)
		}
	})
}
