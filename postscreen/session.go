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

// DNSAllowlisted is PassedWhy's answer for a client the DNS allowlists
// vouched for (postscreen_dnsbl_allowlist_threshold): it skips the other
// tests.
const DNSAllowlisted = "dnsbl_allowlist_threshold"

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
	MarkFailed(s, t)
}

// enforceReplyKey holds the reply of the first enforced failure that has a
// reply of its own (the DNS lists' and the access list's).
type enforceReplyKey struct{}

// MarkEnforcedReply is MarkEnforced with the reply EnforceCheck gives
// instead of 550 5.5.1 "Protocol error" (postscreen words each refusal
// after the test that failed: a DNS-list listing names the list). The
// first such reply is kept.
func MarkEnforcedReply(s *smtpcheck.Session, t Test, r reply.Reply) {
	if _, ok := s.Value(enforceReplyKey{}).(reply.Reply); !ok {
		s.SetValue(enforceReplyKey{}, r)
	}
	MarkEnforced(s, t)
}

// failedAnyKey holds every test the session's client failed, whatever the
// action.
type failedAnyKey struct{}

// MarkFailed records that the session's client failed t (under any
// action): its pass is not cached, so it takes the test again next time.
func MarkFailed(s *smtpcheck.Session, t Test) {
	prev, _ := s.Value(failedAnyKey{}).(Tests)
	s.SetValue(failedAnyKey{}, prev.With(t))
}

// Failed returns the tests the session's client failed.
func Failed(s *smtpcheck.Session) Tests {
	ts, _ := s.Value(failedAnyKey{}).(Tests)
	return ts
}

// screenedKey marks a session whose connection a server's listener
// screened (access list and pass cache looked up before the greeting).
type screenedKey struct{}

// MarkScreened records that a listener looked the client up in the access
// list and the pass cache already: the connect-stage checks need not.
func MarkScreened(s *smtpcheck.Session) { s.SetValue(screenedKey{}, true) }

// Screened reports whether a listener screened the session's client.
func Screened(s *smtpcheck.Session) bool {
	ok, _ := s.Value(screenedKey{}).(bool)
	return ok
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
		r, ok := s.Value(enforceReplyKey{}).(reply.Reply)
		if !ok {
			r = reply.ProtocolErrorEnforce()
		}
		return smtpcheck.Result{
			Action: smtpcheck.Reject,
			Reply:  r,
			Reason: smtpcheck.Reason{Check: Name, Rule: "enforce", Matched: failed.String()},
		}
	}
}
