package resolver

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
)

// NetResolver is a view of a [Resolver] with the lookup methods of
// *net.Resolver, for code written against the standard library, such as
// blitiri.com.ar/go/spf's DNSResolver interface. It shares the Resolver's
// servers and cache. As with *net.Resolver, names in results are fully
// qualified with a trailing dot, and errors are *net.DNSError with
// IsNotFound, IsTimeout and IsTemporary set (errors.Is also reaches the
// resolver's sentinel errors through them).
type NetResolver struct {
	r *Resolver
}

// Net returns the *net.Resolver-compatible view of r.
func (r *Resolver) Net() *NetResolver { return &NetResolver{r: r} }

// netError converts a lookup error to the *net.DNSError that
// standard-library consumers inspect by type assertion.
func netError(err error, name string) error {
	if err == nil {
		return nil
	}
	de := &net.DNSError{Err: err.Error(), Name: name, UnwrapErr: err}
	var e *Error
	if errors.As(err, &e) {
		de.Err = e.Err.Error()
		de.Server = e.Server
		if e.Name != "" {
			de.Name = e.Name
		}
	}
	de.IsNotFound = IsNotFound(err)
	de.IsTimeout = errors.Is(err, ErrTimeout)
	de.IsTemporary = IsTemporary(err)
	return de
}

// each returns f of each of in, or err when the lookup failed.
func each[T, U any](in []T, err error, f func(T) U) ([]U, error) {
	if err != nil {
		return nil, err
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out, nil
}

func fqdn(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// LookupTXT returns the TXT records of name, each record's strings joined.
func (n *NetResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txt, err := n.r.LookupTXT(ctx, name)
	return txt, netError(err, name)
}

// LookupMX returns the MX records of name sorted by preference.
func (n *NetResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	mxs, err := n.r.LookupMX(ctx, name)
	return each(mxs, netError(err, name), func(mx MX) *net.MX { return &net.MX{Host: fqdn(mx.Host), Pref: mx.Pref} })
}

// LookupNS returns the NS records of name.
func (n *NetResolver) LookupNS(ctx context.Context, name string) ([]*net.NS, error) {
	nss, err := n.r.LookupNS(ctx, name)
	return each(nss, netError(err, name), func(ns string) *net.NS { return &net.NS{Host: fqdn(ns)} })
}

// LookupNetIP returns the addresses of host for network "ip", "ip4" or
// "ip6". An IP literal is returned as is.
func (n *NetResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	var addrs []netip.Addr
	var err error
	switch network {
	case "ip4":
		addrs, err = n.r.LookupA(ctx, host)
	case "ip6":
		addrs, err = n.r.LookupAAAA(ctx, host)
	case "ip":
		addrs, err = n.r.LookupIP(ctx, host)
	default:
		return nil, &net.DNSError{Err: "unsupported network " + network, Name: host}
	}
	return addrs, netError(err, host)
}

// LookupIPAddr returns the IPv4 and IPv6 addresses of host.
func (n *NetResolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	addrs, err := n.LookupNetIP(ctx, "ip", host)
	return each(addrs, err, func(a netip.Addr) net.IPAddr { return net.IPAddr{IP: a.AsSlice(), Zone: a.Zone()} })
}

// LookupIP returns the addresses of host for network "ip", "ip4" or "ip6".
func (n *NetResolver) LookupIP(ctx context.Context, network, host string) ([]net.IP, error) {
	addrs, err := n.LookupNetIP(ctx, network, host)
	return each(addrs, err, func(a netip.Addr) net.IP { return a.AsSlice() })
}

// LookupHost returns the addresses of host as strings.
func (n *NetResolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	addrs, err := n.LookupNetIP(ctx, "ip", host)
	return each(addrs, err, netip.Addr.String)
}

// LookupAddr returns the names of the address addr (reverse lookup).
func (n *NetResolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	names, err := n.r.LookupPTR(ctx, ip)
	if err != nil {
		return nil, netError(err, addr)
	}
	for i, s := range names {
		names[i] = fqdn(s)
	}
	return names, nil
}
