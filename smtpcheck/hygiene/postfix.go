package hygiene

import (
	"context"
	"errors"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// Postfix's HELO and address restrictions (reject_invalid_helo_hostname,
// reject_non_fqdn_*, reject_unknown_helo_hostname,
// reject_unknown_*_domain, smtpd_helo_required), judged and answered as
// Postfix's smtpd_check.c does, so that a policy written in Postfix's
// words refuses what Postfix refuses with Postfix's replies. The smtpf
// flavoured checks beside them (HeloSyntax, SenderDomain, ...) keep
// smtpf's stricter grammar and texts; postconf picks these.

// PostfixConfig holds the Postfix parameters the restrictions read. A zero
// code means Postfix's default.
type PostfixConfig struct {
	// Resolver answers reject_unknown_helo_hostname and
	// reject_unknown_*_domain; the other restrictions need none.
	Resolver *resolver.Resolver
	// InvalidHostnameCode is invalid_hostname_reject_code (501).
	InvalidHostnameCode int
	// NonFQDNCode is non_fqdn_reject_code (504).
	NonFQDNCode int
	// UnknownHostnameCode is unknown_hostname_reject_code (450).
	UnknownHostnameCode int
	// UnknownAddressCode is unknown_address_reject_code (450).
	UnknownAddressCode int
	// HeloTempFail is unknown_helo_hostname_tempfail_action: what a HELO
	// lookup that fails now does (smtpcheck.DeferIfPermit, Postfix's
	// default, or smtpcheck.TempFail).
	HeloTempFail smtpcheck.Action
	// AddressTempFail is unknown_address_tempfail_action, the same for
	// sender and recipient domains.
	AddressTempFail smtpcheck.Action
	// Origin is the domain an address without one is completed with
	// before reject_unknown_*_domain looks it up ($myorigin, as Postfix's
	// trivial-rewrite does with append_at_myorigin); "" leaves such an
	// address unchecked, as a local one.
	Origin string
	// Final reports a domain mail is delivered to here (mydestination,
	// virtual_alias_domains, virtual_mailbox_domains):
	// reject_unknown_*_domain does not look such a domain up. nil: none.
	Final func(domain string) bool
}

func (c PostfixConfig) code(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (c PostfixConfig) tempFail(a smtpcheck.Action) smtpcheck.Action {
	if a == smtpcheck.Continue {
		return smtpcheck.DeferIfPermit
	}
	return a
}

// PostfixInvalidHelo is reject_invalid_helo_hostname: a HELO argument
// that is neither a host name nor a bare address by Postfix's syntax gets
// 501 5.5.2 "Invalid name"; an address literal that is not a valid address
// gets "invalid ip address" (reject_invalid_hostaddr). Both answer with
// InvalidHostnameCode.
func PostfixInvalidHelo(cfg PostfixConfig) smtpcheck.Check {
	code := cfg.code(cfg.InvalidHostnameCode, 501)
	return postfixHelo(code, func(_ context.Context, h string) smtpcheck.Result {
		if !validHostname(trimOneDot(h)) && !validHostaddr(trimOneDot(h)) {
			return smtpcheck.Refuse(reply.HeloInvalidName(h),
				smtpcheck.Reason{Rule: "reject_invalid_helo_hostname", Matched: h}).WithCode(code)
		}
		return smtpcheck.Result{}
	})
}

// postfixHelo is the opening of Postfix's HELO restrictions: no HELO name,
// no opinion; an address literal must be a valid address, else it gets
// "invalid ip address" with code bad (reject_invalid_hostaddr); any other
// name is judged by judge.
func postfixHelo(bad int, judge func(ctx context.Context, h string) smtpcheck.Result) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		h := s.Helo.Name
		switch {
		case h == "":
			return smtpcheck.Result{}
		case h[0] == '[':
			return invalidHeloAddress(h, bad)
		}
		return judge(ctx, h)
	}
}

// PostfixNonFQDNHelo is reject_non_fqdn_helo_hostname: a HELO name must be
// a host name with a dot (NonFQDNCode, 504 5.5.2); an address literal that
// is not a valid address gets "invalid ip address" with
// InvalidHostnameCode, as in every HELO restriction of Postfix.
func PostfixNonFQDNHelo(cfg PostfixConfig) smtpcheck.Check {
	code := cfg.code(cfg.NonFQDNCode, 504)
	bad := cfg.code(cfg.InvalidHostnameCode, 501)
	return postfixHelo(bad, func(_ context.Context, h string) smtpcheck.Result {
		if !validHostname(trimOneDot(h)) || !strings.Contains(trimOneDot(h), ".") {
			return smtpcheck.Refuse(reply.HeloNeedFQDN(h),
				smtpcheck.Reason{Rule: "reject_non_fqdn_helo_hostname", Matched: h}).WithCode(code)
		}
		return smtpcheck.Result{}
	})
}

// PostfixUnknownHelo is reject_unknown_helo_hostname: any HELO name but an
// address literal (which must be a valid address) needs an A, AAAA or MX
// record — a bare address or a name without a dot is looked up like any
// other — and a null MX counts, MTAs may have one. None gets
// UnknownHostnameCode, and so does a name that cannot be asked in DNS at
// all (bad_host!.example): Postfix's dns_lookup answers "not found" for a
// name that fails valid_hostname, a permanent answer, not a lookup that
// failed. A lookup that fails now gets 450 as HeloTempFail says.
func PostfixUnknownHelo(cfg PostfixConfig) smtpcheck.Check {
	res := cfg.Resolver
	code := cfg.code(cfg.UnknownHostnameCode, 450)
	bad := cfg.code(cfg.InvalidHostnameCode, 501)
	tf := cfg.tempFail(cfg.HeloTempFail)
	return postfixHelo(bad, func(ctx context.Context, h string) smtpcheck.Result {
		name := strings.ToLower(trimOneDot(h))
		reason := smtpcheck.Reason{Rule: "reject_unknown_helo_hostname", Matched: name}
		_, err := res.LookupIP(ctx, name)
		if err != nil && resolver.IsNotFound(err) {
			_, err = res.LookupMX(ctx, name)
		}
		switch {
		case err == nil:
			return smtpcheck.Result{}
		case dnsNotFound(err):
			return smtpcheck.Refuse(reply.HeloHostNotFound(h), reason).WithCode(code)
		}
		r := smtpcheck.Refuse(reply.HeloHostNotFound(h), reason).WithCode(450)
		r.Reason.Evidence = err.Error()
		r.Action = tf
		return r
	})
}

// dnsNotFound is Postfix's DNS_NOTFOUND: the name does not exist or has no
// such record, or it is not a valid DNS name, which Postfix's dns_lookup
// refuses to ask and reports as not found.
func dnsNotFound(err error) bool {
	return resolver.IsNotFound(err) || errors.Is(err, resolver.ErrInvalidName)
}

// invalidHeloAddress is reject_invalid_hostaddr, which every HELO
// restriction of Postfix applies to an argument starting with '[':
// 501 5.5.2 (or code) "invalid ip address".
func invalidHeloAddress(h string, code int) smtpcheck.Result {
	if validHeloAddress(h) {
		return smtpcheck.Result{}
	}
	return smtpcheck.Refuse(reply.HeloInvalidIP(h),
		smtpcheck.Reason{Rule: "reject_invalid_hostaddr", Matched: h}).WithCode(code)
}

// PostfixNonFQDNAddress is reject_non_fqdn_sender (rcpt false) and
// reject_non_fqdn_recipient (rcpt true): the address's domain must be a
// fully qualified domain name or an address literal. The null sender and
// a bare postmaster recipient pass, as in Postfix. Refusals answer with
// NonFQDNCode (504 5.5.2).
func PostfixNonFQDNAddress(cfg PostfixConfig, rcpt bool) smtpcheck.Check {
	code := cfg.code(cfg.NonFQDNCode, 504)
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		a, ok := postfixAddress(s, rcpt)
		if !ok || a.IsNull() || (rcpt && a.Domain == "" && strings.EqualFold(a.Local, "postmaster")) {
			return smtpcheck.Result{}
		}
		d := strings.TrimSuffix(a.Domain, ".")
		if d != "" && (strings.HasPrefix(d, "[") || strings.Contains(d, ".")) {
			return smtpcheck.Result{}
		}
		reason := smtpcheck.Reason{Rule: "non_fqdn", Matched: a.String()}
		if rcpt {
			return smtpcheck.Refuse(reply.RecipientNotFQDN(a.String()), reason).WithCode(code)
		}
		return smtpcheck.Refuse(reply.SenderNotFQDN(a.String()), reason).WithCode(code)
	}
}

// PostfixUnknownDomain is reject_unknown_sender_domain (rcpt false) and
// reject_unknown_recipient_domain (rcpt true): the address's domain needs
// an MX or an address record; an address without a domain is judged with
// Origin's, and a domain Final names is not looked up. A null MX is
// refused for good (550 5.7.27 for a sender, 556 5.1.10 for a recipient);
// a domain that does not exist, or that is no DNS name at all, gets
// UnknownAddressCode; a lookup that fails now gets 450 as AddressTempFail
// says.
func PostfixUnknownDomain(cfg PostfixConfig, rcpt bool) smtpcheck.Check {
	res := cfg.Resolver
	code := cfg.code(cfg.UnknownAddressCode, 450)
	tf := cfg.tempFail(cfg.AddressTempFail)
	rule := "reject_unknown_sender_domain"
	if rcpt {
		rule = "reject_unknown_recipient_domain"
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		a, ok := postfixAddress(s, rcpt)
		if !ok || a.IsNull() {
			return smtpcheck.Result{}
		}
		d := strings.TrimSuffix(a.DomainFold(), ".")
		if a.Domain == "" {
			d = strings.ToLower(cfg.Origin)
		}
		if d == "" || strings.HasPrefix(d, "[") || (cfg.Final != nil && cfg.Final(d)) {
			return smtpcheck.Result{}
		}
		reason := smtpcheck.Reason{Rule: rule, Matched: d}
		notFound := reply.SenderDomainNotFoundTemp(a.String())
		if rcpt {
			notFound = reply.RecipientDomainNotFoundTemp(a.String())
		}
		tempFail := func(err error) smtpcheck.Result {
			r := smtpcheck.Refuse(notFound, reason).WithCode(450)
			r.Reason.Evidence = err.Error()
			r.Action = tf
			return r
		}
		mx, err := res.LookupMX(ctx, d)
		if err == nil {
			if len(mx) == 1 && (mx[0].Host == "." || mx[0].Host == "") {
				if rcpt {
					return smtpcheck.Refuse(reply.RecipientNullMX(a.String(), d), reason)
				}
				return smtpcheck.Refuse(reply.SenderNullMX(a.String(), d), reason)
			}
			return smtpcheck.Result{}
		}
		if !dnsNotFound(err) {
			return tempFail(err)
		}
		if _, err := res.LookupIP(ctx, d); err == nil {
			return smtpcheck.Result{}
		} else if !dnsNotFound(err) {
			return tempFail(err)
		}
		return smtpcheck.Refuse(notFound, reason).WithCode(code)
	}
}

// postfixAddress is the address a sender or recipient restriction judges:
// the recipient only at RCPT, the sender once MAIL FROM has been given.
func postfixAddress(s *smtpcheck.Session, rcpt bool) (smtpcheck.Address, bool) {
	switch {
	case rcpt && s.Stage == smtpcheck.StageRcpt:
		return s.Rcpt, true
	case !rcpt && s.Mail != nil:
		return s.Mail.From, true
	}
	return smtpcheck.Address{}, false
}

// HeloRequired is smtpd_helo_required: a MAIL, RCPT or later command
// before HELO or EHLO gets 503 5.5.1 "Error: send HELO/EHLO first".
func HeloRequired() smtpcheck.Check {
	return smtpcheck.Named("smtpd_helo_required", func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Helo.Name == "" {
			return smtpcheck.Refuse(reply.NeedHelo(), smtpcheck.Reason{Rule: "smtpd_helo_required"})
		}
		return smtpcheck.Result{}
	})
}
