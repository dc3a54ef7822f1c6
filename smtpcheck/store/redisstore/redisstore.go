// Package redisstore is a store.Store in Redis, so that several MX hosts
// share one greylist and one set of rate limits. Redis's own key expiry does
// the TTLs; every read-modify-write is atomic on the server and one round
// trip in the common case: Incr is one Lua script, and Update (and
// UpdateMany, several keys at once) is a Lua compare-and-set that writes only
// if the record still holds the value the Store last saw there, and
// otherwise answers the current value for a second try. Calls made while
// another is waiting for Redis share its next pipeline (batch.go), so
// under concurrent load a call costs a fraction of a round trip.
//
// Every failure to reach Redis (refused, reset, timed out, a server that is
// loading or read-only) wraps store.ErrUnavailable together with its cause,
// so callers apply their error policy with errors.Is.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Options configures a Store.
type Options struct {
	// Prefix is put before every key the Store touches, so that several
	// stores (or other programs) can share one Redis database. End it with
	// a separator such as ":" so that one prefix is never the start of
	// another ("grey:" and "grey2:", not "grey" and "grey2").
	Prefix string

	// UpdateRetries bounds how often Update retries after another writer
	// changed the key between its read and its write; zero means 50. An
	// Update that loses every race returns store.ErrContention.
	UpdateRetries int

	// Timeout bounds each call, on top of the caller's context, so that a
	// Redis that hangs (stopped, swapping, blocked by a slow command)
	// costs a greylisting decision this much, not the whole SMTP command
	// deadline; zero means DefaultTimeout, negative leaves only the
	// caller's context. The call then fails with store.ErrUnavailable and
	// the caller's error policy applies.
	Timeout time.Duration

	// Guesses is how many records' last known values the Store remembers,
	// so that an Update sends its write together with the value it expects
	// and takes one round trip, not two; zero means DefaultGuesses,
	// negative none (every Update of an existing record then takes two).
	Guesses int
}

// DefaultGuesses is the number of records whose values a Store remembers
// unless Options.Guesses says otherwise: a day's greylisting triplets of a
// busy MX host, a few megabytes.
const DefaultGuesses = 1 << 16

// DefaultTimeout is the deadline of one Store call unless Options.Timeout
// says otherwise: well above a healthy Redis's latency, well below an SMTP
// client's patience.
const DefaultTimeout = 2 * time.Second

// Store is a store.Store on a Redis client. It does not own the client:
// Close leaves the client open for the caller to close.
type Store struct {
	c       redis.UniversalClient
	prefix  string
	retries int
	timeout time.Duration
	closed  atomic.Bool
	guesses guessCache
	// ctxIO is true when the client itself stops socket I/O at the
	// context's deadline (ContextTimeoutEnabled); otherwise the Store
	// enforces the deadline around each call.
	ctxIO bool
	// batch pipelines the script calls of a single-server client; nil
	// for a cluster or a ring, whose calls go out one by one.
	batch *batcher
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.ManyUpdater = (*Store)(nil)
)

// New returns a Store that keeps its records in Redis through c. Create c
// with ContextTimeoutEnabled set, so that a call stops its socket I/O at the
// caller's deadline; with a client that ignores deadlines, the Store still
// returns at the deadline but leaves the call to finish in the background.
func New(c redis.UniversalClient, opts Options) *Store {
	s := &Store{c: c, prefix: opts.Prefix, retries: opts.UpdateRetries, timeout: opts.Timeout}
	if s.retries <= 0 {
		s.retries = 50
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	s.guesses.max = opts.Guesses
	if s.guesses.max == 0 {
		s.guesses.max = DefaultGuesses
	}
	switch c := c.(type) {
	case *redis.Client:
		s.ctxIO = c.Options().ContextTimeoutEnabled
		s.batch = &batcher{c: c}
	case *redis.ClusterClient:
		s.ctxIO = c.Options().ContextTimeoutEnabled
	}
	return s
}

// incrScript creates the counter with its window's expiry, or increments it
// leaving the expiry alone, in one round trip.
var incrScript = redis.NewScript(`
local new = redis.call('EXISTS', KEYS[1]) == 0
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if new and tonumber(ARGV[2]) > 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return n
`)

func (s *Store) key(k string) string { return s.prefix + k }

// eval runs script with keys and args and returns its reply: pipelined
// with other calls in flight when the client is a single server's.
func (s *Store) eval(ctx context.Context, script *redis.Script, keys []string, args []any) (any, error) {
	if s.batch != nil {
		return s.batch.run(ctx, script, keys, args)
	}
	return script.Run(ctx, s.c, keys, args...).Result()
}

// Ping checks that Redis answers; its error wraps store.ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	return s.do(ctx, func(ctx context.Context) error {
		return s.c.Ping(ctx).Err()
	})
}

// do runs one call under ctx and the Store's timeout: it refuses a done
// context or a closed Store, enforces the deadline when the client does
// not, and classifies errors.
func (s *Store) do(ctx context.Context, call func(ctx context.Context) error) error {
	return s.doCall(ctx, false, call)
}

// doScripts is do for a call that reaches Redis only through eval.
func (s *Store) doScripts(ctx context.Context, call func(ctx context.Context) error) error {
	return s.doCall(ctx, true, call)
}

// doCall is do; scripts tells that call reaches Redis only through eval.
func (s *Store) doCall(ctx context.Context, scripts bool, call func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return fmt.Errorf("%w: redisstore: closed", store.ErrUnavailable)
	}
	if s.timeout > 0 {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > s.timeout {
			if scripts && s.ctxIO && s.batch != nil {
				// Script calls queue in the batcher, whose every round
				// trip stops its socket I/O at the earliest deadline of its
				// calls: a call waits for the round trip in flight, queued
				// before it under the same Timeout and so due no later, then
				// for its own. The Store's deadline needs no timer of its
				// own, nor a context derived from the caller's (with a
				// timer, a cancel func and a watch on the caller's context,
				// the most a greylisting request allocated).
				ctx = &scriptCtx{Context: ctx, deadline: time.Now().Add(s.timeout)}
			} else {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, s.timeout)
				defer cancel()
			}
		}
	}
	if s.ctxIO || ctx.Done() == nil {
		return classify(call(ctx))
	}
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	select {
	case err := <-done:
		return classify(err)
	case <-ctx.Done():
		return classify(ctx.Err())
	}
}

// scriptCtx is a caller's context with the Store's earlier deadline, for
// the calls the batcher sends (see doCall). Done is the caller's: what
// ends a call at the Store's deadline is its round trip's socket
// deadline, not a timer; Err reports the deadline from the clock.
type scriptCtx struct {
	context.Context
	deadline time.Time
}

// Deadline implements context.Context.
func (c *scriptCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Err implements context.Context.
func (c *scriptCtx) Err() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// keepErr marks an error that must reach the caller as it is (one returned
// by an UpdateFunc, or already classified).
type keepErr struct{ err error }

func (k keepErr) Error() string { return k.err.Error() }

// classify sorts a go-redis error: a reply from a working server is an
// ordinary error, anything else (network, timeouts, a server that cannot
// serve) wraps store.ErrUnavailable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var k keepErr
	if errors.As(err, &k) {
		return k.err
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := strings.TrimPrefix(rerr.Error(), "ERR ")
		for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "NOREPLICAS"} {
			if strings.HasPrefix(msg, p) {
				return fmt.Errorf("%w: redisstore: %w", store.ErrUnavailable, err)
			}
		}
		if strings.Contains(msg, "not an integer") || strings.Contains(msg, "would overflow") {
			return fmt.Errorf("%w: redisstore: %w", store.ErrNotCounter, err)
		}
		return fmt.Errorf("redisstore: %w", err)
	}
	return fmt.Errorf("%w: redisstore: %w", store.ErrUnavailable, err)
}

// pttl converts a ttl for Redis, which counts in whole milliseconds; a
// positive ttl below one millisecond becomes one rather than "no expiry".
func pttl(ttl time.Duration) time.Duration {
	if ttl > 0 && ttl < time.Millisecond {
		return time.Millisecond
	}
	return ttl
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	var ok bool
	err := s.do(ctx, func(ctx context.Context) error {
		b, err := s.c.Get(ctx, s.key(key)).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		v, ok = b, err == nil
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if ok && v == nil {
		v = []byte{}
	}
	return v, ok, nil
}

// Set implements store.Store.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		return store.ErrNegativeTTL
	}
	k := s.key(key)
	err := s.do(ctx, func(ctx context.Context) error {
		return s.c.Set(ctx, k, value, pttl(ttl)).Err()
	})
	if err == nil {
		s.guesses.store([]string{k}, []guess{{v: string(value), ok: true}})
	}
	return err
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	k := s.key(key)
	s.guesses.store([]string{k}, []guess{{}})
	return s.do(ctx, func(ctx context.Context) error {
		return s.c.Del(ctx, k).Err()
	})
}

// casScript writes several keys only if each still holds the value the
// Store expects. For key i, ARGV[5i+1] is "1" when the key is expected to
// hold ARGV[5i+2], "0" when it is expected to be absent; ARGV[5i+3] is
// "k" (keep), "s" (set to ARGV[5i+4] with expiry ARGV[5i+5] ms, 0 for
// none) or "d" (delete). It returns 1 when every key held what was
// expected (and the writes are done), or else writes nothing and returns
// {0, current value of each key (nil when absent)...}, so the caller can
// compute again without another read.
var casScript = redis.NewScript(`
local cur = {0}
local same = true
for i = 1, #KEYS do
	local v = redis.call('GET', KEYS[i])
	cur[i + 1] = v
	local b = (i - 1) * 5
	if ARGV[b + 1] == '1' then
		if v ~= ARGV[b + 2] then same = false end
	elseif v then
		same = false
	end
end
if not same then return cur end
for i = 1, #KEYS do
	local b = (i - 1) * 5
	local op = ARGV[b + 3]
	if op == 'd' then
		redis.call('DEL', KEYS[i])
	elseif op == 's' then
		if tonumber(ARGV[b + 5]) > 0 then
			redis.call('SET', KEYS[i], ARGV[b + 4], 'PX', ARGV[b + 5])
		else
			redis.call('SET', KEYS[i], ARGV[b + 4])
		end
	end
end
return 1
`)

// Update implements store.Store in one round trip when the Store guesses
// the record's value right: fn runs on the value this Store last read or
// wrote at key (absent when it knows none), and one Lua script writes the
// result only if the key still holds that value. When it does not (another
// MX host wrote it, it expired, it was never seen here), the script
// returns the current value in the same reply, fn runs again on it and
// a second script writes. Only when other writers keep changing the key
// does Update pause (a short random pause that grows with each attempt)
// and, after Options.UpdateRetries attempts, give up.
//
// The comparison is by value: a key changed and changed back between the
// read and the write counts as unchanged, which is harmless because fn
// computes the new record from the value alone.
func (s *Store) Update(ctx context.Context, key string, fn store.UpdateFunc) error {
	return s.UpdateMany(ctx, []string{key}, func(recs []store.Record) error {
		r := &recs[0]
		value, ttl, err := fn(r.Value, r.OK)
		if err != nil {
			return err
		}
		r.Value, r.TTL, r.Write = value, ttl, true
		return nil
	})
}

// UpdateMany implements store.ManyUpdater as Update does, for several keys
// in one script: one round trip when the Store's guesses of the records
// are right, two when one is not. A cluster or a ring whose keys may live
// on different nodes updates several keys one at a time
// (store.UpdateEach).
func (s *Store) UpdateMany(ctx context.Context, keys []string, fn store.UpdateManyFunc) error {
	if len(keys) > 1 {
		switch s.c.(type) {
		case *redis.ClusterClient, *redis.Ring:
			return store.UpdateEach(ctx, s, keys, fn)
		}
	}
	u := updateScratches.Get().(*updateScratch)
	u.size(len(keys))
	ks, recs, gs, args := u.ks, u.recs, u.gs, u.args
	for i, k := range keys {
		ks[i] = s.key(k)
	}
	s.guesses.load(ks, gs)
	// fresh is true when gs came in the server's last reply: then they
	// are a consistent view, and an fn that writes nothing needs no check.
	fresh := false
	err := s.doScripts(ctx, func(ctx context.Context) error {
		for attempt := range s.retries {
			for i := range recs {
				recs[i] = store.Record{Key: keys[i], OK: gs[i].ok}
				if gs[i].ok {
					recs[i].Value = []byte(gs[i].v) // fn may keep or modify it
				}
			}
			var fnErr error
			switch err := fn(recs); {
			case errors.Is(err, store.ErrNoChange):
				for i := range recs {
					recs[i].Write = false
				}
			case err != nil && fresh:
				return keepErr{err}
			case err != nil:
				// fn refused a guessed value: the script below, writing
				// nothing, tells whether the guess was right.
				fnErr = err
				for i := range recs {
					recs[i].Write = false
				}
			}
			writes := false
			for i, r := range recs {
				writes = writes || r.Write
				if r.Write && r.Value != nil && r.TTL < 0 {
					return keepErr{store.ErrNegativeTTL}
				}
				a := args[5*i : 5*i+5]
				a[0], a[1], a[2], a[3], a[4] = "0", "", "k", "", 0
				if gs[i].ok {
					a[0], a[1] = "1", gs[i].v
				}
				switch {
				case !r.Write:
				case r.Value == nil:
					a[2] = "d"
				default:
					a[2], a[3], a[4] = "s", r.Value, pttl(r.TTL).Milliseconds()
				}
			}
			if fresh && !writes {
				return nil
			}
			res, err := s.eval(ctx, casScript, ks, args)
			if err != nil {
				return err
			}
			cur, mismatch := res.([]any)
			if !mismatch && fnErr != nil {
				return keepErr{fnErr}
			}
			if !mismatch {
				for i, r := range recs {
					if r.Write {
						gs[i] = guess{v: string(r.Value), ok: r.Value != nil}
					}
				}
				s.guesses.store(ks, gs)
				return nil
			}
			if len(cur) != len(ks)+1 {
				return fmt.Errorf("redisstore: compare-and-set answered %d values for %d keys", len(cur)-1, len(ks))
			}
			for i := range gs {
				v, ok := cur[i+1].(string)
				gs[i] = guess{v: v, ok: ok}
			}
			s.guesses.store(ks, gs)
			fresh = true
			if attempt == 0 {
				continue // a wrong guess, not a race: compute again at once
			}
			backoff := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt-1, 4)))
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		return keepErr{fmt.Errorf("%w: %q changed by others on each of %d tries", store.ErrContention, keys, s.retries)}
	})
	if err == nil {
		// Only a call that succeeded gives its scratch back: after an
		// error (a deadline, say) a round trip may still be writing the
		// keys and arguments it holds.
		u.release()
	}
	return err
}

// updateScratch is what one UpdateMany works in, kept for the next: a
// greylisting request updates its records on every request, and making
// these afresh was four of its allocations.
type updateScratch struct {
	ks   []string
	recs []store.Record
	gs   []guess
	args []any
}

var updateScratches = sync.Pool{New: func() any { return new(updateScratch) }}

// size makes u hold n keys.
func (u *updateScratch) size(n int) {
	u.ks = slices.Grow(u.ks[:0], n)[:n]
	u.recs = slices.Grow(u.recs[:0], n)[:n]
	u.gs = slices.Grow(u.gs[:0], n)[:n]
	u.args = slices.Grow(u.args[:0], 5*n)[:5*n]
}

// release empties u, so that it keeps no record alive, and gives it back.
func (u *updateScratch) release() {
	clear(u.ks)
	clear(u.recs)
	clear(u.gs)
	clear(u.args)
	updateScratches.Put(u)
}

// guess is what a Store believes a key holds: v, or nothing when !ok.
type guess struct {
	v  string
	ok bool
}

// guessCache remembers the value this Store last read or wrote at each of
// up to max keys, so that Update can send its write with the value it
// expects in the same round trip. A wrong guess costs one more round trip,
// never a wrong write.
type guessCache struct {
	mu  sync.Mutex
	m   map[string]guess
	max int
}

// load fills g with the guesses for keys (absent when unknown).
func (c *guessCache) load(keys []string, g []guess) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	for i, k := range keys {
		g[i] = c.m[k]
	}
	c.mu.Unlock()
}

// store remembers g for keys, forgetting arbitrary others when full.
func (c *guessCache) store(keys []string, g []guess) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]guess)
	}
	for i, k := range keys {
		if !g[i].ok {
			delete(c.m, k) // absent is what an unknown key guesses anyway
			continue
		}
		if _, known := c.m[k]; !known && len(c.m) >= c.max {
			for old := range c.m { // Go starts map iteration at random
				delete(c.m, old)
				break
			}
		}
		c.m[k] = g[i]
	}
}

// Incr implements store.Store in one round trip (a Lua script).
func (s *Store) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	if ttl < 0 {
		return 0, store.ErrNegativeTTL
	}
	var n int64
	err := s.doScripts(ctx, func(ctx context.Context) error {
		res, err := s.eval(ctx, incrScript, []string{s.key(key)}, []any{delta, pttl(ttl).Milliseconds()})
		if err != nil {
			return err
		}
		var ok bool
		if n, ok = res.(int64); !ok {
			return fmt.Errorf("redisstore: INCR script answered %T, want an integer", res)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// globEscape quotes the characters Redis's MATCH pattern treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range []byte(s) {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteByte(r)
	}
	return b.String()
}

// scanCount is the COUNT hint for each SCAN call and the size of each batch
// of GETs.
const scanCount = 256

// Scan implements store.Store with SCAN MATCH (on every primary of a
// cluster or shard of a ring) and a pipelined GET per batch. SCAN may
// return a key more than once; Scan remembers the keys it has passed to fn
// and skips repeats, so its memory grows with the number of matching keys.
func (s *Store) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	pattern := globEscape(s.prefix+prefix) + "*"
	// A cluster scans its primaries in parallel; mu keeps fn's calls one
	// at a time, as callers expect.
	var mu sync.Mutex
	seen := make(map[string]struct{})
	deliver := func(keys []string, vals []*redis.StringCmd) error {
		mu.Lock()
		defer mu.Unlock()
		for i, k := range keys {
			v, err := vals[i].Bytes()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return classify(err)
			}
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = struct{}{}
			if v == nil {
				v = []byte{}
			}
			if err := fn(strings.TrimPrefix(k, s.prefix), v); err != nil {
				return keepErr{err}
			}
		}
		return nil
	}
	scanNode := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			var keys []string
			var vals []*redis.StringCmd
			err := s.do(ctx, func(ctx context.Context) error {
				var err error
				keys, cursor, err = c.Scan(ctx, cursor, pattern, scanCount).Result()
				if err != nil || len(keys) == 0 {
					return err
				}
				vals = make([]*redis.StringCmd, len(keys))
				_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for i, k := range keys {
						vals[i] = p.Get(ctx, k)
					}
					return nil
				})
				if errors.Is(err, redis.Nil) {
					err = nil // a key expired between SCAN and GET
				}
				return err
			})
			if err != nil {
				return err
			}
			if err := deliver(keys, vals); err != nil {
				return err
			}
			if cursor == 0 {
				return nil
			}
		}
	}
	var err error
	switch c := s.c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return scanNode(ctx, n) })
	case *redis.Ring:
		err = c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return scanNode(ctx, n) })
	default:
		err = scanNode(ctx, s.c)
	}
	var k keepErr
	if errors.As(err, &k) {
		return k.err
	}
	return err
}

// Close marks the Store closed: later calls return store.ErrUnavailable.
// The Redis client stays open; its owner closes it.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}
