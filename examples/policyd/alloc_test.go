package main

import (
	"io"
	"testing"
)

// TestGreylistRequestAllocations holds a greylisting request on the memory
// store (a retry within the delay: read, parsed, decided, logged and
// answered DEFER_IF_PERMIT) to at most 10 allocations, so that the cost of
// a decision stays in the server and not in its garbage collector.
func TestGreylistRequestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts do not hold under the race detector")
	}
	o, err := parseFlags([]string{"-greylist", "memory:"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	logger, err := newLogger(o, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, _, closeStore, err := build(ctx, o, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	const triplets, n = 100, 1000
	reqs := make([][]byte, 2*triplets)
	for i := range reqs {
		reqs[i] = loadRequest(i, triplets)
	}
	srv.handle(ctx, &streamConn{reqs: reqs, left: triplets}) // first sights
	conn := &streamConn{reqs: reqs, next: triplets}
	allocs := testing.AllocsPerRun(1, func() {
		conn.left, conn.answers = n, 0
		srv.handle(ctx, conn)
	})
	if conn.answers != n {
		t.Fatalf("%d answers to %d requests", conn.answers, n)
	}
	if per := allocs / n; per > 10 {
		t.Errorf("a greylisting retry on the memory store: %.1f allocations, want at most 10", per)
	}
}
