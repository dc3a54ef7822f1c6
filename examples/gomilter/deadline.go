package gomilter

import (
	"context"
	"sync"
	"time"
)

// deadlineCtx is the context of one callback's checks: the session's, with
// the callback's deadline. Its timer is made only when a check waits on it
// (Done): most checks decide at once, and a timer armed and stopped at
// every stage of every message costs the runtime a wake-up of its network
// poller each time.
type deadlineCtx struct {
	context.Context // the session's
	deadline        time.Time

	mu      sync.Mutex
	timed   context.Context // with the timer, once Done was asked for
	cancel  context.CancelFunc
	stopped bool
}

func withDeadline(parent context.Context, d time.Time) *deadlineCtx {
	return &deadlineCtx{Context: parent, deadline: d}
}

// Deadline implements context.Context.
func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context: the first call arms the timer.
func (c *deadlineCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timed == nil {
		c.timed, c.cancel = context.WithDeadline(c.Context, c.deadline)
		if c.stopped {
			c.cancel()
		}
	}
	return c.timed.Done()
}

// Err implements context.Context: the session's end, the deadline passed,
// or the callback over.
func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	timed, stopped := c.timed, c.stopped
	c.mu.Unlock()
	switch {
	case timed != nil:
		return timed.Err()
	case stopped:
		return context.Canceled
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// stop ends the callback: the timer, if one was made, is released, and the
// context reads as canceled to whatever still holds it.
func (c *deadlineCtx) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.cancel != nil {
		c.cancel()
	}
}
