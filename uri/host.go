package uri

import (
	"errors"
	"net/netip"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/smtppolicy/smtppolicy/smtpcheck/dnsname"
)

// Kind says how a host was written in the message.
type Kind uint8

// Kinds of host mention.
const (
	KindURL  Kind = iota + 1 // a URL with a scheme: http://host/ (or //host/ in HTML)
	KindWWW                  // a schemeless www. host: www.example.com/offer
	KindBare                 // a bare domain with a known public suffix: example.com
	KindMail                 // the domain of a mail address: mailto:a@example.com, a@example.com
	KindBase                 // an HTML <base href>, which relative links resolve against
)

var kindNames = [...]string{"", "url", "www", "bare", "mail", "base"}

// String returns the kind's name, such as "url".
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "kind?"
}

// Host is one host a message links to, normalised: lower case, punycode for
// internationalised names, no trailing dot, numeric IPv4 forms (decimal, hex,
// octal, short) rewritten as a dotted quad, IPv6 without brackets.
type Host struct {
	// Name is the normalised host name, or the IP address in text form.
	Name string
	// IP is the address when the host is an IP literal, else the zero Addr.
	IP netip.Addr
	// Domain is the registered domain (public suffix plus one label, such as
	// "example.co.uk"); empty for IP hosts.
	Domain string
	// Kind says how the host was written.
	Kind Kind
	// Part is the 1-based number of the MIME part the host was first found
	// in, in the order parts appear in the message.
	Part int
	// Where is "text" for a host in text, or the HTML attribute it came from
	// ("href", "src", "action", ...).
	Where string
	// URL is the text the host was first found in (the URL, address or
	// domain), cut to 256 bytes.
	URL string
}

// IsIP reports an IP-literal host.
func (h Host) IsIP() bool { return h.IP.IsValid() }

// Errors of host parsing; a URL whose host fails with one of them is broken.
var (
	ErrEmptyHost   = errors.New("uri: empty host")
	ErrBadHost     = errors.New("uri: invalid host name")
	ErrBadIP       = errors.New("uri: invalid IP address")
	ErrHostTooLong = errors.New("uri: host name too long")
)

// ParseHost normalises one host as a browser would read it from a URL's
// authority (without userinfo or port): percent-encoding, IDN, upper case,
// trailing dots, IPv6 with or without brackets, and the decimal, hex, octal and short IPv4
// forms that browsers accept ("0x7f.1", "2130706433", "0177.0.0.1").
func ParseHost(s string) (Host, error) {
	if strings.IndexByte(s, '%') >= 0 {
		d, ok := percentDecode(s)
		if !ok {
			return Host{}, ErrBadHost
		}
		s = d
	}
	if s == "" {
		return Host{}, ErrEmptyHost
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return Host{}, ErrBadIP
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() {
			return Host{}, ErrBadIP
		}
		a = a.WithZone("").Unmap()
		return Host{Name: a.String(), IP: a}, nil
	}
	if strings.IndexByte(s, ':') >= 0 {
		// An IPv6 address without brackets, as Host.Name holds it.
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() {
			return Host{}, ErrBadHost
		}
		a = a.WithZone("").Unmap()
		return Host{Name: a.String(), IP: a}, nil
	}
	for len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if s == "" {
		return Host{}, ErrEmptyHost
	}
	name, ok := asciiLower(s)
	if !ok {
		var err error
		name, err = dnsname.ToASCII(s)
		if err != nil || name == "" {
			return Host{}, ErrBadHost
		}
	}
	if endsInNumber(name) {
		a, ok := parseIPv4(name)
		if !ok {
			return Host{}, ErrBadIP
		}
		return Host{Name: a.String(), IP: a}, nil
	}
	if len(name) > dnsname.MaxLength {
		return Host{}, ErrHostTooLong
	}
	if !dnsname.Valid(name) {
		return Host{}, ErrBadHost
	}
	return Host{Name: name, Domain: registeredDomain(name)}, nil
}

// registeredDomain returns the public suffix plus one label, or "" when the
// name is itself a public suffix or has a single label.
func registeredDomain(name string) string {
	if strings.IndexByte(name, '.') < 0 {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return ""
	}
	return d
}

// knownSuffix reports whether name ends in a suffix listed in the public
// suffix list (ICANN or private), rather than the list's catch-all rule.
func knownSuffix(name string) bool {
	ps, icann := publicsuffix.PublicSuffix(name)
	return icann || strings.IndexByte(ps, '.') >= 0
}

// asciiLower lower-cases an ASCII host; ok is false when s has bytes outside
// ASCII, which need IDNA mapping.
func asciiLower(s string) (string, bool) {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return "", false
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if !upper {
		return s, true
	}
	return strings.ToLower(s), true
}

// endsInNumber is the WHATWG URL test that makes a host an IPv4 address: its
// last label is decimal digits or 0x followed by hex digits.
func endsInNumber(s string) bool {
	last := s
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		last = s[i+1:]
	}
	if last == "" {
		return false
	}
	if allDigits(last) {
		return true
	}
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		for i := 2; i < len(last); i++ {
			if !isHex(last[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// parseIPv4 parses the IPv4 forms of the WHATWG URL standard: one to four
// parts, each decimal, 0x-hex or 0-octal, the last filling the bytes left.
func parseIPv4(s string) (netip.Addr, bool) {
	var parts [4]uint64
	n := 0
	for {
		i := strings.IndexByte(s, '.')
		p := s
		if i >= 0 {
			p = s[:i]
		}
		if n == 4 {
			return netip.Addr{}, false
		}
		v, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		parts[n] = v
		n++
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	var ip uint64
	for i := 0; i < n-1; i++ {
		if parts[i] > 255 {
			return netip.Addr{}, false
		}
		ip |= parts[i] << (8 * (3 - i))
	}
	last := parts[n-1]
	if last >= 1<<(8*(5-n)) {
		return netip.Addr{}, false
	}
	ip |= last
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}

func parseIPv4Part(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	}
	var v uint64
	for i := 0; i < len(p); i++ {
		var d uint64
		c := p[i]
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		v = v*base + d
		if v > 1<<32 {
			return 0, false
		}
	}
	return v, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// percentDecode decodes %XX escapes; a '%' not followed by two hex digits
// makes the host invalid, as it does in browsers.
func percentDecode(s string) (string, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
		i += 2
	}
	return string(b), true
}

// splitAuthority takes the text after "scheme://" and returns the host part
// of its authority: up to the first '/', '\' (which browsers read as '/'),
// '?' or '#', after the last '@' (userinfo) and without a port.
func splitAuthority(s string) string {
	end := len(s)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '/', '\\', '?', '#':
			end = i
		}
		if end != len(s) {
			break
		}
	}
	s = s[:end]
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i >= 0 {
			return s[:i+1]
		}
		return s
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && allDigitsOrEmpty(s[i+1:]) {
		s = s[:i]
	}
	return s
}

func allDigitsOrEmpty(s string) bool { return s == "" || allDigits(s) }
