package hygiene

import (
	"context"
	"errors"
	"net/netip"
	"slices"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// Check names of the client-name checks.
const (
	NameClientPTR        = "client-ptr"
	NameClientFCrDNS     = "client-fcrdns"
	NameClientIPInName   = "client-ip-in-ptr"
	NameClientReserved   = "client-reserved"
	NameClientUnknownTLD = "client-unknown-tld"
)

// errNoPTRData is returned when the session has no reverse DNS facts and
// there is no resolver to find them.
var errNoPTRData = errors.New("hygiene: reverse DNS not looked up and no resolver")

type ptrKey struct{}

type ptrFacts struct {
	names, confirmed []string
	err              error
}

// ReverseDNS returns the client's PTR names and the forward-confirmed ones:
// from the session when the server looked them up (Conn.PTRLooked), or
// looked up once through res and kept in the session for the other checks.
// err is nil when the client has no PTR (names is then empty), and a
// temporary lookup failure otherwise.
func ReverseDNS(ctx context.Context, res *resolver.Resolver, s *smtpcheck.Session) (names, confirmed []string, err error) {
	if s.Conn.PTRLooked {
		if resolver.IsNotFound(s.Conn.PTRErr) {
			// No PTR is an answer (see smtpcheck.Conn), whoever stored it.
			return s.Conn.PTR, s.Conn.Confirmed, nil
		}
		return s.Conn.PTR, s.Conn.Confirmed, s.Conn.PTRErr
	}
	if v, ok := s.Value(ptrKey{}).(ptrFacts); ok {
		return v.names, v.confirmed, v.err
	}
	if res == nil {
		return nil, nil, errNoPTRData
	}
	names, confirmed, err = res.VerifyPTR(ctx, s.Conn.ClientIP)
	if resolver.IsNotFound(err) {
		names, confirmed, err = nil, nil, nil
	}
	if err != nil && ctx.Err() != nil {
		return nil, nil, err // the caller's deadline: do not remember
	}
	s.SetValue(ptrKey{}, ptrFacts{names, confirmed, err})
	return names, confirmed, err
}

type senderMXKey struct{ domain string }

// IsSenderMX reports whether the client is one of the MX hosts of its
// sender's domain (smtpf client-is-mx): such a client is a real mail
// server of that domain, whatever its reverse DNS looks like. It is false
// before MAIL FROM and for the null sender. The answer is kept in the
// session.
func IsSenderMX(ctx context.Context, res *resolver.Resolver, s *smtpcheck.Session) (bool, error) {
	if res == nil || s.Mail == nil || s.Mail.From.Domain == "" {
		return false, nil
	}
	domain := s.Mail.From.DomainFold()
	if v, ok := s.Value(senderMXKey{domain}).(bool); ok {
		return v, nil
	}
	mxs, err := res.LookupMX(ctx, domain)
	if err != nil {
		if resolver.IsNotFound(err) {
			s.SetValue(senderMXKey{domain}, false)
			return false, nil
		}
		return false, err
	}
	found := false
	for i, mx := range mxs {
		if i >= 10 || mx.Host == "." || mx.Host == "" {
			break
		}
		addrs, err := res.LookupIP(ctx, mx.Host)
		if err != nil {
			continue
		}
		if slices.ContainsFunc(addrs, func(a netip.Addr) bool { return sameAddr(a, s.Conn.ClientIP) }) {
			found = true
			break
		}
	}
	s.SetValue(senderMXKey{domain}, found)
	return found, nil
}

// ClientConfig configures the client-name checks.
type ClientConfig struct {
	// Resolver looks up reverse DNS when the server did not fill Conn.PTR.
	// With neither, the checks do nothing.
	Resolver *resolver.Resolver
	// ExemptSenderMX lets through a client that is an MX host of its
	// sender's domain (smtpf client-is-mx). The check then waits for MAIL
	// FROM: put it at the MAIL or RCPT stage.
	ExemptSenderMX bool
	// IgnoreDNSErrors lets a client through when its reverse lookup failed
	// temporarily, instead of the temporary refusal.
	IgnoreDNSErrors bool
}

// exempt reports whether the client-is-mx exemption applies; wait is true
// when the check must wait for MAIL FROM to decide.
func (c ClientConfig) exempt(ctx context.Context, s *smtpcheck.Session) (exempt, wait bool) {
	if !c.ExemptSenderMX {
		return false, false
	}
	if s.Mail == nil {
		return false, true
	}
	ok, _ := IsSenderMX(ctx, c.Resolver, s)
	return ok, false
}

// ClientPTR requires the client's address to have reverse DNS (smtpf
// client-ptr-required; Postfix reject_unknown_reverse_client_hostname).
// A missing PTR (NXDOMAIN or NODATA: an answer) gets 554 5.7.1
// (smtpf#416), or 550 5.7.1 (smtpf#449) at RCPT and later. A lookup that
// failed (SERVFAIL, timeout) is a defer-if-permit with 421 4.4.3
// (smtpf#415): given only when nothing else rejects, unless
// IgnoreDNSErrors lets the client through.
func ClientPTR(cfg ClientConfig) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		names, _, err := ReverseDNS(ctx, cfg.Resolver, s)
		if errors.Is(err, errNoPTRData) {
			return smtpcheck.Result{}
		}
		if len(names) > 0 {
			// A name is all this check asks for; a failed forward lookup
			// does not matter here.
			return smtpcheck.Result{}
		}
		if err != nil {
			return lookupFailed(cfg, reply.PTRLookupError(clientIP(s)), NameClientPTR, "client-ptr-required", s, err)
		}
		if ex, wait := cfg.exempt(ctx, s); ex || wait {
			return smtpcheck.Result{}
		}
		rep := reply.MissingPTR(clientIP(s))
		if s.Stage >= smtpcheck.StageRcpt {
			rep = reply.MissingPTRLate(clientIP(s))
		}
		return refuse(rep, NameClientPTR, "client-ptr-required", clientIP(s))
	}
}

// lookupFailed is a client-name check's answer when the reverse lookup
// failed temporarily: a defer-if-permit with rep (Postfix's
// reject_tempfail_action), so that a permanent refusal by another check
// still wins, or nothing with IgnoreDNSErrors.
func lookupFailed(cfg ClientConfig, rep reply.Reply, name, rule string, s *smtpcheck.Session, err error) smtpcheck.Result {
	if cfg.IgnoreDNSErrors {
		return smtpcheck.Result{Reason: smtpcheck.Reason{Check: name, Evidence: err.Error()}}
	}
	r := refuse(rep, name, rule, clientIP(s))
	r.Action, r.Err, r.Reason.Evidence = smtpcheck.DeferIfPermit, err, err.Error()
	return r
}

// FCrDNSConfig configures ClientFCrDNS.
type FCrDNSConfig struct {
	ClientConfig
	// Permanent refuses with 550 rather than Postfix's default 450, which
	// lets a client whose DNS is being fixed retry.
	Permanent bool
}

// ClientFCrDNS requires forward-confirmed reverse DNS, as Postfix's
// reject_unknown_client_hostname does: the client's address must have a
// PTR name and one of its PTR names must resolve back to the address. A
// client with no PTR name, or with names none of which leads back, gets
// 450 4.7.1 (550 5.7.1 with Permanent), unless it is an MX host of its
// sender's domain and ExemptSenderMX is set; a lookup failure is a
// defer-if-permit with 450 4.7.1 unless IgnoreDNSErrors. ClientPTR is the lighter test
// that asks for a PTR name only (reject_unknown_reverse_client_hostname).
func ClientFCrDNS(cfg FCrDNSConfig) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		names, confirmed, err := ReverseDNS(ctx, cfg.Resolver, s)
		if errors.Is(err, errNoPTRData) {
			return smtpcheck.Result{}
		}
		if len(confirmed) > 0 {
			return smtpcheck.Result{}
		}
		if err != nil {
			return lookupFailed(cfg.ClientConfig, reply.ClientNoHostnameTemp(clientIP(s)), NameClientFCrDNS, "reject_unknown_client_hostname", s, err)
		}
		if ex, wait := cfg.exempt(ctx, s); ex || wait {
			return smtpcheck.Result{}
		}
		rep := reply.ClientNoHostnameTemp(clientIP(s))
		if cfg.Permanent {
			rep = reply.ClientNoHostname(clientIP(s))
		}
		if len(names) == 0 {
			r := refuse(rep, NameClientFCrDNS, "reject_unknown_client_hostname", clientIP(s))
			r.Reason.Evidence = "no PTR name"
			return r
		}
		return refuse(rep, NameClientFCrDNS, "reject_unknown_client_hostname", names[0])
	}
}

// ClientIPInNameConfig configures ClientIPInName.
type ClientIPInNameConfig struct {
	ClientConfig
	IPInNameConfig
}

// ClientIPInName refuses a client whose reverse DNS name embeds its IP
// address, the mark of dynamic and residential ranges (smtpf
// client-ip-in-ptr; see IPInName). Forward-confirmed names are judged when
// there are any, else the PTR names. 550 5.7.1 (smtpf#418, or #450 at RCPT
// and later).
func ClientIPInName(cfg ClientIPInNameConfig) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		names, confirmed, err := ReverseDNS(ctx, cfg.Resolver, s)
		if err != nil {
			return smtpcheck.Result{}
		}
		if len(confirmed) > 0 {
			names = confirmed
		}
		for _, n := range names {
			if !IPInName(n, s.Conn.ClientIP, cfg.Words) {
				continue
			}
			if ex, wait := cfg.exempt(ctx, s); ex || wait {
				return smtpcheck.Result{}
			}
			stage := 1
			if s.Stage >= smtpcheck.StageRcpt {
				stage = 2
			}
			return refuse(reply.IPInClientName(n, clientIP(s), stage), NameClientIPInName, "client-ip-in-ptr", n)
		}
		return smtpcheck.Result{}
	}
}

// ClientReservedConfig configures ClientReserved.
type ClientReservedConfig struct {
	ClientConfig
	ReservedConfig
}

// ClientReserved refuses a client whose verified name is in a reserved
// domain (smtpf rfc2606-special-domains). 550 5.7.1 (smtpf#121).
func ClientReserved(cfg ClientReservedConfig) smtpcheck.Check {
	set := cfg.set()
	return eachConfirmed(cfg.ClientConfig, func(s *smtpcheck.Session, n string) (smtpcheck.Result, bool) {
		if m := set.Match(n); m != "" {
			return refuse(reply.HostReservedDomain(n, clientIP(s)), NameClientReserved, "rfc2606-special-domains", m), true
		}
		return smtpcheck.Result{}, false
	})
}

// eachConfirmed judges each verified name of the client in turn, the
// first refusal winning; a client with none, or whose names cannot be
// looked up now, gets no opinion.
func eachConfirmed(cfg ClientConfig, judge func(s *smtpcheck.Session, name string) (smtpcheck.Result, bool)) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		_, confirmed, err := ReverseDNS(ctx, cfg.Resolver, s)
		if err != nil {
			return smtpcheck.Result{}
		}
		for _, n := range confirmed {
			if r, ok := judge(s, n); ok {
				return r
			}
		}
		return smtpcheck.Result{}
	}
}

// ClientUnknownTLDConfig configures ClientUnknownTLD.
type ClientUnknownTLDConfig struct {
	ClientConfig
	TLDConfig
}

// ClientUnknownTLD refuses a client whose verified name ends in a TLD that
// does not exist (smtpf reject-unknown-tld). 550 5.7.1 (smtpf#122).
func ClientUnknownTLD(cfg ClientUnknownTLDConfig) smtpcheck.Check {
	tlds := cfg.list()
	return eachConfirmed(cfg.ClientConfig, func(s *smtpcheck.Session, n string) (smtpcheck.Result, bool) {
		if !tlds.Known(n) {
			return refuse(reply.HostUnknownTLD(n, clientIP(s)), NameClientUnknownTLD, "reject-unknown-tld", lastLabel(n)), true
		}
		return smtpcheck.Result{}, false
	})
}
