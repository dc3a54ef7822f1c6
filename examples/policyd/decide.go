package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/examples/policyd/policy"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// walkKey keys the walk's record in the session's values.
type walkKey struct{}

// walk records, for one request, what each stage's check answered before
// the Policy rewrote it, and the refusal the Policy holds for RCPT.
// Policy.Evaluate turns a defer-if-permit into a final temporary failure
// at RCPT and later; Postfix must get DEFER_IF_PERMIT instead, for its own
// restriction lists to apply.
type walk struct {
	raw     smtpcheck.Result // the current stage's own result
	rawSeen bool
	held    *smtpcheck.Result // the strongest refusal held so far
}

// errHeldFailure stands for a held result whose check never returned (a
// contained panic): the Policy held a temporary failure we did not see.
var errHeldFailure = errors.New("policyd: a check failed before RCPT")

// recordRaw wraps a stage's check to record its own result in the walk.
func recordRaw(c smtpcheck.Check) smtpcheck.Check {
	if c == nil {
		return nil
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := c(ctx, s)
		if w, ok := s.Value(walkKey{}).(*walk); ok {
			w.raw, w.rawSeen = r, true
		}
		return r
	}
}

// walkStages are the stages a request may be walked through, in order.
// Postfix sends no request between DATA and the end of the message.
var walkStages = [...]smtpcheck.Stage{
	smtpcheck.StageConnect, smtpcheck.StageHelo, smtpcheck.StageMail,
	smtpcheck.StageRcpt, smtpcheck.StageData, smtpcheck.StageEndOfData,
}

// decide evaluates one request and returns the action to answer.
//
// The request's envelope is revealed to one fresh session stage by stage
// (the client at connect, helo_name at HELO, the sender at MAIL, the
// recipient at RCPT, the recipient list at DATA) and each stage is
// evaluated by the Policy, up to the request's protocol_state. Refusals
// found before RCPT are held for RCPT (delayed rejection, as with
// smtpd_delay_reject); a request that never reaches RCPT (CONNECT, HELO
// and MAIL requests, and DATA requests from a transaction of several
// recipients, where Postfix sends no recipient) is judged without holding.
// The first refusal ends the walk.
func (s *server) decide(ctx context.Context, req policy.Request) string {
	return s.decideIn(ctx, new(requestMemory), req)
}

// requestMemory is what one request's walk needs: the whole session the request
// describes, the session revealed to the policy stage by stage, and the
// walk's record. A connection makes one and reuses it from request to
// request (a request's checks and log records do not outlive it).
type requestMemory struct {
	full, sess smtpcheck.Session
	mail       smtpcheck.Mail
	walk       walk
	reason     reasonText // the verdict's reason, logged by pointer
}

// decideIn is decide with rq as the request's memory.
func (s *server) decideIn(ctx context.Context, rq *requestMemory, req policy.Request) (action string) {
	rq.full.Reset()
	rq.sess.Reset()
	rq.walk = walk{}
	full := &rq.full
	if err := req.Fill(full, &rq.mail); err != nil {
		if !errors.Is(err, policy.ErrUnsupported) {
			s.log.Warn("policy request not understood; answering DUNNO", "error", err)
		}
		return "DUNNO"
	}
	if _, ok := ctx.Deadline(); !ok {
		// A caller without the connection loop's per-request deadline.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	target := full.Stage
	if target == smtpcheck.StageRcpt && full.Rcpt.Domain == "" && strings.EqualFold(full.Rcpt.Local, "postmaster") {
		// Postfix's smtpd accepts a bare postmaster before any restriction
		// (RFC 5321 4.5.1); so does the policy it delegates to.
		s.log.Debug("policy answer", "session", full, "action", "DUNNO", "reason", "postmaster")
		return "DUNNO"
	}
	sess := &rq.sess
	// The connection loop made ctx with this server's timeout.
	sess.Conn, sess.Now = full.Conn, requestTime(ctx, s.timeout)
	w := &rq.walk
	sess.SetValue(walkKey{}, w)
	sess.SetValue(requestStageKey{}, target)
	if _, ok := req["etrn_domain"]; ok {
		sess.SetValue(postfixSendsDSNKey{}, true)
	}
	// A policy request is not a connection: give back any concurrency
	// slot the access map's limits took for it.
	defer access.Release(ctx, sess)
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("policy failed; answering the default action", "session", sess, "panic", fmt.Sprint(v), "action", s.failAction)
			action = s.failAction
		}
	}()

	toRcpt := target == smtpcheck.StageRcpt || (target > smtpcheck.StageRcpt && !full.Rcpt.IsNull())
	p := s.immediate
	if toRcpt {
		p = s.policy
	}
	var headers []smtpcheck.HeaderField
	var hold smtpcheck.Result // a quarantine verdict, answered HOLD unless refused
	for _, st := range walkStages {
		if st > target {
			break
		}
		switch st {
		case smtpcheck.StageHelo:
			if full.Helo.Name == "" {
				continue // the client sent no HELO
			}
			sess.Helo = full.Helo
		case smtpcheck.StageMail:
			sess.Mail = full.Mail
		case smtpcheck.StageRcpt:
			if !toRcpt {
				continue
			}
			sess.Rcpt = full.Rcpt
		case smtpcheck.StageData:
			sess.Rcpts = full.Rcpts
		}
		sess.Stage = st
		if st < smtpcheck.StageRcpt && st < target && p.StageCheck(st) == nil {
			// A stage before RCPT without a check decides nothing and
			// holds nothing, and a held refusal is released only from
			// RCPT on: evaluating it would cost a request a decision
			// record per stage for no verdict.
			continue
		}
		w.raw, w.rawSeen = smtpcheck.Result{}, false
		d := p.Evaluate(ctx, sess)
		if d.Held {
			h := w.raw
			if !w.rawSeen || h.Action < smtpcheck.DeferIfPermit {
				h = smtpcheck.Result{Action: smtpcheck.TempFail, Reply: reply.InternalError(), Err: errHeldFailure}
			}
			if w.held == nil || h.Action > w.held.Action {
				w.held = &h
			}
		}
		r, dry := d.Result, false
		if d.Would.Action != smtpcheck.Continue {
			r, dry = d.Would, true
		}
		headers = append(headers, r.Headers...)
		switch {
		case r.Action.Refuses() || r.Action == smtpcheck.Discard:
			return s.answer(ctx, rq, r, dry, s.wasDeferIfPermit(d, r, w))
		case r.Action == smtpcheck.Quarantine && hold.Action == smtpcheck.Continue:
			hold = r
		}
	}
	if w.held != nil && !toRcpt {
		// Refusals are held only for RCPT; without one, the walk ends with
		// the held verdict undelivered.
		r := *w.held
		return s.answer(ctx, rq, r, s.policy.DryRun, r.Action == smtpcheck.DeferIfPermit)
	}
	if hold.Action == smtpcheck.Quarantine {
		return s.answer(ctx, rq, hold, s.policy.DryRun, false)
	}
	// One answer carries one action: an access table's FILTER, REDIRECT,
	// BCC, restriction or WARN goes to Postfix as written, else the first
	// header to prepend.
	passed := postfix.PassedOn(sess)
	if n := len(passed) + len(headers); n > 1 {
		s.log.Info("policy answers carry one action; the rest are dropped", "session", sess, "actions", n)
	}
	if len(passed) > 0 {
		action = passed[0].String()
	} else {
		action = policy.Action(smtpcheck.Result{Headers: headers})
	}
	level := slog.LevelDebug
	if action != "DUNNO" {
		level = slog.LevelInfo
	}
	s.logVerdict(ctx, level, "policy answer", slog.Any("session", sess), slog.String("action", action))
	return action
}

// wasDeferIfPermit reports whether a temporary failure the Policy gave was
// a defer-if-permit before Evaluate made it final: the stage's own result
// (at RCPT and later), or a held defer-if-permit released at RCPT.
func (s *server) wasDeferIfPermit(d smtpcheck.Decision, r smtpcheck.Result, w *walk) bool {
	if r.Action != smtpcheck.TempFail {
		return false
	}
	if d.FromHeld {
		return w.held != nil && w.held.Action == smtpcheck.DeferIfPermit
	}
	return w.rawSeen && w.raw.Action == smtpcheck.DeferIfPermit
}

// answer turns the verdict that ended the walk into a Postfix action: the
// failure action for a policy that failed, DEFER_IF_PERMIT for a
// defer-if-permit, the result's own action otherwise. In a dry run the
// would-be action is logged and DUNNO answered.
func (s *server) answer(ctx context.Context, rq *requestMemory, r smtpcheck.Result, dry, deferIfPermit bool) string {
	sess := &rq.sess
	rq.reason = reasonText(r.Reason)
	var action string
	var buf [256]byte // the answer is built here, and copied once
	switch {
	case r.Err != nil && r.Action == smtpcheck.TempFail:
		action = s.failAction
		s.log.Error("policy failed; answering the default action", "session", sess, "error", r.Err, "action", action)
	case deferIfPermit:
		action = string(appendCoded(buf[:0], "DEFER_IF_PERMIT", sess, r.DefaultReply()))
	case r.Action.Refuses():
		rep := r.DefaultReply()
		var code [3]byte
		action = string(appendCoded(buf[:0], string(strconv.AppendInt(code[:0], int64(rep.Code()), 10)), sess, rep))
	case tableAction(r) != "":
		action = tableAction(r)
	default:
		action = policy.Action(r)
	}
	if dry {
		s.logVerdict(ctx, slog.LevelInfo, "dry run: answering DUNNO", slog.Any("session", sess),
			slog.String("would_answer", action), slog.Any("reason", &rq.reason))
		return "DUNNO"
	}
	s.logVerdict(ctx, slog.LevelInfo, "policy answer", slog.Any("session", sess),
		slog.String("action", action), slog.Any("reason", &rq.reason))
	return action
}

// logVerdict logs a request's answer. The record goes to the handler
// directly, without the caller's PC: slog.Logger walks the stack for it
// on every record, a tenth of the CPU a request costs, and no handler of
// policyd's writes it.
func (s *server) logVerdict(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	h := s.log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs...)
	_ = h.Handle(ctx, r)
}

// reasonText logs a reason as its text, formatted only by a handler that
// writes it: policyd's own verdict line reads the check and rule from the
// decision instead, so most answers never format it.
type reasonText smtpcheck.Reason

// LogValue implements slog.LogValuer.
func (r reasonText) LogValue() slog.Value { return slog.StringValue(smtpcheck.Reason(r).String()) }

// tableAction is an access table's own HOLD or DISCARD entry, answered to
// Postfix as written.
func tableAction(r smtpcheck.Result) string {
	if !strings.HasPrefix(r.Reason.Check, "check_") || !strings.HasSuffix(r.Reason.Check, "_access") {
		return ""
	}
	verb, _, _ := strings.Cut(r.Reason.Evidence, " ")
	if (verb == "HOLD" && r.Action == smtpcheck.Quarantine) || (verb == "DISCARD" && r.Action == smtpcheck.Discard) {
		return r.Reason.Evidence
	}
	return ""
}

// appendCoded appends "VERB ENHANCED TEXT", the parts there are: a
// refusal as Postfix's access(5) "4NN text" or "5NN text" (Postfix keeps
// the code and the enhanced code, where its own REJECT and DEFER would put
// access_map_reject_code or access_map_defer_code), or a DEFER_IF_PERMIT.
// Postfix puts its own "<recipient>: Recipient address rejected: " in
// front of the text.
func appendCoded(dst []byte, verb string, sess *smtpcheck.Session, rep reply.Reply) []byte {
	dst = append(dst, verb...)
	if e := rep.Enhanced(); !e.IsZero() {
		dst = append(dst, ' ', '0'+e.Class, '.')
		dst = strconv.AppendUint(dst, uint64(e.Subject), 10)
		dst = append(dst, '.')
		dst = strconv.AppendUint(dst, uint64(e.Detail), 10)
	}
	n := len(dst)
	dst = appendRelayText(append(dst, ' '), sess, rep)
	if len(dst) == n+1 {
		return dst[:n] // no text
	}
	return dst
}

// appendRelayText appends a reply's text as policyd answers it. Postfix
// writes a policy's text after "<name>: Class rejected: " of the request's
// own subject (the recipient at RCPT). A text that already starts with
// that head loses it, so the client reads Postfix's own reply; one about
// another subject keeps the subject but not the nested form:
// "<[1.2.3]>: Helo command rejected: invalid ip address" becomes
// "Helo command <[1.2.3]>: invalid ip address".
func appendRelayText(dst []byte, sess *smtpcheck.Session, rep reply.Reply) []byte {
	start := len(dst)
	dst = rep.AppendText(dst, "; ")
	text := dst[start:]
	rest, subject := text, []byte(nil)
	if len(rest) > 0 && rest[0] == '<' {
		if i := bytes.Index(rest, []byte(">: ")); i > 0 {
			subject, rest = rest[1:i], rest[i+3:]
		}
	}
	class := ""
	for k := postfix.Client; k <= postfix.EndOfData; k++ {
		if c := k.String(); bytes.HasPrefix(rest, []byte(c)) && bytes.HasPrefix(rest[len(c):], []byte(" rejected: ")) {
			class, rest = c, rest[len(c)+len(" rejected: "):]
			break
		}
	}
	if subject == nil && class == "" {
		return dst // the common case: the text as it is, in place
	}
	ownClass, ownSubject := requestSubject(sess)
	if (class == "" || class == ownClass) && (subject == nil || bytes.EqualFold(subject, []byte(ownSubject))) {
		n := copy(text, rest)
		return dst[:start+n]
	}
	head := class
	if subject != nil {
		head = strings.TrimSpace(head + " <" + string(subject) + ">")
	}
	tail := string(rest)
	return append(append(append(dst[:start], head...), ": "...), tail...)
}

// requestSubject is what Postfix names in front of a policy's text: the
// subject of the restriction list at the request's protocol state.
func requestSubject(sess *smtpcheck.Session) (class, subject string) {
	st, _ := sess.Value(requestStageKey{}).(smtpcheck.Stage)
	switch st {
	case smtpcheck.StageConnect:
		return postfix.Client.String(), sess.Conn.Name() + "[" + sess.Conn.ClientIP.String() + "]"
	case smtpcheck.StageHelo:
		return postfix.Helo.String(), sess.Helo.Name
	case smtpcheck.StageMail:
		if sess.Mail != nil {
			return postfix.Sender.String(), sess.Mail.From.String()
		}
		return postfix.Sender.String(), ""
	case smtpcheck.StageData:
		return postfix.Data.String(), "DATA"
	case smtpcheck.StageEndOfData:
		return postfix.EndOfData.String(), "END-OF-MESSAGE"
	}
	return postfix.Recipient.String(), sess.Rcpt.String()
}
