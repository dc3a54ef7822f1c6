package redisstore_test

import (
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

func TestTallySharedOneRoundTrip(t *testing.T) {
	var calls redistest.Counter
	c := client(t)
	p := prefix(t, c)
	// Two hosts of a cluster: two stores on one Redis.
	a := redisstore.New(c, redisstore.Options{Prefix: p})
	b := redisstore.New(redistest.Client(t, "", &calls), redisstore.Options{Prefix: p})
	ctx := t.Context()
	op := store.TallyOp{Counter: "conn", Window: time.Minute, HoldFor: time.Minute}
	op.Holder = "a.1"
	if r, err := a.Tally(ctx, "client", op); err != nil || r.Count != 1 || r.Held != 1 {
		t.Fatalf("first event = %+v, %v", r, err)
	}
	op.Holder = "b.1"
	b.Tally(ctx, "warm", store.TallyOp{Counter: "x", Window: time.Second}) // loads the script
	calls.Reset()
	r, err := b.Tally(ctx, "client", op)
	if err != nil || r.Count != 2 || r.Held != 2 {
		t.Fatalf("second host's event = %+v, %v; want count 2, held 2", r, err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("one Tally sent %d commands, want 1", n)
	}
	r, err = a.Tally(ctx, "client", store.TallyOp{Holder: "b.1", Release: true, Window: time.Minute})
	if err != nil || r.Held != 1 {
		t.Errorf("after release = %+v, %v; want held 1", r, err)
	}
	// Holders lapse on Redis's clock.
	short := store.TallyOp{Holder: "s", HoldFor: 100 * time.Millisecond}
	a.Tally(ctx, "lapse", short)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := a.Tally(ctx, "lapse", store.TallyOp{Holder: "t", HoldFor: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if r.Held == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("holder s still counted after 5s (held %d)", r.Held)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ttl, err := c.PTTL(ctx, p+"lapse").Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("PTTL(tally) = %v, %v; want within (0, 1m]", ttl, err)
	}
}
