package postscreen

import (
	"context"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// passedKey marks a session whose client the access list permitted or the
// pass cache vouched for.
type passedKey struct{}

// MarkPassed records on the session that its client skips postscreen's
// tests (allowlisted or cached), for checks that honour it.
func MarkPassed(s *smtpcheck.Session, why string) { s.SetValue(passedKey{}, why) }

// Passed reports whether the session's client skips postscreen's tests:
// a smtpcheck.Condition, so the DNS-list checks can be wrapped with
// smtpcheck.SkipIf(postscreen.Passed, ...) and a cached client costs no DNS
// query.
func Passed(s *smtpcheck.Session) bool {
	_, ok := s.Value(passedKey{}).(string)
	return ok
}

// PassedWhy returns why the session's client skips the tests
// ("permit_mynetworks", a table's name, "cache"), or "".
func PassedWhy(s *smtpcheck.Session) string {
	why, _ := s.Value(passedKey{}).(string)
	return why
}

// failedKey holds the tests the session's client failed under enforce.
type failedKey struct{}

// MarkEnforced records that the session's client failed t under the
// enforce action: EnforceCheck refuses its recipients.
func MarkEnforced(s *smtpcheck.Session, t Test) {
	prev, _ := s.Value(failedKey{}).(Tests)
	s.SetValue(failedKey{}, prev.With(t))
}

// Enforced returns the tests the session's client failed under enforce.
func Enforced(s *smtpcheck.Session) Tests {
	ts, _ := s.Value(failedKey{}).(Tests)
	return ts
}

// reconnectKey marks a session whose client passed the deep tests and
// must reconnect.
type reconnectKey struct{}

// MarkReconnect records that the session's client passed the deep tests in
// this connection and must reconnect (Config.ReconnectAfterDeep).
func MarkReconnect(s *smtpcheck.Session) { s.SetValue(reconnectKey{}, true) }

// Name is the checks' name in logs and metrics.
const Name = "postscreen"

// EnforceCheck is the RCPT-stage check of the enforce action: a client
// that failed a test so configured gets 550 5.5.1 for every recipient, as
// postscreen answers, so the log shows whom it tried to reach. A client
// that passed the deep tests and must reconnect (MarkReconnect) gets
// 450 4.3.2.
func EnforceCheck() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		failed := Enforced(s)
		if failed == 0 {
			if again, _ := s.Value(reconnectKey{}).(bool); again {
				return smtpcheck.Result{
					Action: smtpcheck.TempFail,
					Reply:  reply.ReconnectAfterTests(),
					Reason: smtpcheck.Reason{Check: Name, Rule: "reconnect", Matched: "deep tests passed"},
				}
			}
			return smtpcheck.Result{}
		}
		return smtpcheck.Result{
			Action: smtpcheck.Reject,
			Reply:  reply.ProtocolErrorEnforce(),
			Reason: smtpcheck.Reason{Check: Name, Rule: "enforce", Matched: failed.String()},
		}
	}
}
