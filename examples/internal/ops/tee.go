package ops

import (
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Tee is a smtpcheck.Metrics that passes every call to each of its
// members that is not nil (expvar and Prometheus side by side).
type Tee []smtpcheck.Metrics

// CheckDone passes the call on.
func (t Tee) CheckDone(check string, st smtpcheck.Stage, a smtpcheck.Action, took time.Duration, err error) {
	for _, m := range t {
		if m != nil {
			m.CheckDone(check, st, a, took, err)
		}
	}
}

// Decided passes the call on.
func (t Tee) Decided(st smtpcheck.Stage, a smtpcheck.Action, took time.Duration) {
	for _, m := range t {
		if m != nil {
			m.Decided(st, a, took)
		}
	}
}
