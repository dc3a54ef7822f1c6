package smtpcheck_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

func listedClient(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
	if s.Conn.ClientIP.String() == "192.0.2.66" {
		return reject
	}
	return smtpcheck.Result{}
}

func postmasterOK(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
	if strings.EqualFold(s.Rcpt.Local, "postmaster") {
		return smtpcheck.Permit(smtpcheck.Reason{Check: "postmaster", Rule: "rfc5321"})
	}
	return smtpcheck.Result{}
}

func TestDelayedRejection(t *testing.T) {
	p := &smtpcheck.Policy{
		Connect:     smtpcheck.Named("dnsbl", listedClient),
		Rcpt:        smtpcheck.FirstMatch(smtpcheck.Named("postmaster", postmasterOK), smtpcheck.RelayControl("example.org")),
		DelayReject: true,
	}
	ctx := t.Context()
	b := checktest.NewSession("192.0.2.66")
	s := b.Session()

	d := p.Evaluate(ctx, s)
	if d.Result.Action != smtpcheck.Continue || !d.Held {
		t.Fatalf("connect: %v held=%v, want continue with the rejection held", d.Result.Action, d.Held)
	}
	b.Helo("mx.example.net")
	if d := p.Evaluate(ctx, s); d.Result.Action != smtpcheck.Continue {
		t.Fatalf("helo: %v, want continue", d.Result.Action)
	}
	b.From("a@example.net")
	if d := p.Evaluate(ctx, s); d.Result.Action != smtpcheck.Continue {
		t.Fatalf("mail: %v, want continue", d.Result.Action)
	}
	b.To("postmaster@example.org")
	if d := p.Evaluate(ctx, s); d.Result.Action != smtpcheck.Accept {
		t.Errorf("rcpt postmaster: %v, want accept despite the held rejection", d.Result.Action)
	}
	b.To("bob@example.org")
	d = p.Evaluate(ctx, s)
	checktest.AssertVerdict(t, d.Result, smtpcheck.Reject, 550, "5.7.1", "dnsbl")
	if !d.FromHeld {
		t.Errorf("rcpt bob: FromHeld = false, want the held connect rejection")
	}
}

func TestNoDelayRejectsAtConnect(t *testing.T) {
	p := &smtpcheck.Policy{Connect: smtpcheck.Named("dnsbl", listedClient)}
	d := p.Evaluate(t.Context(), checktest.NewSession("192.0.2.66").Session())
	checktest.AssertVerdict(t, d.Result, smtpcheck.Reject, 550, "", "dnsbl")
}

func TestImmediateIsNeverHeld(t *testing.T) {
	imm := reject
	imm.Immediate = true
	p := &smtpcheck.Policy{Mail: fixed("irject", imm), DelayReject: true}
	d := p.Evaluate(t.Context(), checktest.NewSession("192.0.2.1").From("a@example.net").Session())
	if d.Result.Action != smtpcheck.Reject || d.Held {
		t.Errorf("immediate rejection: %v held=%v, want reject now", d.Result.Action, d.Held)
	}
}

func TestDeferIfPermitAcrossStages(t *testing.T) {
	p := &smtpcheck.Policy{
		Mail: fixed("greylist-ish", deferIP),
		Rcpt: smtpcheck.FirstMatch(smtpcheck.RelayControl("example.org")),
	}
	ctx := t.Context()
	b := checktest.NewSession("192.0.2.1").From("a@example.net")
	if d := p.Evaluate(ctx, b.Session()); d.Result.Action != smtpcheck.Continue {
		t.Fatalf("mail: %v, want continue (defer held)", d.Result.Action)
	}
	// A recipient that would be permitted gets the temporary failure...
	b.To("bob@example.org")
	if d := p.Evaluate(ctx, b.Session()); d.Result.Action != smtpcheck.TempFail {
		t.Errorf("rcpt local: %v, want tempfail from defer_if_permit", d.Result.Action)
	}
	// ...one that is rejected anyway gets the rejection.
	b.To("bob@elsewhere.example")
	d := p.Evaluate(ctx, b.Session())
	checktest.AssertVerdict(t, d.Result, smtpcheck.Reject, 550, "5.7.1", "relay")
}

func TestTraceAndLog(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	counts := map[string]int{}
	p := &smtpcheck.Policy{
		Rcpt:   smtpcheck.FirstMatch(fixed("first", cont), smtpcheck.RelayControl("example.org")),
		Logger: slog.New(slog.NewTextHandler(&buf, nil)),
		Metrics: smtpcheck.MetricsFuncs{Check: func(check string, st smtpcheck.Stage, a smtpcheck.Action, took time.Duration, err error) {
			mu.Lock()
			counts[check+"/"+a.String()]++
			mu.Unlock()
		}},
	}
	d := p.Evaluate(t.Context(), checktest.NewSession("192.0.2.1").To("x@elsewhere.example").Session())
	if len(d.Steps) != 2 || d.Steps[0].Check != "first" || d.Steps[1].Check != "relay" {
		t.Fatalf("trace steps = %+v, want first then relay", d.Steps)
	}
	if d.Steps[1].Result.Action != smtpcheck.Reject {
		t.Errorf("trace relay step = %v, want reject", d.Steps[1].Result.Action)
	}
	if counts["relay/reject"] != 1 || counts["first/continue"] != 1 {
		t.Errorf("metrics = %v, want one relay/reject and one first/continue", counts)
	}
	log := buf.String()
	for _, want := range []string{"decision", "relay", "elsewhere.example", "reject", "550 5.7.1"} {
		if !strings.Contains(log, want) {
			t.Errorf("log %q lacks %q", log, want)
		}
	}
}

func TestDryRunLetsEverythingPass(t *testing.T) {
	p := &smtpcheck.Policy{Rcpt: smtpcheck.RelayControl("example.org"), DryRun: true}
	d := p.Evaluate(t.Context(), checktest.NewSession("192.0.2.1").To("x@elsewhere.example").Session())
	if d.Result.Action != smtpcheck.Continue || d.Would.Action != smtpcheck.Reject {
		t.Errorf("dry run: result %v would %v, want continue and would reject", d.Result.Action, d.Would.Action)
	}
}

func TestEvaluatePanicTempFails(t *testing.T) {
	p := &smtpcheck.Policy{Helo: func(context.Context, *smtpcheck.Session) smtpcheck.Result { panic("bug") }}
	d := p.Evaluate(t.Context(), checktest.NewSession("192.0.2.1").Helo("x.example").Session())
	checktest.AssertVerdict(t, d.Result, smtpcheck.TempFail, 451, "4.3.0", "")
}

// Decision.Checked is the stage's own verdict beside the one given: a
// refusal held at connect, the recipient's own go-on beside the held
// refusal given at RCPT, and a dry run's suppressed refusal.
func TestDecisionChecked(t *testing.T) {
	p := delayedListing()
	ctx := t.Context()
	b := checktest.NewSession("192.0.2.66")
	s := b.Session()
	d := p.Evaluate(ctx, s)
	if d.Result.Action != smtpcheck.Continue || d.Checked.Action != smtpcheck.Reject || d.Checked.Reason.Check != "dnsbl" {
		t.Fatalf("connect: Result %v Checked %v (%s), want continue beside the dnsbl's reject", d.Result.Action, d.Checked.Action, d.Checked.Reason.Check)
	}
	b.Helo("mx.example.net").From("a@example.net").To("bob@example.org")
	d = p.Evaluate(ctx, s)
	if d.Result.Action != smtpcheck.Reject || !d.FromHeld || d.Checked.Action != smtpcheck.Continue {
		t.Fatalf("rcpt: Result %v FromHeld %v Checked %v, want the held reject beside the recipient's own continue", d.Result.Action, d.FromHeld, d.Checked.Action)
	}

	dry := &smtpcheck.Policy{Rcpt: smtpcheck.RelayControl("example.org"), DryRun: true}
	d = dry.Evaluate(ctx, checktest.NewSession("192.0.2.1").To("x@elsewhere.example").Session())
	if d.Result.Action != smtpcheck.Continue || d.Checked.Action != smtpcheck.Reject {
		t.Fatalf("dry run: Result %v Checked %v, want continue beside reject", d.Result.Action, d.Checked.Action)
	}
}

// A stage without a check is logged with the time of its decision like
// any other, and reports no time taken; a stage with one reports its time.
func TestEvaluateTookAndLogTime(t *testing.T) {
	var buf bytes.Buffer
	p := &smtpcheck.Policy{
		Rcpt: smtpcheck.Named("slow", func(context.Context, *smtpcheck.Session) smtpcheck.Result {
			time.Sleep(time.Millisecond)
			return smtpcheck.Result{}
		}),
		Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	b := checktest.NewSession("192.0.2.1")
	before := time.Now()
	d := p.Evaluate(t.Context(), b.Session())
	if d.Took != 0 {
		t.Errorf("connect, no check: Took = %v, want 0", d.Took)
	}
	if d := p.Evaluate(t.Context(), b.To("x@example.org").Session()); d.Took < time.Millisecond {
		t.Errorf("rcpt, a check sleeping 1ms: Took = %v, want at least 1ms", d.Took)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		var rec struct{ Time time.Time }
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Time.Before(before.Truncate(time.Millisecond)) || rec.Time.After(time.Now()) {
			t.Errorf("record time %v, want the decision's (after %v): %s", rec.Time, before, l)
		}
	}
}
