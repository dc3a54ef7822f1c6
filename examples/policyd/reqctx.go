package main

import (
	"context"
	"sync"
	"time"
)

// requestContext is the context of one request, with its deadline.
// context.WithTimeout would cost each request a timer context, a cancel
// func and a timer; this one is one allocation, and arms a timer only
// for a request whose checks ask for Done (one that waits on the
// network). Err reports the deadline from the clock, so a check that only
// polls Err sees it without a timer. A context is never reused: what a
// check left running past its request sees that request's end.
type requestContext struct {
	context.Context // the connection's, without its cancellation
	deadline        time.Time

	mu    sync.Mutex
	done  chan struct{} // made when first asked for
	err   error
	timer *time.Timer
	after []*afterFunc // to call when the context ends
}

// afterFunc is one function registered with AfterFunc.
type afterFunc struct{ f func() }

// newRequestContext returns the context of a request under parent (a
// context without cancellation) that must be answered within timeout.
func newRequestContext(parent context.Context, timeout time.Duration) *requestContext {
	return newRequestContextAt(parent, time.Now(), timeout)
}

// newRequestContextAt is newRequestContext for a request read at start,
// a clock reading the caller already has.
func newRequestContextAt(parent context.Context, start time.Time, timeout time.Duration) *requestContext {
	return &requestContext{Context: parent, deadline: start.Add(timeout)}
}

// requestTime is when the request of ctx was read: timeout before its
// deadline when ctx is a requestContext made with that timeout (saving a
// field in every request's context), else the clock's reading.
func requestTime(ctx context.Context, timeout time.Duration) time.Time {
	if rc, ok := ctx.(*requestContext); ok {
		return rc.deadline.Add(-timeout)
	}
	return time.Now()
}

// end ends the request, as a context's cancel: whatever still waits on
// its Done channel is released.
func (c *requestContext) end() {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	after := c.finishLocked(context.Canceled)
	c.mu.Unlock()
	runAfter(after)
}

// AfterFunc arranges for f to run in its own goroutine once the context
// ends, and returns a stop function that cancels that unless it has
// already happened, as context.AfterFunc does. It is what the context
// package looks for in a parent: without it every context.WithTimeout
// made under a request (a store's own deadline, say) would start a
// goroutine to watch the request end, for every request.
func (c *requestContext) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	c.after = append(c.after, a)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.after {
			if x == a {
				c.after = append(c.after[:i], c.after[i+1:]...)
				return true
			}
		}
		return false
	}
}

// Deadline implements context.Context.
func (c *requestContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context.
func (c *requestContext) Done() <-chan struct{} {
	c.mu.Lock()
	if c.done != nil {
		defer c.mu.Unlock()
		return c.done
	}
	c.done = make(chan struct{})
	if c.err != nil {
		close(c.done) // ended before anyone asked
	}
	after := c.pollLocked() // closes done if the deadline has passed
	if c.err == nil {
		c.timer = time.AfterFunc(time.Until(c.deadline), c.expire)
	}
	done := c.done
	c.mu.Unlock()
	runAfter(after)
	return done
}

// Err implements context.Context.
func (c *requestContext) Err() error {
	c.mu.Lock()
	after := c.pollLocked()
	err := c.err
	c.mu.Unlock()
	runAfter(after)
	return err
}

// expire is the timer's, at the deadline.
func (c *requestContext) expire() {
	c.mu.Lock()
	after := c.finishLocked(context.DeadlineExceeded)
	c.mu.Unlock()
	runAfter(after)
}

// pollLocked ends the context if its deadline has passed, and returns
// what finishLocked returns.
func (c *requestContext) pollLocked() []*afterFunc {
	if c.err == nil && !time.Now().Before(c.deadline) {
		return c.finishLocked(context.DeadlineExceeded)
	}
	return nil
}

// finishLocked ends the context with err, once, and returns the
// functions registered with AfterFunc, for the caller to start once it
// has let go of c.mu (they read the context).
func (c *requestContext) finishLocked(err error) []*afterFunc {
	if c.err != nil {
		return nil
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	after := c.after
	c.after = nil
	return after
}

// runAfter starts each of after in its own goroutine.
func runAfter(after []*afterFunc) {
	for _, a := range after {
		go a.f()
	}
}
