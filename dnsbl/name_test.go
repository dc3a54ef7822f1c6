package dnsbl_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/dnsbl"
)

func TestIPQueryName(t *testing.T) {
	tests := []struct {
		name, ip, zone, want string
		err                  error
	}{
		{"IPv4", "192.0.2.99", "zen.example", "99.2.0.192.zen.example.", nil},
		{"IPv4 test point", "127.0.0.2", "zen.example", "2.0.0.127.zen.example.", nil},
		{"IPv4 short octets", "10.0.0.1", "zen.example", "1.0.0.10.zen.example.", nil},
		{"IPv6 nibbles", "2001:db8::1", "zen.example",
			"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example.", nil},
		{"IPv6 all nibbles", "2001:db8:1234:5678:9abc:def0:1234:5678", "zen.example",
			"8.7.6.5.4.3.2.1.0.f.e.d.c.b.a.9.8.7.6.5.4.3.2.1.8.b.d.0.1.0.0.2.zen.example.", nil},
		{"IPv4-mapped as IPv4", "::ffff:192.0.2.99", "zen.example", "99.2.0.192.zen.example.", nil},
		{"IPv6 zone dropped", "fe80::1%eth0", "zen.example",
			"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.zen.example.", nil},
		{"uppercase zone", "192.0.2.1", "ZEN.Example", "1.2.0.192.zen.example.", nil},
		{"trailing dot zone", "192.0.2.1", "zen.example.", "1.2.0.192.zen.example.", nil},
		{"zone with space", "192.0.2.1", "zen example", "", dnsbl.ErrBadZone},
		{"empty zone", "192.0.2.1", "", "", dnsbl.ErrBadZone},
		{"zone injection", "192.0.2.1", "zen.example\x00.evil", "", dnsbl.ErrBadZone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dnsbl.IPQueryName(netip.MustParseAddr(tt.ip), tt.zone)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("IPQueryName(%q, %q) = %q, %v; want %q, %v", tt.ip, tt.zone, got, err, tt.want, tt.err)
			}
		})
	}
	if _, err := dnsbl.IPQueryName(netip.Addr{}, "zen.example"); !errors.Is(err, dnsbl.ErrBadIP) {
		t.Errorf("IPQueryName(zero Addr) error = %v, want ErrBadIP", err)
	}
}

func TestDomainQueryName(t *testing.T) {
	tests := []struct {
		name, domain, want string
		err                error
	}{
		{"plain", "spam.example", "spam.example.dbl.example.", nil},
		{"uppercase", "SPAM.Example", "spam.example.dbl.example.", nil},
		{"trailing dot", "spam.example.", "spam.example.dbl.example.", nil},
		{"IDN to A-label", "bücher.example", "xn--bcher-kva.example.dbl.example.", nil},
		{"IDN uppercase", "BÜCHER.example", "xn--bcher-kva.example.dbl.example.", nil},
		{"A-label kept", "xn--bcher-kva.example", "xn--bcher-kva.example.dbl.example.", nil},
		{"underscore allowed", "mail_1.example", "mail_1.example.dbl.example.", nil},
		{"address literal", "[192.0.2.1]", "", dnsbl.ErrBadDomain},
		{"bare IPv4", "192.0.2.1", "", dnsbl.ErrBadDomain},
		{"bare IPv6", "2001:db8::1", "", dnsbl.ErrBadDomain},
		{"numeric TLD", "host.123", "", dnsbl.ErrBadDomain},
		{"single label", "localhost", "", dnsbl.ErrBadDomain},
		{"empty", "", "", dnsbl.ErrBadDomain},
		{"only a dot", ".", "", dnsbl.ErrBadDomain},
		{"empty label", "spam..example", "", dnsbl.ErrBadDomain},
		{"leading dot", ".spam.example", "", dnsbl.ErrBadDomain},
		{"NUL injection", "spam.example\x00.zen.example", "", dnsbl.ErrBadDomain},
		{"space", "spam example.com", "", dnsbl.ErrBadDomain},
		{"escaped dot", `spam\.example.com`, "", dnsbl.ErrBadDomain},
		{"CRLF", "spam.example\r\nRSET", "", dnsbl.ErrBadDomain},
		{"label over 63", strings.Repeat("a", 64) + ".example", "", dnsbl.ErrBadDomain},
		{"too long with zone", strings.Repeat(strings.Repeat("a", 60)+".", 4) + "example", "", dnsbl.ErrNameTooLong},
		// RFC 5782 section 5: the test names are single labels.
		{"RFC 5782 TEST", "TEST", "test.dbl.example.", nil},
		{"RFC 5782 test with root dot", "test.", "test.dbl.example.", nil},
		{"RFC 5782 INVALID", "Invalid", "invalid.dbl.example.", nil},
		{"other single label", "tests", "", dnsbl.ErrBadDomain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dnsbl.DomainQueryName(tt.domain, "dbl.example")
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("DomainQueryName(%q) = %q, %v; want %q, %v", tt.domain, got, err, tt.want, tt.err)
			}
		})
	}
}

// The RFC 5782 test names are for asking about a list, not about a
// client: a HELO of TEST or INVALID is not a domain to look up.
func TestNormalizeDomainRefusesTestNames(t *testing.T) {
	for _, d := range []string{"TEST", "test.", "invalid"} {
		if got, err := dnsbl.NormalizeDomain(d); !errors.Is(err, dnsbl.ErrBadDomain) {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want ErrBadDomain", d, got, err)
		}
	}
}

func TestTestPoints(t *testing.T) {
	nibbles := func(last string) string {
		return last + ".0.0.0.0.0.f.7.f.f.f.f." + strings.Repeat("0.", 20) + "zen.example."
	}
	tests := []struct {
		name string
		kind dnsbl.Kind
		zone string
		ipv6 bool
		want []dnsbl.TestPoint
		err  error
	}{
		{name: "domain list", kind: dnsbl.DomainList, zone: "DBL.example.",
			want: []dnsbl.TestPoint{{Query: "test.dbl.example.", Listed: true}, {Query: "invalid.dbl.example."}}},
		{name: "ip list", kind: dnsbl.IPList, zone: "zen.example",
			want: []dnsbl.TestPoint{{Query: "2.0.0.127.zen.example.", Listed: true}, {Query: "1.0.0.127.zen.example."}}},
		{name: "ipv6 list", kind: dnsbl.IPList, zone: "zen.example", ipv6: true,
			want: []dnsbl.TestPoint{{Query: "2.0.0.127.zen.example.", Listed: true}, {Query: "1.0.0.127.zen.example."},
				{Query: nibbles("2"), Listed: true}, {Query: nibbles("1")}}},
		{name: "bad zone", kind: dnsbl.DomainList, zone: "bad zone", err: dnsbl.ErrBadZone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dnsbl.TestPoints(tt.kind, tt.zone, tt.ipv6)
			if !errors.Is(err, tt.err) || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("TestPoints(%v, %q, %v) = %v, %v; want %v, %v", tt.kind, tt.zone, tt.ipv6, got, err, tt.want, tt.err)
			}
		})
	}
	// The IP test points are what IPQueryName gives for 127.0.0.2 and 127.0.0.1.
	for i, ip := range []string{"127.0.0.2", "127.0.0.1"} {
		q, err := dnsbl.IPQueryName(netip.MustParseAddr(ip), "zen.example")
		if err != nil || q != tests[1].want[i].Query {
			t.Errorf("IPQueryName(%s) = %q, %v; want %q", ip, q, err, tests[1].want[i].Query)
		}
	}
}

func TestReverseIP(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"127.0.0.2", "2.0.0.127"},
		{"::ffff:7f00:2", "2.0.0.127"},
		{"::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"},
	}
	for _, tt := range tests {
		if got := dnsbl.ReverseIP(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("ReverseIP(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}
