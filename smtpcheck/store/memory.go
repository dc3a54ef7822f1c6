package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/tick"
)

// MemoryOptions configures a Memory store. The zero value is ready to use.
type MemoryOptions struct {
	// Now returns the current time; nil means time.Now. Tests inject a
	// clock here to make records expire without sleeping.
	Now func() time.Time

	// MaxEntries bounds the number of records held; zero means no bound.
	// When a new key would exceed it, one record is evicted: of a few
	// sampled at random, the one that expires soonest (expired ones first,
	// records without expiry last). A bounded store thus degrades to
	// forgetting state instead of growing without limit under a flood of
	// distinct keys.
	MaxEntries int
}

// Memory is a Store held in process memory, guarded by one mutex. Expired
// records are dropped when they are read and by Sweep; between the two they
// occupy memory but are never returned.
type Memory struct {
	now func() time.Time
	max int

	mu     sync.Mutex
	m      map[string]*entry
	closed bool
	recs   []Record // UpdateMany's records, reused under mu
}

// entry is one record. A counter keeps its value as an int64 so that Incr
// neither parses nor allocates; it reads back as decimal text.
type entry struct {
	value     []byte
	n         int64
	isCounter bool
	tally     *TallyRecord // a tally kept natively (memory_tally.go)
	expires   int64        // UnixNano; 0 means never
}

func (e *entry) bytes() []byte {
	if e.isCounter {
		return strconv.AppendInt(nil, e.n, 10)
	}
	if e.tally != nil {
		b, _ := e.tally.MarshalText()
		return b
	}
	return append([]byte{}, e.value...)
}

func (e *entry) expired(now int64) bool {
	return e.expires != 0 && now >= e.expires
}

var (
	_ Store       = (*Memory)(nil)
	_ ManyUpdater = (*Memory)(nil)
)

// NewMemory returns an empty in-memory Store.
func NewMemory(opts MemoryOptions) *Memory {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, max: opts.MaxEntries, m: make(map[string]*entry)}
}

func (s *Memory) nowNano() int64 { return s.now().UnixNano() }

// expiry turns a ttl into an absolute expiry time; 0 means none.
func (s *Memory) expiry(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	return s.nowNano() + int64(ttl)
}

// lookup returns the live entry at key, dropping it if it expired.
// s.mu must be held.
func (s *Memory) lookup(key string) *entry {
	e, ok := s.m[key]
	if !ok {
		return nil
	}
	if e.expires != 0 && e.expired(s.nowNano()) {
		delete(s.m, key)
		return nil
	}
	return e
}

// insert stores e at key, evicting a record first when the store is full.
// s.mu must be held.
func (s *Memory) insert(key string, e *entry) {
	if s.max > 0 && len(s.m) >= s.max {
		if _, exists := s.m[key]; !exists {
			s.evictOne()
		}
	}
	s.m[key] = e
}

// evictOne drops the soonest-expiring of a few records picked at random
// (Go randomises where map iteration starts). s.mu must be held.
func (s *Memory) evictOne() {
	const samples = 8
	var victim string
	var best int64 = math.MaxInt64
	i := 0
	for k, e := range s.m {
		exp := e.expires
		if exp == 0 {
			exp = math.MaxInt64 - 1
		}
		if exp < best {
			best, victim = exp, k
		}
		if i++; i >= samples {
			break
		}
	}
	delete(s.m, victim)
}

func (s *Memory) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed {
		return fmt.Errorf("%w: memory store closed", ErrUnavailable)
	}
	return nil
}

// Get implements Store.
func (s *Memory) Get(ctx context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return nil, false, err
	}
	e := s.lookup(key)
	if e == nil {
		return nil, false, nil
	}
	return e.bytes(), true, nil
}

// Set implements Store.
func (s *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		return ErrNegativeTTL
	}
	v := append([]byte{}, value...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	s.insert(key, &entry{value: v, expires: s.expiry(ttl)})
	return nil
}

// Delete implements Store.
func (s *Memory) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	delete(s.m, key)
	return nil
}

// Update implements Store. fn runs once, under the store's lock.
func (s *Memory) Update(ctx context.Context, key string, fn UpdateFunc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	var old []byte
	e := s.lookup(key)
	if e != nil {
		old = e.bytes()
	}
	value, ttl, err := fn(old, e != nil)
	switch {
	case errors.Is(err, ErrNoChange):
		return nil
	case err != nil:
		return err
	case value == nil:
		delete(s.m, key)
		return nil
	case ttl < 0:
		return ErrNegativeTTL
	}
	s.insert(key, &entry{value: append([]byte{}, value...), expires: s.expiry(ttl)})
	return nil
}

// UpdateMany implements ManyUpdater: fn runs once, under the store's lock.
func (s *Memory) UpdateMany(ctx context.Context, keys []string, fn UpdateManyFunc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return err
	}
	// fn runs under the lock, so one slice of records serves every call
	// (a slice of its own would escape to the heap through fn).
	recs := s.recs[:0]
	defer func() {
		clear(recs) // keep no values alive
		s.recs = recs[:0]
	}()
	for _, k := range keys {
		r := Record{Key: k}
		if e := s.lookup(k); e != nil {
			r.Value, r.OK = e.bytes(), true
		}
		recs = append(recs, r)
	}
	switch err := fn(recs); {
	case errors.Is(err, ErrNoChange):
		return nil
	case err != nil:
		return err
	}
	for _, r := range recs {
		if r.Write && r.Value != nil && r.TTL < 0 {
			return ErrNegativeTTL
		}
	}
	for _, r := range recs {
		switch {
		case !r.Write:
		case r.Value == nil:
			delete(s.m, r.Key)
		default:
			s.insert(r.Key, &entry{value: append([]byte{}, r.Value...), expires: s.expiry(r.TTL)})
		}
	}
	return nil
}

// Incr implements Store.
func (s *Memory) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	if ttl < 0 {
		return 0, ErrNegativeTTL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	e := s.lookup(key)
	if e == nil {
		s.insert(key, &entry{n: delta, isCounter: true, expires: s.expiry(ttl)})
		return delta, nil
	}
	if !e.isCounter {
		n, err := strconv.ParseInt(string(e.value), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: %q", ErrNotCounter, key)
		}
		e.n, e.isCounter, e.value = n, true, nil
	}
	n := e.n + delta
	if (delta > 0 && n < e.n) || (delta < 0 && n > e.n) {
		return 0, fmt.Errorf("%w: %q: increment overflows", ErrNotCounter, key)
	}
	e.n = n
	return n, nil
}

// Scan implements Store. It copies the matching records under the lock and
// calls fn after releasing it, so fn may use the store.
func (s *Memory) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	type kv struct {
		k string
		v []byte
	}
	var found []kv
	s.mu.Lock()
	if err := s.check(ctx); err != nil {
		s.mu.Unlock()
		return err
	}
	now := s.nowNano()
	for k, e := range s.m {
		if strings.HasPrefix(k, prefix) && !e.expired(now) {
			found = append(found, kv{k, e.bytes()})
		}
	}
	s.mu.Unlock()
	for _, r := range found {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r.k, r.v); err != nil {
			return err
		}
	}
	return nil
}

// Len returns the number of records held, including expired ones not yet
// swept.
func (s *Memory) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// Sweep drops every expired record and returns how many it dropped. It
// releases the lock every few hundred records so that a large sweep does not
// stall other callers, and stops early when ctx is done.
func (s *Memory) Sweep(ctx context.Context) (int, error) {
	const batch = 256
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	now := s.nowNano()
	removed, seen := 0, 0
	for k, e := range s.m {
		if e.expired(now) {
			delete(s.m, k)
			removed++
		}
		if seen++; seen%batch == 0 {
			// Go allows a map to change between iterations of a range over
			// it; the mutex orders those changes with this loop.
			s.mu.Unlock()
			err := ctx.Err()
			s.mu.Lock()
			if err != nil {
				return removed, err
			}
			if s.closed {
				return removed, nil
			}
		}
	}
	return removed, nil
}

// SweepEvery calls Sweep every interval until ctx is done, then returns
// ctx's error. Run it in its own goroutine.
func (s *Memory) SweepEvery(ctx context.Context, interval time.Duration) error {
	return tick.Every(ctx, interval, func() error {
		_, err := s.Sweep(ctx)
		return err
	})
}

// Close drops all records; later calls fail with ErrUnavailable.
func (s *Memory) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.m = nil
	return nil
}
