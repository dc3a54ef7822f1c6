package smtpcheck

import (
	"log/slog"
	"sync"
	"time"
)

// Step is one check's part in a decision: its name, how long it took and
// what it said.
type Step struct {
	Check    string
	Stage    Stage
	Duration time.Duration
	Result   Result
}

// LogValue logs a step compactly.
func (st Step) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("check", st.Check),
		slog.Duration("took", st.Duration),
		slog.Attr{Key: "result", Value: st.Result.LogValue()},
	)
}

// Trace collects the steps of one evaluation. Guarded checks add themselves;
// it is safe for checks running in parallel.
type Trace struct {
	mu      sync.Mutex
	stage   Stage
	steps   []Step
	metrics Metrics
}

func (s *Session) record(t *Trace, name string, d time.Duration, r Result) {
	if t == nil || name == "" {
		return
	}
	t.mu.Lock()
	t.steps = append(t.steps, Step{Check: name, Stage: t.stage, Duration: d, Result: r})
	m := t.metrics
	t.mu.Unlock()
	if m != nil {
		m.CheckDone(name, t.stage, r.Action, d, r.Err)
	}
}

// Metrics receives counts and durations per check and per verdict. The
// library imports no metrics system: a program connects this hook to
// Prometheus, expvar or its logs.
type Metrics interface {
	// CheckDone is called after each named check.
	CheckDone(check string, stage Stage, action Action, took time.Duration, err error)
	// Decided is called after each policy evaluation.
	Decided(stage Stage, action Action, took time.Duration)
}

// MetricsFuncs adapts two functions to Metrics; either may be nil.
type MetricsFuncs struct {
	Check    func(check string, stage Stage, action Action, took time.Duration, err error)
	Decision func(stage Stage, action Action, took time.Duration)
}

// CheckDone calls m.Check if set.
func (m MetricsFuncs) CheckDone(check string, stage Stage, action Action, took time.Duration, err error) {
	if m.Check != nil {
		m.Check(check, stage, action, took, err)
	}
}

// Decided calls m.Decision if set.
func (m MetricsFuncs) Decided(stage Stage, action Action, took time.Duration) {
	if m.Decision != nil {
		m.Decision(stage, action, took)
	}
}
