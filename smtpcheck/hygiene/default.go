package hygiene

import (
	"net/netip"

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
}

// guard names a check; skipTrusted exempts trusted networks and
// authenticated users from checks that judge how a client presents itself:
// a laptop may say "HELO MacBook" or send a message the submission service
// completes.
func guard(name string, c smtpcheck.Check, skipTrusted bool) smtpcheck.Check {
	o := smtpcheck.Options{Name: name}
	if skipTrusted {
		o.Skip = []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated}
	}
	return smtpcheck.Guard(c, o)
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
	return Staged{
		Helo: []smtpcheck.Check{
			guard(NameGreetPause, GreetPause(GreetPauseConfig{}), true),
			guard(NameHeloChars, HeloChars(HeloCharsConfig{}), true),
			guard(NameHeloFQDN, HeloFQDN(HeloFQDNConfig{}), true),
			guard(NameHeloIPMismatch, HeloIPMismatch(HeloIPMismatchConfig{}), true),
			guard(NameHeloClaimsUs, HeloClaimsUs(HeloClaimsUsConfig{Names: cfg.Names, Addrs: cfg.Addrs}), true),
			guard(NameHeloReserved, HeloReserved(cfg.Reserved), true),
			guard(NameHeloUnknownTLD, HeloUnknownTLD(tc), true),
			guard(NameHeloIsPTR, HeloIsPTR(IPInNameConfig{}), true),
			guard(NameHeloChanged, HeloChanged(HeloChangedConfig{}), true),
			errLimit,
		},
		Mail: []smtpcheck.Check{
			guard(NameMailSyntax, MailSyntax(SyntaxConfig{}), false),
			guard(NameSenderReserved, SenderReserved(cfg.Reserved), true),
			guard(NameSenderUnknownTLD, SenderUnknownTLD(tc), true),
			size,
			pipelining,
			errLimit,
		},
		Rcpt: []smtpcheck.Check{
			guard(NameRcptSyntax, RcptSyntax(SyntaxConfig{}), false),
			guard(NameRcptReserved, RcptReserved(cfg.Reserved), false),
			guard(NameRcptUnknownTLD, RcptUnknownTLD(tc), false),
			guard(NameNullSenderRcpts, NullSenderRcpts(NullSenderConfig{}), false),
			guard(NameMaxRecipients, MaxRecipients(MaxRecipientsConfig{}), false),
			pipelining,
			errLimit,
		},
		Data: []smtpcheck.Check{pipelining, errLimit},
		Headers: []smtpcheck.Check{
			guard(NameHeaderASCII, HeaderASCII(HeaderASCIIConfig{}), true),
			guard(NameMinHeaders, MinHeaders(MinHeadersConfig{}), true),
			guard(NameDateSyntax, DateSyntax(DateConfig{}), true),
			guard(NameDuplicateHeaders, DuplicateHeaders(DuplicateConfig{}), true),
			guard(NameHeaderLength, HeaderLineLength(HeaderLengthConfig{}), false),
		},
		EndOfData: []smtpcheck.Check{
			size,
			guard(NameBareLineEndings, BareLineEndings(LineConfig{Mode: cfg.Lines}), false),
		},
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
			guard(NameSenderDomain, SenderDomain(DomainConfig{Resolver: cfg.Resolver}), true),
		},
		Rcpt: []smtpcheck.Check{
			guard(NameClientPTR, ClientPTR(ClientConfig{Resolver: cfg.Resolver, ExemptSenderMX: true}), true),
		},
	}
}
