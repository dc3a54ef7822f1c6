package clamd

import (
	"context"
	"errors"
	"log/slog"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/scan/internal/scanio"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Check returns the end-of-data check: it scans the whole message and
// answers a virus with Config.OnFound, naming the signature in the reply
// ("message ID is INFECTED with NAME", smtpf#208) and the reason. A failed
// exchange is answered under Config.OnError, with the catalog's 451 4.4.0
// reply for the failed step when the policy is FailTemp. The result carries
// the error for the trace in every case. Before end of data (no message) it
// has no opinion.
func (c *Scanner) Check() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		msg, _, err := scanio.Message(s)
		if err != nil {
			return smtpcheck.Result{Err: err, Reason: smtpcheck.Reason{Check: Name, Rule: "message"}}
		}
		if msg == nil {
			return smtpcheck.Result{}
		}
		defer msg.Close()
		v, err := c.Scan(ctx, msg)
		if err != nil {
			return c.fail(ctx, s, err)
		}
		reason := smtpcheck.Reason{Check: Name, Rule: "clean", Evidence: v.Reply}
		if !v.Infected {
			return smtpcheck.Pass(reason)
		}
		reason.Rule, reason.Matched = "found", v.Virus
		c.log.LogAttrs(ctx, slog.LevelWarn, "clamd: virus found",
			slog.String("session", s.Conn.ID), slog.String("virus", v.Virus), slog.String("action", c.onFound.String()))
		switch c.onFound {
		case smtpcheck.Reject:
			return smtpcheck.Refuse(reply.Rejected("message "+s.Conn.ID+" is INFECTED with "+v.Virus), reason)
		}
		res := smtpcheck.Result{Action: c.onFound, Reason: reason}
		if c.onFound == smtpcheck.Tag || c.onFound == smtpcheck.Quarantine {
			res.Headers = []smtpcheck.HeaderField{{Name: "X-Virus-Found", Value: v.Virus}}
		}
		return res
	}
}

// fail applies the error policy, with the catalog's reply for the failed
// step when the policy is a temporary failure.
func (c *Scanner) fail(ctx context.Context, s *smtpcheck.Session, err error) smtpcheck.Result {
	var e *Error
	if errors.As(err, &e) {
		return scanio.Fail(ctx, c.log, Name, c.onError, s, err, e.Op, e)
	}
	return scanio.Fail(ctx, c.log, Name, c.onError, s, err, "", nil)
}
