// Package envelope is the RFC 5321 grammar of the SMTP envelope: the paths
// of MAIL FROM and RCPT TO with their parameters, and the argument of HELO
// and EHLO. It parses strictly and reports what it saw, so that a policy can
// choose which departures from the grammar to refuse (smtpf's
// rfc2821-* options) and which to let through.
//
// The package knows nothing of sessions or replies: it turns bytes from the
// network into values and typed errors, and never panics on any input.
package envelope

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Rule names the grammar rule an input broke. The names follow smtpf's
// options (rfc2821-local-length and so on) so that logs read the same.
type Rule string

// Rules reported by Error.
const (
	RuleSyntax       Rule = "syntax"        // does not parse at all
	RuleLineLength   Rule = "line-length"   // command longer than the limit
	RuleLocalLength  Rule = "local-length"  // local part longer than 64 octets
	RuleDomainLength Rule = "domain-length" // domain longer than 255 octets
	RuleLabelLength  Rule = "label-length"  // a domain label longer than 63 octets
	RulePathLength   Rule = "path-length"   // path longer than 256 octets, brackets included
	RuleStrictDot    Rule = "strict-dot"    // leading, trailing or doubled dot
	RuleNoDomain     Rule = "no-domain"     // an address without a domain other than postmaster, or postmaster after MAIL
	RuleParams       Rule = "params"        // malformed ESMTP parameters
	RuleEightBit     Rule = "8bit"          // non-ASCII without SMTPUTF8
)

// Error is a grammar error: the rule broken, the input and a short reason
// suitable for a reply ("local-part exceeds 64 octets").
type Error struct {
	Rule   Rule
	Input  string
	Reason string
}

// Error returns "envelope: <reason>: <input>".
func (e *Error) Error() string {
	return fmt.Sprintf("envelope: %s: %q", e.Reason, truncate(e.Input, 80))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// RuleOf returns the rule of an *Error in err's chain, or "" when there is none.
func RuleOf(err error) Rule {
	var e *Error
	if errors.As(err, &e) {
		return e.Rule
	}
	return ""
}

func errorf(rule Rule, input, format string, args ...any) *Error {
	return &Error{Rule: rule, Input: input, Reason: fmt.Sprintf(format, args...)}
}

// RFC 5321 section 4.5.3.1 limits.
const (
	MaxLocalLength  = 64
	MaxDomainLength = 255
	MaxLabelLength  = 63
	// MaxPathLength is the longest reverse-path or forward-path, angle
	// brackets and source route included (RFC 5321 section 4.5.3.1.3).
	MaxPathLength = 256
	// MaxPathLine is the longest "MAIL FROM:<path>" or "RCPT TO:<path>"
	// command without its parameters, excluding CRLF (512 octets with it).
	MaxPathLine = 510
)

// Options set the strictness of parsing. The zero value applies RFC 5321's
// length limits and accepts what RFC 5321 and common practice allow.
type Options struct {
	// SMTPUTF8 allows UTF-8 in local parts and domains (RFC 6531): the
	// client gave the SMTPUTF8 parameter.
	SMTPUTF8 bool
	// MaxLocal, MaxDomain and MaxLabel override the RFC limits; zero means
	// the RFC's value, a negative number turns the limit off.
	MaxLocal, MaxDomain, MaxLabel int
	// MaxPath overrides MaxPathLength, the limit on the whole path with its
	// angle brackets; zero means the RFC's 256 octets, negative turns it off.
	MaxPath int
	// MaxLine limits the command up to and including the path (parameters
	// excluded, as extensions lengthen the line); zero means MaxPathLine,
	// negative turns it off.
	MaxLine int
	// StrictDots refuses a local part with a leading, trailing or doubled
	// dot. Off by default: some large providers hand out such addresses and
	// every common MTA accepts them.
	StrictDots bool
}

func limit(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Path is a parsed reverse-path or forward-path.
type Path struct {
	// Local is the local part as sent (a quoted local part keeps its quotes).
	Local string
	// Domain is the domain as sent; an address literal keeps its brackets.
	Domain string
	// Route holds the hosts of an RFC 5321 source route (@a,@b:), which
	// servers must accept and ignore.
	Route []string
	// Quoted is true when the local part is a quoted-string.
	Quoted bool
	// Literal is the address of an IPv4 or IPv6 address literal domain.
	Literal netip.Addr
	// Null is true for the null path <>.
	Null bool
}

// String returns local@domain, or "" for the null path.
func (p Path) String() string {
	if p.Null {
		return ""
	}
	if p.Domain == "" {
		return p.Local
	}
	return p.Local + "@" + p.Domain
}

// Postmaster reports the special recipient <postmaster> without a domain
// (RFC 5321 section 4.1.1.3), which every server must accept.
func (p Path) Postmaster() bool { return p.Domain == "" && strings.EqualFold(p.Local, "postmaster") }

// Unquoted returns the local part with its quotes and quoted-pairs removed.
func (p Path) Unquoted() string {
	if !p.Quoted {
		return p.Local
	}
	s := p.Local[1 : len(p.Local)-1]
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// PercentHack reports a local part carrying a routed address, such as
// user%other.example@relay.example: the percent hack of old relays (smtpf
// reject-percent-relay).
func (p Path) PercentHack() bool { return strings.IndexByte(p.Unquoted(), '%') >= 0 }

// BangPath reports a UUCP bang path in the local part, such as
// host!user@relay.example (smtpf reject-uucp-route).
func (p Path) BangPath() bool { return strings.IndexByte(p.Unquoted(), '!') >= 0 }

// QuotedAt reports an at-sign inside a quoted local part, such as
// "user@other.example"@relay.example (smtpf reject-quoted-at-sign).
func (p Path) QuotedAt() bool { return p.Quoted && strings.IndexByte(p.Local, '@') >= 0 }

// ParsePath parses a path in angle brackets, "<user@example.org>", "<>",
// "<postmaster>" or "<@relay.example:user@example.org>".
func ParsePath(s string, o Options) (Path, error) {
	if len(s) < 2 || s[0] != '<' || s[len(s)-1] != '>' {
		return Path{}, errorf(RuleSyntax, s, "path must be enclosed in angle brackets")
	}
	return parseMailbox(s[1:len(s)-1], s, o)
}

// ParseParts parses the path a local part and a domain make, as split by
// smtpcheck.ParseAddress: it returns what ParsePath returns for
// "<local@domain>" ("<local>" when domain is empty), errors included, but
// does not build that string for an ordinary address, so that checking
// each recipient of a message allocates nothing.
func ParseParts(local, domain string, o Options) (Path, error) {
	if p, ok := parseParts(local, domain, o); ok {
		return p, nil
	}
	path := "<" + local + ">"
	if domain != "" {
		path = "<" + local + "@" + domain + ">"
	}
	return ParsePath(path, o)
}

// parseParts is ParseParts for a dot-string local part that parses without
// error; ok is false for anything else, which the caller parses whole.
func parseParts(local, domain string, o Options) (Path, bool) {
	if local == "" || local[0] == '@' || local[0] == '"' {
		return Path{}, false
	}
	l, rest, err := scanLocal(local, "", o)
	if err != nil || rest != "" {
		return Path{}, false
	}
	p := Path{Local: l}
	// The path ParsePath would see: "<local>" or "<local@domain>".
	n := len(local) + 2
	if domain != "" {
		n += len(domain) + 1
	}
	if max := limit(o.MaxPath, MaxPathLength); max > 0 && n > max {
		return Path{}, false
	}
	if domain == "" {
		return p, strings.EqualFold(l, "postmaster")
	}
	if max := limit(o.MaxLocal, MaxLocalLength); max > 0 && len(l) > max {
		return Path{}, false
	}
	if strings.HasPrefix(domain, "[") || checkDomain(domain, "", o) != nil {
		return Path{}, false
	}
	p.Domain = domain
	return p, true
}

// ParseAddress parses a mailbox without angle brackets, user@example.org.
func ParseAddress(s string, o Options) (Path, error) {
	if s == "" {
		return Path{}, errorf(RuleSyntax, s, "empty address")
	}
	return parseMailbox(s, s, o)
}

// parseMailbox parses the inside of a path, in, and checks the length of
// the path it makes with its angle brackets after the parts' own limits, so
// that the more precise rule (a local part or a domain too long) is the one
// reported.
func parseMailbox(in, orig string, o Options) (Path, error) {
	p, err := parseMailboxParts(in, orig, o)
	if err != nil {
		return Path{}, err
	}
	if max := limit(o.MaxPath, MaxPathLength); max > 0 && len(in)+2 > max {
		return Path{}, errorf(RulePathLength, orig, "path exceeds %d octets", max)
	}
	return p, nil
}

func parseMailboxParts(in, orig string, o Options) (Path, error) {
	var p Path
	if in == "" {
		p.Null = true
		return p, nil
	}
	// Source route: @a,@b:mailbox.
	if in[0] == '@' {
		i := strings.IndexByte(in, ':')
		if i < 0 {
			return Path{}, errorf(RuleSyntax, orig, "source route without colon")
		}
		for _, h := range strings.Split(in[:i], ",") {
			if len(h) < 2 || h[0] != '@' {
				return Path{}, errorf(RuleSyntax, orig, "malformed source route")
			}
			if err := checkDomain(h[1:], orig, o); err != nil {
				return Path{}, err
			}
			p.Route = append(p.Route, h[1:])
		}
		in = in[i+1:]
	}
	local, rest, err := scanLocal(in, orig, o)
	if err != nil {
		return Path{}, err
	}
	p.Local = local
	p.Quoted = local[0] == '"'
	if rest == "" {
		if !strings.EqualFold(local, "postmaster") {
			return Path{}, errorf(RuleNoDomain, orig, "address has no domain")
		}
		return p, nil
	}
	if rest[0] != '@' {
		return Path{}, errorf(RuleSyntax, orig, "unexpected %q after local part", rest[0])
	}
	if max := limit(o.MaxLocal, MaxLocalLength); max > 0 && len(local) > max {
		return Path{}, errorf(RuleLocalLength, orig, "local-part exceeds %d octets", max)
	}
	p.Domain = rest[1:]
	if strings.HasPrefix(p.Domain, "[") {
		a, err := parseLiteral(p.Domain, orig)
		if err != nil {
			return Path{}, err
		}
		p.Literal = a
		return p, nil
	}
	if err := checkDomain(p.Domain, orig, o); err != nil {
		return Path{}, err
	}
	return p, nil
}

// scanLocal reads a dot-string or quoted-string local part and returns it
// and what follows.
func scanLocal(s, orig string, o Options) (local, rest string, err error) {
	if s == "" {
		return "", "", errorf(RuleSyntax, orig, "empty local part")
	}
	if s[0] == '"' {
		for i := 1; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\':
				i++
				if i >= len(s) || s[i] < 32 || s[i] > 126 {
					return "", "", errorf(RuleSyntax, orig, "bad quoted-pair in local part")
				}
			case c == '"':
				if i == 1 {
					return "", "", errorf(RuleSyntax, orig, "empty quoted local part")
				}
				return s[:i+1], s[i+1:], nil
			case c >= 0x80:
				if !o.SMTPUTF8 {
					return "", "", errorf(RuleEightBit, orig, "8-bit local part without SMTPUTF8")
				}
			case c < 32 || c > 126:
				return "", "", errorf(RuleSyntax, orig, "control character in local part")
			}
		}
		return "", "", errorf(RuleSyntax, orig, "unterminated quoted local part")
	}
	i := 0
	prevDot := true // a leading dot counts as doubled
	for ; i < len(s); i++ {
		c := s[i]
		if c == '@' {
			break
		}
		if c == '.' {
			if prevDot && o.StrictDots {
				return "", "", errorf(RuleStrictDot, orig, "local-part has a leading or doubled dot")
			}
			prevDot = true
			continue
		}
		prevDot = false
		if c >= 0x80 {
			if !o.SMTPUTF8 {
				return "", "", errorf(RuleEightBit, orig, "8-bit local part without SMTPUTF8")
			}
			continue
		}
		if !isAtext(c) {
			return "", "", errorf(RuleSyntax, orig, "invalid character %q in local part", c)
		}
	}
	if i == 0 {
		return "", "", errorf(RuleSyntax, orig, "empty local part")
	}
	if prevDot && o.StrictDots {
		return "", "", errorf(RuleStrictDot, orig, "local-part ends with a dot")
	}
	if o.SMTPUTF8 && !utf8.ValidString(s[:i]) {
		return "", "", errorf(RuleSyntax, orig, "invalid UTF-8 in local part")
	}
	return s[:i], s[i:], nil
}

// atext of RFC 5322 section 3.2.3.
var atextTable = func() (t [128]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~" {
		t[c] = true
	}
	return t
}()

func isAtext(c byte) bool { return c < 128 && atextTable[c] }

// IsAtext reports whether c is an atext character of RFC 5322 section
// 3.2.3: a letter, a digit or one of !#$%&'*+-/=?^_`{|}~.
func IsAtext(c byte) bool { return isAtext(c) }

func isLetDig(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// checkDomain checks an RFC 5321 Domain: LDH labels (or, with SMTPUTF8,
// U-labels) of at most 63 octets, 255 in all. A single trailing dot (the
// root) is tolerated.
func checkDomain(d, orig string, o Options) error {
	if d == "" {
		return errorf(RuleSyntax, orig, "empty domain")
	}
	if max := limit(o.MaxDomain, MaxDomainLength); max > 0 && len(d) > max {
		return errorf(RuleDomainLength, orig, "domain exceeds %d octets", max)
	}
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return errorf(RuleSyntax, orig, "empty domain")
	}
	maxLabel := limit(o.MaxLabel, MaxLabelLength)
	for label := range strings.SplitSeq(d, ".") {
		if label == "" {
			return errorf(RuleStrictDot, orig, "domain has an empty label")
		}
		if maxLabel > 0 && len(label) > maxLabel {
			return errorf(RuleLabelLength, orig, "domain label exceeds %d octets", maxLabel)
		}
		if err := checkLabel(label, orig, o.SMTPUTF8); err != nil {
			return err
		}
	}
	return nil
}

func checkLabel(label, orig string, utf bool) error {
	eight := false
	for j := 0; j < len(label); j++ {
		c := label[j]
		switch {
		case c >= 0x80:
			if !utf {
				return errorf(RuleEightBit, orig, "8-bit domain without SMTPUTF8")
			}
			eight = true
		case isLetDig(c):
		case c == '-':
			if j == 0 || j == len(label)-1 {
				return errorf(RuleSyntax, orig, "domain label begins or ends with a hyphen")
			}
		default:
			return errorf(RuleSyntax, orig, "invalid character %q in domain", c)
		}
	}
	if eight && !utf8.ValidString(label) {
		return errorf(RuleSyntax, orig, "invalid UTF-8 in domain")
	}
	return nil
}

// ValidDomain reports whether d is a syntactically valid domain under o:
// RFC 5321's Domain, the grammar SMTP commands follow (no underscore, no
// hyphen at a label's ends). Names met outside commands (links, list
// zones) are judged by the looser dnsname.Valid.
func ValidDomain(d string, o Options) error { return checkDomain(d, d, o) }

// parseLiteral parses an address literal in brackets: [192.0.2.1],
// [IPv6:2001:db8::1] or a general literal [tag:content], which parses but
// yields no address.
func parseLiteral(s, orig string) (netip.Addr, error) {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return netip.Addr{}, errorf(RuleSyntax, orig, "malformed address literal")
	}
	in := s[1 : len(s)-1]
	if len(in) > 5 && strings.EqualFold(in[:5], "IPv6:") {
		a, err := netip.ParseAddr(in[5:])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, errorf(RuleSyntax, orig, "malformed IPv6 address literal")
		}
		return a, nil
	}
	if _, err := netip.ParseAddr(in); err == nil && strings.IndexByte(in, ':') >= 0 {
		return netip.Addr{}, errorf(RuleSyntax, orig, "IPv6 address literal without the IPv6: tag")
	}
	if i := strings.IndexByte(in, ':'); i > 0 {
		// General-address-literal: Standardized-tag ":" 1*dcontent.
		for j := 0; j < i; j++ {
			if !isLetDig(in[j]) && in[j] != '-' {
				return netip.Addr{}, errorf(RuleSyntax, orig, "malformed address literal tag")
			}
		}
		if i == len(in)-1 {
			return netip.Addr{}, errorf(RuleSyntax, orig, "empty address literal")
		}
		for j := i + 1; j < len(in); j++ {
			if c := in[j]; c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
				return netip.Addr{}, errorf(RuleSyntax, orig, "malformed address literal")
			}
		}
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(in)
	if err != nil || !a.Is4() {
		return netip.Addr{}, errorf(RuleSyntax, orig, "malformed IPv4 address literal")
	}
	return a, nil
}

// ParseLiteral parses an address literal such as "[192.0.2.1]" or
// "[IPv6:2001:db8::1]"; a general literal ("[x-tag:...]") parses with an
// invalid Addr.
func ParseLiteral(s string) (netip.Addr, error) { return parseLiteral(s, s) }
