package redisstore_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// TestConcurrentCallsGetTheirOwnReplies runs many callers at once, so
// that their script calls share pipelines: every Incr must see its own
// count (each of 1..n exactly once), every Update must apply once, and
// the calls take no more round trips than one each.
func TestConcurrentCallsGetTheirOwnReplies(t *testing.T) {
	var trips redistest.Counter
	c := redistest.Client(t, "", &trips)
	ctx := t.Context()
	s := redisstore.New(c, redisstore.Options{Prefix: prefix(t, c)})
	// Loads both scripts, so that the count below is of the calls alone.
	if _, err := s.Incr(ctx, "warm", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, "warm2", func([]byte, bool) ([]byte, time.Duration, error) { return []byte("1"), time.Minute, nil }); err != nil {
		t.Fatal(err)
	}
	const workers, each = 16, 100
	trips.Reset()
	var mu sync.Mutex
	seen := make(map[int64]int)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			own := "u" + strconv.Itoa(w)
			for range each {
				n, err := s.Incr(ctx, "n", 1, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[n]++
				mu.Unlock()
				// Read-modify-write of a record of this worker's own.
				err = s.Update(ctx, own, func(old []byte, ok bool) ([]byte, time.Duration, error) {
					v, _ := strconv.Atoi(string(old))
					return []byte(strconv.Itoa(v + 1)), time.Minute, nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := int64(1); i <= workers*each; i++ {
		if seen[i] != 1 {
			t.Errorf("Incr answered %d %d times, want once", i, seen[i])
		}
	}
	for w := range workers {
		own := "u" + strconv.Itoa(w)
		if v, _, err := s.Get(ctx, own); err != nil || string(v) != strconv.Itoa(each) {
			t.Errorf("Get(%q) = %q, %v; want %d", own, v, err, each)
		}
	}
	t.Logf("%d calls, %d round trips", 2*workers*each, trips.Load())
	// An Update whose guess of the record is wrong takes two; here every
	// record is this Store's own, so its guesses are right.
	if n := trips.Load(); n > 2*workers*each+workers {
		t.Errorf("%d calls took %d round trips, want at most one each", 2*workers*each, n)
	}
}

// TestHungServerConcurrentCalls freezes Redis under callers that queue
// behind each other: every one of them gets store.ErrUnavailable at the
// Store's Timeout, none waits for the others' calls in turn.
func TestHungServerConcurrentCalls(t *testing.T) {
	srv := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	const timeout = 300 * time.Millisecond
	s := redisstore.New(c, redisstore.Options{Timeout: timeout})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := s.Incr(ctx, "n", 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	srv.Freeze(t)
	const callers = 8
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			start := time.Now()
			var err error
			if i%2 == 0 {
				_, err = s.Incr(ctx, "n", 1, time.Hour)
			} else {
				err = s.Update(ctx, "k"+strconv.Itoa(i), func([]byte, bool) ([]byte, time.Duration, error) {
					return []byte("v"), time.Hour, nil
				})
			}
			took := time.Since(start)
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("caller %d on a hung Redis: %v, want ErrUnavailable", i, err)
			}
			if took > timeout+time.Second {
				t.Errorf("caller %d on a hung Redis took %v, want about %v", i, took, timeout)
			}
		})
	}
	wg.Wait()
	srv.Thaw(t)
	if _, err := s.Incr(ctx, "n", 1, time.Hour); err != nil {
		t.Errorf("Incr after Redis is back: %v", err)
	}
}

// TestHungServerQueuedDeadlines queues calls behind a round trip that a
// hung Redis never answers: a caller whose own context ends first
// returns at its own deadline, and one with a longer context at the
// Store's Timeout, whichever round trip it waits behind.
func TestHungServerQueuedDeadlines(t *testing.T) {
	srv := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	const timeout = 600 * time.Millisecond
	s := redisstore.New(c, redisstore.Options{Timeout: timeout})
	ctx := t.Context()
	if _, err := s.Incr(ctx, "n", 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	srv.Freeze(t)
	defer srv.Thaw(t)
	first := make(chan error, 1)
	go func() { _, err := s.Incr(ctx, "n", 1, time.Hour); first <- err }()
	time.Sleep(100 * time.Millisecond) // the first call's round trip is in flight
	var wg sync.WaitGroup
	for _, tt := range []struct {
		name    string
		callCtx time.Duration // the caller's own deadline; 0 for none
		max     time.Duration
	}{
		{"short context", 150 * time.Millisecond, 150*time.Millisecond + timeout/3},
		{"long context", time.Minute, timeout + timeout/3},
		{"no deadline", 0, timeout + timeout/3},
	} {
		wg.Go(func() {
			cctx := ctx
			if tt.callCtx > 0 {
				var cancel context.CancelFunc
				cctx, cancel = context.WithTimeout(ctx, tt.callCtx)
				defer cancel()
			}
			start := time.Now()
			_, err := s.Incr(cctx, "n", 1, time.Hour)
			took := time.Since(start)
			if !errors.Is(err, store.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %v, want ErrUnavailable or the context's deadline", tt.name, err)
			}
			if took > tt.max {
				t.Errorf("%s: queued behind a hung round trip for %v, want at most %v", tt.name, took, tt.max)
			}
		})
	}
	wg.Wait()
	if err := <-first; !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("the call in flight: %v, want ErrUnavailable", err)
	}
}
