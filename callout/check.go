package callout

import (
	"context"
	"log/slog"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// SenderCheck returns smtpf's call-back, Postfix's reject_unverified_sender:
// at MAIL FROM (and at later stages, for a policy that runs it there) it
// verifies the envelope sender. The null sender has nothing to verify and
// passes. An undeliverable sender is refused with the catalog's reply for
// what was found: "sender <a@b> verification failed" (550 5.7.0,
// smtpf#572) for a refusal by its MX host, "a@b does not exist" (553,
// smtpf#489) for a domain that does not exist, "no acceptable MX for b"
// (550, smtpf#493) when pruning left no host, "b null MX ..." (553,
// smtpf#499) for a null MX. An undetermined verdict is answered under
// Config.OnError, with the catalog's 4xx reply for the failed step when the
// policy is FailTemp: "no answer from b MX" (451 4.4.4, smtpf#488), "b MX
// lookup error" (451, smtpf#491), "b <error>" (451, smtpf#498), or the
// MX host's own 4xx as "450 4.7.0 sender <a@b> verification failed".
func (v *Verifier) SenderCheck() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Mail == nil || s.Mail.From.IsNull() {
			return smtpcheck.Result{}
		}
		from := s.Mail.From
		vd := v.verifyAt(ctx, from, v.now(s))
		return v.result(ctx, s, "sender", vd, v.senderReply(from, vd))
	}
}

// RecipientCheck returns smtpf's call-ahead, Postfix's
// reject_unverified_recipient: at RCPT TO it verifies the recipient, with
// the downstream server of Config.Host or the recipient domain's MX hosts.
// An undeliverable recipient is refused with "recipient <a@b> unknown" (550
// 5.7.1, smtpf#292), or the DNS replies SenderCheck gives when the MX
// records decide. An undetermined verdict is answered under Config.OnError,
// with "internal network error for HOST" (451 4.4.2, smtpf#481) when the
// server did not answer, or its own 4xx as "recipient <a@b> denied"
// (smtpf#300) when the policy is FailTemp.
func (v *Verifier) RecipientCheck() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Stage != smtpcheck.StageRcpt || s.Rcpt.Domain == "" {
			return smtpcheck.Result{}
		}
		vd := v.verifyAt(ctx, s.Rcpt, v.now(s))
		return v.result(ctx, s, "recipient", vd, v.recipientReply(s.Rcpt, vd))
	}
}

// VerifyFunc returns the verifier as a function of an address, the shape
// of a Postfix-vocabulary verifier for reject_unverified_recipient (and
// reject_unverified_sender): nil for a deliverable address, an error
// wrapping undeliverable (the caller's sentinel, such as
// postconf.ErrUndeliverable; nil means ErrUndeliverable) for an
// undeliverable one, and an error wrapping ErrUndetermined otherwise. The
// error's text is the verdict in Postfix's words, "host mx.example.org[192.0.2.1]:25
// said: 550 5.1.1 no such user (in reply to RCPT TO command)".
func (v *Verifier) VerifyFunc(undeliverable error) func(ctx context.Context, a smtpcheck.Address) error {
	if undeliverable == nil {
		undeliverable = ErrUndeliverable
	}
	return func(ctx context.Context, a smtpcheck.Address) error {
		vd := v.Verify(ctx, a)
		switch vd.Status {
		case Deliverable:
			return nil
		case Undeliverable:
			return &VerifyError{Verdict: vd, Kind: undeliverable}
		}
		return vd.Err()
	}
}

// result turns a verdict into the check's result.
func (v *Verifier) result(ctx context.Context, s *smtpcheck.Session, role string, vd Verdict, r reply.Reply) smtpcheck.Result {
	reason := smtpcheck.Reason{Check: Name, Rule: role + "-" + vd.Status.String(), Matched: vd.Address, Evidence: vd.String()}
	switch vd.Status {
	case Deliverable:
		return smtpcheck.Pass(reason)
	case Undeliverable:
		v.log.LogAttrs(ctx, slog.LevelInfo, "callout: address refused", slog.String("session", s.Conn.ID),
			slog.String("role", role), slog.String("address", vd.Address), slog.String("verdict", reason.Evidence))
		return smtpcheck.Refuse(r, reason)
	}
	res := v.cfg.OnError.Fail(vd.Err(), reason)
	if v.cfg.OnError == smtpcheck.FailTemp {
		res.Reply = r
	}
	return res
}

// senderReply is the catalog's reply for a sender verdict.
func (v *Verifier) senderReply(a smtpcheck.Address, vd Verdict) reply.Reply {
	domain := a.DomainFold()
	switch vd.Status {
	case Undeliverable:
		switch vd.Step {
		case StepMX:
			if strings.HasPrefix(vd.Said, "null MX") {
				return v.lookupFailed.Reply(domain, "null MX")
			}
			return v.noSuchSender.Reply(vd.Address)
		case StepHost:
			return v.noAcceptableMX.Reply(domain)
		}
		return v.senderFailed.ReplyCode(550, vd.Address)
	case Undetermined:
		switch vd.Step {
		case StepMX:
			return v.mxLookupError.Reply(domain)
		case StepHost:
			return v.lookupDeferred.Reply(domain, vd.Said)
		}
		if vd.Code >= 400 && (vd.Step == StepMail || vd.Step == StepRcpt) {
			return v.senderFailed.ReplyCode(450, vd.Address)
		}
		return v.noAnswer.Reply(domain)
	}
	return reply.Reply{}
}

// recipientReply is the catalog's reply for a recipient verdict.
func (v *Verifier) recipientReply(a smtpcheck.Address, vd Verdict) reply.Reply {
	if v.cfg.Host == "" && (vd.Step == StepMX || vd.Step == StepHost) {
		return v.senderReply(a, vd)
	}
	switch vd.Status {
	case Undeliverable:
		return v.rcptUnknown.Reply(vd.Address)
	case Undetermined:
		if vd.Code >= 400 && (vd.Step == StepMail || vd.Step == StepRcpt) {
			return v.forwardDenied.ReplyCode(450, vd.Address)
		}
		return v.forwardNetwork.Reply(vd.Host)
	}
	return reply.Reply{}
}
