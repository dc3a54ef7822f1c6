package assembly

import (
	"context"
	"log/slog"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Hook is what a front-end tells the policy about a session outside the
// checks: a message accepted (and delivered), or the session's end.
type Hook func(ctx context.Context, s *smtpcheck.Session) error

// OnAccepted returns a front-end's callback for a message it accepted: it
// runs the Built.Accepted hooks in force, asking hooks at each message so
// that a reload's take over, and logs each that fails (the message stays
// accepted).
func OnAccepted(hooks func() []Hook, logger *slog.Logger) func(context.Context, *smtpcheck.Session) {
	return func(ctx context.Context, s *smtpcheck.Session) {
		for _, f := range hooks() {
			if err := f(ctx, s); err != nil {
				logger.Warn("message accepted, but not remembered", "session", s.Conn.ID, "error", err)
			}
		}
	}
}

// OnClose returns a front-end's callback for a session's end: it gives
// back the session's concurrency slot (Concurrent-Connect:) and runs the
// Built.Closed hooks in force, logging each that fails, all within 5 s.
func OnClose(hooks func() []Hook, logger *slog.Logger) func(*smtpcheck.Session) {
	return func(s *smtpcheck.Session) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		access.Release(ctx, s)
		for _, f := range hooks() {
			if err := f(ctx, s); err != nil {
				logger.Warn("session end not recorded", "session", s.Conn.ID, "error", err)
			}
		}
	}
}
