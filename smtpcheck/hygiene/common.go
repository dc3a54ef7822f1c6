package hygiene

import (
	"context"
	"net/netip"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// refuse builds a refusal with the reason filled in.
func refuse(r reply.Reply, check, rule, matched string) smtpcheck.Result {
	return smtpcheck.Refuse(r, smtpcheck.Reason{Check: check, Rule: rule, Matched: matched})
}

// clientIP returns the client's address as text for replies.
func clientIP(s *smtpcheck.Session) string {
	if !s.Conn.ClientIP.IsValid() {
		return "unknown"
	}
	return s.Conn.ClientIP.String()
}

// senderText returns the sender as shown in replies.
func senderText(s *smtpcheck.Session) string {
	if s.Mail == nil {
		return ""
	}
	return s.Mail.From.String()
}

// sameAddr compares addresses with IPv4-mapped IPv6 unmapped.
func sameAddr(a, b netip.Addr) bool { return a.IsValid() && a.Unmap() == b.Unmap() }

// test is a check's logic in the form Default's lists run: nil when the
// check passes, which spares the copying of a whole Result per check.
type test func(ctx context.Context, s *smtpcheck.Session) *smtpcheck.Result

// check turns a test into a smtpcheck.Check.
func (t test) check() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if r := t(ctx, s); r != nil {
			return *r
		}
		return smtpcheck.Result{}
	}
}

// onHeader runs t once the header has arrived; before, no opinion.
func onHeader(t test) test {
	return func(ctx context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if s.Header == nil {
			return nil
		}
		return t(ctx, s)
	}
}

// afterHelo runs t once the client has given a HELO name; before, no
// opinion.
func afterHelo(t test) test {
	return func(ctx context.Context, s *smtpcheck.Session) *smtpcheck.Result {
		if !heloDone(s) {
			return nil
		}
		return t(ctx, s)
	}
}

// positiveOr is n, or def when n is zero or negative: a limit a Config
// leaves unset.
func positiveOr(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// ptr returns a refusal for a test.
func ptr(r smtpcheck.Result) *smtpcheck.Result { return &r }
