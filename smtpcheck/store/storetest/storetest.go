// Package storetest is the behaviour every store.Store must show, as a test
// suite that any implementation (including one written outside this module)
// can run from its own tests:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) (store.Store, *storetest.Clock) {
//			c := storetest.NewClock()
//			s := store.NewMemory(store.MemoryOptions{Now: c.Now})
//			t.Cleanup(func() { s.Close() })
//			return s, c
//		})
//	}
//
// A store whose time cannot be injected (Redis expires keys on its own
// clock) returns a nil *Clock; the suite then uses short real TTLs and
// polls, running those subtests in parallel to keep the wait short.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Clock is a manual clock for stores that take a `func() time.Time`.
// It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock set to a fixed instant.
func NewClock() *Clock {
	return &Clock{now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
}

// Now returns the clock's current time; pass it as the store's clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// NewStoreFunc makes a fresh, empty store for one subtest, with the clock
// that drives it, or a nil *Clock when the store runs on real time. It
// should register the store's Close with t.Cleanup; the suite may also
// close it (Close must tolerate a second call).
type NewStoreFunc func(t *testing.T) (store.Store, *Clock)

// Run runs the contract suite against stores made by newStore. Each subtest
// gets its own store, and subtests run in parallel.
func Run(t *testing.T, newStore NewStoreFunc) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"GetSetDelete", testGetSetDelete},
		{"ValuesAreCopied", testValuesAreCopied},
		{"NegativeTTL", testNegativeTTL},
		{"Expiry", testExpiry},
		{"Update", testUpdate},
		{"UpdateExpiry", testUpdateExpiry},
		{"Incr", testIncr},
		{"IncrWindow", testIncrWindow},
		{"IncrWindowNotExtended", testIncrWindowNotExtended},
		{"Scan", testScan},
		{"ScanCallsStore", testScanCallsStore},
		{"ConcurrentUpdate", testConcurrentUpdate},
		{"UpdateMany", testUpdateMany(store.UpdateMany)},
		{"UpdateEach", testUpdateMany(store.UpdateEach)},
		{"ConcurrentUpdateMany", testConcurrentUpdateMany(store.UpdateMany)},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentIncr", testConcurrentIncr},
		{"CanceledContext", testCanceledContext},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, c := newStore(t)
			tt.fn(t, &env{s: s, clock: c, ctx: t.Context()})
		})
	}
}

// env is one subtest's store and its notion of time.
type env struct {
	s     store.Store
	clock *Clock
	ctx   context.Context
}

// ttl is the lifetime the suite gives records: long under a manual clock,
// short enough to wait for under a real one.
func (e *env) ttl() time.Duration {
	if e.clock == nil {
		return 600 * time.Millisecond
	}
	return 10 * time.Minute
}

// pass lets d go by.
func (e *env) pass(d time.Duration) {
	if e.clock == nil {
		time.Sleep(d)
		return
	}
	e.clock.Advance(d)
}

// expire lets key's ttl run out: under a manual clock it advances by just
// over the ttl; under a real one it polls Get until the record is gone.
func (e *env) expire(t *testing.T, key string) {
	t.Helper()
	if e.clock != nil {
		e.clock.Advance(e.ttl() + time.Second)
		return
	}
	deadline := time.Now().Add(e.ttl() + 5*time.Second)
	for time.Now().Before(deadline) {
		if _, ok, err := e.s.Get(e.ctx, key); err != nil {
			t.Fatalf("Get(%q) error %v while waiting for expiry", key, err)
		} else if !ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("Get(%q) still finds the record %v after its ttl %v", key, 5*time.Second, e.ttl())
}

func (e *env) mustSet(t *testing.T, key, value string, ttl time.Duration) {
	t.Helper()
	if err := e.s.Set(e.ctx, key, []byte(value), ttl); err != nil {
		t.Fatalf("Set(%q) = %v, want nil", key, err)
	}
}

// want checks that key holds value, or is absent when value is nil.
func (e *env) want(t *testing.T, key string, value *string) {
	t.Helper()
	got, ok, err := e.s.Get(e.ctx, key)
	if err != nil {
		t.Fatalf("Get(%q) error = %v, want nil", key, err)
	}
	switch {
	case value == nil && ok:
		t.Fatalf("Get(%q) = %q, true; want absent", key, got)
	case value != nil && !ok:
		t.Fatalf("Get(%q) = absent, want %q", key, *value)
	case value != nil && string(got) != *value:
		t.Fatalf("Get(%q) = %q, want %q", key, got, *value)
	}
}

func ptr(s string) *string { return &s }

func testGetSetDelete(t *testing.T, e *env) {
	e.want(t, "absent", nil)
	tests := []struct {
		name, key, value string
	}{
		{"plain", "k1", "hello"},
		{"empty value", "k2", ""},
		{"binary", "k3", "a\x00b\xff\r\n"},
		{"large", "k4", string(bytes.Repeat([]byte("x"), 64<<10))},
		{"binary key", "k\x00\xff*?[", "v"},
		{"empty key", "", "v"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.mustSet(t, tt.key, tt.value, 0)
			e.want(t, tt.key, &tt.value)
			e.mustSet(t, tt.key, tt.value+"2", 0)
			e.want(t, tt.key, ptr(tt.value+"2"))
			if err := e.s.Delete(e.ctx, tt.key); err != nil {
				t.Fatalf("Delete(%q) = %v, want nil", tt.key, err)
			}
			e.want(t, tt.key, nil)
			if err := e.s.Delete(e.ctx, tt.key); err != nil {
				t.Fatalf("Delete(%q) of an absent key = %v, want nil", tt.key, err)
			}
		})
	}
}

func testValuesAreCopied(t *testing.T, e *env) {
	v := []byte("abc")
	if err := e.s.Set(e.ctx, "k", v, 0); err != nil {
		t.Fatal(err)
	}
	v[0] = 'X'
	e.want(t, "k", ptr("abc"))
	got, _, _ := e.s.Get(e.ctx, "k")
	got[0] = 'Y'
	e.want(t, "k", ptr("abc"))
}

func testNegativeTTL(t *testing.T, e *env) {
	if err := e.s.Set(e.ctx, "k", []byte("v"), -time.Second); err == nil {
		t.Errorf("Set(ttl=-1s) = nil, want an error")
	}
	if _, err := e.s.Incr(e.ctx, "c", 1, -time.Second); err == nil {
		t.Errorf("Incr(ttl=-1s) = nil error, want an error")
	}
}

func testExpiry(t *testing.T, e *env) {
	ttl := e.ttl()
	e.mustSet(t, "short", "1", ttl)
	e.mustSet(t, "forever", "2", 0)
	e.mustSet(t, "cleared", "3", ttl)
	e.mustSet(t, "cleared", "3b", 0) // a Set without ttl removes the old expiry
	e.want(t, "short", ptr("1"))
	e.expire(t, "short")
	e.want(t, "short", nil)
	e.want(t, "forever", ptr("2"))
	e.want(t, "cleared", ptr("3b"))
	err := e.s.Scan(e.ctx, "short", func(k string, v []byte) error {
		return fmt.Errorf("Scan returned expired record %q", k)
	})
	if err != nil {
		t.Error(err)
	}
	var last []byte
	var lastOK bool
	err = e.s.Update(e.ctx, "short", func(old []byte, ok bool) ([]byte, time.Duration, error) {
		last, lastOK = bytes.Clone(old), ok // the last run counts
		return nil, 0, store.ErrNoChange
	})
	if lastOK {
		t.Errorf("Update of an expired record got %q, true; want nil, false", last)
	}
	if err != nil {
		t.Errorf("Update = %v, want nil", err)
	}
}

func testUpdate(t *testing.T, e *env) {
	errAbort := errors.New("abort")
	tests := []struct {
		name    string
		initial *string
		ret     *string // value fn returns; nil means delete
		retErr  error
		wantErr error
		want    *string
	}{
		{name: "create", ret: ptr("new"), want: ptr("new")},
		{name: "modify", initial: ptr("old"), ret: ptr("new"), want: ptr("new")},
		{name: "write empty", initial: ptr("old"), ret: ptr(""), want: ptr("")},
		{name: "no change", initial: ptr("old"), retErr: store.ErrNoChange, want: ptr("old")},
		{name: "no change absent", retErr: store.ErrNoChange},
		{name: "wrapped no change", initial: ptr("old"), retErr: fmt.Errorf("seen: %w", store.ErrNoChange), want: ptr("old")},
		{name: "delete", initial: ptr("old")},
		{name: "delete absent"},
		{name: "error aborts", initial: ptr("old"), ret: ptr("new"), retErr: errAbort, wantErr: errAbort, want: ptr("old")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "u/" + tt.name
			if tt.initial != nil {
				e.mustSet(t, key, *tt.initial, 0)
			}
			// fn may run more than once (a store may try it on a value it
			// expects first); the last run is the one that counts.
			var last []byte
			var lastOK bool
			err := e.s.Update(e.ctx, key, func(old []byte, ok bool) ([]byte, time.Duration, error) {
				last, lastOK = bytes.Clone(old), ok
				if !ok && old != nil {
					t.Errorf("UpdateFunc got old = %q for an absent record, want nil", old)
				}
				var v []byte
				if tt.ret != nil {
					v = []byte(*tt.ret)
				}
				return v, 0, tt.retErr
			})
			if !errors.Is(err, tt.wantErr) || (err != nil && tt.wantErr == nil) {
				t.Fatalf("Update(%q) = %v, want %v", key, err, tt.wantErr)
			}
			if lastOK != (tt.initial != nil) || (lastOK && string(last) != *tt.initial) {
				t.Errorf("UpdateFunc last got %q, %v; want %v", last, lastOK, tt.initial)
			}
			e.want(t, key, tt.want)
		})
	}
}

func testUpdateExpiry(t *testing.T, e *env) {
	ttl := e.ttl()
	err := e.s.Update(e.ctx, "k", func([]byte, bool) ([]byte, time.Duration, error) {
		return []byte("v"), ttl, nil
	})
	if err != nil {
		t.Fatalf("Update = %v", err)
	}
	// ErrNoChange keeps the record and its expiry.
	err = e.s.Update(e.ctx, "k", func([]byte, bool) ([]byte, time.Duration, error) {
		return nil, 0, store.ErrNoChange
	})
	if err != nil {
		t.Fatalf("Update = %v", err)
	}
	e.want(t, "k", ptr("v"))
	e.expire(t, "k")
	e.want(t, "k", nil)
}

func testIncr(t *testing.T, e *env) {
	steps := []struct {
		key   string
		delta int64
		want  int64
	}{
		{"a", 1, 1},
		{"a", 1, 2},
		{"a", 5, 7},
		{"a", -10, -3},
		{"a", 0, -3},
		{"b", -2, -2},
		{"c", 0, 0},
	}
	for _, s := range steps {
		got, err := e.s.Incr(e.ctx, s.key, s.delta, 0)
		if err != nil || got != s.want {
			t.Fatalf("Incr(%q, %d) = %d, %v; want %d, nil", s.key, s.delta, got, err, s.want)
		}
	}
	e.want(t, "a", ptr("-3")) // a counter reads back as decimal text

	e.mustSet(t, "text", "41", 0)
	if got, err := e.s.Incr(e.ctx, "text", 1, 0); err != nil || got != 42 {
		t.Errorf("Incr(%q) on \"41\" = %d, %v; want 42, nil", "text", got, err)
	}
	e.want(t, "text", ptr("42"))

	bad := []struct{ name, value string }{
		{"word", "abc"},
		{"empty", ""},
		{"float", "1.5"},
		{"spaces", " 1"},
	}
	for _, b := range bad {
		e.mustSet(t, "bad", b.value, 0)
		if got, err := e.s.Incr(e.ctx, "bad", 1, 0); !errors.Is(err, store.ErrNotCounter) {
			t.Errorf("Incr on %s %q = %d, %v; want ErrNotCounter", b.name, b.value, got, err)
		}
		e.want(t, "bad", &b.value)
	}

	e.mustSet(t, "max", strconv.FormatInt(1<<63-1, 10), 0)
	if got, err := e.s.Incr(e.ctx, "max", 1, 0); !errors.Is(err, store.ErrNotCounter) {
		t.Errorf("Incr past MaxInt64 = %d, %v; want ErrNotCounter", got, err)
	}

	// Update sees a counter as its decimal text and may replace it.
	var last string
	err := e.s.Update(e.ctx, "a", func(old []byte, ok bool) ([]byte, time.Duration, error) {
		last = string(old)
		return []byte("100"), 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if last != "-3" {
		t.Errorf("UpdateFunc on counter last got %q, want %q", last, "-3")
	}
	if got, err := e.s.Incr(e.ctx, "a", 1, 0); err != nil || got != 101 {
		t.Errorf("Incr after Update to 100 = %d, %v; want 101, nil", got, err)
	}
}

func testIncrWindow(t *testing.T, e *env) {
	ttl := e.ttl()
	for i := int64(1); i <= 3; i++ {
		if got, err := e.s.Incr(e.ctx, "w", 1, ttl); err != nil || got != i {
			t.Fatalf("Incr #%d = %d, %v; want %d, nil", i, got, err, i)
		}
	}
	e.expire(t, "w")
	if got, err := e.s.Incr(e.ctx, "w", 1, ttl); err != nil || got != 1 {
		t.Fatalf("Incr in a new window = %d, %v; want 1, nil", got, err)
	}
	// A counter made without ttl never expires, and a later ttl does not
	// give it one.
	if _, err := e.s.Incr(e.ctx, "forever", 1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Incr(e.ctx, "forever", 1, ttl); err != nil {
		t.Fatal(err)
	}
	e.pass(ttl + ttl/2)
	e.want(t, "forever", ptr("2"))
}

func testIncrWindowNotExtended(t *testing.T, e *env) {
	ttl := e.ttl()
	if _, err := e.s.Incr(e.ctx, "w", 1, ttl); err != nil {
		t.Fatal(err)
	}
	created := time.Now() // the window started no later than this
	e.pass(ttl * 5 / 8)
	if got, err := e.s.Incr(e.ctx, "w", 1, ttl); err != nil || got != 2 {
		t.Fatalf("second Incr = %d, %v; want 2, nil", got, err)
	}
	// Had the second Incr restarted the window, the counter would live until
	// at least 1.625 ttl after creation; the first window ends at 1 ttl.
	if e.clock != nil {
		e.pass(ttl*3/8 + time.Second)
	} else {
		time.Sleep(time.Until(created.Add(ttl * 5 / 4)))
	}
	e.want(t, "w", nil)
}

func testScan(t *testing.T, e *env) {
	records := map[string]string{
		"a:1":     "one",
		"a:2":     "two",
		"a:":      "bare",
		"ab:3":    "three",
		"b:1":     "other",
		"x*[?\\":  "glob",
		"x*[?\\z": "glob2",
		"xy":      "plain",
	}
	for k, v := range records {
		e.mustSet(t, k, v, 0)
	}
	if _, err := e.s.Incr(e.ctx, "a:counter", 7, 0); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"a:", []string{"a:", "a:1", "a:2", "a:counter"}},
		{"a", []string{"a:", "a:1", "a:2", "a:counter", "ab:3"}},
		{"b:", []string{"b:1"}},
		{"x*", []string{"x*[?\\", "x*[?\\z"}},
		{"x*[?\\", []string{"x*[?\\", "x*[?\\z"}},
		{"x", []string{"x*[?\\", "x*[?\\z", "xy"}},
		{"zzz", nil},
		{"", []string{"a:", "a:1", "a:2", "a:counter", "ab:3", "b:1", "x*[?\\", "x*[?\\z", "xy"}},
	}
	for _, tt := range tests {
		var got []string
		err := e.s.Scan(e.ctx, tt.prefix, func(k string, v []byte) error {
			want, ok := records[k]
			if k == "a:counter" {
				want, ok = "7", true
			}
			if !ok || string(v) != want {
				t.Errorf("Scan(%q) gave %q = %q, want %q", tt.prefix, k, v, want)
			}
			got = append(got, k)
			return nil
		})
		if err != nil {
			t.Errorf("Scan(%q) = %v, want nil", tt.prefix, err)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Scan(%q) keys = %q, want %q", tt.prefix, got, tt.want)
		}
	}

	stop := errors.New("stop")
	calls := 0
	err := e.s.Scan(e.ctx, "", func(string, []byte) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Scan with fn failing = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func testScanCallsStore(t *testing.T, e *env) {
	const n = 600 // more than one batch in stores that scan in batches
	for i := range n {
		e.mustSet(t, fmt.Sprintf("s:%04d", i), "v", 0)
	}
	seen := 0
	err := e.s.Scan(e.ctx, "s:", func(k string, v []byte) error {
		seen++
		return e.s.Set(e.ctx, "done:"+k, v, 0)
	})
	if err != nil || seen != n {
		t.Fatalf("Scan writing from fn = %v after %d records, want nil after %d", err, seen, n)
	}
	e.want(t, "done:s:0042", ptr("v"))
}

func testConcurrentUpdate(t *testing.T, e *env) {
	const n = 16
	concurrently(t, n, "Update", func() error {
		return e.s.Update(e.ctx, "counter", func(old []byte, ok bool) ([]byte, time.Duration, error) {
			v, err := plusOne(old, ok)
			return v, 0, err
		})
	})
	e.want(t, "counter", ptr(strconv.Itoa(n)))
}

// concurrently runs op n times at once and reports every error it returns
// as the named method's.
func concurrently(t *testing.T, n int, method string, op func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- op() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("%s = %v, want nil", method, err)
		}
	}
}

// plusOne returns a counter's value plus one, in decimal; a record that is
// not there (ok false) counts as 0.
func plusOne(old []byte, ok bool) ([]byte, error) {
	v := 0
	if ok {
		var err error
		if v, err = strconv.Atoi(string(old)); err != nil {
			return nil, err
		}
	}
	return strconv.AppendInt(nil, int64(v+1), 10), nil
}

func testConcurrentCreate(t *testing.T, e *env) {
	const n = 8
	var wg sync.WaitGroup
	created := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = e.s.Update(e.ctx, "once", func(old []byte, ok bool) ([]byte, time.Duration, error) {
				// fn may be retried; only the attempt that committed counts.
				created[i] = !ok
				if ok {
					return nil, 0, store.ErrNoChange
				}
				return []byte(strconv.Itoa(i)), 0, nil
			})
		})
	}
	wg.Wait()
	winner := -1
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Update #%d = %v, want nil", i, errs[i])
		}
		if created[i] {
			if winner >= 0 {
				t.Errorf("both #%d and #%d created the record", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no Update created the record")
	}
	e.want(t, "once", ptr(strconv.Itoa(winner)))
}

func testConcurrentIncr(t *testing.T, e *env) {
	const n, each = 8, 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for range each {
				if _, err := e.s.Incr(e.ctx, "c", 1, time.Hour); err != nil {
					t.Errorf("Incr = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	e.want(t, "c", ptr(strconv.Itoa(n*each)))
}

func testCanceledContext(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, _, err := e.s.Get(ctx, "k"); err == nil {
		t.Errorf("Get with a canceled context = nil error, want an error")
	}
	if err := e.s.Set(ctx, "k", []byte("v"), 0); err == nil {
		t.Errorf("Set with a canceled context = nil error, want an error")
	}
	e.want(t, "k", nil)
}

func testClosed(t *testing.T, e *env) {
	e.mustSet(t, "k", "v", 0)
	if err := e.s.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if _, _, err := e.s.Get(e.ctx, "k"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get after Close = %v, want ErrUnavailable", err)
	}
	if err := e.s.Set(e.ctx, "k", nil, 0); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Set after Close = %v, want ErrUnavailable", err)
	}
	if _, err := e.s.Incr(e.ctx, "c", 1, 0); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Incr after Close = %v, want ErrUnavailable", err)
	}
	err := e.s.Update(e.ctx, "k", func([]byte, bool) ([]byte, time.Duration, error) {
		return []byte("x"), 0, nil
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Update after Close = %v, want ErrUnavailable", err)
	}
	if err := e.s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

// updateMany is store.UpdateMany or store.UpdateEach.
type updateMany func(ctx context.Context, s store.Store, keys []string, fn store.UpdateManyFunc) error

// testUpdateMany checks that fn sees every record as stored, and that the
// records it marks, and only those, are written, deleted or given a ttl.
func testUpdateMany(update updateMany) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		e.mustSet(t, "m/keep", "k", 0)
		e.mustSet(t, "m/change", "c", 0)
		e.mustSet(t, "m/delete", "d", 0)
		keys := []string{"m/keep", "m/change", "m/delete", "m/create", "m/absent"}
		var last []store.Record
		err := update(e.ctx, e.s, keys, func(recs []store.Record) error {
			last = slices.Clone(recs)
			recs[1].Value, recs[1].Write = append(recs[1].Value, '2'), true
			recs[2].Value, recs[2].Write = nil, true
			recs[3].Value, recs[3].TTL, recs[3].Write = []byte("new"), e.ttl(), true
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateMany = %v, want nil", err)
		}
		want := []store.Record{{Key: "m/keep", Value: []byte("k"), OK: true}, {Key: "m/change", Value: []byte("c"), OK: true},
			{Key: "m/delete", Value: []byte("d"), OK: true}, {Key: "m/create"}, {Key: "m/absent"}}
		for i, w := range want {
			if i >= len(last) || last[i].Key != w.Key || last[i].OK != w.OK || string(last[i].Value) != string(w.Value) {
				t.Fatalf("UpdateManyFunc last got %+v, want %+v", last, want)
			}
		}
		e.want(t, "m/keep", ptr("k"))
		e.want(t, "m/change", ptr("c2"))
		e.want(t, "m/delete", nil)
		e.want(t, "m/create", ptr("new"))
		e.want(t, "m/absent", nil)
		e.expire(t, "m/create")
		e.want(t, "m/create", nil)

		errAbort := errors.New("abort")
		err = update(e.ctx, e.s, keys[:2], func(recs []store.Record) error {
			recs[0].Value, recs[0].Write = []byte("x"), true
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Errorf("UpdateMany with a failing fn = %v, want %v", err, errAbort)
		}
		err = update(e.ctx, e.s, keys[:2], func(recs []store.Record) error {
			recs[0].Value, recs[0].Write = []byte("x"), true
			return store.ErrNoChange
		})
		if err != nil {
			t.Errorf("UpdateMany with ErrNoChange = %v, want nil", err)
		}
		e.want(t, "m/keep", ptr("k"))
		err = update(e.ctx, e.s, keys[:1], func(recs []store.Record) error {
			recs[0].Value, recs[0].TTL, recs[0].Write = []byte("x"), -time.Second, true
			return nil
		})
		if !errors.Is(err, store.ErrNegativeTTL) {
			t.Errorf("UpdateMany with a negative ttl = %v, want ErrNegativeTTL", err)
		}
		e.want(t, "m/keep", ptr("k"))
	}
}

// testConcurrentUpdateMany checks that concurrent updates of two records
// lose no write and make no partial one: each adds one to both counters.
// (store.UpdateEach, atomic only per record, may count one twice.)
func testConcurrentUpdateMany(update updateMany) func(t *testing.T, e *env) {
	return func(t *testing.T, e *env) {
		const n = 16
		concurrently(t, n, "UpdateMany", func() error {
			return update(e.ctx, e.s, []string{"a", "b"}, func(recs []store.Record) error {
				for i := range recs {
					v, err := plusOne(recs[i].Value, recs[i].OK)
					if err != nil {
						return err
					}
					recs[i].Value, recs[i].Write = v, true
				}
				return nil
			})
		})
		e.want(t, "a", ptr(strconv.Itoa(n)))
		e.want(t, "b", ptr(strconv.Itoa(n)))
	}
}
