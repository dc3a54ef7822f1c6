package postscreen

import "github.com/smtppolicy/smtppolicy/smtpcheck"

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
