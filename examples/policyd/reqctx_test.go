package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRequestContextDeadline(t *testing.T) {
	c := newRequestContext(t.Context())
	defer c.end()

	c.start(20 * time.Millisecond)
	if err := c.Err(); err != nil {
		t.Fatalf("Err() at start = %v, want nil", err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done() not closed at the deadline")
	}
	if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err() after the deadline = %v, want DeadlineExceeded", err)
	}
	c.end()

	// The next request starts afresh: a new deadline, a new Done.
	c.start(time.Hour)
	if err := c.Err(); err != nil {
		t.Fatalf("Err() of the next request = %v, want nil", err)
	}
	done := c.Done()
	select {
	case <-done:
		t.Fatal("Done() of the next request already closed")
	default:
	}
	if d, ok := c.Deadline(); !ok || time.Until(d) < 59*time.Minute {
		t.Fatalf("Deadline() = %v, %v, want an hour ahead", d, ok)
	}
	// The end of a request releases what still waits on it.
	c.end()
	select {
	case <-done:
	default:
		t.Fatal("Done() not closed at the end of the request")
	}
}

func TestRequestContextPolledDeadline(t *testing.T) {
	c := newRequestContext(t.Context())
	defer c.end()
	c.start(time.Millisecond)
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
	// A derived context inherits the deadline.
	c.end()
	c.start(time.Hour)
	sub, cancel := context.WithCancel(c)
	defer cancel()
	if err := sub.Err(); err != nil {
		t.Fatalf("derived Err() = %v, want nil", err)
	}
}
