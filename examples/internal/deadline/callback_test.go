package deadline

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestCallbackDeadline checks the context a callback's checks run under:
// it carries the deadline, its Done closes at the deadline or when the
// session ends, its Err says which, and after the callback it reads as
// canceled.
func TestCallbackDeadline(t *testing.T) {
	session, end := context.WithCancel(t.Context())
	defer end()
	d := time.Now().Add(50 * time.Millisecond)
	ctx, _ := WithDeadline(session, d)
	if got, ok := ctx.Deadline(); !ok || !got.Equal(d) {
		t.Fatalf("Deadline = %v, %v, want %v", got, ok, d)
	}
	if err := ctx.Err(); err != nil {
		t.Fatalf("Err before the deadline = %v", err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done did not close at the deadline")
	}
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err after the deadline = %v", err)
	}
	// Past the deadline without a timer: Err still tells.
	late, stopLate := WithDeadline(session, time.Now().Add(-time.Second))
	if err := late.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err of a deadline passed = %v", err)
	}
	stopLate()
	if err := late.Err(); err == nil {
		t.Fatal("Err after stop = nil")
	}
	// The session ends before the deadline: before and after Done.
	for _, waited := range []bool{false, true} {
		s, cancel := context.WithCancel(t.Context())
		ctx, stop := WithDeadline(s, time.Now().Add(time.Hour))
		if waited {
			ctx.Done()
		}
		cancel()
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err after the session ended (Done asked before: %v) = %v", waited, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("Done did not close when the session ended")
		}
		stop()
	}
	// A context a check derives from it is canceled with it.
	ctx, stop := WithDeadline(session, time.Now().Add(time.Hour))
	derived, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	stop()
	select {
	case <-derived.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a derived context outlived the callback")
	}
}
