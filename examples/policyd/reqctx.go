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
}

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
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.finishLocked(context.Canceled)
}

// Deadline implements context.Context.
func (c *requestContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context.
func (c *requestContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	c.done = make(chan struct{})
	c.pollLocked()
	if c.err != nil {
		close(c.done)
	} else {
		c.timer = time.AfterFunc(time.Until(c.deadline), c.expire)
	}
	return c.done
}

// Err implements context.Context.
func (c *requestContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pollLocked()
	return c.err
}

// expire is the timer's, at the deadline.
func (c *requestContext) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finishLocked(context.DeadlineExceeded)
}

// pollLocked ends the context if its deadline has passed.
func (c *requestContext) pollLocked() {
	if c.err == nil && !time.Now().Before(c.deadline) {
		c.finishLocked(context.DeadlineExceeded)
	}
}

// finishLocked ends the context with err, once.
func (c *requestContext) finishLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
}
