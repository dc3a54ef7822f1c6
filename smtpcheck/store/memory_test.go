package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

func newMemory(t *testing.T) (store.Store, *storetest.Clock) {
	c := storetest.NewClock()
	s := store.NewMemory(store.MemoryOptions{Now: c.Now})
	t.Cleanup(func() { s.Close() })
	return s, c
}

func TestMemoryContract(t *testing.T) {
	storetest.Run(t, newMemory)
}

func TestMemoryBoundedContract(t *testing.T) {
	// A bound far above what the suite writes changes nothing it can see.
	storetest.Run(t, func(t *testing.T) (store.Store, *storetest.Clock) {
		c := storetest.NewClock()
		s := store.NewMemory(store.MemoryOptions{Now: c.Now, MaxEntries: 100000})
		t.Cleanup(func() { s.Close() })
		return s, c
	})
}

func TestMemoryMaxEntries(t *testing.T) {
	c := storetest.NewClock()
	s := store.NewMemory(store.MemoryOptions{Now: c.Now, MaxEntries: 4})
	ctx := t.Context()
	for i := range 4 {
		if err := s.Set(ctx, fmt.Sprint("keep", i), []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	// Overwriting an existing key never evicts.
	if err := s.Set(ctx, "keep0", []byte("w"), 0); err != nil {
		t.Fatal(err)
	}
	if got := s.Len(); got != 4 {
		t.Fatalf("Len() after overwrite = %d, want 4", got)
	}
	for i := range 100 {
		if _, err := s.Incr(ctx, fmt.Sprint("flood", i), 1, time.Minute); err != nil {
			t.Fatal(err)
		}
		if got := s.Len(); got > 4 {
			t.Fatalf("Len() = %d, want at most 4", got)
		}
	}
}

func TestMemoryEvictsSoonestExpiring(t *testing.T) {
	c := storetest.NewClock()
	s := store.NewMemory(store.MemoryOptions{Now: c.Now, MaxEntries: 3})
	ctx := t.Context()
	// With 3 records all sampled, the expired one goes first, and a record
	// without expiry outlives ones with.
	s.Set(ctx, "forever", []byte("v"), 0)
	s.Set(ctx, "later", []byte("v"), time.Hour)
	s.Set(ctx, "dead", []byte("v"), time.Second)
	c.Advance(2 * time.Second)
	s.Set(ctx, "new1", []byte("v"), time.Hour)
	if _, ok, _ := s.Get(ctx, "forever"); !ok {
		t.Errorf("Get(%q) = absent after one eviction, want present", "forever")
	}
	if _, ok, _ := s.Get(ctx, "later"); !ok {
		t.Errorf("Get(%q) = absent after one eviction, want present", "later")
	}
}

func TestMemorySweep(t *testing.T) {
	c := storetest.NewClock()
	s := store.NewMemory(store.MemoryOptions{Now: c.Now})
	ctx := t.Context()
	for i := range 1000 {
		ttl := time.Minute
		if i%4 == 0 {
			ttl = 0
		}
		s.Set(ctx, fmt.Sprint(i), []byte("v"), ttl)
	}
	if n, err := s.Sweep(ctx); n != 0 || err != nil {
		t.Fatalf("Sweep() before expiry = %d, %v; want 0, nil", n, err)
	}
	c.Advance(time.Hour)
	if n, err := s.Sweep(ctx); n != 750 || err != nil {
		t.Fatalf("Sweep() = %d, %v; want 750, nil", n, err)
	}
	if got := s.Len(); got != 250 {
		t.Errorf("Len() after Sweep = %d, want 250", got)
	}
}

func TestMemorySweepEveryStops(t *testing.T) {
	s := store.NewMemory(store.MemoryOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.SweepEvery(ctx, time.Millisecond) }()
	s.Set(t.Context(), "k", []byte("v"), time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for s.Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := s.Len(); got != 0 {
		t.Errorf("Len() = %d with a sweeper running, want 0", got)
	}
	cancel()
	if err := <-done; err == nil {
		t.Errorf("SweepEvery() after cancel = nil, want the context's error")
	}
}
