// Package tick runs a function at a fixed interval for the packages that
// keep state fresh in the background (file watchers, store sweepers).
package tick

import (
	"context"
	"time"
)

// Every calls f every interval until ctx is done, then returns ctx's
// error; an error from f ends it at once and is returned. interval must be
// positive, as time.NewTicker's.
func Every(ctx context.Context, interval time.Duration, f func() error) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if err := f(); err != nil {
				return err
			}
		}
	}
}
