package smtpcheck_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// The decision's log line says the deciding reply and reason once, names
// every check that ran with its action, and keeps what the other checks
// said.
func TestDecisionLogLine(t *testing.T) {
	var buf bytes.Buffer
	p := &smtpcheck.Policy{
		Rcpt: smtpcheck.FirstMatch(
			smtpcheck.Named("first", func(context.Context, *smtpcheck.Session) smtpcheck.Result {
				return smtpcheck.Pass(smtpcheck.Reason{Check: "first", Rule: "no-match", Matched: "nothing"})
			}),
			smtpcheck.Named("decider", func(context.Context, *smtpcheck.Session) smtpcheck.Result {
				return smtpcheck.Refuse(reply.TryAgainLater(), smtpcheck.Reason{Check: "decider", Rule: "r1", Matched: "m1", Evidence: "e1"})
			}),
		),
		Logger: slog.New(slog.NewTextHandler(&buf, nil)),
	}
	s := checktest.NewSession("192.0.2.1").Helo("mx.example.net").From("a@example.net").To("bob@example.org").Session()
	d := p.Evaluate(t.Context(), s)
	if d.Result.Action != smtpcheck.TempFail || len(d.Steps) != 2 {
		t.Fatalf("Evaluate = %v with %d steps, want tempfail after 2", d.Result.Action, len(d.Steps))
	}
	line := buf.String()
	if n := strings.Count(line, "\n"); n != 1 {
		t.Fatalf("log has %d lines, want 1:\n%s", n, line)
	}
	rep := reply.TryAgainLater().Error()
	for _, want := range []string{
		"decision.result.action=tempfail",
		"decision.result.reason=\"decider rule=r1 matched=m1 evidence=e1\"",
		"decision.trace.1.check=first",
		"decision.trace.1.result.reason=\"first rule=no-match matched=nothing\"",
		"decision.trace.2.check=decider",
		"decision.trace.2.action=tempfail",
		"session.rcpt=bob@example.org",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s:\n%s", want, line)
		}
	}
	if got := strings.Count(line, rep); got != 1 {
		t.Errorf("reply %q appears %d times in the line, want once:\n%s", rep, got, line)
	}
	if got := strings.Count(line, "evidence=e1"); got != 1 {
		t.Errorf("the deciding reason appears %d times in the line, want once:\n%s", got, line)
	}
}
