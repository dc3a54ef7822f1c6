package smtpcheck

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FirstMatch evaluates checks in order, the way Postfix evaluates a
// restriction list: the first final verdict (accept, refuse, discard) ends
// the list. Tags, quarantine, scores and headers accumulate along the way.
// A defer-if-permit verdict is remembered: a later refusal replaces it, while
// a later accept turns it into a temporary failure. A temporary refusal a
// check gave because it could not decide (Result.Err set) counts as a
// defer-if-permit, as with Postfix's reject_tempfail_action. When the list ends with no
// final verdict, the result is Continue (or the remembered tag, quarantine or
// defer-if-permit), leaving the decision to the enclosing list.
func FirstMatch(checks ...Check) Check {
	switch len(checks) {
	case 0:
		return func(context.Context, *Session) Result { return Result{} }
	case 1:
		return checks[0] // a list of one decides as its check does
	}
	return func(ctx context.Context, s *Session) Result {
		var f folder
		for _, c := range checks {
			if f.add(c(ctx, s)) {
				break
			}
		}
		return f.result()
	}
}

// folder accumulates results in list order with FirstMatch's rules.
type folder struct {
	acc         Result // accumulated tag/quarantine, score and headers
	deferred    Result // first defer-if-permit seen
	final       Result
	hasDeferred bool
	hasFinal    bool
}

// add folds in one result and reports whether the list is decided.
func (f *folder) add(r Result) bool {
	r = deferTempFailure(r)
	f.acc.Score += r.Score
	f.acc.Headers = append(f.acc.Headers, r.Headers...)
	switch r.Action {
	case Continue:
		// An undecided error travels up to the enclosing Guard unless a
		// later check decides the list.
		if r.Undecided() && f.acc.Err == nil {
			f.acc.Err, f.acc.Reason = r.Err, r.Reason
		}
		return false
	case Tag, Quarantine:
		if r.Action > f.acc.Action || f.acc.Action == Continue {
			f.acc.Action, f.acc.Reason, f.acc.Reply = r.Action, r.Reason, r.Reply
		}
		return false
	case DeferIfPermit:
		if !f.hasDeferred {
			f.deferred, f.hasDeferred = r, true
		}
		return false
	case Accept:
		if f.hasDeferred {
			f.final, f.hasFinal = f.deferred, true
			f.final.Action = TempFail
			return true
		}
	}
	f.final, f.hasFinal = r, true
	return true
}

func (f *folder) result() Result {
	var r Result
	switch {
	case f.hasFinal:
		r = f.final
	case f.hasDeferred:
		r = f.deferred
	default:
		r = f.acc
		return r
	}
	r.Score = f.acc.Score
	r.Headers = f.acc.Headers
	if r.Action == Accept && f.acc.Action != Continue {
		// An accept after a tag or quarantine keeps the mark and its reason.
		r.Action, r.Reason = f.acc.Action, f.acc.Reason
	}
	return r
}

// Parallel runs checks concurrently under one shared deadline (for checks
// bound by DNS round trips) and then folds their results in list order, with
// FirstMatch's rules, so the verdict does not depend on which answer came
// first. A check still running at the deadline counts as having overrun it
// (ErrDeadline, fail open) and its late result is dropped.
func Parallel(timeout time.Duration, checks ...Check) Check {
	return func(ctx context.Context, s *Session) Result {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		type indexed struct {
			i int
			r Result
		}
		results := make([]Result, len(checks))
		got := make([]bool, len(checks))
		ch := make(chan indexed, len(checks))
		for i, c := range checks {
			go func() { ch <- indexed{i, runContained(ctx, s, c, "")} }()
		}
		for n := 0; n < len(checks); n++ {
			select {
			case x := <-ch:
				results[x.i], got[x.i] = x.r, true
			case <-ctx.Done():
				n = len(checks)
			}
		}
		var f folder
		for i, r := range results {
			if !got[i] {
				r = Result{Err: ErrDeadline, Reason: Reason{Check: "parallel", Evidence: fmt.Sprintf("check %d of %d unfinished", i+1, len(checks))}}
			}
			if f.add(r) {
				break
			}
		}
		return f.result()
	}
}

// Thresholds turn a total score into a verdict, as postscreen's
// postscreen_dnsbl_threshold and maddy's scores do. A threshold of zero is
// off; the highest threshold reached wins.
type Thresholds struct {
	Tag        float64 // add headers / mark as suspicious
	Quarantine float64
	TempFail   float64
	Reject     float64
	// Allow, when negative, accepts outright at or below it (an allowlist
	// score, as postscreen_dnsbl_allowlist_threshold).
	Allow float64
}

// Decide is the one ladder every score climbs (Score, the DNS lists, the
// spam scanner): Accept at or below a negative Allow; otherwise the
// highest threshold reached of Reject, TempFail, Quarantine and Tag;
// otherwise Continue. A threshold of zero or less is off, so the zero
// Thresholds decides nothing.
func (th Thresholds) Decide(total float64) Action {
	switch {
	case th.Allow < 0 && total <= th.Allow:
		return Accept
	case th.Reject > 0 && total >= th.Reject:
		return Reject
	case th.TempFail > 0 && total >= th.TempFail:
		return TempFail
	case th.Quarantine > 0 && total >= th.Quarantine:
		return Quarantine
	case th.Tag > 0 && total >= th.Tag:
		return Tag
	}
	return Continue
}

// Score runs checks (in order) and sums their Score fields; only the total
// decides, against th. Members' own actions are ignored, so a DNS list can
// say "+3" and a DNS allowlist "-5". The refusal's reply is that of the
// member that contributed most, or the catalog's generic one.
func Score(name string, th Thresholds, checks ...Check) Check {
	return func(ctx context.Context, s *Session) Result {
		var total, best float64
		var bestReply Result
		var parts []string
		var headers []HeaderField
		for _, c := range checks {
			r := c(ctx, s)
			headers = append(headers, r.Headers...)
			if r.Score == 0 {
				continue
			}
			total += r.Score
			label := r.Reason.Rule
			if label == "" {
				label = r.Reason.Check
			}
			parts = append(parts, label+"="+strconv.FormatFloat(r.Score, 'g', -1, 64))
			if r.Score > best {
				best, bestReply = r.Score, r
			}
		}
		res := Result{Score: total, Headers: headers, Reason: Reason{
			Check:    name,
			Rule:     "score",
			Matched:  strconv.FormatFloat(total, 'g', -1, 64),
			Evidence: strings.Join(parts, " "),
		}}
		res.Action = th.Decide(total)
		switch res.Action {
		case Reject:
			if bestReply.Reply.IsPermanent() {
				res.Reply = bestReply.Reply
			}
		case TempFail:
			if bestReply.Reply.IsTransient() {
				res.Reply = bestReply.Reply
			}
		}
		return res
	}
}
