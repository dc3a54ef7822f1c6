package hygiene

import (
	"bufio"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"golang.org/x/net/publicsuffix"

	"github.com/smtppolicy/smtppolicy/smtpcheck/dnsname"
)

//go:embed tlds-alpha-by-domain.txt
var embeddedTLDs string

// TLDs is a set of top-level domains, such as IANA's list of the root zone.
// It is read-only once built and safe for concurrent use.
type TLDs struct {
	set map[string]struct{}
	// psl also accepts a TLD the Public Suffix List compiled into
	// golang.org/x/net knows as an ICANN suffix: it covers TLDs delegated
	// after the embedded list was made, and is refreshed with x/net.
	psl bool
}

// ErrTLDList reports a TLD list that does not look like IANA's
// tlds-alpha-by-domain.txt.
var ErrTLDList = errors.New("hygiene: malformed TLD list")

// ParseTLDs reads a list in the format of IANA's tlds-alpha-by-domain.txt:
// one TLD a line (A-labels for IDN TLDs), '#' comments. A program refreshes
// its list by fetching that file now and then and passing the result in the
// checks' Config. Lines longer than 63 octets or with characters no TLD has
// are an error, so a truncated or wrong download is not taken for a list.
func ParseTLDs(r io.Reader) (*TLDs, error) {
	t := &TLDs{set: make(map[string]struct{}, 1600)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024), 1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if len(line) > 63 {
			return nil, fmt.Errorf("%w: line %d too long", ErrTLDList, n)
		}
		for i := 0; i < len(line); i++ {
			c := line[i] | 0x20
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return nil, fmt.Errorf("%w: line %d: invalid character %q", ErrTLDList, n, line[i])
			}
		}
		t.set[strings.ToLower(line)] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTLDList, err)
	}
	if len(t.set) == 0 {
		return nil, fmt.Errorf("%w: no TLDs", ErrTLDList)
	}
	return t, nil
}

var defaultTLDs = sync.OnceValue(func() *TLDs {
	t, err := ParseTLDs(strings.NewReader(embeddedTLDs))
	if err != nil {
		panic("hygiene: embedded TLD list: " + err.Error())
	}
	t.psl = true
	return t
})

// DefaultTLDs returns the embedded list of the root zone's TLDs, extended by
// the ICANN section of the Public Suffix List in golang.org/x/net.
func DefaultTLDs() *TLDs { return defaultTLDs() }

// Len returns the number of TLDs in the list.
func (t *TLDs) Len() int { return len(t.set) }

// Known reports whether the last label of domain is a known TLD. The
// domain may be in any case, with a trailing dot, in A-label or U-label
// form.
func (t *TLDs) Known(domain string) bool {
	tld := lastLabel(domain)
	if tld == "" {
		return false
	}
	if _, ok := t.set[tld]; ok {
		return true
	}
	if !isASCII(tld) {
		if a, err := dnsname.ToASCII(tld); err == nil {
			if _, ok := t.set[a]; ok {
				return true
			}
		}
	}
	if t.psl {
		_, icann := publicsuffix.PublicSuffix("x." + tld)
		return icann
	}
	return false
}

// lastLabel returns the lower-case last label of a domain.
func lastLabel(d string) string {
	d = strings.TrimSuffix(d, ".")
	if i := strings.LastIndexByte(d, '.'); i >= 0 {
		d = d[i+1:]
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(d)
		}
	}
	return d
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
