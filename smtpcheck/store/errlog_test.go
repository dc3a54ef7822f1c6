package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSpace(l.b.String()), "\n")
}

// TestErrorLogOneLinePerInterval: the first error is logged at once, the
// rest of the interval's errors are counted, and the first error after the
// interval writes one line with their number; another kind of error is not
// held back by the first.
func TestErrorLogOneLinePerInterval(t *testing.T) {
	clk := storetest.NewClock()
	var buf lockedBuffer
	l := store.NewErrorLog(slog.New(slog.NewTextHandler(&buf, nil)), time.Minute, clk.Now)
	ctx := t.Context()
	errDown := errors.New("redis down")
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { l.Error(ctx, "store failed", errDown) })
	}
	wg.Wait()
	if got := buf.lines(); len(got) != 1 || !strings.Contains(got[0], "count=1") {
		t.Fatalf("after 50 errors in one interval: %q, want one line with count=1", got)
	}
	l.Error(ctx, "counting failed", errDown)
	clk.Advance(30 * time.Second)
	if l.Error(ctx, "store failed", errDown) {
		t.Errorf("Error within the interval wrote a line")
	}
	clk.Advance(31 * time.Second)
	if !l.Error(ctx, "store failed", errDown) {
		t.Errorf("Error after the interval wrote no line")
	}
	got := buf.lines()
	if len(got) != 3 {
		t.Fatalf("lines = %q, want 3", got)
	}
	if !strings.Contains(got[1], `msg="counting failed"`) || !strings.Contains(got[1], "count=1") {
		t.Errorf("second kind's line = %q, want it logged at once with count=1", got[1])
	}
	// 49 held back in the first interval, one at 30 s, this one.
	if !strings.Contains(got[2], `msg="store failed"`) || !strings.Contains(got[2], "count=51") || !strings.Contains(got[2], "level=ERROR") {
		t.Errorf("line after the interval = %q, want an ERROR with count=51", got[2])
	}
}

func TestErrorLogNil(t *testing.T) {
	var l *store.ErrorLog
	if l.Error(t.Context(), "x", errors.New("e")) {
		t.Error("nil ErrorLog wrote a line")
	}
}

func ExampleErrorLog() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // keep the output stable
			}
			return a
		},
	}))
	l := store.NewErrorLog(logger, time.Minute, func() time.Time { return now })
	err := fmt.Errorf("%w: redis: i/o timeout", store.ErrUnavailable)
	for range 120 { // two RCPTs a second in the first minute of an outage
		l.Error(context.Background(), "greylist: store failed", err)
		now = now.Add(500 * time.Millisecond)
	}
	l.Error(context.Background(), "greylist: store failed", err)
	// Output:
	// level=ERROR msg="greylist: store failed" error="store: unavailable: redis: i/o timeout" count=1 interval=1m0s
	// level=ERROR msg="greylist: store failed" error="store: unavailable: redis: i/o timeout" count=120 interval=1m0s
}
