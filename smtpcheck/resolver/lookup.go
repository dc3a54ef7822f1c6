package resolver

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// MX is one mail exchanger. Host has no trailing dot.
type MX struct {
	Host string
	Pref uint16
}

// lookup runs Query and turns NXDOMAIN and NODATA into ErrNotFound.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	a, err := r.Query(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	var out []dns.RR
	for _, rr := range a.Records {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	if len(out) == 0 {
		cause := ErrNoData
		if a.NXDomain() {
			cause = ErrNXDomain
		}
		return nil, newError(a.Name, qtype, a.Server, ErrNotFound, cause)
	}
	return out, nil
}

// lookupEach runs lookup and converts each record with conv, leaving out
// those it refuses.
func lookupEach[T any](ctx context.Context, r *Resolver, name string, qtype uint16, conv func(dns.RR) (T, bool)) ([]T, error) {
	rrs, err := r.lookup(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(rrs))
	for _, rr := range rrs {
		if v, ok := conv(rr); ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// hostName strips the trailing dot of a name from a record.
func hostName(s string) string {
	if len(s) > 1 {
		return strings.TrimSuffix(s, ".")
	}
	return s
}

// LookupA returns the IPv4 addresses of host.
func (r *Resolver) LookupA(ctx context.Context, host string) ([]netip.Addr, error) {
	return lookupEach(ctx, r, host, dns.TypeA, func(rr dns.RR) (netip.Addr, bool) {
		return netip.AddrFromSlice(rr.(*dns.A).A.To4())
	})
}

// LookupAAAA returns the IPv6 addresses of host.
func (r *Resolver) LookupAAAA(ctx context.Context, host string) ([]netip.Addr, error) {
	return lookupEach(ctx, r, host, dns.TypeAAAA, func(rr dns.RR) (netip.Addr, bool) {
		return netip.AddrFromSlice(rr.(*dns.AAAA).AAAA.To16())
	})
}

// LookupIP returns the IPv4 and IPv6 addresses of host, IPv4 first. The two
// queries run in parallel. It fails with ErrNotFound only when neither
// type exists; when one query fails and the other finds addresses, the
// addresses are returned without error.
func (r *Resolver) LookupIP(ctx context.Context, host string) ([]netip.Addr, error) {
	type res struct {
		addrs []netip.Addr
		err   error
	}
	ch := make(chan res, 1)
	go func() {
		a, err := r.LookupAAAA(ctx, host)
		ch <- res{a, err}
	}()
	v4, err4 := r.LookupA(ctx, host)
	v6 := <-ch
	addrs := append(v4, v6.addrs...)
	if len(addrs) > 0 {
		return addrs, nil
	}
	// Prefer the error that is not "not found": it is the one to act on.
	if err4 != nil && !IsNotFound(err4) {
		return nil, err4
	}
	if v6.err != nil {
		return nil, v6.err
	}
	return nil, err4
}

// LookupTXT returns the TXT records of name, the character-strings of each
// record joined into one string (as net.Resolver does).
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return lookupEach(ctx, r, name, dns.TypeTXT, func(rr dns.RR) (string, bool) {
		return strings.Join(rr.(*dns.TXT).Txt, ""), true
	})
}

// LookupMX returns the MX records of domain sorted by preference. A null
// MX (RFC 7505: one record, preference 0, host ".") is returned as is,
// with Host ".".
func (r *Resolver) LookupMX(ctx context.Context, domain string) ([]MX, error) {
	out, err := lookupEach(ctx, r, domain, dns.TypeMX, func(rr dns.RR) (MX, bool) {
		mx := rr.(*dns.MX)
		return MX{Host: hostName(strings.ToLower(mx.Mx)), Pref: mx.Preference}, true
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b MX) int { return int(a.Pref) - int(b.Pref) })
	return out, nil
}

// LookupNS returns the name servers of domain, without trailing dots.
func (r *Resolver) LookupNS(ctx context.Context, domain string) ([]string, error) {
	return lookupEach(ctx, r, domain, dns.TypeNS, func(rr dns.RR) (string, bool) {
		return hostName(strings.ToLower(rr.(*dns.NS).Ns)), true
	})
}

// LookupPTR returns the names of ip from its reverse zone, lower case
// without trailing dots. An IPv4-mapped IPv6 address is looked up as IPv4.
func (r *Resolver) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	if !ip.IsValid() {
		return nil, newError(ip.String(), dns.TypePTR, "", ErrInvalidName, nil)
	}
	return lookupEach(ctx, r, ReverseAddr(ip), dns.TypePTR, func(rr dns.RR) (string, bool) {
		return hostName(strings.ToLower(rr.(*dns.PTR).Ptr)), true
	})
}

// ReverseAddr returns the reverse-zone name of ip, fully qualified:
// "1.2.0.192.in-addr.arpa." or the IPv6 nibble form under ip6.arpa. An
// IPv4-mapped IPv6 address gives its IPv4 name.
func ReverseAddr(ip netip.Addr) string {
	ip = ip.Unmap()
	var b strings.Builder
	const hex = "0123456789abcdef"
	if ip.Is4() {
		a := ip.As4()
		b.Grow(29)
		for i := 3; i >= 0; i-- {
			v := a[i]
			if v >= 100 {
				b.WriteByte('0' + v/100)
			}
			if v >= 10 {
				b.WriteByte('0' + v/10%10)
			}
			b.WriteByte('0' + v%10)
			b.WriteByte('.')
		}
		b.WriteString("in-addr.arpa.")
		return b.String()
	}
	a := ip.As16()
	b.Grow(73)
	for i := 15; i >= 0; i-- {
		b.WriteByte(hex[a[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[a[i]>>4])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa.")
	return b.String()
}

// MaxVerifyNames bounds how many PTR names VerifyPTR resolves forward, so
// that a hostile reverse zone cannot make it send many queries.
const MaxVerifyNames = 10

// VerifyPTR looks up the PTR names of ip and resolves each of them (up to
// MaxVerifyNames) forward; confirmed holds the names whose addresses
// include ip: the forward-confirmed reverse DNS names (FCrDNS). The error
// wraps ErrNotFound when ip has no PTR record. A temporary failure of a
// forward lookup is returned only when no name could be confirmed, since
// one confirmed name is enough for any use of the result.
func (r *Resolver) VerifyPTR(ctx context.Context, ip netip.Addr) (names, confirmed []string, err error) {
	names, err = r.LookupPTR(ctx, ip)
	if err != nil {
		return nil, nil, err
	}
	want := ip.Unmap()
	check := names
	if len(check) > MaxVerifyNames {
		check = check[:MaxVerifyNames]
	}
	results := make([]error, len(check))
	ok := make([]bool, len(check))
	done := make(chan int, len(check))
	for i, name := range check {
		go func() {
			var addrs []netip.Addr
			var err error
			if want.Is4() {
				addrs, err = r.LookupA(ctx, name)
			} else {
				addrs, err = r.LookupAAAA(ctx, name)
			}
			results[i] = err
			for _, a := range addrs {
				if a.Unmap() == want {
					ok[i] = true
				}
			}
			done <- i
		}()
	}
	for range check {
		<-done
	}
	var firstErr error
	for i, name := range check {
		if ok[i] {
			confirmed = append(confirmed, name)
		} else if results[i] != nil && !IsNotFound(results[i]) && firstErr == nil {
			firstErr = results[i]
		}
	}
	if len(confirmed) == 0 && firstErr != nil {
		return names, nil, firstErr
	}
	return names, confirmed, nil
}
