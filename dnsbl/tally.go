package dnsbl

import (
	"sync"
	"sync/atomic"
)

// tally counts a zone's queries and listings with one atomic add per
// answer rather than two: on a cached verdict each atomic add is a
// noticeable part of the cost. The word holds queries in its low half and
// listings in its high half; before the low half can overflow, the word is
// folded into 64-bit totals. Listings never outnumber queries, so the high
// half cannot overflow first.
type tally struct {
	word atomic.Uint64

	mu              sync.Mutex // guards the totals and folding
	queries, listed uint64
}

const (
	tallyLow  = 1<<32 - 1
	tallyFold = 1 << 31 // low half at which the word is folded
)

// count adds a query, and a listing if listed.
func (t *tally) count(listed bool) {
	d := uint64(1)
	if listed {
		d |= 1 << 32
	}
	// Exactly one caller sees the low half reach tallyFold, long before
	// 2^31 more could overflow it.
	if t.word.Add(d)&tallyLow == tallyFold {
		t.fold()
	}
}

// fold moves the word's counts into the totals. Counts added meanwhile
// stay in the word: exactly what was read is taken out.
func (t *tally) fold() {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.word.Load()
	t.word.Add(-w)
	t.queries += w & tallyLow
	t.listed += w >> 32
}

// counts returns the queries and listings counted.
func (t *tally) counts() (queries, listed uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.word.Load()
	return t.queries + w&tallyLow, t.listed + w>>32
}
