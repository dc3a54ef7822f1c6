package uri

import (
	"hash/maphash"
	"sync"
)

// Mail from one sender links to the same hosts message after message, and
// for a small message the public suffix lookups of its new hosts are the
// largest cost. An Extractor's caches keep the answers of the pure
// functions that make them, ParseHost and knownSuffix, across extractions
// (and those of mime.ParseMediaType, in mime.go). They are bounded: a shard
// that fills up is emptied, so hostile mail with many distinct names only
// makes lookups miss.

// cacheShards spreads the caches' locks so concurrent extractions rarely
// meet on one.
const cacheShards = 16

// cacheShardMax is the most entries a shard holds: 16 x 256 names of at
// most 253 bytes bound each cache to about 1.5 MB.
const cacheShardMax = 256

// maxCachedName is the longest name cached: longer ones are not hosts, and
// a longer Content-Type is rare.
const maxCachedName = 253

type cacheShard[V any] struct {
	mu sync.RWMutex
	m  map[string]V
}

// nameCache maps names to what a pure function returns for them.
type nameCache[V any] struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard[V]
}

func newNameCache[V any]() *nameCache[V] {
	c := &nameCache[V]{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string]V)
	}
	return c
}

func (c *nameCache[V]) shard(name []byte) *cacheShard[V] {
	return &c.shards[maphash.Bytes(c.seed, name)%cacheShards]
}

// get returns the value cached for name. A nil cache holds nothing.
func (c *nameCache[V]) get(name []byte) (V, bool) {
	if c == nil {
		var zero V
		return zero, false
	}
	s := c.shard(name)
	s.mu.RLock()
	v, ok := s.m[string(name)]
	s.mu.RUnlock()
	return v, ok
}

// getString is get for a name held as a string.
func (c *nameCache[V]) getString(name string) (V, bool) {
	if c == nil {
		var zero V
		return zero, false
	}
	s := &c.shards[maphash.String(c.seed, name)%cacheShards]
	s.mu.RLock()
	v, ok := s.m[name]
	s.mu.RUnlock()
	return v, ok
}

// put caches v for name.
func (c *nameCache[V]) put(name string, v V) {
	if c == nil || len(name) > maxCachedName {
		return
	}
	s := &c.shards[maphash.String(c.seed, name)%cacheShards]
	s.mu.Lock()
	if len(s.m) >= cacheShardMax {
		clear(s.m)
	}
	s.m[name] = v
	s.mu.Unlock()
}

// parseHost is ParseHost for a host as written, remembering the hosts that
// parse.
func (x *Extractor) parseHost(raw []byte) (Host, error) {
	if len(raw) <= maxCachedName {
		if h, ok := x.hosts.get(raw); ok {
			return h, nil
		}
	}
	s := string(raw)
	h, err := ParseHost(s)
	if err == nil {
		x.hosts.put(s, h)
	}
	return h, err
}

// knownSuffix is knownSuffix for a lower-case name, remembered.
func (x *Extractor) knownSuffix(name []byte) bool {
	if len(name) <= maxCachedName {
		if ok, found := x.suffixes.get(name); found {
			return ok
		}
	}
	s := string(name)
	ok := knownSuffix(s)
	x.suffixes.put(s, ok)
	return ok
}
