package greylist

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Waiting is a triplet that was greylisted and has not passed yet.
type Waiting struct {
	// Key is the record's store key, as Release takes it.
	Key string
	// Triplet is the client network, sender and recipient; zero in
	// privacy mode, where only the hashed key is known.
	Triplet Triplet
	// First is when the triplet was first seen.
	First time.Time
	// Ready is when a retry passes; Expires when the record is forgotten
	// unless a retry comes.
	Ready, Expires time.Time
}

// Pending calls fn for every triplet that is waiting out its delay or its
// retry, in no particular order, until fn returns an error.
func (g *Greylist) Pending(ctx context.Context, fn func(Waiting) error) error {
	prefix := g.cfg.KeyPrefix + tripletSpace
	now := g.now().Unix()
	return g.cfg.Store.Scan(ctx, prefix, func(key string, value []byte) error {
		rec, err := decodeRecord(value)
		if err != nil || rec.Passed != 0 || now-rec.First > secs(g.cfg.RetryWindow) {
			return nil
		}
		w := Waiting{
			Key:     key,
			First:   time.Unix(rec.First, 0),
			Ready:   time.Unix(rec.First, 0).Add(g.cfg.Delay),
			Expires: time.Unix(rec.First, 0).Add(g.cfg.RetryWindow),
		}
		if !g.cfg.Privacy {
			w.Triplet, _ = parseTripletKey(strings.TrimPrefix(key, prefix))
		}
		return fn(w)
	})
}

// ErrNotFound is returned by ReleaseKey for a key that holds no record.
var ErrNotFound = errors.New("greylist: no such triplet")

// Release lets t through at once: its next attempt passes, as if the delay
// were over. A triplet never seen is recorded as passed.
func (g *Greylist) Release(ctx context.Context, t Triplet) error {
	return g.release(ctx, g.tripletKey(t), true)
}

// ReleaseKey releases the triplet stored at key (a Waiting.Key); it fails
// with ErrNotFound when there is no such record.
func (g *Greylist) ReleaseKey(ctx context.Context, key string) error {
	if !strings.HasPrefix(key, g.cfg.KeyPrefix+tripletSpace) {
		return ErrNotFound
	}
	return g.release(ctx, key, false)
}

func (g *Greylist) release(ctx context.Context, key string, create bool) error {
	now := g.now()
	found := false
	err := g.cfg.Store.Update(ctx, key, func(old []byte, ok bool) ([]byte, time.Duration, error) {
		found = false
		rec, err := decodeRecord(old)
		if !ok || err != nil {
			if !create {
				return nil, 0, store.ErrNoChange
			}
			rec = record{First: now.Unix()}
		}
		found = true
		rec.Passed = now.Unix()
		return rec.encode(), g.tm.ttl(rec, now), nil
	})
	if err == nil && !found {
		return ErrNotFound
	}
	return err
}

// Forget deletes t's record, so that its next attempt is greylisted anew.
func (g *Greylist) Forget(ctx context.Context, t Triplet) error {
	return g.cfg.Store.Delete(ctx, g.tripletKey(t))
}
