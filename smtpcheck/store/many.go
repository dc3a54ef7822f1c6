package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
)

// Record is one record as an UpdateManyFunc sees it and changes it. Key
// names it; Value and OK are what the store holds (nil and false when the
// record is absent). To change the record, the function sets Write, and
// Value (nil deletes) and TTL (as in UpdateFunc).
type Record struct {
	Key   string
	Value []byte
	OK    bool
	TTL   time.Duration
	Write bool
}

// UpdateManyFunc computes several records' new values from their current
// ones, in recs (in the order of the keys given to UpdateMany), and marks
// the ones to write. Returning ErrNoChange, or marking none, writes
// nothing; any other error aborts the update and is returned. As with
// UpdateFunc, it may run more than once and must not call the Store. recs
// is the Store's, valid until fn returns: a Store may reuse it for its
// next update (a Value fn keeps is its own).
type UpdateManyFunc func(recs []Record) error

// ManyUpdater is implemented by stores that read and change several
// records in one step: one transaction (memory, bbolt) or one round trip
// to the server (Redis). Greylisting reads a client's pass count and
// changes a triplet in every decision, so such a store answers it in one
// step instead of three.
type ManyUpdater interface {
	// UpdateMany reads the records at keys, calls fn with them and writes
	// those fn marks, atomically.
	UpdateMany(ctx context.Context, keys []string, fn UpdateManyFunc) error
}

// UpdateMany reads the records at keys, calls fn with them and writes
// those fn marks: in one step when s is a ManyUpdater, and otherwise with
// UpdateEach.
func UpdateMany(ctx context.Context, s Store, keys []string, fn UpdateManyFunc) error {
	if m, ok := s.(ManyUpdater); ok {
		return m.UpdateMany(ctx, keys, fn)
	}
	return UpdateEach(ctx, s, keys, fn)
}

// errStale aborts one record's Update in UpdateEach when the record
// changed since it was read.
var errStale = errors.New("store: record changed since read")

// updateEachTries bounds UpdateEach's attempts when other writers keep
// changing the records between its reads and its writes.
const updateEachTries = 50

// UpdateEach is UpdateMany on any Store: it reads each record with Get,
// calls fn, and writes each marked record with an Update that applies
// only if the record still holds what was read, starting again from the
// reads when one has changed. Each record changes atomically, but not the
// set: when a later record has changed, earlier ones may already be
// written, and fn then runs again on their new values. Stores that can do
// better implement ManyUpdater.
func UpdateEach(ctx context.Context, s Store, keys []string, fn UpdateManyFunc) error {
	recs := make([]Record, len(keys))
	read := make([]Record, len(keys))
	for range updateEachTries {
		for i, k := range keys {
			v, ok, err := s.Get(ctx, k)
			if err != nil {
				return err
			}
			read[i] = Record{Key: k, Value: v, OK: ok}
			recs[i] = Record{Key: k, Value: bytes.Clone(v), OK: ok}
		}
		switch err := fn(recs); {
		case errors.Is(err, ErrNoChange):
			return nil
		case err != nil:
			return err
		}
		stale := false
		for i := range recs {
			r, was := recs[i], read[i]
			if !r.Write {
				continue
			}
			if r.Value != nil && r.TTL < 0 {
				return ErrNegativeTTL
			}
			err := s.Update(ctx, r.Key, func(old []byte, ok bool) ([]byte, time.Duration, error) {
				if ok != was.OK || !bytes.Equal(old, was.Value) {
					return nil, 0, errStale
				}
				return r.Value, r.TTL, nil
			})
			if errors.Is(err, errStale) {
				stale = true
				break
			}
			if err != nil {
				return err
			}
		}
		if !stale {
			return nil
		}
	}
	return fmt.Errorf("%w: %q changed by others on each of %d tries", ErrContention, keys, updateEachTries)
}
