// Package verdict holds what the server adapters (gosmtp, gomilter) share
// about verdicts they reach themselves rather than through a check, and
// about the messages they let through.
package verdict

import (
	"context"
	"log/slog"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Decided counts and logs a verdict an adapter reached itself (a server
// limit, not a check) at stage st, the way Policy.Evaluate does for the
// checks', so the log and metrics show it beside them. It sets the
// session's stage; log is the adapter's, used when the policy has none.
func Decided(ctx context.Context, p *smtpcheck.Policy, log *slog.Logger, s *smtpcheck.Session, st smtpcheck.Stage, r smtpcheck.Result) {
	s.Stage = st
	if p.Metrics != nil {
		p.Metrics.Decided(st, r.Action, 0)
	}
	if p.Logger != nil {
		log = p.Logger
	}
	log.LogAttrs(ctx, slog.LevelInfo, "decision", slog.Any("session", s), slog.Any("decision", smtpcheck.Decision{Stage: st, Result: r}))
}
