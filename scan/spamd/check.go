package spamd

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/scan/internal/scanio"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Check returns the end-of-data check. In order:
//   - the sender marked the message as spam (RejectSenderMarkedSpam,
//     SenderMarkedSpam): refused with smtpf#678/#679's 550 5.7.1, spamd
//     is not asked;
//   - a message over MaxSize passes unscored;
//   - otherwise spamd scores it and Decide turns the score into a verdict.
//
// A failed exchange is answered under Config.OnError, with the catalog's
// 451 4.4.0 reply for the failed step when the policy is FailTemp; the
// result carries the error for the trace. Before end of data (no message)
// the check has no opinion.
func (c *Scanner) Check() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if r, ok := c.senderMarked(s); ok {
			return r
		}
		msg, size, err := scanio.Message(s)
		if err != nil {
			return smtpcheck.Result{Err: err, Reason: smtpcheck.Reason{Check: Name, Rule: "message"}}
		}
		if msg == nil {
			return smtpcheck.Result{}
		}
		defer msg.Close()
		if c.cfg.MaxSize > 0 && size > c.cfg.MaxSize {
			return smtpcheck.Pass(smtpcheck.Reason{Check: Name, Rule: "max-size", Evidence: strconv.FormatInt(size, 10) + " octets not scanned"})
		}
		v, err := c.Scan(ctx, msg, size)
		if err != nil {
			return c.fail(ctx, s, err)
		}
		r := c.Decide(s, v)
		c.log.LogAttrs(ctx, slog.LevelInfo, "spamd: message scored",
			slog.String("session", s.Conn.ID), slog.Float64("score", v.Score), slog.Float64("required", v.Required),
			slog.String("rules", strings.Join(v.Rules, ",")), slog.String("action", r.Action.String()))
		return r
	}
}

// Decide turns spamd's verdict into a result with Config.Thresholds, the
// highest reached winning: Reject (smtpf#693's "message ID junk mail score
// S/R"), TempFail, Quarantine, Tag (at zero: spamd's own judgement), and
// Allow (accept, when negative and the score is at or under it). The result's
// Score is spamd's score, so Decide also fits inside a smtpcheck.Score
// group; a message that is not refused gets the X-Spam-* headers. s supplies
// the session ID for the reply; it may be nil.
func (c *Scanner) Decide(s *smtpcheck.Session, v Verdict) smtpcheck.Result {
	th := c.cfg.Thresholds
	score := strconv.FormatFloat(v.Score, 'f', 1, 64)
	evidence := "required=" + strconv.FormatFloat(v.Required, 'f', 1, 64)
	if len(v.Rules) > 0 {
		evidence += " tests=" + strings.Join(v.Rules, ",")
	}
	res := smtpcheck.Result{Score: v.Score, Reason: smtpcheck.Reason{Check: Name, Rule: "score", Matched: score, Evidence: evidence}}
	action := th.Decide(v.Score)
	if action == smtpcheck.Continue && th.Tag == 0 && v.Spam {
		action = smtpcheck.Tag // no Tag threshold: spamd's own judgement tags
	}
	switch action {
	case smtpcheck.Accept:
		res.Action, res.Reason.Rule = smtpcheck.Accept, "allow"
	case smtpcheck.Reject:
		id := "<unknown>"
		if s != nil {
			id = s.Conn.ID
		}
		res.Action, res.Reason.Rule = smtpcheck.Reject, "score-reject"
		res.Reply = reply.Rejected("message " + id + " junk mail score " +
			strconv.FormatFloat(v.Score, 'f', 2, 64) + "/" + strconv.FormatFloat(v.Required, 'f', 2, 64))
		return res
	case smtpcheck.TempFail:
		res.Action, res.Reason.Rule = smtpcheck.TempFail, "score-tempfail"
		return res
	case smtpcheck.Quarantine:
		res.Action, res.Reason.Rule = smtpcheck.Quarantine, "score-quarantine"
	case smtpcheck.Tag:
		res.Action, res.Reason.Rule = smtpcheck.Tag, "score-tag"
	}
	res.Headers = headers(v, res.Action == smtpcheck.Tag || res.Action == smtpcheck.Quarantine)
	return res
}

// headers are SpamAssassin's own X-Spam-* fields, so a mailbox's filters
// that know them work unchanged.
func headers(v Verdict, spam bool) []smtpcheck.HeaderField {
	flag, yes := "NO", "No"
	if spam {
		flag, yes = "YES", "Yes"
	}
	score := strconv.FormatFloat(v.Score, 'f', 1, 64)
	status := yes + ", score=" + score + " required=" + strconv.FormatFloat(v.Required, 'f', 1, 64)
	if len(v.Rules) > 0 {
		// Fold the rule list so no line passes 78 octets (RFC 5322 2.1.1).
		var b strings.Builder
		b.WriteString(status + " tests=")
		line := len("X-Spam-Status: ") + b.Len()
		for i, r := range v.Rules {
			if i > 0 {
				b.WriteByte(',')
				line++
				if line+len(r) > 76 {
					b.WriteString("\r\n\t")
					line = 1
				}
			}
			b.WriteString(r)
			line += len(r)
		}
		status = b.String()
	}
	level := strings.Repeat("*", min(max(int(v.Score), 0), 50))
	h := []smtpcheck.HeaderField{
		{Name: "X-Spam-Flag", Value: flag},
		{Name: "X-Spam-Score", Value: score},
	}
	if level != "" {
		h = append(h, smtpcheck.HeaderField{Name: "X-Spam-Level", Value: level})
	}
	return append(h, smtpcheck.HeaderField{Name: "X-Spam-Status", Value: status})
}

// senderMarked refuses a message that the sender's own filter marked as
// spam, when the options ask for it.
func (c *Scanner) senderMarked(s *smtpcheck.Session) (smtpcheck.Result, bool) {
	if c.cfg.RejectSenderMarkedSpam && !off(c.cfg.Thresholds.Reject) {
		if v, ok := s.Header.Get("X-Spam-Status"); ok {
			if score, ok := claimedScore(v); ok && score >= c.cfg.Thresholds.Reject {
				return smtpcheck.Refuse(reply.MarkedSpamBySender(), smtpcheck.Reason{
					Check: Name, Rule: "sender-marked-spam", Matched: "X-Spam-Status score=" + strconv.FormatFloat(score, 'f', -1, 64), Evidence: v,
				}), true
			}
		}
	}
	if c.cfg.SenderMarkedSpam {
		if v, ok := s.Header.Get("X-Spam-Flag"); ok && strings.EqualFold(strings.TrimSpace(v), "YES") {
			return smtpcheck.Refuse(reply.MarkedSpamBySender(), smtpcheck.Reason{
				Check: Name, Rule: "sender-marked-spam", Matched: "X-Spam-Flag: YES",
			}), true
		}
	}
	return smtpcheck.Result{}, false
}

// claimedScore reads the score an X-Spam-Status field claims: "score=N" (or
// the older "hits=N").
func claimedScore(v string) (float64, bool) {
	for _, key := range []string{"score=", "hits="} {
		i := strings.Index(strings.ToLower(v), key)
		if i < 0 {
			continue
		}
		rest := v[i+len(key):]
		end := strings.IndexFunc(rest, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.' || r == '-') })
		if end >= 0 {
			rest = rest[:end]
		}
		f, err := strconv.ParseFloat(rest, 64)
		return f, err == nil
	}
	return 0, false
}

// fail applies the error policy, with the catalog's reply for the failed
// step when the policy is a temporary failure.
func (c *Scanner) fail(ctx context.Context, s *smtpcheck.Session, err error) smtpcheck.Result {
	var e *Error
	if errors.As(err, &e) {
		return scanio.Fail(ctx, c.log, Name, c.cfg.OnError, s, err, e.Op, e)
	}
	return scanio.Fail(ctx, c.log, Name, c.cfg.OnError, s, err, "", nil)
}
