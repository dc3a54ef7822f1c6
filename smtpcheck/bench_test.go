package smtpcheck_test

import (
	"context"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// BenchmarkTenPureChecks evaluates a restriction list of ten checks that need
// no network, the shape of a typical HELO/MAIL/RCPT policy, for one recipient.
func BenchmarkTenPureChecks(b *testing.B) {
	var checks []smtpcheck.Check
	for i := 0; i < 9; i++ {
		checks = append(checks, smtpcheck.Named("pure", func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			if strings.HasSuffix(s.Helo.Name, ".invalid") || s.Rcpt.Local == "" {
				return reject
			}
			return smtpcheck.Result{}
		}))
	}
	checks = append(checks, smtpcheck.RelayControl("example.org"))
	p := &smtpcheck.Policy{Rcpt: smtpcheck.FirstMatch(checks...)}
	s := checktest.NewSession("192.0.2.1").Helo("mx.example.net").From("a@example.net").To("bob@example.org").Session()
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := p.Evaluate(ctx, s)
		if d.Result.Action != smtpcheck.Continue {
			b.Fatal(d.Result.Action)
		}
	}
}
