package smtpcheck

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Policy is a whole policy: one check (usually a FirstMatch list) per stage,
// plus the session-wide rules of delayed rejection, logging and metrics.
// A nil stage check means "no opinion" at that stage.
type Policy struct {
	Connect   Check
	Helo      Check
	Mail      Check
	Rcpt      Check
	Data      Check
	Headers   Check
	EndOfData Check

	// DelayReject holds refusals found at connect, HELO and MAIL and gives
	// them at RCPT (smtpf's smtp-delay-checks, sendmail's delay_checks,
	// Postfix's smtpd_delay_reject), so that a recipient check can still
	// accept mail for postmaster@ from a listed client. Immediate results
	// and disconnects are never held.
	DelayReject bool

	// DryRun logs and counts every verdict but lets every request pass.
	DryRun bool

	// Logger receives one record per decision; nil logs nothing. The
	// record's *Decision is valid until the handler's Handle returns (its
	// Steps until the session's next Evaluate): a handler that keeps it
	// past that keeps a copy, or the values LogValue resolves.
	Logger *slog.Logger
	// Metrics, when set, receives counts and durations.
	Metrics Metrics
}

// Decision is the outcome of evaluating the policy at one stage.
type Decision struct {
	Stage  Stage
	Result Result // what the server should do now
	// Checked is what the stage's own checks said, before delayed
	// rejection, defer-if-permit across stages and a dry run: a front-end
	// that reports the stage's verdict (Postfix's policy protocol) reads it
	// here rather than wrapping the stage's check.
	Checked Result
	// Held is true when a refusal was found but held for RCPT.
	Held bool
	// FromHeld is true when Result is a refusal held from an earlier stage.
	FromHeld bool
	// Would is the verdict a dry run suppressed.
	Would Result
	// Steps is the trace: every named check that ran, in order of
	// completion. It is valid until the next Evaluate of the same session;
	// copy it to keep it longer.
	Steps []Step
	// Took is how long the stage's checks ran, held results and logging
	// aside; zero at a stage with no check, where there is nothing to
	// time.
	Took time.Duration
}

// LogValue logs a decision with its trace. A step whose reply and reason
// are the decision's own (the check that decided) logs only its action:
// the line already carries them once under result, and saying them twice
// doubled the cost of every refusal's log line.
func (d Decision) LogValue() slog.Value {
	attrs := make([]slog.Attr, 3, 7)
	attrs[0] = slog.String("stage", d.Stage.String())
	attrs[1] = slog.Attr{Key: "result", Value: d.Result.LogValue()}
	attrs[2] = slog.Duration("took", d.Took)
	if d.Held {
		attrs = append(attrs, slog.Bool("held", true))
	}
	if d.FromHeld {
		attrs = append(attrs, slog.Bool("delayed", true))
	}
	if d.Would.Action != Continue {
		attrs = append(attrs, slog.Attr{Key: "dry_run_would", Value: d.Would.LogValue()})
	}
	if len(d.Steps) > 0 {
		decided := d.Result
		if d.Would.Action != Continue {
			decided = d.Would
		}
		steps := make([]slog.Attr, len(d.Steps))
		for i, st := range d.Steps {
			var v slog.Value
			if sameVerdict(st.Result, decided) {
				v = slog.GroupValue(
					slog.String("check", st.Check),
					slog.Duration("took", st.Duration),
					slog.String("action", st.Result.Action.String()))
			} else {
				v = st.LogValue()
			}
			steps[i] = slog.Attr{Key: stepKey(i), Value: v}
		}
		attrs = append(attrs, slog.Attr{Key: "trace", Value: slog.GroupValue(steps...)})
	}
	return slog.GroupValue(attrs...)
}

// sameVerdict reports whether a step said what the decision says, reply
// and reason alike, so that logging it again would add nothing. A result
// with an error is always logged whole (and errors are not compared: an
// error of an uncomparable type would panic).
func sameVerdict(a, b Result) bool {
	if a.Err != nil || b.Err != nil || a.Reason != b.Reason || a.Score != b.Score || a.Reply.IsZero() != b.Reply.IsZero() {
		return false
	}
	ra, rb := a.Reply, b.Reply
	return ra.IsZero() || ra.Entry() != nil && ra.Entry() == rb.Entry() && ra.Code() == rb.Code() &&
		ra.Enhanced() == rb.Enhanced() && slices.Equal(ra.Args(), rb.Args())
}

// stepKey names trace step i+1; the first nine without formatting a number.
func stepKey(i int) string {
	const digits = "123456789"
	if i < len(digits) {
		return digits[i : i+1]
	}
	return strconv.Itoa(i + 1)
}

// StageCheck returns the check the policy runs at stage st, nil for a
// stage it has none for. A front-end may skip evaluating such a stage, but
// for RCPT, where the verdicts held by delayed rejection are given.
func (p *Policy) StageCheck(st Stage) Check {
	switch st {
	case StageConnect:
		return p.Connect
	case StageHelo:
		return p.Helo
	case StageMail:
		return p.Mail
	case StageRcpt:
		return p.Rcpt
	case StageData:
		return p.Data
	case StageHeaders:
		return p.Headers
	case StageEndOfData:
		return p.EndOfData
	}
	return nil
}

// Evaluate runs the policy for the session's current stage and returns the
// decision. It goes through five steps, one function each, in this order:
//
//  1. startTrace: the session's trace records every named check that runs;
//  2. runStage: the stage's check, with its undecided error or panic
//     resolved and a temporary failure deferred if nothing rejects
//     (Decision.Checked);
//  3. Session.hold: delayed rejection and defer-if-permit across stages;
//  4. dryRun: a dry run keeps the verdict in Would and lets the request pass;
//  5. record: metrics and one log record.
func (p *Policy) Evaluate(ctx context.Context, s *Session) Decision {
	// A stage without a check is timed by no clock: a policy service
	// walks every request through the stages before RCPT, and two clock
	// readings each cost more than the rest of such a stage.
	c := p.StageCheck(s.Stage)
	var start time.Time
	if c != nil {
		start = time.Now()
	}
	tr := p.startTrace(s)
	d := Decision{Stage: s.Stage}
	d.Checked = p.runStage(ctx, s, c)
	s.trace.Store(nil)
	r := s.hold(p.DelayReject, d.Checked, &d)
	tr.mu.Lock()
	d.Steps = tr.steps
	tr.mu.Unlock()
	d.Result = p.dryRun(r, &d)
	var end time.Time
	if c != nil {
		end = time.Now()
		d.Took = end.Sub(start)
	}
	p.record(ctx, s, &d, end)
	return d
}

// startTrace makes the session's trace buffer the active trace, emptied.
// The buffer is reused from one evaluation to the next, so a steady stream
// of decisions allocates no trace memory.
func (p *Policy) startTrace(s *Session) *Trace {
	tr := &s.traceBuf
	tr.mu.Lock()
	tr.stage, tr.metrics, tr.steps = s.Stage, p.Metrics, tr.steps[:0]
	tr.mu.Unlock()
	s.trace.Store(tr)
	return tr
}

// runStage runs c, the check of the session's stage, and gives its verdict
// with nothing undecided: an unguarded error fails open (traced), an
// unguarded panic temp-fails, and a temporary failure defers if nothing
// rejects.
func (p *Policy) runStage(ctx context.Context, s *Session, c Check) Result {
	var r Result
	if c != nil {
		r = runContained(ctx, s, c, "policy")
	}
	if r.Undecided() {
		r = Options{}.policyFor(r.Err).Fail(r.Err, r.Reason)
	}
	return deferTempFailure(r)
}

// hold applies delayed rejection and defer-if-permit to the stage's verdict
// r and returns what the server does now. At connect, HELO and MAIL a
// defer-if-permit (and, with delay, a refusal that is not Immediate) is
// kept in the session and the command goes on (d.Held); at RCPT the
// strongest kept verdict is given unless the recipient's own checks
// decided (d.FromHeld); a defer-if-permit still standing becomes a
// temporary failure.
func (s *Session) hold(delay bool, r Result, d *Decision) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	var held *Result
	for _, h := range [...]*Result{s.heldConnect, s.heldHelo, s.heldTx} {
		if h != nil && (held == nil || h.Action > held.Action) {
			held = h
		}
	}
	if s.Stage == StageHelo {
		s.heloRefused = r.Action.Refuses() || r.Action == DeferIfPermit
	}
	switch s.Stage {
	case StageConnect, StageHelo, StageMail:
		holdable := r.Action == Reject || r.Action == TempFail
		if r.Action == DeferIfPermit || (delay && holdable && !r.Immediate) {
			slot := &s.heldConnect
			switch s.Stage {
			case StageHelo:
				slot = &s.heldHelo
			case StageMail:
				slot = &s.heldTx
			}
			if *slot == nil || r.Action > (*slot).Action {
				hr := r
				*slot = &hr
			}
			d.Held = true
			r = Result{Headers: r.Headers, Score: r.Score, Reason: r.Reason}
		}
	case StageRcpt:
		switch {
		case r.Action.Refuses() || r.Action == Accept || r.Action == Discard:
			// the recipient stage decided on its own: an accept here wins
			// over a held refusal (postmaster@ still gets mail).
			if r.Action == Accept && held != nil && held.Action == DeferIfPermit {
				r = *held
				r.Action = TempFail
				d.FromHeld = true
			}
		case held != nil:
			hr := *held
			if hr.Action == DeferIfPermit {
				hr.Action = TempFail
			}
			r, d.FromHeld = hr, true
		case r.Action == DeferIfPermit:
			r.Action = TempFail
		}
	default:
		if r.Action == DeferIfPermit {
			r.Action = TempFail
		}
	}
	return r
}

// dryRun, under Policy.DryRun, keeps a verdict other than go-on in d.Would
// and returns one that lets the request pass with the same reason,
// headers and score.
func (p *Policy) dryRun(r Result, d *Decision) Result {
	if p.DryRun && r.Action != Continue && r.Action != Accept {
		d.Would = r
		r = Result{Reason: r.Reason, Headers: r.Headers, Score: r.Score}
	}
	return r
}

// loggedDecisions holds the copies of decisions that log records carry.
var loggedDecisions = sync.Pool{New: func() any { return new(Decision) }}

// record counts the decision and logs it: at info level when it does
// anything (or a dry run suppressed something), at debug level otherwise.
// The record is stamped end, the time the decision was made (read now
// when the caller read no clock).
func (p *Policy) record(ctx context.Context, s *Session, d *Decision, end time.Time) {
	if p.Metrics != nil {
		p.Metrics.Decided(s.Stage, d.Result.Action, d.Took)
	}
	if p.Logger != nil {
		level := slog.LevelDebug
		if d.Result.Action != Continue || d.Held || d.Would.Action != Continue {
			level = slog.LevelInfo
		}
		// The values go to slog unresolved (LogValuers, the Decision by
		// pointer): a program's handler reads the typed *Session and
		// *Decision from the record (verdict lines, metrics), and a text
		// or JSON handler resolves them. Enabled first, so a decision not
		// logged costs nothing.
		// The record gets its own copy of the decision, from a pool and
		// given back once the handler returns: handing slog d itself would
		// put every decision on the heap, logged or not, and a fresh copy
		// per record was half the bytes a policy service allocated per
		// request (one record per stage walked).
		// The record goes to the handler directly, without the caller's
		// PC: Logger.LogAttrs walks the stack for it on every record
		// (a tenth of a policy service's CPU per request), and the PC
		// would name this function, not the program's code.
		if h := p.Logger.Handler(); h.Enabled(ctx, level) {
			logged := loggedDecisions.Get().(*Decision)
			*logged = *d
			if end.IsZero() {
				end = time.Now() // a stage without a check read no clock
			}
			rec := slog.NewRecord(end, level, "decision", 0)
			rec.AddAttrs(slog.Any("session", s), slog.Any("decision", logged))
			_ = h.Handle(ctx, rec)
			*logged = Decision{}
			loggedDecisions.Put(logged)
		}
	}
}
