package boltstore

import (
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Read cache. A read transaction costs a greylisting decision more than
// its own logic: most decisions (retries within the delay) write nothing,
// and for them UpdateMany's read transaction was the whole store step.
// The cache holds the stored form of records recently read or written,
// and of keys found absent, so that such a decision needs no transaction.
//
// It is never behind the file for longer than a read transaction would
// be: the Store is the file's only writer (bbolt locks it), and every
// write updates the cache from its transaction's commit handler, before
// the writer's caller is answered. A fill from a read transaction is
// dropped when any commit came between the transaction's start and the
// fill, so an old value cannot land after a newer one. A commit that
// fails empties the cache, since the file may then hold either state.
// Whatever the cache says, a write is decided again inside the write
// transaction, on what the file holds.

// readCacheEntries bounds the records the cache holds: a busy MX host's
// triplets of the last hours, a few megabytes.
const readCacheEntries = 1 << 16

// readCache maps record keys to their stored form (expiry header and
// value), nil for a key known to be absent.
type readCache struct {
	mu  sync.Mutex
	m   map[string][]byte
	gen uint64 // counts commits, for fills to detect one in between
}

// generation returns the count of commits so far, for fill.
func (c *readCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// lookup sets raw[i] to the cached form of rks[i] and reports whether
// every key was cached.
func (c *readCache) lookup(rks, raw [][]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, rk := range rks {
		v, ok := c.m[string(rk)]
		if !ok {
			return false
		}
		raw[i] = v
	}
	return true
}

// fill caches raw[i] for rks[i], as read by a transaction that began at
// generation gen; raw must not change afterwards.
func (c *readCache) fill(gen uint64, rks, raw [][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	for i, rk := range rks {
		c.setLocked(string(rk), raw[i])
	}
}

// written arranges for the commit of tx to cache raw (nil: deleted) for
// rk; raw must not change afterwards.
func (c *readCache) written(tx *bolt.Tx, rk, raw []byte) {
	tx.OnCommit(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.gen++
		c.setLocked(string(rk), raw)
	})
}

// reset empties the cache, after a commit that failed.
func (c *readCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

func (c *readCache) setLocked(k string, raw []byte) {
	if c.m == nil {
		c.m = make(map[string][]byte)
	}
	if _, known := c.m[k]; !known && len(c.m) >= readCacheEntries {
		for old := range c.m { // Go starts map iteration at random
			delete(c.m, old)
			break
		}
	}
	c.m[k] = raw
}
