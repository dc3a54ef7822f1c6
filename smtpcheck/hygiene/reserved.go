package hygiene

import (
	"strings"
)

// DefaultReserved returns the special-use names no real mail host or mail
// domain uses: RFC 2606 (test, example, invalid, localhost and
// example.com/.net/.org), RFC 6761, RFC 6762 (local), RFC 7686 (onion),
// RFC 8375 (home.arpa), RFC 9476 (alt) and ICANN's internal.
func DefaultReserved() []string { return append([]string(nil), defaultReserved[:]...) }

var defaultReserved = [...]string{
	"test", "example", "invalid", "localhost",
	"example.com", "example.net", "example.org",
	"local", "onion", "home.arpa", "alt", "internal",
}

// Reserved decides whether a domain is reserved: it or one of its parents
// is in the list. Build it with NewReserved; the zero value uses
// DefaultReserved().
type Reserved struct {
	names map[string]struct{}
}

// NewReserved returns the set of DefaultReserved() plus extra, less allow (an
// administrator who uses ".internal" or ".local" for real hosts allows it).
func NewReserved(extra, allow []string) Reserved {
	r := Reserved{names: make(map[string]struct{}, len(defaultReserved)+len(extra))}
	for _, n := range append(DefaultReserved(), extra...) {
		r.names[normDomain(n)] = struct{}{}
	}
	for _, n := range allow {
		delete(r.names, normDomain(n))
	}
	return r
}

// Match returns the reserved name that domain is or is under, or "".
func (r Reserved) Match(domain string) string {
	d := normDomain(domain)
	if d == "" {
		return ""
	}
	if r.names == nil {
		for _, n := range defaultReserved {
			// d is n or ends in "." + n, compared in place; the last
			// byte turns most names away at once.
			if d[len(d)-1] != n[len(n)-1] {
				continue
			}
			if d == n || len(d) > len(n) && d[len(d)-len(n)-1] == '.' && d[len(d)-len(n):] == n {
				return n
			}
		}
		return ""
	}
	for {
		if _, ok := r.names[d]; ok {
			return d
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return ""
		}
		d = d[i+1:]
	}
}

// normDomain lower-cases a domain and strips a trailing dot, without
// allocating when there is nothing to change.
func normDomain(d string) string {
	d = strings.TrimSuffix(d, ".")
	for i := 0; i < len(d); i++ {
		if c := d[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(d)
		}
	}
	return d
}
