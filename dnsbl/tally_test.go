package dnsbl

import (
	"sync"
	"testing"
)

func TestTallyFolds(t *testing.T) {
	var tl tally
	tl.word.Store(tallyFold - 3 + 5<<32) // near the fold: 2^31-3 queries, 5 listings
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() { tl.count(i%4 == 0) })
	}
	wg.Wait()
	q, l := tl.counts()
	if q != tallyFold-3+100 || l != 5+25 {
		t.Errorf("counts = %d, %d; want %d, %d", q, l, tallyFold-3+100, 5+25)
	}
	if w := tl.word.Load(); w&tallyLow >= tallyFold {
		t.Errorf("word %#x not folded", w)
	}
}
