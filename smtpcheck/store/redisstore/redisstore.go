// Package redisstore is a store.Store in Redis, so that several MX hosts
// share one greylist and one set of rate limits. Redis's own key expiry does
// the TTLs; every read-modify-write is atomic on the server: Incr is one Lua
// script (one round trip, as a per-connection rate-limit decision needs) and
// Update is two: a GET, then a Lua compare-and-set that writes only if the
// value is still the one read, with bounded retries when it is not.
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
}

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
	// ctxIO is true when the client itself stops socket I/O at the
	// context's deadline (ContextTimeoutEnabled); otherwise the Store
	// enforces the deadline around each call.
	ctxIO bool
}

var _ store.Store = (*Store)(nil)

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
	switch c := c.(type) {
	case *redis.Client:
		s.ctxIO = c.Options().ContextTimeoutEnabled
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
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return fmt.Errorf("%w: redisstore: closed", store.ErrUnavailable)
	}
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
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
	return s.do(ctx, func(ctx context.Context) error {
		return s.c.Set(ctx, s.key(key), value, pttl(ttl)).Err()
	})
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.do(ctx, func(ctx context.Context) error {
		return s.c.Del(ctx, s.key(key)).Err()
	})
}

// casScript writes KEYS[1] only if it still holds what Update read:
// ARGV[1] is "1" when the key was present with value ARGV[2], "0" when it
// was absent; ARGV[3] is "set" (value ARGV[4], expiry ARGV[5] ms, 0 for
// none) or "del". It returns 1 when it wrote, 0 when the key had changed.
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
	if cur ~= ARGV[2] then return 0 end
elseif cur then
	return 0
end
if ARGV[3] == 'del' then
	redis.call('DEL', KEYS[1])
elseif tonumber(ARGV[5]) > 0 then
	redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else
	redis.call('SET', KEYS[1], ARGV[4])
end
return 1
`)

// Update implements store.Store in two round trips: GET, then a Lua script
// that compares the value with the one read and, if it is unchanged, sets
// the new value and its expiry (or deletes the key). When another writer
// changed the key in between, Update reads again and retries, after a
// short random pause that grows with each attempt, up to
// Options.UpdateRetries times.
//
// The comparison is by value: a key changed and changed back between the
// read and the write counts as unchanged, which is harmless because fn
// computes the new record from the value alone.
func (s *Store) Update(ctx context.Context, key string, fn store.UpdateFunc) error {
	k := s.key(key)
	keys := []string{k}
	return s.do(ctx, func(ctx context.Context) error {
		for attempt := range s.retries {
			old, err := s.c.Get(ctx, k).Bytes()
			ok := err == nil
			switch {
			case errors.Is(err, redis.Nil):
				old = nil
			case err != nil:
				return err
			case old == nil:
				old = []byte{}
			}
			// fn may keep or modify old; the comparison needs the value read.
			var had any = "0"
			var was any = ""
			if ok {
				had, was = "1", string(old)
			}
			value, ttl, err := fn(old, ok)
			switch {
			case errors.Is(err, store.ErrNoChange):
				return nil
			case err != nil:
				return keepErr{err}
			case value != nil && ttl < 0:
				return keepErr{store.ErrNegativeTTL}
			}
			args := []any{had, was, "del", "", 0}
			if value != nil {
				args[2], args[3], args[4] = "set", value, pttl(ttl).Milliseconds()
			}
			wrote, err := casScript.Run(ctx, s.c, keys, args...).Int()
			if err != nil {
				return err
			}
			if wrote == 1 {
				return nil
			}
			backoff := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 4)))
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		return keepErr{fmt.Errorf("%w: %q changed by others on each of %d tries", store.ErrContention, key, s.retries)}
	})
}

// Incr implements store.Store in one round trip (a Lua script).
func (s *Store) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	if ttl < 0 {
		return 0, store.ErrNegativeTTL
	}
	var n int64
	err := s.do(ctx, func(ctx context.Context) error {
		var err error
		n, err = incrScript.Run(ctx, s.c, []string{s.key(key)}, delta, pttl(ttl).Milliseconds()).Int64()
		return err
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
