package verdict

import (
	"context"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/internal/deadline"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Accepted tells hook (an adapter's Config.Accepted) about the message of
// session s that the adapter let through, under ctx with a deadline d from
// now; a nil hook has nothing to be told.
func Accepted(ctx context.Context, d time.Duration, hook func(context.Context, *smtpcheck.Session), s *smtpcheck.Session) {
	if hook == nil {
		return
	}
	ctx, cancel := deadline.WithTimeout(ctx, d)
	defer cancel()
	hook(ctx, s)
}
