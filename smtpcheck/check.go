package smtpcheck

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Check is one policy check: a plain function of the context (which carries
// the deadline) and the session, returning its verdict as data. A check that
// cannot decide returns a Result with Err set and Action Continue; the
// nearest enclosing Guard applies its error policy.
type Check func(ctx context.Context, s *Session) Result

// Condition is a test on the session, used to skip checks.
type Condition func(s *Session) bool

// Authenticated is true for clients that authenticated with SASL.
func Authenticated(s *Session) bool { return s.Conn.AuthUser != "" }

// TrustedNetwork is true for clients in a trusted network.
func TrustedNetwork(s *Session) bool { return s.Conn.Trusted }

// RcptDomainIn returns a condition true when the current recipient's domain
// is one of domains (case-insensitive); at stages after RCPT it is true when
// every accepted recipient is.
func RcptDomainIn(domains ...string) Condition {
	set := make(map[string]bool, len(domains))
	for _, d := range domains {
		set[strings.TrimSuffix(strings.ToLower(d), ".")] = true
	}
	return func(s *Session) bool {
		if s.Stage == StageRcpt {
			return set[s.Rcpt.DomainFold()]
		}
		if len(s.Rcpts) == 0 {
			return false
		}
		for _, r := range s.Rcpts {
			if !set[r.DomainFold()] {
				return false
			}
		}
		return true
	}
}

// Any is true when one of conds is.
func Any(conds ...Condition) Condition {
	return func(s *Session) bool {
		for _, c := range conds {
			if c(s) {
				return true
			}
		}
		return false
	}
}

// Not inverts a condition.
func Not(c Condition) Condition { return func(s *Session) bool { return !c(s) } }

// Options are the settings every check can carry: its name for traces and
// logs, its own deadline, its error policy, and when to skip it.
type Options struct {
	// Name identifies the check in traces, logs and metrics.
	Name string
	// Timeout cuts the check off after this long (or at the caller's
	// deadline, if sooner); the overrun counts as an error. Zero: no deadline
	// of its own.
	Timeout time.Duration
	// OnError is applied when the check returns an undecided error, panics or
	// overruns its deadline. The zero value is FailOpen.
	OnError ErrorPolicy
	// Skip lists conditions under which the check does not run.
	Skip []Condition
}

// policyFor returns the error policy for err: a panic is a bug, never a reason
// to let mail through, so it temp-fails even under FailOpen.
func (o Options) policyFor(err error) ErrorPolicy {
	var pe *PanicError
	if o.OnError == FailOpen && errors.As(err, &pe) {
		return FailTemp
	}
	return o.OnError
}

// Named gives a check a name, so that it appears in the decision trace.
func Named(name string, c Check) Check { return Guard(c, Options{Name: name}) }

// SkipIf runs c only when cond is false.
func SkipIf(cond Condition, c Check) Check {
	return func(ctx context.Context, s *Session) Result {
		if cond(s) {
			return Result{}
		}
		return c(ctx, s)
	}
}

// Guard wraps a check with Options: it records the check in the session's
// trace, skips it when a condition holds, contains panics, cuts it off at its
// deadline and applies the error policy.
func Guard(c Check, o Options) Check {
	return func(ctx context.Context, s *Session) Result {
		for _, skip := range o.Skip {
			if skip(s) {
				return Result{}
			}
		}
		// Outside a Policy evaluation nothing records the step: skip the
		// clock, which costs more than a small check.
		tr := s.trace.Load()
		var start time.Time
		if tr != nil && o.Name != "" {
			start = time.Now()
		}
		var r Result
		if o.Timeout > 0 {
			r = runWithDeadline(ctx, s, c, o)
		} else {
			r = runContained(ctx, s, c, o.Name)
		}
		if r.Undecided() {
			r = o.policyFor(r.Err).Fail(r.Err, r.Reason)
		}
		if r.Reason.Check == "" && !r.IsZero() {
			r.Reason.Check = o.Name
		}
		if !start.IsZero() {
			s.record(tr, o.Name, time.Since(start), r)
		}
		return r
	}
}

func runContained(ctx context.Context, s *Session, c Check, name string) (r Result) {
	defer func() {
		if v := recover(); v != nil {
			r = Result{Err: &PanicError{Check: name, Value: v}, Reason: Reason{Check: name}}
		}
	}()
	return c(ctx, s)
}

// runWithDeadline runs c in its own goroutine so that a check that ignores
// its context is still cut off at the deadline; its late result is dropped.
func runWithDeadline(ctx context.Context, s *Session, c Check, o Options) Result {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	done := make(chan Result, 1)
	go func() { done <- runContained(ctx, s, c, o.Name) }()
	select {
	case r := <-done:
		return r
	case <-ctx.Done():
		return Result{Err: ErrDeadline, Reason: Reason{Check: o.Name, Evidence: o.Timeout.String()}}
	}
}
