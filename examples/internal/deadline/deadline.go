// Package deadline gives one command's checks a context with the command's
// deadline whose timer is made only when a check waits on it, for the
// front-ends that evaluate a policy at every stage of every message.
package deadline

import (
	"context"
	"sync"
	"time"
)

// commandContext is the context of one command's (or milter callback's) checks: the session's,
// with the command's deadline. The timer behind the deadline is armed only
// when something asks for Done (a check about to wait on the network):
// most checks answer from what the session already holds, and a timer set
// and stopped for every stage was a tenth of the adapter's CPU per
// message. Until then Err answers from the clock.
type commandContext struct {
	parent   context.Context
	deadline time.Time

	mu      sync.Mutex
	stopped bool
	ctx     context.Context // the standard one, once Done was asked for
	cancel  context.CancelFunc
}

var _ context.Context = (*commandContext)(nil)

// WithTimeout returns parent with a deadline d from now, and the function
// that ends it, as context.WithTimeout does.
func WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return WithDeadline(parent, time.Now().Add(d))
}

// WithDeadline returns parent with deadline t (or parent's, if earlier),
// and the function that ends it, as context.WithDeadline does.
func WithDeadline(parent context.Context, t time.Time) (context.Context, context.CancelFunc) {
	c := &commandContext{parent: parent, deadline: t}
	if pd, ok := parent.Deadline(); ok && pd.Before(c.deadline) {
		c.deadline = pd
	}
	return c, c.stop
}

func (c *commandContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Done arms the deadline: from here on the standard library's context
// answers.
func (c *commandContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		c.ctx, c.cancel = context.WithDeadline(c.parent, c.deadline)
		if c.stopped {
			c.cancel()
		}
	}
	return c.ctx.Done()
}

func (c *commandContext) Err() error {
	c.mu.Lock()
	ctx, stopped := c.ctx, c.stopped
	c.mu.Unlock()
	switch {
	case ctx != nil:
		return ctx.Err()
	case stopped:
		return context.Canceled
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *commandContext) Value(key any) any {
	c.mu.Lock()
	ctx := c.ctx
	c.mu.Unlock()
	if ctx != nil {
		return ctx.Value(key) // context.Cause finds the armed context's
	}
	return c.parent.Value(key)
}

// stop ends the command: Err says Canceled from here on, and Done, asked
// for before or after, is closed.
func (c *commandContext) stop() {
	c.mu.Lock()
	c.stopped = true
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
