package smtpcheck_test

import (
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// delayedListing is a policy whose DNS list refuses 192.0.2.66 at connect,
// the refusal held for RCPT, where relay control runs.
func delayedListing() *smtpcheck.Policy {
	return &smtpcheck.Policy{
		Connect:     smtpcheck.Named("dnsbl", listedClient),
		Rcpt:        smtpcheck.RelayControl("example.org"),
		DelayReject: true,
	}
}

// A reset session carries nothing of its past into the next one judged
// with it: no held refusal, no value, no envelope.
func TestSessionReset(t *testing.T) {
	p := delayedListing()
	ctx := t.Context()
	b := checktest.NewSession("192.0.2.66")
	s := b.Session()
	if d := p.Evaluate(ctx, s); !d.Held {
		t.Fatalf("connect: held=%v, want the rejection held", d.Held)
	}
	type key struct{}
	s.SetValue(key{}, 1)

	s.Reset()
	if s.Value(key{}) != nil || s.Mail != nil || s.Stage != (&smtpcheck.Session{}).Stage || s.Conn.ClientIP.IsValid() {
		t.Fatalf("Reset left %+v", s)
	}
	fresh := checktest.NewSession("192.0.2.10")
	fresh.To("bob@example.org")
	s.Conn, s.Stage, s.Rcpt, s.Mail = fresh.Session().Conn, smtpcheck.StageRcpt, fresh.Session().Rcpt, fresh.Session().Mail
	d := p.Evaluate(ctx, s)
	if d.FromHeld || d.Result.Action.Refuses() {
		t.Errorf("after Reset: %v FromHeld=%v, want the earlier held rejection forgotten", d.Result.Action, d.FromHeld)
	}
}

// A session reused through Reset keeps its trace memory: judging one short
// session after another allocates no trace.
func TestSessionResetKeepsTrace(t *testing.T) {
	p := &smtpcheck.Policy{Connect: smtpcheck.Named("dnsbl", listedClient)}
	ctx := t.Context()
	s := checktest.NewSession("192.0.2.10").Session()
	conn := s.Conn
	p.Evaluate(ctx, s)
	allocs := testing.AllocsPerRun(100, func() {
		s.Reset()
		s.Conn = conn
		p.Evaluate(ctx, s)
	})
	if allocs != 0 {
		t.Errorf("Reset and Evaluate: %v allocations, want 0", allocs)
	}
}
