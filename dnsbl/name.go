package dnsbl

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/smtpcheck/dnsname"
)

// Errors of the query-name builders.
var (
	// ErrBadIP means the address is not a valid IP address.
	ErrBadIP = errors.New("dnsbl: invalid IP address")
	// ErrBadDomain means a name is not a domain that a list can be asked
	// about: empty, a single label, an address literal, an IDN that does
	// not convert, or a label with characters outside letters, digits,
	// hyphen and underscore (which keeps a hostile HELO name from
	// injecting labels or escapes into the query).
	ErrBadDomain = errors.New("dnsbl: not a valid domain name")
	// ErrBadZone means a list's zone is not a valid DNS name.
	ErrBadZone = errors.New("dnsbl: invalid zone name")
	// ErrNameTooLong means the query name would pass 253 octets.
	ErrNameTooLong = errors.New("dnsbl: query name too long")
)

// ReverseIP returns the RFC 5782 label sequence for ip, without a zone:
// "2.0.0.127" for 127.0.0.2, and for IPv6 the 32 nibbles of the address,
// least significant first ("1.0.0.0.…8.b.d.0.1.0.0.2"). An IPv4-mapped
// IPv6 address gives its IPv4 form, as lists publish IPv4 clients only
// under IPv4 names.
func ReverseIP(ip netip.Addr) string {
	var buf [72]byte
	return string(appendReverse(buf[:0], ip.Unmap()))
}

func appendReverse(b []byte, ip netip.Addr) []byte {
	if ip.Is4() {
		a := ip.As4()
		for i := 3; i >= 0; i-- {
			v := a[i]
			if v >= 100 {
				b = append(b, '0'+v/100)
			}
			if v >= 10 {
				b = append(b, '0'+v/10%10)
			}
			b = append(b, '0'+v%10)
			if i > 0 {
				b = append(b, '.')
			}
		}
		return b
	}
	const hex = "0123456789abcdef"
	a := ip.As16()
	for i := 15; i >= 0; i-- {
		b = append(b, hex[a[i]&0xf], '.', hex[a[i]>>4])
		if i > 0 {
			b = append(b, '.')
		}
	}
	return b
}

// IPQueryName returns the fully qualified name to look up for ip in zone,
// such as "2.0.0.127.zen.example.". IPv4-mapped IPv6 addresses are asked
// as IPv4; zone is validated and lower-cased.
func IPQueryName(ip netip.Addr, zone string) (string, error) {
	if !ip.IsValid() {
		return "", ErrBadIP
	}
	z, err := canonZone(zone)
	if err != nil {
		return "", err
	}
	return ipQuery(ip.Unmap(), z), nil
}

// ipQuery builds the query name for a valid, unmapped ip and a canonical
// zone (lower case, no trailing dot).
func ipQuery(ip netip.Addr, zone string) string {
	var buf [128]byte
	b := appendReverse(buf[:0], ip.WithZone(""))
	b = append(b, '.')
	b = append(b, zone...)
	b = append(b, '.')
	return string(b)
}

// DomainQueryName returns the fully qualified name to look up for domain
// in the domain list (RHSBL) zone, such as "spam.example.dbl.example.".
// The domain is normalised with [NormalizeDomain], except for the test
// names of RFC 5782 section 5, TEST and INVALID (any case, with or without
// the root dot): single labels that every domain list must list (TEST) or
// must not list (INVALID), asked as "test.dbl.example." and
// "invalid.dbl.example." so that a list's health can be checked. ClientLists's
// evaluations still refuse them: a client that names itself TEST is not
// asked about.
func DomainQueryName(domain, zone string) (string, error) {
	d, ok := testDomain(domain)
	if !ok {
		var err error
		if d, err = NormalizeDomain(domain); err != nil {
			return "", err
		}
	}
	z, err := canonZone(zone)
	if err != nil {
		return "", err
	}
	return domainQuery(d, z)
}

// RFC 5782 section 5 test names of domain lists.
const (
	TestListedDomain    = "test"    // every domain list lists it
	TestNotListedDomain = "invalid" // no domain list lists it
)

// testDomain returns the RFC 5782 test name domain is, in lower case.
func testDomain(domain string) (string, bool) {
	d := strings.TrimSuffix(domain, ".")
	switch {
	case strings.EqualFold(d, TestListedDomain):
		return TestListedDomain, true
	case strings.EqualFold(d, TestNotListedDomain):
		return TestNotListedDomain, true
	}
	return "", false
}

func domainQuery(domain, zone string) (string, error) {
	if len(domain)+1+len(zone) > 253 {
		return "", fmt.Errorf("%w: %s.%s", ErrNameTooLong, domain, zone)
	}
	return domain + "." + zone + ".", nil
}

// NormalizeDomain returns domain as a list expects it: lower case, without
// a trailing dot, internationalised labels in their ASCII (A-label) form.
// It fails with ErrBadDomain for anything else: an address literal such as
// "[192.0.2.1]" or a bare IP address, a single label such as "localhost",
// an empty label, a label over 63 octets, or any octet other than a
// letter, digit, hyphen or underscore.
func NormalizeDomain(domain string) (string, error) {
	d := strings.TrimSuffix(domain, ".")
	if d == "" || len(d) > 253 {
		return "", fmt.Errorf("%w: %q", ErrBadDomain, domain)
	}
	d, err := dnsname.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadDomain, domain, err)
	}
	if !dnsname.Valid(d) {
		return "", fmt.Errorf("%w: %q", ErrBadDomain, domain)
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return "", fmt.Errorf("%w: %q is an address", ErrBadDomain, domain)
	}
	if !strings.Contains(d, ".") {
		return "", fmt.Errorf("%w: %q has one label", ErrBadDomain, domain)
	}
	// A name whose last label is all digits is no domain (RFC 3696 2).
	last := d[strings.LastIndexByte(d, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return "", fmt.Errorf("%w: %q has a numeric top-level label", ErrBadDomain, domain)
	}
	return d, nil
}

// canonZone validates a zone and returns it in lower case without the
// trailing dot.
func canonZone(zone string) (string, error) {
	z := strings.ToLower(strings.TrimSuffix(zone, "."))
	if !dnsname.Valid(z) || len(z) > 253-len("0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.") {
		return "", fmt.Errorf("%w: %q", ErrBadZone, zone)
	}
	return z, nil
}
