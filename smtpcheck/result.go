package smtpcheck

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
)

// Action is what a check's result asks the server to do.
type Action uint8

// Actions, from "no opinion" to "drop the connection".
const (
	// Continue: no verdict; the next check decides.
	Continue Action = iota
	// Accept (Postfix's permit / OK): accept, and skip the remaining checks
	// of the list the result came from.
	Accept
	// Tag: accept, but mark the message (headers, score).
	Tag
	// Quarantine: accept the message into quarantine rather than the inbox.
	Quarantine
	// DeferIfPermit: a temporary failure that applies only if nothing later
	// rejects the request (Postfix's defer_if_permit).
	DeferIfPermit
	// TempFail: a 4xx reply; the client should retry later.
	TempFail
	// Discard: claim success but throw the message away.
	Discard
	// Reject: a 5xx reply.
	Reject
	// Disconnect: reply (421 or 5xx) and close the connection.
	Disconnect
)

var actionNames = [...]string{"continue", "accept", "tag", "quarantine", "defer-if-permit", "tempfail", "discard", "reject", "disconnect"}

// String returns the action's name, such as "reject".
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// Final reports whether the action ends a restriction list: accept and every
// refusal do; continue, tag, quarantine and defer-if-permit let it go on.
func (a Action) Final() bool {
	switch a {
	case Accept, TempFail, Discard, Reject, Disconnect:
		return true
	}
	return false
}

// Refuses reports a temporary or permanent refusal (or disconnect).
func (a Action) Refuses() bool { return a == TempFail || a == Reject || a == Disconnect }

// Reason explains a result: which check decided, by which rule or list, on
// what it saw.
type Reason struct {
	Check    string // the check's name, such as "dnsbl" or "relay"
	Rule     string // the rule, list or table entry, such as "zen.example" or "Connect:192.0.2"
	Matched  string // what matched, such as "127.0.0.2" or the HELO name
	Evidence string // anything further worth logging (a TXT record, a score sum)
}

// String renders the reason for a log line.
func (r Reason) String() string {
	var b strings.Builder
	b.Grow(len(r.Check) + len(" rule=") + len(r.Rule) + len(" matched=") + len(r.Matched) + len(" evidence=") + len(r.Evidence))
	b.WriteString(r.Check)
	if r.Rule != "" {
		b.WriteString(" rule=")
		b.WriteString(r.Rule)
	}
	if r.Matched != "" {
		b.WriteString(" matched=")
		b.WriteString(r.Matched)
	}
	if r.Evidence != "" {
		b.WriteString(" evidence=")
		b.WriteString(r.Evidence)
	}
	return b.String()
}

// Result is a check's verdict, as data. The zero Result means "continue".
type Result struct {
	Action Action
	// Reply is the reply to give for a refusal (from the reply catalog, or
	// the user's override). A refusal without one gets DefaultReply.
	Reply reply.Reply
	// Score is added to the session's score by Score groups.
	Score float64
	// Headers are added to an accepted message.
	Headers []HeaderField
	// Reason says why.
	Reason Reason
	// Immediate marks a refusal that must not be held for a later RCPT
	// (smtpf's IREJECT), even when delayed rejection is on.
	Immediate bool
	// Err is set when the check could not decide (DNS timeout, store down).
	// A Result from ErrorPolicy.Fail has had its policy applied; any other
	// Result with Err and Action Continue is undecided, and the nearest
	// enclosing Guard applies its policy.
	Err error

	errHandled bool
}

// Undecided reports a result whose error still awaits an error policy.
func (r Result) Undecided() bool { return r.Err != nil && r.Action == Continue && !r.errHandled }

// IsZero reports a plain "continue" with nothing attached.
func (r Result) IsZero() bool {
	return r.Action == Continue && r.Reply.IsZero() && r.Score == 0 && len(r.Headers) == 0 && r.Err == nil && r.Reason == Reason{}
}

// LogValue logs a result with its action, reply and reason.
func (r Result) LogValue() slog.Value {
	attrs := make([]slog.Attr, 1, 5)
	attrs[0] = slog.String("action", r.Action.String())
	if !r.Reply.IsZero() {
		attrs = append(attrs, slog.String("reply", r.Reply.Error()))
	}
	if r.Reason.Check != "" {
		attrs = append(attrs, slog.String("reason", r.Reason.String()))
	}
	if r.Score != 0 {
		attrs = append(attrs, slog.Float64("score", r.Score))
	}
	if r.Err != nil {
		attrs = append(attrs, slog.String("error", r.Err.Error()))
	}
	return slog.GroupValue(attrs...)
}

// DefaultReply returns the reply for a result: its own, or the catalog's
// generic reply for its action.
func (r Result) DefaultReply() reply.Reply {
	if !r.Reply.IsZero() {
		return r.Reply
	}
	switch r.Action {
	case TempFail, DeferIfPermit:
		return reply.TryAgainLater()
	case Reject:
		return reply.TransactionFailed()
	case Disconnect:
		return reply.InternalErrorClosing()
	}
	return reply.Accept()
}

// Continue results and constructors for the common verdicts.

// Pass returns a "continue" result (no verdict) that still records why, for the trace.
func Pass(reason Reason) Result { return Result{Reason: reason} }

// Permit returns an Accept result.
func Permit(reason Reason) Result { return Result{Action: Accept, Reason: reason} }

// Refuse returns a refusal whose action follows the reply's class: TempFail
// for 4xx, Reject for 5xx.
func Refuse(r reply.Reply, reason Reason) Result {
	a := Reject
	if r.IsTransient() {
		a = TempFail
	}
	return Result{Action: a, Reply: r, Reason: reason}
}

// WithCode returns r answering with code, as Postfix's *_reject_code
// parameters change a restriction's reply code: the enhanced code's class
// follows, and so does the action (a 4xx code makes a rejection a
// temporary failure, a 5xx code the reverse). A result that refuses
// nothing is returned as it is, and so is a null MX refusal (RFC 7505:
// X.7.27 for a sender, X.1.10 for a recipient), which is a fact about the
// domain, not a lookup result, and keeps its permanent code.
func (r Result) WithCode(code int) Result {
	if !r.Action.Refuses() || r.Reply.IsZero() || r.Reply.Code() == code {
		return r
	}
	if e := r.Reply.Enhanced(); (e.Subject == 7 && e.Detail == 27) || (e.Subject == 1 && e.Detail == 10) {
		return r
	}
	rep, err := r.Reply.WithCode(code)
	if err != nil {
		return r
	}
	r.Reply = rep
	switch {
	case rep.IsTransient() && r.Action == Reject:
		r.Action = TempFail
	case rep.IsPermanent() && r.Action == TempFail:
		r.Action = Reject
	}
	return r
}

// ErrorPolicy says what a check does when it cannot decide: a DNS timeout or
// SERVFAIL, a store that is down, a check that overran its deadline.
type ErrorPolicy uint8

// Error policies.
const (
	// FailOpen continues as if the check had no opinion, and logs the error.
	FailOpen ErrorPolicy = iota
	// FailTemp answers with the catalog's 451 4.3.0 so the client retries.
	// In a restriction list (FirstMatch, Parallel, Policy.Evaluate) the
	// answer is a defer-if-permit, given only when nothing else rejects
	// the request (Postfix's reject_tempfail_action = defer_if_permit): a
	// check that could not look is no reason to hide a refusal another
	// check is sure of. A panic, a bug rather than a failed lookup, is
	// answered at once.
	FailTemp
	// FailClosed refuses permanently with the catalog's 554 5.7.0.
	FailClosed
)

var policyNames = [...]string{"fail-open", "temp-fail", "fail-closed"}

// String returns "fail-open", "temp-fail" or "fail-closed".
func (p ErrorPolicy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// ParseErrorPolicy parses the names String returns.
func ParseErrorPolicy(s string) (ErrorPolicy, error) {
	for i, n := range policyNames {
		if strings.EqualFold(s, n) {
			return ErrorPolicy(i), nil
		}
	}
	return 0, fmt.Errorf("smtpcheck: unknown error policy %q (want fail-open, temp-fail or fail-closed)", s)
}

// Fail returns the result a check gives when err kept it from deciding,
// according to policy p. The error stays on the result for the trace.
func (p ErrorPolicy) Fail(err error, reason Reason) Result {
	r := Result{Err: err, Reason: reason, errHandled: true}
	switch p {
	case FailTemp:
		r.Action, r.Reply = TempFail, reply.InternalError()
	case FailClosed:
		r.Action, r.Reply = Reject, reply.TransactionFailed()
	}
	return r
}

// deferTempFailure applies Postfix's reject_tempfail_action =
// defer_if_permit to a result: a temporary refusal that a check gave only
// because it could not decide (Err set: a DNS timeout or SERVFAIL, a store
// that is down) becomes a defer-if-permit, so that a permanent refusal by
// another check, before or after it, still wins, and the temporary failure
// is given only when nothing rejects. A 421 keeps its reply but no longer
// closes the connection before the other checks have had their say. Every
// other result is returned as it is. FirstMatch, Parallel and
// Policy.Evaluate apply it when they compose results, so checks need not.
func deferTempFailure(r Result) Result {
	if r.Err == nil || isPanic(r.Err) {
		return r
	}
	if r.Action == TempFail || (r.Action == Disconnect && !r.DefaultReply().IsPermanent()) {
		r.Action = DeferIfPermit
		r.errHandled = true
	}
	return r
}

func isPanic(err error) bool {
	var pe *PanicError
	return errors.As(err, &pe)
}

// ErrDeadline is the error of a check cut off at its deadline.
var ErrDeadline = errors.New("smtpcheck: check overran its deadline")

// PanicError is the error of a check that panicked; the panic is contained.
type PanicError struct {
	Check string
	Value any
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("smtpcheck: check %q panicked: %v", e.Check, e.Value)
}
