package tick

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestEvery(t *testing.T) {
	t.Run("until ctx is done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		err := Every(ctx, time.Millisecond, func() error {
			calls++
			if calls == 3 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) || calls != 3 {
			t.Fatalf("Every = %v after %d calls, want %v after 3", err, calls, context.Canceled)
		}
	})
	t.Run("until f fails", func(t *testing.T) {
		boom := errors.New("boom")
		calls := 0
		err := Every(t.Context(), time.Millisecond, func() error {
			calls++
			if calls == 2 {
				return boom
			}
			return nil
		})
		if err != boom || calls != 2 {
			t.Fatalf("Every = %v after %d calls, want %v after 2", err, calls, boom)
		}
	})
}
