// Package smtpcheck is the core of smtppolicy: the session model a check looks
// at, the Check type, results as data, and the ways checks compose.
//
// A Check is a plain function of a context and a *Session returning a
// Result: an Action (continue, accept, tag, quarantine, defer-if-permit,
// temp-fail, discard, reject, disconnect), a reply from the reply catalog, a
// score, headers to add, and a Reason naming the check, the rule and what it
// saw. Checks compose:
//
//   - FirstMatch: a restriction list in Postfix's sense; the first final
//     verdict wins.
//   - Parallel: DNS-bound checks run at once under one deadline, folded in
//     list order.
//   - Score: weighted scoring with tag, quarantine, temp-fail and reject
//     thresholds and negative weights for allowlists.
//   - Guard / Named: a name for the trace, a deadline, an error policy
//     (FailOpen, FailTemp, FailClosed) and skip conditions.
//
// A Policy holds one check per Stage and applies the rules that span stages:
// delayed rejection (a refusal found at connect, HELO or MAIL is given at
// RCPT, so postmaster@ still gets mail) and defer-if-permit. Every Decision
// carries the trace of the checks that ran and logs itself through log/slog.
//
// The package knows nothing of any SMTP server: examples/gosmtp adapts a
// Policy to github.com/emersion/go-smtp, and other adapters can do the same
// for a milter or a Postfix policy service.
package smtpcheck
