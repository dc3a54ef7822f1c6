// Package boltstore is a store.Store in one bbolt file: the embedded default
// for a single host, whose greylisting and rate-limit state survives a
// restart. Every change is made in a bbolt read-write transaction, so a
// crash leaves either the old or the new record, never half of one, and a
// call returns only after its transaction is on disk. Changes from
// concurrent callers share one transaction and one fsync (group commit),
// so throughput grows with concurrency instead of being one fsync per
// change.
//
// Records carry their expiry time. Expired records are invisible at once
// and are removed by Sweep, which a background sweeper runs every
// SweepInterval (ten minutes unless set), so the file does not grow
// without bound; an index ordered by expiry makes a sweep cost what it
// removes, not the size of the file.
//
// A damaged file never takes the process down: Open checks the file
// (its length against what its header claims, and every page reachable
// from its root) and returns an error wrapping ErrCorrupt, and a panic
// inside bbolt, or a memory fault on the mapped file, during any call is
// returned as an error wrapping ErrPanicked.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// Now returns the current time; nil means time.Now. Tests inject a
	// clock here.
	Now func() time.Time

	// OpenTimeout bounds the wait for the file lock another process holds;
	// zero means one second. A negative value waits forever.
	OpenTimeout time.Duration

	// SweepInterval is how often a background goroutine calls Sweep,
	// until Close; zero means DefaultSweepInterval and a negative value
	// runs no sweeper (the owner then calls Sweep itself).
	SweepInterval time.Duration

	// Timeout bounds how long a write waits for its commit, on top of the
	// caller's context, so that a stalled disk costs a caller this much
	// and no more; zero means DefaultTimeout, negative leaves only the
	// caller's context.
	Timeout time.Duration

	// NoCheck skips reading every page at Open. The check costs about a
	// read of the whole file; without it a damaged page is found only when
	// a call reaches it (and that call fails with ErrPanicked).
	NoCheck bool

	// NoSync skips fsync on commit: much faster, but a machine crash (not a
	// process crash) may lose recent writes or corrupt the file. For tests
	// and state that is cheap to lose.
	NoSync bool

	// Logger receives background sweep failures; nil discards them.
	Logger *slog.Logger
}

// Defaults for Options.
const (
	DefaultSweepInterval = 10 * time.Minute
	DefaultTimeout       = 2 * time.Second
)

// ErrCorrupt is wrapped by Open's error for a file that is truncated or
// whose pages do not read back as bbolt wrote them. Move the file aside:
// a new one is created in its place.
var ErrCorrupt = errors.New("boltstore: damaged file")

// ErrPanicked is wrapped (together with store.ErrUnavailable) by the error
// of a call during which bbolt panicked or the mapped file faulted. The
// store goes on serving other calls; repeated ErrPanicked means a damaged
// file.
var ErrPanicked = errors.New("boltstore: bbolt panicked")

var errClosed = fmt.Errorf("%w: boltstore: closed", store.ErrUnavailable)

// Store is a store.Store backed by a bbolt file.
type Store struct {
	db      *bolt.DB
	w       *committer
	now     func() time.Time
	log     *slog.Logger
	timeout time.Duration
	closed  atomic.Bool
	cache   readCache // for UpdateMany's reads (cache.go)

	closeOnce sync.Once
	closeErr  error
	stop      context.CancelFunc
	sweeper   sync.WaitGroup
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.ManyUpdater = (*Store)(nil)
)

var (
	recBucket = []byte("records")
	expBucket = []byte("expiry") // 8-byte expiry ‖ record key → empty
)

// headerLen is the size of the expiry stamp before each record's value.
const headerLen = 8

// Open opens or creates the bbolt file at path. A file locked by another
// process yields an error after opts.OpenTimeout rather than a hang; a
// damaged file yields an error wrapping ErrCorrupt.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.OpenTimeout
	switch {
	case timeout == 0:
		timeout = time.Second
	case timeout < 0:
		timeout = 0 // bbolt: wait forever
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		if err := preflight(path, timeout, !opts.NoCheck); err != nil {
			return nil, err
		}
	}
	var db *bolt.DB
	err := guard("open", func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: opts.NoSync})
		return err
	})
	if err == nil {
		err = guard("open", func() error {
			return db.Update(func(tx *bolt.Tx) error {
				if _, err := tx.CreateBucketIfNotExists(recBucket); err != nil {
					return err
				}
				_, err := tx.CreateBucketIfNotExists(expBucket)
				return err
			})
		})
		if err != nil {
			guard("close", db.Close)
		}
	}
	if err != nil {
		return nil, openError(path, err)
	}
	s := &Store{db: db, now: opts.Now, log: opts.Logger, timeout: opts.Timeout}
	s.w = newCommitter(db, &s.cache)
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	every := opts.SweepInterval
	if every == 0 {
		every = DefaultSweepInterval
	}
	if every > 0 {
		s.sweeper.Go(func() { s.sweepLoop(ctx, every) })
	}
	return s, nil
}

// openError classifies an error of opening path.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, ErrCorrupt):
		return fmt.Errorf("boltstore: open %s: %w", path, err)
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("%w: boltstore: %s is locked by another process: %w", store.ErrUnavailable, path, err)
	case errors.Is(err, ErrPanicked), errors.Is(err, bolterrors.ErrInvalid),
		errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
		return fmt.Errorf("boltstore: open %s: %w: %w", path, ErrCorrupt, err)
	}
	return fmt.Errorf("boltstore: open %s: %w", path, err)
}

// preflight opens an existing file read-only and checks it before it is
// opened for writing, so that a damaged file is refused before bbolt's
// writable open (which loads the free-page list and panics on a bad one)
// and is left as it was for the operator to look at. It checks that the
// file is as long as its header says (a copy cut short, a full disk) and,
// with pages, reads every page reachable from the root and bbolt's own
// consistency check (the free-page list, pages neither used nor free).
func preflight(path string, timeout time.Duration, pages bool) error {
	var db *bolt.DB
	err := guard("open", func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: true})
		return err
	})
	if err != nil {
		return openError(path, err)
	}
	defer guard("close", db.Close)
	err = guard("check", func() error {
		return db.View(func(tx *bolt.Tx) error {
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			if fi.Size() < tx.Size() {
				return fmt.Errorf("%w: the file has %d bytes, its header says %d (truncated)", ErrCorrupt, fi.Size(), tx.Size())
			}
			if !pages {
				return nil
			}
			// First a cursor walk in this goroutine, where guard turns a
			// memory fault on a page number out of the file into an
			// error; only then bbolt's check, which runs on a goroutine
			// of its own and recovers bbolt's panics but not faults.
			err = tx.ForEach(func(name []byte, b *bolt.Bucket) error {
				c := b.Cursor()
				for k, _ := c.First(); k != nil; k, _ = c.Next() {
				}
				return nil
			})
			if err != nil {
				return err
			}
			// Drain the channel: the check reads tx until it closes it.
			var first error
			for err := range tx.Check() {
				if first == nil {
					first = fmt.Errorf("%w: %w", ErrCorrupt, err)
				}
			}
			return first
		})
	})
	if err != nil {
		return openError(path, err)
	}
	return nil
}

func (s *Store) sweepLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.Sweep(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("boltstore: sweep failed", "err", err)
			} else if n > 0 {
				s.log.Debug("boltstore: swept expired records", "removed", n)
			}
		}
	}
}

// Close stops the sweeper and closes the file, waiting for transactions in
// progress. Later calls return ErrUnavailable; Close itself may be called
// again.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stop()
		s.sweeper.Wait()
		s.w.close()
		s.closeErr = guard("close", s.db.Close)
	})
	return s.closeErr
}

// Len returns the number of records in the file, including expired ones
// that no Sweep has removed yet.
func (s *Store) Len(ctx context.Context) (int, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	n := 0
	err := s.view("len", func(tx *bolt.Tx) error {
		n = tx.Bucket(recBucket).Stats().KeyN
		return nil
	})
	return n, err
}

// Path returns the file's path.
func (s *Store) Path() string { return s.db.Path() }

func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return errClosed
	}
	return nil
}

// view runs fn in a read-only transaction, guarded against bbolt's panics.
func (s *Store) view(what string, fn func(tx *bolt.Tx) error) error {
	return wrap(guard(what, func() error { return s.db.View(fn) }))
}

// write runs fn through the group committer under the store's timeout.
func (s *Store) write(ctx context.Context, fn opFunc) error {
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	return wrap(s.w.write(ctx, fn))
}

// wrap marks the errors that mean the file cannot be used as unavailable.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) || errors.Is(err, bolterrors.ErrDatabaseReadOnly) {
		return fmt.Errorf("%w: boltstore: %w", store.ErrUnavailable, err)
	}
	return err
}

// errBadRecord is returned for a stored record too short to hold its header.
var errBadRecord = errors.New("boltstore: corrupt record")

// recKey maps a store key to its bbolt key: bbolt refuses an empty key, so
// every key gets a one-byte tag.
func recKey(key string) []byte {
	b := make([]byte, 1+len(key))
	b[0] = 'k'
	copy(b[1:], key)
	return b
}

func expKey(expires uint64, rk []byte) []byte {
	b := make([]byte, headerLen+len(rk))
	binary.BigEndian.PutUint64(b, expires)
	copy(b[headerLen:], rk)
	return b
}

func (s *Store) nowNano() uint64 { return uint64(s.now().UnixNano()) }

// live decodes a stored record, reporting whether it has not expired.
func live(raw []byte, now uint64) (value []byte, expires uint64, ok bool, err error) {
	if raw == nil {
		return nil, 0, false, nil
	}
	if len(raw) < headerLen {
		return nil, 0, false, errBadRecord
	}
	expires = binary.BigEndian.Uint64(raw)
	if expires != 0 && now >= expires {
		return nil, expires, false, nil
	}
	return raw[headerLen:], expires, true, nil
}

// put writes a record and keeps the expiry index in step with it.
func (s *Store) put(tx *bolt.Tx, rk, value []byte, ttl time.Duration) error {
	recs, exps := tx.Bucket(recBucket), tx.Bucket(expBucket)
	if err := s.unindex(recs, exps, rk); err != nil {
		return err
	}
	var expires uint64
	if ttl > 0 {
		expires = s.nowNano() + uint64(ttl)
		if err := exps.Put(expKey(expires, rk), nil); err != nil {
			return err
		}
	}
	raw := make([]byte, headerLen+len(value))
	binary.BigEndian.PutUint64(raw, expires)
	copy(raw[headerLen:], value)
	if err := recs.Put(rk, raw); err != nil {
		return err
	}
	s.cache.written(tx, rk, raw)
	return nil
}

// del removes a record and its index entry.
func (s *Store) del(tx *bolt.Tx, rk []byte) error {
	recs, exps := tx.Bucket(recBucket), tx.Bucket(expBucket)
	if err := s.unindex(recs, exps, rk); err != nil {
		return err
	}
	if err := recs.Delete(rk); err != nil {
		return err
	}
	s.cache.written(tx, rk, nil)
	return nil
}

func (s *Store) unindex(recs, exps *bolt.Bucket, rk []byte) error {
	old := recs.Get(rk)
	if len(old) < headerLen {
		return nil
	}
	if e := binary.BigEndian.Uint64(old); e != 0 {
		return exps.Delete(expKey(e, rk))
	}
	return nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.begin(ctx); err != nil {
		return nil, false, err
	}
	var out []byte
	var found bool
	err := s.view("get", func(tx *bolt.Tx) error {
		v, _, ok, err := live(tx.Bucket(recBucket).Get(recKey(key)), s.nowNano())
		if ok {
			out, found = bytes.Clone(v), true
			if out == nil {
				out = []byte{}
			}
		}
		return err
	})
	return out, found, err
}

// Set implements store.Store.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		return store.ErrNegativeTTL
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	rk := recKey(key)
	return s.write(ctx, func(tx *bolt.Tx) error {
		return s.put(tx, rk, value, ttl)
	})
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	rk := recKey(key)
	return s.write(ctx, func(tx *bolt.Tx) error {
		return s.del(tx, rk)
	})
}

// Update implements store.Store. fn first runs on the record as a read
// transaction sees it: when it answers store.ErrNoChange (a greylisted
// retry still in its delay, most of a greylisting server's requests) the
// update is done without a commit, whose two fdatasync calls cost more
// than all the rest of a request. Otherwise the read, fn and the write
// happen in one bbolt read-write transaction, which other callers' writes
// may share; writers wait while fn runs, so fn should be quick. fn may
// thus run more than once, as the store.Store contract allows.
func (s *Store) Update(ctx context.Context, key string, fn store.UpdateFunc) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	rk := recKey(key)
	unchanged := false
	err := s.view("update", func(tx *bolt.Tx) error {
		v, _, ok, err := live(tx.Bucket(recBucket).Get(rk), s.nowNano())
		if err != nil {
			return err
		}
		var old []byte
		if ok {
			old = append([]byte{}, v...) // fn may keep or modify it
		}
		_, _, err = fn(old, ok)
		switch {
		case errors.Is(err, store.ErrNoChange):
			unchanged = true
		case err != nil:
			return err
		}
		return nil
	})
	if err != nil || unchanged {
		return err
	}
	return s.write(ctx, func(tx *bolt.Tx) error {
		v, _, ok, err := live(tx.Bucket(recBucket).Get(rk), s.nowNano())
		if err != nil {
			return &cleanError{err}
		}
		var old []byte
		if ok {
			old = append([]byte{}, v...) // fn may keep or modify it
		}
		value, ttl, err := fn(old, ok)
		switch {
		case errors.Is(err, store.ErrNoChange):
			return nil
		case err != nil:
			return &cleanError{err}
		case value == nil:
			return s.del(tx, rk)
		case ttl < 0:
			return &cleanError{store.ErrNegativeTTL}
		}
		return s.put(tx, rk, value, ttl)
	})
}

// UpdateMany implements store.ManyUpdater as Update does: fn first runs
// on the records as a read transaction sees them, and when it writes
// nothing there is no commit; otherwise the reads, fn and the writes
// happen in one read-write transaction (shared with other callers'
// writes), so a greylisting decision that changes both a triplet and its
// client's pass count costs one commit.
func (s *Store) UpdateMany(ctx context.Context, keys []string, fn store.UpdateManyFunc) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	rks := make([][]byte, len(keys))
	for i, k := range keys {
		rks[i] = recKey(k)
	}
	recs := make([]store.Record, len(keys))
	raws := make([][]byte, len(keys))
	// decode fills recs from the stored forms in raws; fn may keep or
	// modify the values.
	decode := func() error {
		now := s.nowNano()
		for i, raw := range raws {
			v, _, ok, err := live(raw, now)
			if err != nil {
				return err
			}
			recs[i] = store.Record{Key: keys[i], OK: ok}
			if ok {
				recs[i].Value = append([]byte{}, v...)
			}
		}
		return nil
	}
	// load fills recs from tx.
	load := func(tx *bolt.Tx) error {
		b := tx.Bucket(recBucket)
		for i, rk := range rks {
			raws[i] = b.Get(rk)
		}
		return decode()
	}
	// writes reports whether fn marked a record, or the error to return.
	writes := func() (bool, error) {
		switch err := fn(recs); {
		case errors.Is(err, store.ErrNoChange):
			return false, nil
		case err != nil:
			return false, err
		}
		marked := false
		for _, r := range recs {
			if r.Write && r.Value != nil && r.TTL < 0 {
				return false, store.ErrNegativeTTL
			}
			marked = marked || r.Write
		}
		return marked, nil
	}
	var changes bool
	var err error
	if s.cache.lookup(rks, raws) && decode() == nil {
		// Every record cached: no read transaction.
		changes, err = writes()
	} else {
		gen := s.cache.generation()
		err = s.view("update", func(tx *bolt.Tx) error {
			if err := load(tx); err != nil {
				return err
			}
			for i, raw := range raws {
				raws[i] = bytes.Clone(raw) // for the cache: tx's memory is not ours
			}
			var err error
			changes, err = writes()
			return err
		})
		if err == nil {
			s.cache.fill(gen, rks, raws)
		}
	}
	if err != nil || !changes {
		return err
	}
	return s.write(ctx, func(tx *bolt.Tx) error {
		if err := load(tx); err != nil {
			return &cleanError{err}
		}
		changes, err := writes()
		if err != nil || !changes {
			return cleanOrNil(err)
		}
		for i, r := range recs {
			if !r.Write {
				continue
			}
			var err error
			if r.Value == nil {
				err = s.del(tx, rks[i])
			} else {
				err = s.put(tx, rks[i], r.Value, r.TTL)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// cleanOrNil marks a failure before any write as clean.
func cleanOrNil(err error) error {
	if err == nil {
		return nil
	}
	return &cleanError{err}
}

// Incr implements store.Store in one read-write transaction, which other
// callers' writes may share.
func (s *Store) Incr(ctx context.Context, key string, delta int64, ttl time.Duration) (int64, error) {
	if ttl < 0 {
		return 0, store.ErrNegativeTTL
	}
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	var n int64
	rk := recKey(key)
	err := s.write(ctx, func(tx *bolt.Tx) error {
		recs := tx.Bucket(recBucket)
		raw := recs.Get(rk)
		now := s.nowNano()
		v, expires, ok, err := live(raw, now)
		if err != nil {
			return &cleanError{err}
		}
		if !ok {
			n = delta
			return s.put(tx, rk, strconv.AppendInt(nil, delta, 10), ttl)
		}
		cur, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return &cleanError{fmt.Errorf("%w: %q", store.ErrNotCounter, key)}
		}
		n = cur + delta
		if (delta > 0 && n < cur) || (delta < 0 && n > cur) {
			return &cleanError{fmt.Errorf("%w: %q: increment overflows", store.ErrNotCounter, key)}
		}
		// Keep the window's expiry: rewrite the value behind the same header.
		out := make([]byte, headerLen, headerLen+20)
		binary.BigEndian.PutUint64(out, expires)
		out = strconv.AppendInt(out, n, 10)
		if err := recs.Put(rk, out); err != nil {
			return err
		}
		s.cache.written(tx, rk, out)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// scanBatch is how many records Scan copies per read transaction; fn runs
// outside any transaction, so it may write to the store.
const scanBatch = 256

// Scan implements store.Store.
func (s *Store) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	type kv struct {
		k string
		v []byte
	}
	from := recKey(prefix)
	pfx := bytes.Clone(from)
	skipFirst := false
	for {
		if err := s.begin(ctx); err != nil {
			return err
		}
		var batch []kv
		var last []byte
		err := s.view("scan", func(tx *bolt.Tx) error {
			now := s.nowNano()
			c := tx.Bucket(recBucket).Cursor()
			k, raw := c.Seek(from)
			if skipFirst && bytes.Equal(k, from) {
				k, raw = c.Next()
			}
			for ; k != nil && bytes.HasPrefix(k, pfx) && len(batch) < scanBatch; k, raw = c.Next() {
				last = k
				v, _, ok, err := live(raw, now)
				if err != nil {
					return fmt.Errorf("%w: key %q", err, k[1:])
				}
				if ok {
					batch = append(batch, kv{string(k[1:]), bytes.Clone(v)})
				}
			}
			if last != nil {
				last = bytes.Clone(last)
			}
			if k == nil || !bytes.HasPrefix(k, pfx) {
				last = nil // done
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range batch {
			if r.v == nil {
				r.v = []byte{}
			}
			if err := fn(r.k, r.v); err != nil {
				return err
			}
		}
		if last == nil {
			return nil
		}
		from, skipFirst = last, true
	}
}

// sweepBatch bounds the records one sweep transaction removes, so that
// writers are not held up behind a large sweep.
const sweepBatch = 1000

// Sweep removes expired records and returns how many it removed. It works in
// batches of short transactions and stops early when ctx is done.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	total := 0
	for {
		if err := s.begin(ctx); err != nil {
			return total, err
		}
		n, seen := 0, 0
		err := guard("sweep", func() error {
			return s.db.Update(func(tx *bolt.Tx) error {
				now := s.nowNano()
				recs, exps := tx.Bucket(recBucket), tx.Bucket(expBucket)
				var doomed [][]byte
				c := exps.Cursor()
				for k, _ := c.First(); k != nil && len(doomed) < sweepBatch; k, _ = c.Next() {
					if len(k) < headerLen || binary.BigEndian.Uint64(k) > now {
						break
					}
					doomed = append(doomed, bytes.Clone(k))
				}
				seen = len(doomed)
				for _, ik := range doomed {
					rk := ik[headerLen:]
					// Only remove the record if this index entry is still its
					// expiry; the index is kept in step, but be sure.
					if raw := recs.Get(rk); len(raw) >= headerLen && bytes.Equal(raw[:headerLen], ik[:headerLen]) {
						if err := recs.Delete(rk); err != nil {
							return err
						}
						s.cache.written(tx, rk, nil)
						n++
					}
					if err := exps.Delete(ik); err != nil {
						return err
					}
				}
				return nil
			})
		})
		total += n
		if err != nil {
			s.cache.reset() // the file may hold either state
			return total, wrap(err)
		}
		if seen < sweepBatch {
			return total, nil
		}
	}
}
