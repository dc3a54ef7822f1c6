// Package dnsname answers, once for the whole library, "is this a host
// name?" and maps an internationalised name to the ASCII form DNS carries.
// The DNS lists, the link checks and the hygiene checks all ask it, so a
// name one of them accepts the others accept too.
//
// It imports nothing of ours, so every floor can use it.
package dnsname

import (
	"strings"

	"golang.org/x/net/idna"
)

// MaxLength is the longest name, in octets without the trailing dot, that
// fits a DNS query (RFC 1035 2.3.4).
const MaxLength = 253

// MaxLabel is the longest label (RFC 1035 2.3.4).
const MaxLabel = 63

// profile is the one IDNA profile: UTS #46 mapping for lookup (case
// folding, full-width dots, NFC) with the bidi rule, nontransitional as
// browsers and IDNA2008 read "ß", but without the STD3 letter-digit-hyphen
// restriction, because real host names carry underscores and a name that
// passes in ASCII must not fail once it holds a U-label. It holds no state
// and is never changed.
var profile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.StrictDomainName(false), idna.Transitional(false))

// ToASCII returns name as a lookup sends it: lower case, U-labels turned
// into A-labels, without trailing dots. A name in ASCII is only lower-cased.
// It fails on a name IDNA refuses; the result still needs Valid.
func ToASCII(name string) (string, error) {
	if isASCII(name) {
		return strings.TrimRight(strings.ToLower(name), "."), nil
	}
	a, err := profile.ToASCII(name)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(strings.ToLower(a), "."), nil
}

// Valid reports whether name (ASCII, without a trailing dot) is a host name
// as lookups meet them: 1 to MaxLength octets in labels of 1 to MaxLabel
// letters, digits, hyphens and underscores. Upper case passes. It is looser
// than RFC 5321's Domain (see the envelope package), which SMTP commands
// must follow but links and list zones need not.
func Valid(name string) bool {
	if name == "" || len(name) > MaxLength {
		return false
	}
	label := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
			continue
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
		label++
		if label > MaxLabel {
			return false
		}
	}
	return label > 0
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
