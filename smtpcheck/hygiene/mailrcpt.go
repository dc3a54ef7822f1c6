package hygiene

import (
	"context"
	"strconv"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/envelope"
)

// Check names of the envelope checks.
const (
	NameMailSyntax       = "mail-syntax"
	NameRcptSyntax       = "rcpt-syntax"
	NameSenderReserved   = "sender-reserved"
	NameRcptReserved     = "rcpt-reserved"
	NameSenderUnknownTLD = "sender-unknown-tld"
	NameRcptUnknownTLD   = "rcpt-unknown-tld"
	NameNullSenderRcpts  = "null-sender-rcpts"
	NameMaxRecipients    = "max-recipients"
)

// SyntaxConfig configures MailSyntax and RcptSyntax.
type SyntaxConfig struct {
	// Options are the grammar's strictness knobs: length limits and strict
	// dots (smtpf rfc2821-local-length, -domain-length, -strict-dot).
	// SMTPUTF8 is taken from the MAIL command, not from here.
	Options envelope.Options
	// RejectExtraSpaces refuses "MAIL FROM: <a@b>" and other white space
	// the grammar does not allow (smtpf rfc2821-extra-spaces). Off by
	// default, as in Postfix: some legitimate clients send it. It needs the
	// command line as received (Mail.Raw).
	RejectExtraSpaces bool
	// AllowPercent, AllowBang and AllowQuotedAt turn off the refusal of
	// percent-hack routing (smtpf#131), UUCP bang paths (#132) and quoted
	// at-signs (#133) in recipients.
	AllowPercent, AllowBang, AllowQuotedAt bool
}

func (c SyntaxConfig) options(s *smtpcheck.Session) envelope.Options {
	o := c.Options
	if s.Mail != nil && s.Mail.SMTPUTF8 {
		o.SMTPUTF8 = true
	}
	return o
}

// pathOf renders an address back into a path for the grammar.
func pathOf(a smtpcheck.Address) string {
	if a.Domain == "" {
		return "<" + a.Local + ">"
	}
	return "<" + a.Local + "@" + a.Domain + ">"
}

// MailSyntax checks the MAIL FROM command against the RFC 5321 grammar
// with the configured strictness: the raw command line when the server
// gives it (Mail.Raw), else the parsed address. A grammar error gets 553
// 5.5.2 (smtpf#279); extra spaces, when refused, 501 5.5.2 (smtpf#280).
// The null sender and legal-but-odd addresses (quoted local parts, address
// literals, IDN with SMTPUTF8) pass.
func MailSyntax(cfg SyntaxConfig) smtpcheck.Check { return mailSyntaxTest(cfg).check() }

func mailSyntaxTest(cfg SyntaxConfig) test {
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if s.Mail == nil {
			return nil
		}
		o := cfg.options(s)
		var err error
		if raw := trimLineEnd(s.Mail.Raw); raw != "" {
			var c envelope.Command
			c, err = envelope.ParseCommand(raw, o)
			if err == nil && c.ExtraSpaces && cfg.RejectExtraSpaces {
				return ptr(refuse(reply.SyntaxError(), NameMailSyntax, "rfc2821-extra-spaces", raw))
			}
		} else {
			var p envelope.Path
			if p, err = envelope.ParseParts(s.Mail.From.Local, s.Mail.From.Domain, o); err == nil {
				err = envelope.CheckVerb("MAIL", p)
			}
		}
		if err == nil {
			return nil
		}
		rule, reason := grammarReason(err)
		return ptr(refuse(reply.SenderSyntax(pathOf(s.Mail.From), reason), NameMailSyntax, rule, s.Mail.From.String()))
	}
}

func grammarReason(err error) (rule, reason string) {
	r := envelope.RuleOf(err)
	if e, ok := err.(*envelope.Error); ok {
		return "rfc2821-" + string(r), e.Reason
	}
	return "rfc2821-" + string(r), err.Error()
}

// RcptSyntax checks the recipient: the null recipient gets 550 5.7.1
// (smtpf#286); a grammar error 553 5.5.2 (smtpf#284); percent-hack routing
// 550 5.7.1 (#131), a UUCP bang path (#132) and a quoted at-sign (#133)
// are refused unless allowed. <postmaster> without a domain passes, as RFC
// 5321 requires.
func RcptSyntax(cfg SyntaxConfig) smtpcheck.Check { return rcptSyntaxTest(cfg).check() }

func rcptSyntaxTest(cfg SyntaxConfig) test {
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if s.Stage != smtpcheck.StageRcpt {
			return nil
		}
		if s.Rcpt.IsNull() {
			return ptr(refuse(reply.NullRecipient(), NameRcptSyntax, "smtpf#286", "<>"))
		}
		p, err := envelope.ParseParts(s.Rcpt.Local, s.Rcpt.Domain, cfg.options(s))
		if err != nil {
			rule, reason := grammarReason(err)
			return ptr(refuse(reply.RecipientSyntax(pathOf(s.Rcpt), reason), NameRcptSyntax, rule, s.Rcpt.String()))
		}
		switch {
		case p.QuotedAt() && !cfg.AllowQuotedAt:
			return ptr(refuse(reply.QuotedAtSignDenied(), NameRcptSyntax, "reject-quoted-at-sign", s.Rcpt.String()))
		case p.PercentHack() && !cfg.AllowPercent:
			return ptr(refuse(reply.RoutedRelayDenied(), NameRcptSyntax, "reject-percent-relay", s.Rcpt.String()))
		case p.BangPath() && !cfg.AllowBang:
			return ptr(refuse(reply.UUCPDenied(), NameRcptSyntax, "reject-uucp-route", s.Rcpt.String()))
		}
		return nil
	}
}

// trimLineEnd trims CR and LF from the end of a command line, as
// strings.TrimRight(s, "\r\n") does.
func trimLineEnd(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\r' || s[len(s)-1] == '\n') {
		s = s[:len(s)-1]
	}
	return s
}

// isLiteral reports an address-literal domain.
func isLiteral(d string) bool { return strings.HasPrefix(d, "[") }

// SenderReserved refuses a sender in an RFC 2606 / RFC 6761 reserved domain,
// which can never receive a bounce (smtpf rfc2606-special-domains). 550
// 5.7.1 (smtpf#128).
func SenderReserved(cfg ReservedConfig) smtpcheck.Check { return senderReservedTest(cfg).check() }

func senderReservedTest(cfg ReservedConfig) test {
	set := cfg.set()
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if s.Mail == nil || s.Mail.From.Domain == "" || isLiteral(s.Mail.From.Domain) {
			return nil
		}
		if m := set.Match(s.Mail.From.Domain); m != "" {
			return ptr(refuse(reply.SenderReservedDomain(s.Mail.From.String()), NameSenderReserved, "rfc2606-special-domains", m))
		}
		return nil
	}
}

// RcptReserved refuses a recipient in a reserved domain. 550 5.7.1
// (smtpf#140).
func RcptReserved(cfg ReservedConfig) smtpcheck.Check { return rcptReservedTest(cfg).check() }

func rcptReservedTest(cfg ReservedConfig) test {
	set := cfg.set()
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if s.Stage != smtpcheck.StageRcpt || s.Rcpt.Domain == "" || isLiteral(s.Rcpt.Domain) {
			return nil
		}
		if m := set.Match(s.Rcpt.Domain); m != "" {
			return ptr(refuse(reply.RecipientReservedDomain(s.Rcpt.String()), NameRcptReserved, "rfc2606-special-domains", m))
		}
		return nil
	}
}

// SenderUnknownTLD refuses a sender whose domain's TLD does not exist
// (smtpf reject-unknown-tld). 550 5.7.1 (smtpf#129).
func SenderUnknownTLD(cfg TLDConfig) smtpcheck.Check { return senderUnknownTLDTest(cfg).check() }

func senderUnknownTLDTest(cfg TLDConfig) test {
	tlds := cfg.list()
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if s.Mail == nil || s.Mail.From.Domain == "" || isLiteral(s.Mail.From.Domain) || tlds.Known(s.Mail.From.Domain) {
			return nil
		}
		return ptr(refuse(reply.SenderUnknownTLD(s.Mail.From.String()), NameSenderUnknownTLD, "reject-unknown-tld", lastLabel(s.Mail.From.Domain)))
	}
}

// RcptUnknownTLD refuses a recipient whose domain's TLD does not exist.
// 550 5.7.1 (smtpf#141).
func RcptUnknownTLD(cfg TLDConfig) smtpcheck.Check { return rcptUnknownTLDTest(cfg).check() }

func rcptUnknownTLDTest(cfg TLDConfig) test {
	tlds := cfg.list()
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if s.Stage != smtpcheck.StageRcpt || s.Rcpt.Domain == "" || isLiteral(s.Rcpt.Domain) || tlds.Known(s.Rcpt.Domain) {
			return nil
		}
		return ptr(refuse(reply.RecipientUnknownTLD(s.Rcpt.String()), NameRcptUnknownTLD, "reject-unknown-tld", lastLabel(s.Rcpt.Domain)))
	}
}

// NullSenderConfig configures NullSenderRcpts.
type NullSenderConfig struct {
	// Max is the most recipients a message from the null sender may have;
	// zero means 1, as a bounce or receipt goes to one address.
	Max int
}

// NullSenderRcpts refuses a further recipient of a message from the null
// sender (smtpf one-rcpt-per-null). 550 5.7.1 (smtpf#441, #452 at DATA).
func NullSenderRcpts(cfg NullSenderConfig) smtpcheck.Check { return nullSenderRcptsTest(cfg).check() }

func nullSenderRcptsTest(cfg NullSenderConfig) test {
	max := positiveOr(cfg.Max, 1)
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if s.Mail == nil || !s.Mail.From.IsNull() {
			return nil
		}
		n := len(s.Rcpts)
		if s.Stage == smtpcheck.StageRcpt {
			n++
		}
		if n <= max {
			return nil
		}
		return ptr(refuse(reply.DSNTooManyRecipients(), NameNullSenderRcpts, "one-rcpt-per-null", strconv.Itoa(n)))
	}
}

// MaxRecipientsConfig configures MaxRecipients.
type MaxRecipientsConfig struct {
	// Max is the most recipients of one message; zero means 1000
	// (Postfix's smtpd_recipient_limit). RFC 5321 requires at least 100.
	Max int
}

// MaxRecipients answers 452 4.5.3 to recipients past the limit, which
// tells the client to send the rest in another transaction (RFC 5321
// 4.5.3.1.10).
func MaxRecipients(cfg MaxRecipientsConfig) smtpcheck.Check { return maxRecipientsTest(cfg).check() }

func maxRecipientsTest(cfg MaxRecipientsConfig) test {
	max := positiveOr(cfg.Max, 1000)
	return func(_ context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if s.Stage != smtpcheck.StageRcpt || len(s.Rcpts) < max {
			return nil
		}
		r := refuse(reply.TooManyRecipients(), NameMaxRecipients, "smtpd_recipient_limit", strconv.Itoa(len(s.Rcpts)+1))
		r.Immediate = true
		return &r
	}
}
