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
// Implementations are safe for concurrent use.
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
	// side effects of its own.
	Update(ctx context.Context, key string, fn UpdateFunc) error

	// Incr adds delta to the counter at key and returns the new value. A counter
	// that does not exist starts at zero and expires ttl after its creation
	// (a fixed window); later increments do not extend it.
	Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error)

	// Scan calls fn for every live record whose key starts with prefix, in no
	// particular order, until fn returns an error (which Scan returns).
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
