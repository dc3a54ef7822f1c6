package main

import (
	"context"
	"sync"
	"time"
)

// requestContext is the context of one connection's requests, one after
// another, each with its own deadline. context.WithTimeout would cost each
// request a context, a cancel func and a timer (4 of its allocations);
// this one is made once per connection, and arms its timer only for a
// request whose checks ask for Done (one that waits on the network).
// Err reports the deadline from the clock, so a check that only polls Err
// sees it without a timer.
//
// A request's checks must not keep the context past the request: at its
// end the Done channel handed out is closed (as cancel would), and the
// same context then serves the next request.
type requestContext struct {
	context.Context // the connection's, without its cancellation

	mu       sync.Mutex
	deadline time.Time
	done     chan struct{} // made when first asked for in a request
	err      error
	timer    *time.Timer
}

func newRequestContext(parent context.Context) *requestContext {
	return &requestContext{Context: context.WithoutCancel(parent)}
}

// start begins a request that must be answered within timeout.
func (c *requestContext) start(timeout time.Duration) {
	c.mu.Lock()
	c.deadline, c.err = time.Now().Add(timeout), nil
	c.mu.Unlock()
}

// end ends the request: whatever still waits on its Done channel is
// released, as by a context's cancel.
func (c *requestContext) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.done != nil && c.err == nil {
		close(c.done)
	}
	c.done, c.err = nil, context.Canceled
}

// Deadline implements context.Context.
func (c *requestContext) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadline, true
}

// Done implements context.Context.
func (c *requestContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		c.expireLocked()
		if c.err != nil {
			close(c.done)
		} else if d := time.Until(c.deadline); c.timer == nil {
			c.timer = time.AfterFunc(d, c.expire)
		} else {
			c.timer.Reset(d)
		}
	}
	return c.done
}

// Err implements context.Context.
func (c *requestContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expireLocked() && c.done != nil {
		close(c.done)
	}
	return c.err
}

// expire is the timer's: a timer of an earlier request that fires late
// finds the current deadline still ahead and does nothing.
func (c *requestContext) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expireLocked() && c.done != nil {
		close(c.done)
	}
}

// expireLocked sets the error once the deadline has passed, and reports
// whether it did so now.
func (c *requestContext) expireLocked() bool {
	if c.err != nil || time.Now().Before(c.deadline) {
		return false
	}
	c.err = context.DeadlineExceeded
	return true
}
