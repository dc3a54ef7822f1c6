package greylist

import (
	"net/netip"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// TestRedisOneRoundTrip checks that every step of a triplet's life on
// Redis (first sight, early retry, the pass that also counts for
// auto-allow, later known passes, an auto-allowed client) is one round
// trip, and that a second MX host sharing the database, which has not seen
// the records, needs at most two.
func TestRedisOneRoundTrip(t *testing.T) {
	ctx := t.Context()
	var calls redistest.Counter
	c := redistest.Client(t, redisAddr, &calls)
	prefix := randomPrefix(t, c)
	clk := newClock()
	mk := func() *Greylist {
		g, err := New(Config{Store: redisstore.New(c, redisstore.Options{}), Now: clk.Now, KeyPrefix: prefix, AutoAllow: 2, AutoAllowInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	a, b := mk(), mk()
	trip := func(s string) Triplet {
		return Triplet{Client: netip.MustParsePrefix("192.0.2.0/24"), Addr: netip.MustParseAddr("192.0.2.1"), Sender: s + "@example.org", Rcpt: "r@example.net"}
	}
	a.Attempt(ctx, trip("warm"), "") // loads the script if the server lacks it
	steps := []struct {
		g        *Greylist
		sender   string
		wait     time.Duration
		want     Outcome
		maxTrips int64
	}{
		{a, "x", 0, FirstSeen, 1},
		{a, "x", time.Minute, EarlyRetry, 1},
		{a, "x", DefaultDelay, Passed, 1},
		{a, "x", time.Hour, Known, 1},
		{b, "x", time.Hour, Known, 2}, // b has not seen the triplet
		{a, "x", time.Hour, Known, 2}, // b's refresh is news to a
		{a, "y", 0, FirstSeen, 1},
		{a, "y", DefaultDelay, Passed, 1}, // the client's second pass
		{a, "z", 0, Known, 1},             // auto-allowed: the triplet is not touched
	}
	for i, st := range steps {
		clk.Advance(st.wait)
		calls.Reset()
		d, err := st.g.Attempt(ctx, trip(st.sender), "")
		if err != nil {
			t.Fatalf("step %d: Attempt = %v", i, err)
		}
		if d.Outcome != st.want {
			t.Errorf("step %d: Attempt(%s) = %v, want %v", i, st.sender, d.Outcome, st.want)
		}
		if got := calls.Load(); got > st.maxTrips {
			t.Errorf("step %d (%v): %d round trips, want at most %d", i, st.want, got, st.maxTrips)
		}
	}
}
