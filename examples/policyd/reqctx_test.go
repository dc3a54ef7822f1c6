package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRequestContextDeadline(t *testing.T) {
	c := newRequestContext(t.Context(), 20*time.Millisecond)
	defer c.end()
	if err := c.Err(); err != nil {
		t.Fatalf("Err() at start = %v, want nil", err)
	}
	if d, ok := c.Deadline(); !ok || time.Until(d) > 20*time.Millisecond {
		t.Fatalf("Deadline() = %v, %v, want within 20ms", d, ok)
	}
	waitDone(t, c.Done(), "Done() at the deadline")
	if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err() after the deadline = %v, want DeadlineExceeded", err)
	}
	c.end()
	if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err() after end = %v, want DeadlineExceeded still", err)
	}
}

// The end of a request releases what still waits on it, as cancel does,
// and a context derived from it.
func TestRequestContextEnd(t *testing.T) {
	c := newRequestContext(t.Context(), time.Hour)
	sub, cancel := context.WithCancel(c)
	defer cancel()
	done := c.Done()
	c.end()
	select {
	case <-done:
	default:
		t.Fatal("Done() not closed at the end of the request")
	}
	if err := c.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err() after end = %v, want Canceled", err)
	}
	waitDone(t, sub.Done(), "a derived context at the end of the request")
	if err := sub.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("derived Err() = %v, want Canceled", err)
	}
}

func TestRequestContextPolledDeadline(t *testing.T) {
	c := newRequestContext(t.Context(), time.Millisecond)
	defer c.end()
	time.Sleep(10 * time.Millisecond)
	// A check that only polls Err sees the deadline without any timer.
	if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err() = %v, want DeadlineExceeded", err)
	}
	// Asked for after the deadline, Done is closed at once.
	select {
	case <-c.Done():
	default:
		t.Fatal("Done() after the deadline not closed")
	}
}

// waitDone fails the test unless done is closed soon.
func waitDone(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not closed", what)
	}
}

// The session's time is the request's arrival, taken back from its
// deadline.
func TestRequestTime(t *testing.T) {
	start := time.Now()
	c := newRequestContextAt(t.Context(), start, 10*time.Second, nil)
	defer c.end()
	if got := requestTime(c, 10*time.Second); !got.Equal(start) {
		t.Errorf("requestTime = %v, want the arrival %v", got, start)
	}
	if got := requestTime(t.Context(), 10*time.Second); got.Before(start) {
		t.Errorf("requestTime of another context = %v, want the clock's reading (after %v)", got, start)
	}
}

// Asked for first after the deadline has passed (no Err before it), Done
// is closed at once and stays usable.
func TestRequestContextDoneAfterDeadline(t *testing.T) {
	c := newRequestContext(t.Context(), time.Millisecond)
	defer c.end()
	time.Sleep(5 * time.Millisecond)
	select {
	case <-c.Done():
	default:
		t.Fatal("Done() asked for after the deadline is not closed")
	}
	if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err() = %v, want DeadlineExceeded", err)
	}
}

// A context derived with its own shorter deadline (a store's timeout)
// ends at that deadline, at the request's end, or at the request's
// deadline, whichever comes first; context.AfterFunc on a request runs
// at its end unless stopped.
func TestRequestContextDerived(t *testing.T) {
	t.Run("request ends first", func(t *testing.T) {
		c := newRequestContext(t.Context(), time.Hour)
		sub, cancel := context.WithTimeout(c, time.Minute)
		defer cancel()
		ran := make(chan struct{})
		context.AfterFunc(c, func() { close(ran) })
		stopped := false
		stop := context.AfterFunc(c, func() { stopped = true })
		if !stop() {
			t.Fatal("stop() before the end = false, want true")
		}
		c.end()
		waitDone(t, sub.Done(), "a derived context at the end of the request")
		if err := sub.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("derived Err() = %v, want Canceled", err)
		}
		waitDone(t, ran, "context.AfterFunc at the end of the request")
		if stopped {
			t.Fatal("a stopped AfterFunc ran")
		}
		if stop() {
			t.Fatal("stop() after the end = true, want false")
		}
	})
	t.Run("request deadline first", func(t *testing.T) {
		c := newRequestContext(t.Context(), 20*time.Millisecond)
		defer c.end()
		sub, cancel := context.WithTimeout(c, time.Minute)
		defer cancel()
		if d, _ := sub.Deadline(); time.Until(d) > 20*time.Millisecond {
			t.Fatalf("derived deadline %v, want the request's", d)
		}
		waitDone(t, sub.Done(), "a derived context at the request's deadline")
		if err := sub.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("derived Err() = %v, want DeadlineExceeded", err)
		}
	})
	t.Run("own deadline first", func(t *testing.T) {
		c := newRequestContext(t.Context(), time.Hour)
		defer c.end()
		sub, cancel := context.WithTimeout(c, 10*time.Millisecond)
		defer cancel()
		waitDone(t, sub.Done(), "a derived context at its own deadline")
		if err := c.Err(); err != nil {
			t.Fatalf("the request's Err() = %v after a derived deadline, want nil", err)
		}
	})
	t.Run("after the end", func(t *testing.T) {
		c := newRequestContext(t.Context(), time.Hour)
		c.end()
		ran := make(chan struct{})
		stop := context.AfterFunc(c, func() { close(ran) })
		waitDone(t, ran, "context.AfterFunc registered after the end")
		if stop() {
			t.Fatal("stop() after the end = true, want false")
		}
	})
}

// Deriving a context from a request starts no goroutine to watch it: the
// context package uses the request's AfterFunc instead.
func TestRequestContextDerivedNoGoroutine(t *testing.T) {
	var c context.Context = newRequestContext(t.Context(), time.Hour)
	if _, ok := c.(interface {
		AfterFunc(func()) func() bool
	}); !ok {
		t.Fatal("requestContext has no AfterFunc method: context.WithTimeout would start a goroutine per request")
	}
}

// A connection's requests share one timer: each request's Done closes at
// its own deadline, a request ended early leaves the next one's timer
// alone, and a late firing meant for an earlier request does not end the
// next one before its deadline.
func TestRequestContextConnTimer(t *testing.T) {
	var timers connTimer
	defer timers.stop()
	// Ended before its deadline: Done closes at the end, as Canceled.
	c1 := newRequestContextAt(t.Context(), time.Now(), time.Hour, &timers)
	d1 := c1.Done()
	c1.end()
	waitDone(t, d1, "Done of an ended request")
	if err := c1.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("first request: Err() = %v, want Canceled", err)
	}
	// The next request on the connection reaches its deadline.
	start := time.Now()
	c2 := newRequestContextAt(t.Context(), start, 30*time.Millisecond, &timers)
	waitDone(t, c2.Done(), "Done at the second request's deadline")
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Fatalf("second request's Done closed after %v, before its deadline of 30ms", took)
	}
	if err := c2.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second request: Err() = %v, want DeadlineExceeded", err)
	}
	c2.end()
	// A firing meant for an earlier request finds a later deadline.
	c3 := newRequestContextAt(t.Context(), time.Now(), time.Hour, &timers)
	d3 := c3.Done()
	timers.fire()
	select {
	case <-d3:
		t.Fatal("a stale firing ended a request an hour before its deadline")
	default:
	}
	c3.end()
}
