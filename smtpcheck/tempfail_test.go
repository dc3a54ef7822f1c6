package smtpcheck_test

import (
	"context"
	"errors"
	"testing"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

var errTimeout = errors.New("lookup 1.0.0.127.in-addr.arpa. PTR: timeout")

// Temporary refusals a check gives because it could not decide: a
// disconnect with 421 (smtpf's PTR lookup error) and a plain 4xx.
var (
	lookup421 = smtpcheck.Result{Action: smtpcheck.Disconnect, Reply: reply.PTRLookupError("192.0.2.1"), Err: errTimeout}
	lookup450 = smtpcheck.Result{Action: smtpcheck.TempFail, Reply: reply.ClientNoHostnameTemp("192.0.2.1"), Err: errTimeout}
)

// A temporary failure inside a reject-type check defers only when nothing
// else rejects (Postfix's reject_tempfail_action = defer_if_permit).
func TestTempFailureDefersToReject(t *testing.T) {
	tests := []struct {
		name       string
		list       []smtpcheck.Result
		wantAction smtpcheck.Action
		wantCode   int
	}{
		{"421 lookup error then reject", []smtpcheck.Result{lookup421, reject}, smtpcheck.Reject, 550},
		{"450 lookup error then reject", []smtpcheck.Result{lookup450, reject}, smtpcheck.Reject, 550},
		{"lookup error then permit", []smtpcheck.Result{lookup421, permit}, smtpcheck.TempFail, 421},
		{"lookup error alone", []smtpcheck.Result{lookup450, cont}, smtpcheck.DeferIfPermit, 450},
		// A decision, not a failure to decide, is final as before.
		{"greylisting-style tempfail then reject", []smtpcheck.Result{tempfail, reject}, smtpcheck.TempFail, 451},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var checks []smtpcheck.Check
			for i, r := range tt.list {
				checks = append(checks, fixed(string(rune('a'+i)), r))
			}
			got := smtpcheck.FirstMatch(checks...)(t.Context(), checktest.NewSession("192.0.2.1").To("bob@example.org").Session())
			checktest.AssertVerdict(t, got, tt.wantAction, tt.wantCode, "", "")
		})
	}
}

// Through a whole policy: a client listed at connect (held for RCPT) whose
// PTR lookup times out at RCPT gets the list's 5xx, not the 421; without a
// listing the lookup failure is answered with its 4xx.
func TestTempFailureAtRcptYieldsHeldReject(t *testing.T) {
	for _, unguarded := range []bool{false, true} {
		ptr := fixed("client-ptr", lookup421)
		if unguarded {
			ptr = func(context.Context, *smtpcheck.Session) smtpcheck.Result { return lookup421 }
		}
		p := &smtpcheck.Policy{Connect: listedClient, Rcpt: ptr, DelayReject: true}
		s := checktest.NewSession("192.0.2.66").Session()
		run := func(st smtpcheck.Stage) smtpcheck.Decision {
			s.Stage = st
			return p.Evaluate(t.Context(), s)
		}
		if d := run(smtpcheck.StageConnect); !d.Held {
			t.Fatalf("connect: the listing was not held: %+v", d.Result)
		}
		s.SetHelo("EHLO", "mx.example.net")
		s.Mail = &smtpcheck.Mail{From: smtpcheck.ParseAddress("a@example.net")}
		s.Rcpt = smtpcheck.ParseAddress("bob@example.org")
		d := run(smtpcheck.StageRcpt)
		checktest.AssertVerdict(t, d.Result, smtpcheck.Reject, 550, "5.7.1", "")

		p.Connect = nil
		s = checktest.NewSession("192.0.2.1").To("bob@example.org").Session()
		d = p.Evaluate(t.Context(), s)
		checktest.AssertVerdict(t, d.Result, smtpcheck.TempFail, 421, "4.4.3", "")
	}
}

// A refusal of the HELO is dropped when the client corrects its HELO: the
// current HELO is the one judged. A listing from connect stays.
func TestCorrectedHeloIsJudged(t *testing.T) {
	badHelo := func(_ context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Helo.Name == "localhost" {
			return smtpcheck.Refuse(reply.HeloNeedFQDN(s.Helo.Name), smtpcheck.Reason{Check: "helo-fqdn"})
		}
		return smtpcheck.Result{}
	}
	for _, listed := range []bool{false, true} {
		p := &smtpcheck.Policy{Helo: badHelo, DelayReject: true}
		if listed {
			p.Connect = listedClient
		}
		s := checktest.NewSession("192.0.2.66").Session()
		eval := func(st smtpcheck.Stage) smtpcheck.Decision {
			s.Stage = st
			return p.Evaluate(t.Context(), s)
		}
		eval(smtpcheck.StageConnect)
		s.SetHelo("EHLO", "localhost")
		if d := eval(smtpcheck.StageHelo); !d.Held {
			t.Fatalf("EHLO localhost: refusal not held: %+v", d.Result)
		}
		s.ResetTransaction()
		s.SetHelo("EHLO", "mx.example.net")
		eval(smtpcheck.StageHelo)
		if len(s.Helo.Previous) != 0 {
			t.Errorf("Helo.Previous = %q after correcting a refused HELO, want none (a correction is not a change)", s.Helo.Previous)
		}
		s.Mail = &smtpcheck.Mail{From: smtpcheck.ParseAddress("a@example.net")}
		eval(smtpcheck.StageMail)
		s.Rcpt = smtpcheck.ParseAddress("bob@example.org")
		d := eval(smtpcheck.StageRcpt)
		if listed {
			checktest.AssertVerdict(t, d.Result, smtpcheck.Reject, 550, "5.7.1", "")
		} else if d.Result.Action != smtpcheck.Continue {
			t.Errorf("RCPT after a corrected HELO = %v %q, want continue", d.Result.Action, d.Result.DefaultReply().String())
		}
	}
}

// A HELO change after an accepted HELO is still recorded for the
// helo-changed check.
func TestHeloChangeAfterAcceptedHeloIsKept(t *testing.T) {
	p := &smtpcheck.Policy{Helo: func(context.Context, *smtpcheck.Session) smtpcheck.Result { return smtpcheck.Result{} }}
	s := checktest.NewSession("192.0.2.1").Session()
	s.SetHelo("EHLO", "mx1.example.net")
	s.Stage = smtpcheck.StageHelo
	p.Evaluate(t.Context(), s)
	s.SetHelo("EHLO", "mx2.example.net")
	if len(s.Helo.Previous) != 1 || s.Helo.Previous[0] != "mx1.example.net" {
		t.Errorf("Helo.Previous = %q, want [mx1.example.net]", s.Helo.Previous)
	}
}
