package resolver

import (
	"sync"
	"time"
)

type cacheKey struct {
	name  string
	qtype uint16
}

// cacheEntry is one answer in the LRU list.
type cacheEntry struct {
	key        cacheKey
	ans        Answer
	expires    time.Time
	prev, next *cacheEntry
}

// cache is a size-bounded LRU of answers with expiry times. One mutex
// guards it: a hit is a map lookup and two pointer moves, far shorter than
// anything a shard scheme would save.
type cache struct {
	mu        sync.Mutex
	max       int
	entries   map[cacheKey]*cacheEntry
	head      cacheEntry // sentinel: head.next is the most recently used
	evictions uint64
}

func newCache(max int) *cache {
	c := &cache{max: max, entries: make(map[cacheKey]*cacheEntry)}
	c.head.next, c.head.prev = &c.head, &c.head
	return c
}

func (c *cache) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (c *cache) pushFront(e *cacheEntry) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

// get returns the answer for k if it has not expired at now, with TTL set
// to the time it has left.
func (c *cache) get(k cacheKey, now time.Time) (Answer, bool) {
	if c == nil {
		return Answer{}, false
	}
	c.mu.Lock()
	e, ok := c.entries[k]
	if !ok {
		c.mu.Unlock()
		return Answer{}, false
	}
	if !now.Before(e.expires) {
		c.unlink(e)
		delete(c.entries, k)
		c.mu.Unlock()
		return Answer{}, false
	}
	c.unlink(e)
	c.pushFront(e)
	a := e.ans
	c.mu.Unlock()
	a.TTL = e.expires.Sub(now)
	a.Cached = true
	return a, true
}

// put stores a for ttl from now, evicting the least recently used entry
// when the cache is full.
func (c *cache) put(k cacheKey, a Answer, ttl time.Duration, now time.Time) {
	if c == nil || ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		e.ans, e.expires = a, now.Add(ttl)
		c.unlink(e)
		c.pushFront(e)
		return
	}
	for len(c.entries) >= c.max {
		old := c.head.prev
		c.unlink(old)
		delete(c.entries, old.key)
		c.evictions++
	}
	e := &cacheEntry{key: k, ans: a, expires: now.Add(ttl)}
	c.entries[k] = e
	c.pushFront(e)
}

func (c *cache) stats() (entries int, evictions uint64) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.evictions
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
}
