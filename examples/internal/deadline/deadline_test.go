package deadline

import (
	"context"
	"errors"
	"testing"
	"time"
)

// closed reports whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A command's context behaves as context.WithTimeout's would, whether a
// check asks for Done before the end, after it, or never.
func TestCommandContext(t *testing.T) {
	t.Run("running", func(t *testing.T) {
		ctx, stop := WithTimeout(context.Background(), time.Hour)
		defer stop()
		if err := ctx.Err(); err != nil {
			t.Errorf("Err() = %v before the deadline, want nil", err)
		}
		if closed(ctx.Done()) {
			t.Error("Done is closed before the deadline")
		}
		if d, ok := ctx.Deadline(); !ok || time.Until(d) < 59*time.Minute {
			t.Errorf("Deadline() = %v, %v; want an hour from now", d, ok)
		}
	})
	t.Run("deadline passed, Done never asked", func(t *testing.T) {
		ctx, stop := WithTimeout(context.Background(), -time.Second)
		defer stop()
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err() = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("deadline passed, Done asked", func(t *testing.T) {
		ctx, stop := WithTimeout(context.Background(), -time.Second)
		defer stop()
		if !closed(ctx.Done()) {
			t.Error("Done is open past the deadline")
		}
		if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err() = %v, want DeadlineExceeded", err)
		}
		if err := context.Cause(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Cause() = %v, want DeadlineExceeded", err)
		}
	})
	for _, asked := range []string{"before", "after"} {
		t.Run("stopped, Done asked "+asked, func(t *testing.T) {
			ctx, stop := WithTimeout(context.Background(), time.Hour)
			var done <-chan struct{}
			if asked == "before" {
				done = ctx.Done()
			}
			stop()
			if asked == "after" {
				done = ctx.Done()
			}
			if !closed(done) {
				t.Error("Done is open after stop")
			}
			if err := ctx.Err(); !errors.Is(err, context.Canceled) {
				t.Errorf("Err() = %v after stop, want Canceled", err)
			}
		})
	}
	t.Run("session ends", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
		ctx, stop := WithTimeout(parent, time.Hour)
		defer stop()
		done := ctx.Done()
		cancel()
		<-done // the session's end reaches a check waiting on the command
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("Err() = %v after the session ended, want Canceled", err)
		}
		if v := ctx.Value(ctxKey{}); v != "v" {
			t.Errorf("Value() = %v, want the session's value", v)
		}
	})
	t.Run("earlier parent deadline", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ctx, stop := WithTimeout(parent, time.Hour)
		defer stop()
		if d, _ := ctx.Deadline(); time.Until(d) > time.Minute {
			t.Errorf("Deadline() = %v, want the parent's, within a minute", d)
		}
	})
}

type ctxKey struct{}
