package resolver

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// Record types a caller asks [Resolver.Query] for, so that a check need not
// import miekg/dns to name one.
const (
	TypeA     = dns.TypeA
	TypeAAAA  = dns.TypeAAAA
	TypeTXT   = dns.TypeTXT
	TypeMX    = dns.TypeMX
	TypeNS    = dns.TypeNS
	TypePTR   = dns.TypePTR
	TypeCNAME = dns.TypeCNAME
)

// Addrs returns the addresses of the answer's A and AAAA records, in the
// order received; nil when there are none.
func (a Answer) Addrs() []netip.Addr { return a.AppendAddrs(nil) }

// AppendAddrs appends the addresses of the answer's A and AAAA records to
// dst, for callers that keep one buffer across lookups.
func (a Answer) AppendAddrs(dst []netip.Addr) []netip.Addr {
	// Small enough to inline, so that a caller holding a *Answer does not
	// copy the struct for the call.
	if a.addrs != nil {
		return append(dst, a.addrs...)
	}
	return appendAddrs(dst, a.Records)
}

func appendAddrs(dst []netip.Addr, rrs []dns.RR) []netip.Addr {
	for _, rr := range rrs {
		switch r := rr.(type) {
		case *dns.A:
			if ip, ok := netip.AddrFromSlice(r.A.To4()); ok {
				dst = append(dst, ip)
			}
		case *dns.AAAA:
			if ip, ok := netip.AddrFromSlice(r.AAAA.To16()); ok {
				dst = append(dst, ip)
			}
		}
	}
	return dst
}

// Texts returns the answer's TXT records, the character-strings of each
// joined into one string (as net.Resolver does); nil when there are none.
func (a Answer) Texts() []string {
	var out []string
	for _, rr := range a.Records {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out
}
