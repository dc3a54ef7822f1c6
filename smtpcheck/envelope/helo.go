package envelope

import (
	"net/netip"
	"strings"
)

// HeloKind classifies a HELO or EHLO argument.
type HeloKind uint8

// HELO argument kinds.
const (
	HeloInvalid HeloKind = iota // does not parse as any of the below
	HeloFQDN                    // a domain of two or more labels, such as mx.example.org
	HeloDotless                 // a single label, such as "localhost" or "PC-1234"
	HeloLiteral                 // an address literal, such as [192.0.2.1] or [IPv6:2001:db8::1]
	HeloBareIP                  // an IP address without brackets, such as 192.0.2.1
)

var heloKindNames = [...]string{"invalid", "fqdn", "dotless", "literal", "bare-ip"}

// String returns the kind's name, such as "fqdn".
func (k HeloKind) String() string {
	if int(k) < len(heloKindNames) {
		return heloKindNames[k]
	}
	return "helo-kind"
}

// Helo is a parsed HELO or EHLO argument.
type Helo struct {
	Name string // as sent
	Kind HeloKind
	// Addr is the address of a literal or bare IP argument.
	Addr netip.Addr
}

// Domain returns the argument in lower case without a trailing dot, for
// domain kinds, and "" otherwise.
func (h Helo) Domain() string {
	if h.Kind != HeloFQDN && h.Kind != HeloDotless {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(h.Name), ".")
}

// BadHeloChar returns the first byte of s outside the set smtpf allows in a
// HELO argument (letters, digits, hyphen, underscore, dot, square brackets
// and, inside brackets, the colon of IPv6 literals) and its index, or -1.
func BadHeloChar(s string) (byte, int) {
	inLiteral := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isLetDig(c), c == '-', c == '_', c == '.':
		case c == '[':
			inLiteral = true
		case c == ']':
			inLiteral = false
		case c == ':' && inLiteral:
		default:
			return c, i
		}
	}
	return 0, -1
}

// ParseHelo classifies a HELO or EHLO argument. Underscores are tolerated
// in domain labels (Windows hosts send them); anything else outside the LDH
// rule, an empty label or a name longer than 255 octets is HeloInvalid with
// an *Error.
func ParseHelo(s string) (Helo, error) {
	h := Helo{Name: s}
	if s == "" {
		return h, errorf(RuleSyntax, s, "empty HELO argument")
	}
	if len(s) > MaxDomainLength {
		return h, errorf(RuleDomainLength, s, "HELO argument exceeds %d octets", MaxDomainLength)
	}
	if s[0] == '[' {
		a, err := parseLiteral(s, s)
		if err != nil {
			return h, err
		}
		h.Kind, h.Addr = HeloLiteral, a
		return h, nil
	}
	if MaybeIP(s) {
		if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
			h.Kind, h.Addr = HeloBareIP, a
			return h, nil
		}
	}
	d := strings.TrimSuffix(s, ".")
	if d == "" {
		return h, errorf(RuleSyntax, s, "empty HELO argument")
	}
	labels := 0
	for label := range strings.SplitSeq(d, ".") {
		labels++
		if label == "" {
			return h, errorf(RuleStrictDot, s, "HELO argument has an empty label")
		}
		if len(label) > MaxLabelLength {
			return h, errorf(RuleLabelLength, s, "HELO label exceeds %d octets", MaxLabelLength)
		}
		for j := 0; j < len(label); j++ {
			c := label[j]
			if isLetDig(c) || c == '_' || (c == '-' && j > 0 && j < len(label)-1) {
				continue
			}
			if c >= 0x80 {
				return h, errorf(RuleEightBit, s, "8-bit HELO argument")
			}
			return h, errorf(RuleSyntax, s, "invalid character %q in HELO argument", c)
		}
	}
	if labels == 1 {
		h.Kind = HeloDotless
	} else {
		h.Kind = HeloFQDN
	}
	return h, nil
}

// MaybeIP reports whether s could be an IP address for netip.ParseAddr:
// it has a colon (IPv6) or only digits and dots (IPv4). A host name is
// neither, which spares it a failed parse and the error it allocates.
func MaybeIP(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ':':
			return true
		case c != '.' && (c < '0' || c > '9'):
			return strings.IndexByte(s[i:], ':') >= 0
		}
	}
	return true
}
