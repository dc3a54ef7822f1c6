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
type Staged = smtpcheck.Stages

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

// member is one check of a stage's list. skipTrusted exempts trusted
// networks and authenticated users from a check that judges how a client
// presents itself: a laptop may say "HELO MacBook" or send a message the
// submission service completes. The checks name themselves in their
// results' Reason.
type member struct {
	test        test
	skipTrusted bool
}

// group runs a stage's hygiene checks as one restriction list under one
// Guard named "hygiene": one trace step per stage rather than one per
// microsecond-long check, while a refusal still names the check that
// decided in its Reason. The list for trusted and authenticated clients is
// chosen once per run, not tested check by check.
func group(ms ...member) []smtpcheck.Check {
	var all, trusted []test
	for _, m := range ms {
		if m.test == nil {
			continue
		}
		all = append(all, m.test)
		if !m.skipTrusted {
			trusted = append(trusted, m.test)
		}
	}
	run := func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if smtpcheck.TrustedNetwork(s) || smtpcheck.Authenticated(s) {
			return firstMatch(ctx, s, trusted)
		}
		return firstMatch(ctx, s, all)
	}
	return []smtpcheck.Check{smtpcheck.Guard(run, smtpcheck.Options{Name: "hygiene"})}
}

// firstMatch is smtpcheck.FirstMatch for lists whose checks nearly always
// pass: a passing test adds nothing to FirstMatch's fold, and neither does
// a continue without error, score or headers, so the fold starts at the
// first result that is not one, and a final action there is already the
// list's verdict. Anything else (a tag, an undecided error) is folded with
// the rest of the list by FirstMatch itself.
func firstMatch(ctx context.Context, s *smtpcheck.Session, tests []test) smtpcheck.Result {
	for i, t := range tests {
		r := t(ctx, s)
		if r == nil {
			continue
		}
		if r.Action.Final() {
			return *r
		}
		if r.Action == smtpcheck.Continue && r.Err == nil && r.Score == 0 && len(r.Headers) == 0 {
			continue
		}
		return foldFrom(ctx, s, *r, tests[i+1:])
	}
	return smtpcheck.Result{}
}

// foldFrom folds r and the rest of a list with FirstMatch.
func foldFrom(ctx context.Context, s *smtpcheck.Session, r smtpcheck.Result, rest []test) smtpcheck.Result {
	checks := []smtpcheck.Check{func(context.Context, *smtpcheck.Session) smtpcheck.Result { return r }}
	for _, t := range rest {
		checks = append(checks, t.check())
	}
	return smtpcheck.FirstMatch(checks...)(ctx, s)
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
	errLimit := member{errorLimitTest(ErrorLimitConfig{}), true}
	pipelining := member{pipeliningTest(PipeliningConfig{}), true}
	size := member{messageSizeTest(SizeConfig{Max: cfg.MaxSize}), false}
	// names leaves out a check on names when the network uses reserved
	// ones.
	names := func(m member) member {
		if cfg.LabNames {
			return member{}
		}
		return m
	}
	return Staged{
		Helo: group(
			member{greetPauseTest(GreetPauseConfig{}), true},
			member{heloCharsTest(HeloCharsConfig{}), true},
			member{heloFQDNTest(HeloFQDNConfig{}), true},
			member{heloIPMismatchTest(HeloIPMismatchConfig{}), true},
			member{heloClaimsUsTest(HeloClaimsUsConfig{Names: cfg.Names, Addrs: cfg.Addrs}), true},
			names(member{heloReservedTest(cfg.Reserved), true}),
			names(member{heloUnknownTLDTest(tc), true}),
			member{heloIsPTRTest(IPInNameConfig{}), true},
			member{heloChangedTest(HeloChangedConfig{}), true},
			errLimit,
		),
		Mail: group(
			member{mailSyntaxTest(SyntaxConfig{}), false},
			names(member{senderReservedTest(cfg.Reserved), true}),
			names(member{senderUnknownTLDTest(tc), true}),
			size,
			pipelining,
			errLimit,
		),
		Rcpt: group(
			member{rcptSyntaxTest(SyntaxConfig{}), false},
			names(member{rcptReservedTest(cfg.Reserved), false}),
			names(member{rcptUnknownTLDTest(tc), false}),
			member{nullSenderRcptsTest(NullSenderConfig{}), false},
			member{maxRecipientsTest(MaxRecipientsConfig{}), false},
			pipelining,
			errLimit,
		),
		Data: group(pipelining, errLimit),
		Headers: group(
			member{headerASCIITest(HeaderASCIIConfig{}), true},
			member{minHeadersTest(MinHeadersConfig{}), true},
			member{dateSyntaxTest(DateConfig{}), true},
			member{duplicateHeadersTest(DuplicateConfig{}), true},
			member{headerLineLengthTest(HeaderLengthConfig{}), false},
		),
		EndOfData: group(
			size,
			member{bareLineEndingsTest(LineConfig{Mode: cfg.Lines}), false},
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
