package hygiene

import (
	"context"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/envelope"
)

// Check names, as they appear in Reason.Check.
const (
	NameHeloChars      = "helo-chars"
	NameHeloFQDN       = "helo-fqdn"
	NameHeloIPMismatch = "helo-ip-mismatch"
	NameHeloClaimsUs   = "helo-claims-us"
	NameHeloReserved   = "helo-reserved"
	NameHeloUnknownTLD = "helo-unknown-tld"
	NameHeloIsPTR      = "helo-is-ptr"
	NameHeloChanged    = "helo-changed"
	NameHeloHostname   = "helo-hostname"
)

// heloDone reports whether the session has a HELO to look at.
func heloDone(s *smtpcheck.Session) bool { return s.Helo.Name != "" }

// HeloCharsConfig configures HeloChars.
type HeloCharsConfig struct {
	// RejectUnderscore refuses underscores, which RFC 1123 host names do
	// not have but Windows machines send; smtpf allows them.
	RejectUnderscore bool
}

// HeloChars refuses a HELO argument with characters no host name or
// address literal has: only letters, digits, hyphen, underscore, dot and
// square brackets (and the colons of an IPv6 literal) pass. 501 5.5.4
// (smtpf#423).
func HeloChars(cfg HeloCharsConfig) smtpcheck.Check { return heloCharsTest(cfg).check() }

func heloCharsTest(cfg HeloCharsConfig) test {
	return afterHelo(func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		bad, i := envelope.BadHeloChar(s.Helo.Name)
		if i < 0 && cfg.RejectUnderscore && !strings.HasPrefix(s.Helo.Name, "[") {
			if j := strings.IndexByte(s.Helo.Name, '_'); j >= 0 {
				bad, i = '_', j
			}
		}
		if i < 0 {
			return nil
		}
		return ptr(refuse(reply.HeloInvalid(s.Helo.Name), NameHeloChars, "smtpf#423", string(bad)))
	})
}

// HeloFQDNConfig configures HeloFQDN.
type HeloFQDNConfig struct {
	// AllowBareIP accepts an IP address without brackets (192.0.2.1),
	// which RFC 5321 does not allow but some appliances send.
	AllowBareIP bool
	// Allow lists dotless names to accept anyway.
	Allow []string
}

// HeloFQDN requires the HELO argument to be a fully-qualified domain name
// or an address literal (RFC 5321 4.1.1.1; smtpf rfc2821-strict-helo,
// Postfix reject_non_fqdn_helo_hostname and reject_invalid_helo_hostname).
// 550 5.7.0 (smtpf#428).
func HeloFQDN(cfg HeloFQDNConfig) smtpcheck.Check { return heloFQDNTest(cfg).check() }

func heloFQDNTest(cfg HeloFQDNConfig) test {
	return afterHelo(func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		h, err := envelope.ParseHelo(s.Helo.Name)
		switch {
		case err != nil:
		case h.Kind == envelope.HeloFQDN:
			return nil
		case h.Kind == envelope.HeloLiteral && h.Addr.IsValid():
			return nil
		case h.Kind == envelope.HeloBareIP && cfg.AllowBareIP:
			return nil
		case h.Kind == envelope.HeloDotless:
			for _, a := range cfg.Allow {
				if strings.EqualFold(a, h.Domain()) {
					return nil
				}
			}
		}
		return ptr(refuse(reply.HeloNotFQDN(s.Helo.Name), NameHeloFQDN, "rfc2821-strict-helo", h.Kind.String()))
	})
}

// HeloIPMismatchConfig configures HeloIPMismatch.
type HeloIPMismatchConfig struct {
	// IgnoreBareIP compares only bracketed literals, not bare IP arguments.
	IgnoreBareIP bool
	// AllowPrivate accepts a literal with a private (RFC 1918, ULA)
	// address whatever the client's: hosts behind NAT name themselves so.
	AllowPrivate bool
}

// HeloIPMismatch refuses a HELO address literal that is not the client's
// own address (smtpf helo-ip-mismatch). 550 5.7.0 (smtpf#424).
func HeloIPMismatch(cfg HeloIPMismatchConfig) smtpcheck.Check { return heloIPMismatchTest(cfg).check() }

func heloIPMismatchTest(cfg HeloIPMismatchConfig) test {
	return afterHelo(func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		h, err := envelope.ParseHelo(s.Helo.Name)
		if err != nil || !h.Addr.IsValid() {
			return nil
		}
		if h.Kind == envelope.HeloBareIP && cfg.IgnoreBareIP {
			return nil
		}
		if sameAddr(h.Addr, s.Conn.ClientIP) || (cfg.AllowPrivate && h.Addr.Unmap().IsPrivate()) {
			return nil
		}
		return ptr(refuse(reply.HeloMismatch(s.Helo.Name, s.Conn.Name(), clientIP(s)), NameHeloIPMismatch, "helo-ip-mismatch", h.Addr.String()))
	})
}

// HeloClaimsUsConfig configures HeloClaimsUs.
type HeloClaimsUsConfig struct {
	// Names are the server's own host names and mail domains.
	Names []string
	// Addrs are the server's own addresses. The address the client
	// connected to (Conn.Local) always counts.
	Addrs []netip.Addr
}

// HeloClaimsUs refuses a client that names itself with one of our names or
// addresses: we do not connect to ourselves (smtpf helo-claims-us).
// Trusted and authenticated clients are for the caller to skip, since a
// local relay may legitimately do this. 550 5.7.0 (smtpf#430).
func HeloClaimsUs(cfg HeloClaimsUsConfig) smtpcheck.Check { return heloClaimsUsTest(cfg).check() }

func heloClaimsUsTest(cfg HeloClaimsUsConfig) test {
	names := make(map[string]struct{}, len(cfg.Names))
	for _, n := range cfg.Names {
		if n = normDomain(n); n != "" {
			names[n] = struct{}{}
		}
	}
	addrs := append([]netip.Addr(nil), cfg.Addrs...)
	return afterHelo(func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		name := s.Helo.Name
		claims := false
		h, err := envelope.ParseHelo(name)
		if err == nil && h.Addr.IsValid() {
			a := h.Addr.Unmap()
			claims = a == s.Conn.Local.Addr().Unmap() && !a.IsUnspecified()
			for _, o := range addrs {
				claims = claims || a == o.Unmap()
			}
			// A literal that is the client's own address is the client's
			// to use, even when client and server share a host.
			if sameAddr(a, s.Conn.ClientIP) {
				claims = false
			}
		} else {
			_, claims = names[normDomain(name)]
		}
		if !claims {
			return nil
		}
		return ptr(refuse(reply.HeloClaimsUs(s.Conn.Name(), clientIP(s), name), NameHeloClaimsUs, "helo-claims-us", name))
	})
}

// ReservedConfig configures the reserved-domain checks (HeloReserved,
// SenderReserved, RcptReserved, ClientReserved).
type ReservedConfig struct {
	// Extra names to treat as reserved, besides DefaultReserved().
	Extra []string
	// Allow removes names from the reserved set (for a site that uses
	// ".internal" or ".local" hosts that send mail here).
	Allow []string
}

func (c ReservedConfig) set() Reserved {
	if len(c.Extra) == 0 && len(c.Allow) == 0 {
		return Reserved{}
	}
	return NewReserved(c.Extra, c.Allow)
}

// HeloReserved refuses a HELO name in an RFC 2606 / RFC 6761 reserved
// domain, such as localhost or mx.example.com (smtpf
// rfc2606-special-domains). 550 5.7.0 (smtpf#427).
func HeloReserved(cfg ReservedConfig) smtpcheck.Check { return heloReservedTest(cfg).check() }

func heloReservedTest(cfg ReservedConfig) test {
	res := cfg.set()
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if !heloDone(s) || strings.HasPrefix(s.Helo.Name, "[") {
			return nil
		}
		if m := res.Match(s.Helo.Name); m != "" {
			return ptr(refuse(reply.HeloReservedDomain(s.Helo.Name), NameHeloReserved, "rfc2606-special-domains", m))
		}
		return nil
	}
}

// TLDConfig configures the unknown-TLD checks (HeloUnknownTLD,
// SenderUnknownTLD, RcptUnknownTLD, ClientUnknownTLD).
type TLDConfig struct {
	// TLDs is the list of known TLDs; nil means DefaultTLDs().
	TLDs *TLDs
}

func (c TLDConfig) list() *TLDs {
	if c.TLDs != nil {
		return c.TLDs
	}
	return DefaultTLDs()
}

// HeloUnknownTLD refuses a HELO domain whose top-level domain does not
// exist (smtpf reject-unknown-tld). Address literals and dotless names are
// left to HeloFQDN. 550 5.7.0.
func HeloUnknownTLD(cfg TLDConfig) smtpcheck.Check { return heloUnknownTLDTest(cfg).check() }

func heloUnknownTLDTest(cfg TLDConfig) test {
	tlds := cfg.list()
	return afterHelo(func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		h, err := envelope.ParseHelo(s.Helo.Name)
		if err != nil || h.Kind != envelope.HeloFQDN || tlds.Known(s.Helo.Name) {
			return nil
		}
		return ptr(refuse(reply.HeloUnknownTLD(s.Helo.Name), NameHeloUnknownTLD, "reject-unknown-tld", lastLabel(s.Helo.Name)))
	})
}

// IPInNameConfig configures HeloIsPTR and ClientIPInName.
type IPInNameConfig struct {
	// Words are the name parts that, next to the last two octets, mark a
	// dynamic range; nil means the built-in list (dsl, dyn, pool, ...).
	Words []string
}

// HeloIsPTR refuses a HELO name that embeds the client's IP address the way
// generic PTR names of dynamic ranges do (1-2-3-4.dsl.isp.example): the
// client is a home machine naming itself after its reverse DNS (smtpf
// helo-is-ptr). 550 5.7.0 (smtpf#432).
func HeloIsPTR(cfg IPInNameConfig) smtpcheck.Check { return heloIsPTRTest(cfg).check() }

func heloIsPTRTest(cfg IPInNameConfig) test {
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if !heloDone(s) || strings.HasPrefix(s.Helo.Name, "[") {
			return nil
		}
		if envelope.MaybeIP(s.Helo.Name) {
			if _, err := netip.ParseAddr(s.Helo.Name); err == nil {
				return nil
			}
		}
		if IPInName(s.Helo.Name, s.Conn.ClientIP, cfg.Words) {
			return ptr(refuse(reply.HeloIsPTR(s.Helo.Name), NameHeloIsPTR, "helo-is-ptr", s.Helo.Name))
		}
		return nil
	}
}

// HeloChangedConfig configures HeloChanged.
type HeloChangedConfig struct {
	// Max is how many different HELO names a session may use before it is
	// refused; zero means 1 (any change is refused, as smtpf does).
	Max int
}

// HeloChanged refuses a client that sends HELO or EHLO again with a
// different name in one session: real servers know their own name
// (smtpf#252, "schizophrenic"). Case and a trailing dot do not count as a
// change. 550 5.7.1.
func HeloChanged(cfg HeloChangedConfig) smtpcheck.Check { return heloChangedTest(cfg).check() }

func heloChangedTest(cfg HeloChangedConfig) test {
	max := positiveOr(cfg.Max, 1)
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if len(s.Helo.Previous) < max {
			return nil
		}
		seen := map[string]bool{normDomain(s.Helo.Name): true}
		for _, p := range s.Helo.Previous {
			seen[normDomain(p)] = true
		}
		if len(seen) <= max {
			return nil
		}
		return ptr(refuse(reply.HeloChanged(s.Conn.Name(), clientIP(s)), NameHeloChanged, "smtpf#252", strings.Join(s.Helo.Previous, ",")+","+s.Helo.Name))
	}
}
