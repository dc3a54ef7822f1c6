package hygiene

import (
	"context"
	"net/netip"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// Staged holds checks by the stage they run at, ready to append to a
// policy's restriction lists.
type Staged struct {
	Connect, Helo, Mail, Rcpt, Data, Headers, EndOfData []smtpcheck.Check
}

// Append adds o's checks after s's, stage by stage.
func (s Staged) Append(o Staged) Staged {
	s.Connect = append(s.Connect, o.Connect...)
	s.Helo = append(s.Helo, o.Helo...)
	s.Mail = append(s.Mail, o.Mail...)
	s.Rcpt = append(s.Rcpt, o.Rcpt...)
	s.Data = append(s.Data, o.Data...)
	s.Headers = append(s.Headers, o.Headers...)
	s.EndOfData = append(s.EndOfData, o.EndOfData...)
	return s
}

// DefaultConfig configures Default.
type DefaultConfig struct {
	// Names and Addrs are the server's own names and addresses, for
	// HeloClaimsUs; the address the client connected to always counts.
	Names []string
	Addrs []netip.Addr
	// TLDs is the list of known TLDs; nil means DefaultTLDs().
	TLDs *TLDs
	// Reserved adjusts the reserved names.
	Reserved ReservedConfig
	// MaxSize is the message size limit; zero means DefaultMaxSize.
	MaxSize int64
	// Lines chooses reject (the zero value) or normalise for bare line
	// endings.
	Lines LineMode
	// LabNames leaves out the reserved-name and unknown-TLD checks, for a
	// test network whose hosts and domains live under RFC 2606 / RFC 6761
	// names (example.org, localhost, .test).
	LabNames bool
}

// guard exempts trusted networks and authenticated users from checks that
// judge how a client presents itself: a laptop may say "HELO MacBook" or
// send a message the submission service completes. The checks name
// themselves in their results' Reason.
func guard(_ string, c smtpcheck.Check, skipTrusted bool) smtpcheck.Check {
	if skipTrusted {
		return smtpcheck.SkipIf(smtpcheck.Any(smtpcheck.TrustedNetwork, smtpcheck.Authenticated), c)
	}
	return c
}

// group runs a stage's hygiene checks as one restriction list under one
// Guard named "hygiene": one trace step per stage rather than one per
// microsecond-long check, while a refusal still names the check that
// decided in its Reason.
func group(checks ...smtpcheck.Check) []smtpcheck.Check {
	return []smtpcheck.Check{smtpcheck.Guard(smtpcheck.FirstMatch(checks...), smtpcheck.Options{Name: "hygiene"})}
}

// Default returns the hygiene checks an administrator would turn on
// everywhere, none of which touches the network: HELO syntax, FQDN, literal
// match, claims-to-be-us, reserved names, unknown TLDs, IP-like HELO and
// HELO changes; envelope grammar, reserved and unknown-TLD domains, one
// recipient for the null sender and the recipient limit; the header
// checks, the size limit and the SMTP smuggling guard; and the protocol
// checks on the facts the server's listener records. Trusted and
// authenticated clients skip the checks on how they name themselves and
// on the headers a submission service completes.
func Default(cfg DefaultConfig) Staged {
	tc := TLDConfig{TLDs: cfg.TLDs}
	errLimit := guard(NameErrorLimit, ErrorLimit(ErrorLimitConfig{}), true)
	pipelining := guard(NamePipelining, Pipelining(PipeliningConfig{}), true)
	size := guard(NameMessageSize, MessageSize(SizeConfig{Max: cfg.MaxSize}), false)
	names := func(c smtpcheck.Check) smtpcheck.Check {
		if cfg.LabNames {
			return func(context.Context, *smtpcheck.Session) smtpcheck.Result { return smtpcheck.Result{} }
		}
		return c
	}
	return Staged{
		Helo: group(
			guard(NameGreetPause, GreetPause(GreetPauseConfig{}), true),
			guard(NameHeloChars, HeloChars(HeloCharsConfig{}), true),
			guard(NameHeloFQDN, HeloFQDN(HeloFQDNConfig{}), true),
			guard(NameHeloIPMismatch, HeloIPMismatch(HeloIPMismatchConfig{}), true),
			guard(NameHeloClaimsUs, HeloClaimsUs(HeloClaimsUsConfig{Names: cfg.Names, Addrs: cfg.Addrs}), true),
			names(guard(NameHeloReserved, HeloReserved(cfg.Reserved), true)),
			names(guard(NameHeloUnknownTLD, HeloUnknownTLD(tc), true)),
			guard(NameHeloIsPTR, HeloIsPTR(IPInNameConfig{}), true),
			guard(NameHeloChanged, HeloChanged(HeloChangedConfig{}), true),
			errLimit,
		),
		Mail: group(
			guard(NameMailSyntax, MailSyntax(SyntaxConfig{}), false),
			names(guard(NameSenderReserved, SenderReserved(cfg.Reserved), true)),
			names(guard(NameSenderUnknownTLD, SenderUnknownTLD(tc), true)),
			size,
			pipelining,
			errLimit,
		),
		Rcpt: group(
			guard(NameRcptSyntax, RcptSyntax(SyntaxConfig{}), false),
			names(guard(NameRcptReserved, RcptReserved(cfg.Reserved), false)),
			names(guard(NameRcptUnknownTLD, RcptUnknownTLD(tc), false)),
			guard(NameNullSenderRcpts, NullSenderRcpts(NullSenderConfig{}), false),
			guard(NameMaxRecipients, MaxRecipients(MaxRecipientsConfig{}), false),
			pipelining,
			errLimit,
		),
		Data: group(pipelining, errLimit),
		Headers: group(
			guard(NameHeaderASCII, HeaderASCII(HeaderASCIIConfig{}), true),
			guard(NameMinHeaders, MinHeaders(MinHeadersConfig{}), true),
			guard(NameDateSyntax, DateSyntax(DateConfig{}), true),
			guard(NameDuplicateHeaders, DuplicateHeaders(DuplicateConfig{}), true),
			guard(NameHeaderLength, HeaderLineLength(HeaderLengthConfig{}), false),
		),
		EndOfData: group(
			size,
			guard(NameBareLineEndings, BareLineEndings(LineConfig{Mode: cfg.Lines}), false),
		),
	}
}

// DNSConfig configures DefaultDNS.
type DNSConfig struct {
	// Resolver is the shared resolver; nil gives no checks.
	Resolver *resolver.Resolver
}

// DefaultDNS returns the DNS-bound hygiene checks an administrator would
// add when the server can reach DNS: the sender's domain must exist
// (Postfix reject_unknown_sender_domain, with null-MX refusal) and the
// client must have reverse DNS unless it is its sender domain's MX (smtpf
// client-ptr-required with client-is-mx), judged at RCPT. Trusted and
// authenticated clients skip them.
func DefaultDNS(cfg DNSConfig) Staged {
	if cfg.Resolver == nil {
		return Staged{}
	}
	return Staged{
		Mail: []smtpcheck.Check{
			smtpcheck.Guard(SenderDomain(DomainConfig{Resolver: cfg.Resolver}), dnsOptions(NameSenderDomain)),
		},
		Rcpt: []smtpcheck.Check{
			smtpcheck.Guard(ClientPTR(ClientConfig{Resolver: cfg.Resolver, ExemptSenderMX: true}), dnsOptions(NameClientPTR)),
		},
	}
}

// dnsOptions names a DNS-bound check, gives it its own deadline and exempts
// trusted and authenticated clients.
func dnsOptions(name string) smtpcheck.Options {
	return smtpcheck.Options{
		Name:    name,
		Timeout: 10 * time.Second,
		Skip:    []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated},
	}
}
