package resolver

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

type cacheKey struct {
	name  string
	qtype uint16
}

// cacheEntry is one answer in the LRU list. Its key, answer and expiry
// never change once it is published: a newer answer for the same key is a
// new entry, so that readers of the front table need no lock.
type cacheEntry struct {
	key        cacheKey
	ans        Answer
	expires    int64       // clock nanoseconds
	used       atomic.Bool // hit through the front table since last moved
	prev, next *cacheEntry // LRU list, guarded by cache.mu
}

// frontSize is the number of slots of the front table (a power of two).
const frontSize = 1024

// cache is a size-bounded LRU of answers with expiry times, guarded by one
// mutex. In front of it, a direct-mapped table of the entries hit or stored
// last answers most hits with no lock and no write shared between cores:
// on a virtual machine the mutex and an LRU move cost more than the rest of
// a DNS-list verdict. A hit there only marks the entry used; eviction gives
// a used entry a second chance (moves it to the front) rather than
// evicting it, so the order stays the LRU order that counts.
type cache struct {
	mu        sync.Mutex
	max       int
	entries   map[cacheKey]*cacheEntry
	head      cacheEntry // sentinel: head.next is the most recently used
	evictions uint64
	hits      atomic.Uint64 // answers given, from either table

	seed  maphash.Seed
	front [frontSize]atomic.Pointer[cacheEntry]
}

func newCache(max int) *cache {
	c := &cache{max: max, entries: make(map[cacheKey]*cacheEntry), seed: maphash.MakeSeed()}
	c.head.next, c.head.prev = &c.head, &c.head
	return c
}

func (c *cache) slot(k cacheKey) *atomic.Pointer[cacheEntry] {
	h := maphash.String(c.seed, k.name) ^ uint64(k.qtype)*0x9e3779b97f4a7c15
	return &c.front[h&(frontSize-1)]
}

func (c *cache) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (c *cache) pushFront(e *cacheEntry) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

// remove takes e out of the map, the list and the front table; c.mu held.
func (c *cache) remove(e *cacheEntry) {
	c.unlink(e)
	delete(c.entries, e.key)
	c.slot(e.key).CompareAndSwap(e, nil)
}

// get returns the answer for k if it has not expired at now (clock
// nanoseconds), with TTL set to the time it has left.
func (c *cache) get(k cacheKey, now int64) (Answer, bool) {
	var a Answer
	ok := c.getInto(&a, k, now)
	return a, ok
}

// getInto is get writing the answer to *dst, which a cache hit in a
// DNS-list verdict copies once rather than through three returns.
func (c *cache) getInto(dst *Answer, k cacheKey, now int64) bool {
	if c == nil {
		return false
	}
	s := c.slot(k)
	if e := s.Load(); e != nil && e.key == k && now < e.expires {
		if !e.used.Load() { // a hot entry is marked already: no shared write
			e.used.Store(true)
		}
		c.hit(dst, e, now)
		return true
	}
	c.mu.Lock()
	e, ok := c.entries[k]
	if !ok {
		c.mu.Unlock()
		return false
	}
	if now >= e.expires {
		c.remove(e)
		c.mu.Unlock()
		return false
	}
	c.unlink(e)
	c.pushFront(e)
	e.used.Store(false)
	s.Store(e)
	c.mu.Unlock()
	c.hit(dst, e, now)
	return true
}

func (c *cache) hit(dst *Answer, e *cacheEntry, now int64) {
	c.hits.Add(1)
	*dst = e.ans
	dst.TTL = time.Duration(e.expires - now)
	dst.Cached = true
}

// put stores a for ttl from now, evicting the least recently used entry
// when the cache is full.
func (c *cache) put(k cacheKey, a Answer, ttl time.Duration, now int64) {
	if c == nil || ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[k]; ok {
		c.remove(old)
	}
	for len(c.entries) >= c.max {
		old := c.head.prev
		if old.used.Load() { // hit since it was last moved: a second chance
			old.used.Store(false)
			c.unlink(old)
			c.pushFront(old)
			continue
		}
		c.remove(old)
		c.evictions++
	}
	e := &cacheEntry{key: k, ans: a, expires: now + int64(ttl)}
	c.entries[k] = e
	c.pushFront(e)
	c.slot(k).Store(e)
}

func (c *cache) stats() (entries int, evictions, hits uint64) {
	if c == nil {
		return 0, 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.evictions, c.hits.Load()
}

// flush removes every entry.
func (c *cache) flush() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.head.next, c.head.prev = &c.head, &c.head
	for i := range c.front {
		c.front[i].Store(nil)
	}
}
