// Package store holds keyed records and counters with time-to-live, the state
// shared by greylisting and the access map's limits. A Store may live in
// memory (this package), in an embedded bbolt file (boltstore) or in Redis
// (redisstore), so a cluster of MX hosts can share one.
package store

import (
	"context"
	"errors"
	"time"
)

// Store is a key-value store of records and counters with expiry.
// Implementations are safe for concurrent use. Keys are arbitrary strings;
// values are opaque bytes, except that a counter written by Incr reads back
// as its decimal text (as in Redis), so Get and Update see "42".
//
// A ttl is never negative: zero means "no expiry", and a negative ttl is
// rejected with an error.
type Store interface {
	// Get returns the value stored at key; ok is false when the record is
	// absent or expired.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)

	// Set stores value at key. A ttl of zero keeps the record until deleted.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error

	// Delete removes the record at key; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error

	// Update atomically reads, changes and writes one record: fn receives the
	// current value (nil and false when absent) and returns the new value and
	// its ttl. A nil new value deletes the record; returning ErrNoChange leaves
	// it as it is; any other error aborts the update and is returned. fn may be
	// called more than once when another writer races it, so it must have no
	// side effects of its own. fn runs while the record is locked, so it must
	// not call the Store itself.
	Update(ctx context.Context, key string, fn UpdateFunc) error

	// Incr adds delta to the counter at key and returns the new value. A counter
	// that does not exist starts at zero and expires ttl after its creation
	// (a fixed window); later increments do not extend it. A ttl of zero makes
	// a counter that never expires. Incr on a record that is not a decimal
	// integer, or an increment that would overflow, fails with ErrNotCounter.
	Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error)

	// Scan calls fn for every live record whose key starts with prefix, in no
	// particular order, until fn returns an error (which Scan returns).
	// Records written while Scan runs may or may not be seen. fn may call the
	// Store.
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error

	// Close releases the store's resources.
	Close() error
}

// UpdateFunc computes a record's new value and ttl from its current one.
type UpdateFunc func(old []byte, ok bool) (value []byte, ttl time.Duration, err error)

// ErrNoChange, returned by an UpdateFunc, leaves the record unchanged.
var ErrNoChange = errors.New("store: no change")

// ErrUnavailable wraps every error that means the store cannot be reached
// (a Redis server down, a closed bolt file), so callers apply their error
// policy with errors.Is(err, store.ErrUnavailable).
var ErrUnavailable = errors.New("store: unavailable")

// ErrNotCounter is returned by Incr when the record holds something other
// than a decimal int64, or when the increment would overflow.
var ErrNotCounter = errors.New("store: not a counter")

// ErrContention is returned by an Update that kept losing races with other
// writers of the same key and gave up after its retries.
var ErrContention = errors.New("store: too much contention")

// ErrNegativeTTL is returned when a ttl below zero is given.
var ErrNegativeTTL = errors.New("store: negative ttl")
