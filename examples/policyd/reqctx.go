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

	timers *connTimer // the connection's, or nil for a timer of its own

	mu    sync.Mutex
	done  chan struct{} // made when first asked for
	err   error
	timer *time.Timer  // its own, when it has no connection's
	armed bool         // the connection's timer is armed for it
	after []*afterFunc // to call when the context ends
}

// connTimer is the one timer a connection's requests share for their
// deadlines: they come one at a time, and a timer made and dropped for
// every request that waits on the network (each greylisting request on
// Redis) cost it two allocations and the timer's own setup.
type connTimer struct {
	mu  sync.Mutex
	t   *time.Timer
	cur *requestContext // the request it is armed for
}

// arm sets the timer for c's deadline.
func (ct *connTimer) arm(c *requestContext) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	ct.cur = c
	if ct.t == nil {
		ct.t = time.AfterFunc(time.Until(c.deadline), ct.fire)
		return
	}
	ct.t.Reset(time.Until(c.deadline))
}

// disarm stops the timer if it is armed for c.
func (ct *connTimer) disarm(c *requestContext) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.cur == c {
		ct.t.Stop()
		ct.cur = nil
	}
}

// stop stops the timer for good, as its connection ends.
func (ct *connTimer) stop() {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.t != nil {
		ct.t.Stop()
	}
	ct.cur = nil
}

// fire ends the request the timer is armed for, once its deadline has
// passed: a firing meant for an earlier request can run after the
// timer was set again for the next one, which it then leaves armed.
func (ct *connTimer) fire() {
	ct.mu.Lock()
	c := ct.cur
	if c == nil {
		ct.mu.Unlock()
		return
	}
	if wait := time.Until(c.deadline); wait > 0 {
		ct.t.Reset(wait)
		ct.mu.Unlock()
		return
	}
	ct.cur = nil
	ct.mu.Unlock()
	c.expire()
}

// afterFunc is one function registered with AfterFunc.
type afterFunc struct{ f func() }

// newRequestContext returns the context of a request under parent (a
// context without cancellation) that must be answered within timeout.
func newRequestContext(parent context.Context, timeout time.Duration) *requestContext {
	return newRequestContextAt(parent, time.Now(), timeout, nil)
}

// newRequestContextAt is newRequestContext for a request read at start,
// a clock reading the caller already has, whose deadline is kept by
// timers, the connection's timer (nil for one of its own). A connection's
// requests must end one before the next is made.
func newRequestContextAt(parent context.Context, start time.Time, timeout time.Duration, timers *connTimer) *requestContext {
	return &requestContext{Context: parent, deadline: start.Add(timeout), timers: timers}
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
	if c.armed {
		c.timers.disarm(c)
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
	switch {
	case c.err != nil:
	case c.timers != nil:
		c.timers.arm(c)
		c.armed = true
	default:
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
