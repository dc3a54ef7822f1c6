package hygiene

import (
	"context"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/envelope"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// Check names of the DNS-bound domain checks.
const (
	NameSenderMX     = "sender-mx"
	NameSenderDomain = "sender-domain"
)

// maxMXHosts bounds the MX hosts resolved for one domain, so a hostile zone
// cannot make a check send many queries.
const maxMXHosts = 10

// specialPrefixes are the ranges an MX host must not resolve to: loopback,
// RFC 5735 / RFC 6890 special-purpose IPv4 ranges and their IPv6 kin. Mail
// sent to them could never leave the sender's own network.
var specialPrefixes = [...]netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("::ffff:0:0/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// Unroutable reports whether a is loopback or in a special-purpose range
// (RFC 5735, RFC 6890) that cannot be reached from the Internet.
func Unroutable(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range specialPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return !a.IsValid()
}

// MXConfig configures SenderMX.
type MXConfig struct {
	// Resolver is the shared resolver; nil turns the check off.
	Resolver *resolver.Resolver
	// ImplicitMX accepts a domain without MX records whose own A/AAAA
	// records are usable (RFC 5321 5.1's implicit MX). smtpf requires a
	// real MX (mail-require-mx); so does the zero value.
	ImplicitMX bool
	// AllowUnroutable keeps MX hosts that resolve only to private or
	// special addresses (a test network or split DNS).
	AllowUnroutable bool
}

// SenderMX requires the sender's domain to have a usable MX (smtpf
// mail-require-mx): MX hosts that resolve to loopback, special ranges or
// nothing are pruned. No MX gets 553 5.1.8 (smtpf#434), an empty pruned
// list 553 5.1.8 (#439), a lookup error 451 4.4.3 (#436), and an RFC 7505
// null MX 550 5.7.27. The null sender, address literals and
// <postmaster> pass.
func SenderMX(cfg MXConfig) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		sender, domain, ok := senderDomain(cfg.Resolver, s)
		if !ok {
			return smtpcheck.Result{}
		}
		mxs, err := cfg.Resolver.LookupMX(ctx, domain)
		if err != nil && !resolver.IsNotFound(err) {
			r := refuse(reply.SenderMXLookupError(sender, domain), NameSenderMX, "mail-require-mx", domain)
			r.Err, r.Reason.Evidence = err, err.Error()
			return r
		}
		if len(mxs) == 1 && mxs[0].Host == "." {
			return refuse(reply.SenderNullMX(sender, domain), NameSenderMX, "rfc7505-null-mx", domain)
		}
		var hosts []string
		for _, mx := range mxs {
			if mx.Host != "." && len(hosts) < maxMXHosts {
				hosts = append(hosts, mx.Host)
			}
		}
		if len(mxs) == 0 {
			if !cfg.ImplicitMX {
				return refuse(reply.SenderNoMX(sender, domain), NameSenderMX, "mail-require-mx", domain)
			}
			hosts = []string{domain}
		}
		usable, tempErr := usableHosts(ctx, cfg.Resolver, hosts, cfg.AllowUnroutable)
		if usable {
			return smtpcheck.Result{}
		}
		if tempErr != nil {
			r := refuse(reply.SenderMXLookupError(sender, domain), NameSenderMX, "mail-require-mx", domain)
			r.Err, r.Reason.Evidence = tempErr, tempErr.Error()
			return r
		}
		if len(mxs) == 0 {
			return refuse(reply.SenderNoMX(sender, domain), NameSenderMX, "mail-require-mx", domain)
		}
		return refuse(reply.SenderMXInvalid(sender, domain), NameSenderMX, "mail-require-mx", strings.Join(hosts, ","))
	}
}

// senderDomain returns the sender and its domain, folded, for the checks
// that ask res about the domain; ok is false without a resolver, and for
// the null sender, an address literal and a domain that is not valid,
// which is MailSyntax's to refuse.
func senderDomain(res *resolver.Resolver, s *smtpcheck.Session) (sender, domain string, ok bool) {
	if res == nil || s.Mail == nil || s.Mail.From.Domain == "" || isLiteral(s.Mail.From.Domain) {
		return "", "", false
	}
	domain = s.Mail.From.DomainFold()
	if envelope.ValidDomain(domain, envelope.Options{SMTPUTF8: true}) != nil {
		return "", "", false
	}
	return s.Mail.From.String(), domain, true
}

// usableHosts reports whether one of hosts resolves to a routable address;
// tempErr is the first temporary failure met when none does.
func usableHosts(ctx context.Context, res *resolver.Resolver, hosts []string, allowUnroutable bool) (bool, error) {
	var tempErr error
	for _, h := range hosts {
		if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
			// An MX pointing at an address is a misconfiguration (RFC 7505
			// 2.2 aside), but usable when routable.
			if allowUnroutable || !Unroutable(a) {
				return true, nil
			}
			continue
		}
		addrs, err := res.LookupIP(ctx, h)
		if err != nil {
			if !resolver.IsNotFound(err) && tempErr == nil {
				tempErr = err
			}
			continue
		}
		for _, a := range addrs {
			if allowUnroutable || !Unroutable(a) {
				return true, nil
			}
		}
	}
	return false, tempErr
}

// DomainConfig configures SenderDomain and HeloHostname.
type DomainConfig struct {
	// Resolver is the shared resolver; nil turns the check off.
	Resolver *resolver.Resolver
	// Permanent refuses with a 5xx code rather than Postfix's default 450
	// (unknown_address_reject_code, unknown_hostname_reject_code).
	Permanent bool
}

// exists reports whether name has an A, AAAA or MX record, and whether
// its MX is an RFC 7505 null MX.
func exists(ctx context.Context, res *resolver.Resolver, name string) (found, nullMX bool, err error) {
	mxs, mxErr := res.LookupMX(ctx, name)
	if mxErr == nil && len(mxs) > 0 {
		return true, len(mxs) == 1 && mxs[0].Host == ".", nil
	}
	addrs, ipErr := res.LookupIP(ctx, name)
	if ipErr == nil && len(addrs) > 0 {
		return true, false, nil
	}
	if mxErr != nil && !resolver.IsNotFound(mxErr) {
		return false, false, mxErr
	}
	if ipErr != nil && !resolver.IsNotFound(ipErr) {
		return false, false, ipErr
	}
	return false, false, nil
}

// SenderDomain is Postfix's reject_unknown_sender_domain: the sender's
// domain must have an A, AAAA or MX record. None gets 450 4.1.8 (554 5.1.8
// with Permanent), a null MX 550 5.7.27; a lookup failure is a
// defer-if-permit with 450 4.1.8, as Postfix's reject_tempfail_action.
func SenderDomain(cfg DomainConfig) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		sender, domain, ok := senderDomain(cfg.Resolver, s)
		if !ok {
			return smtpcheck.Result{}
		}
		found, nullMX, err := exists(ctx, cfg.Resolver, domain)
		switch {
		case err != nil:
			r := refuse(reply.SenderDomainNotFoundTemp(sender), NameSenderDomain, "reject_unknown_sender_domain", domain)
			r.Action, r.Err, r.Reason.Evidence = smtpcheck.DeferIfPermit, err, err.Error()
			return r
		case nullMX:
			return refuse(reply.SenderNullMX(sender, domain), NameSenderDomain, "rfc7505-null-mx", domain)
		case found:
			return smtpcheck.Result{}
		case cfg.Permanent:
			return refuse(reply.SenderDomainNotFound(sender), NameSenderDomain, "reject_unknown_sender_domain", domain)
		}
		return refuse(reply.SenderDomainNotFoundTemp(sender), NameSenderDomain, "reject_unknown_sender_domain", domain)
	}
}

// HeloHostname is Postfix's reject_unknown_helo_hostname: a HELO domain
// must have an A, AAAA or MX record. None gets 450 4.7.1 (554 5.7.1 with
// Permanent); a lookup failure is a defer-if-permit with the same 450.
// Address literals and names HeloFQDN refuses are left alone.
func HeloHostname(cfg DomainConfig) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if cfg.Resolver == nil || !heloDone(s) {
			return smtpcheck.Result{}
		}
		h, err := envelope.ParseHelo(s.Helo.Name)
		if err != nil || h.Kind != envelope.HeloFQDN {
			return smtpcheck.Result{}
		}
		found, _, err := exists(ctx, cfg.Resolver, h.Domain())
		switch {
		case err != nil:
			r := refuse(reply.HeloHostNotFound(s.Helo.Name), NameHeloHostname, "reject_unknown_helo_hostname", h.Domain())
			r.Action, r.Err, r.Reason.Evidence = smtpcheck.DeferIfPermit, err, err.Error()
			return r
		case found:
			return smtpcheck.Result{}
		case cfg.Permanent:
			return refuse(reply.HeloRejected(s.Helo.Name, "Host not found"), NameHeloHostname, "reject_unknown_helo_hostname", h.Domain())
		}
		return refuse(reply.HeloHostNotFound(s.Helo.Name), NameHeloHostname, "reject_unknown_helo_hostname", h.Domain())
	}
}
