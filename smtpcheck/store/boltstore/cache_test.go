package boltstore_test

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/boltstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

// peek reads key as a greylisting decision that writes nothing does: with
// UpdateMany, whose reads come from the read cache once the key is known.
func peek(t *testing.T, s *boltstore.Store, key string) (string, bool) {
	t.Helper()
	var v string
	var ok bool
	err := s.UpdateMany(t.Context(), []string{key, "other"}, func(recs []store.Record) error {
		v, ok = string(recs[0].Value), recs[0].OK
		return store.ErrNoChange
	})
	if err != nil {
		t.Fatalf("UpdateMany(%q) = %v", key, err)
	}
	return v, ok
}

// TestUpdateManySeesEveryWrite reads a record between writes of every
// kind: each read sees the write before it, although the record was
// read (and cached) before the write.
func TestUpdateManySeesEveryWrite(t *testing.T) {
	c := storetest.NewClock()
	s := open(t, filepath.Join(t.TempDir(), "s.db"), boltstore.Options{Now: c.Now, NoSync: true, SweepInterval: -1})
	ctx := t.Context()
	want := func(step, v string, ok bool) {
		t.Helper()
		if gv, gok := peek(t, s, "k"); gv != v || gok != ok {
			t.Errorf("after %s: UpdateMany sees %q, %v; want %q, %v", step, gv, gok, v, ok)
		}
	}
	want("nothing", "", false)
	want("nothing, read again", "", false)
	if err := s.Set(ctx, "k", []byte("set"), time.Minute); err != nil {
		t.Fatal(err)
	}
	want("Set", "set", true)
	if err := s.Update(ctx, "k", func([]byte, bool) ([]byte, time.Duration, error) { return []byte("updated"), 0, nil }); err != nil {
		t.Fatal(err)
	}
	want("Update", "updated", true)
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	want("Delete", "", false)
	for _, n := range []string{"1", "2"} {
		if _, err := s.Incr(ctx, "k", 1, time.Minute); err != nil {
			t.Fatal(err)
		}
		want("Incr", n, true)
	}
	err := s.UpdateMany(ctx, []string{"k"}, func(recs []store.Record) error {
		recs[0].Value, recs[0].TTL, recs[0].Write = []byte("many"), time.Minute, true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want("UpdateMany", "many", true)
	c.Advance(2 * time.Minute)
	want("expiry", "", false)
	if n, err := s.Sweep(ctx); n != 1 || err != nil {
		t.Fatalf("Sweep() = %d, %v; want 1, nil", n, err)
	}
	want("Sweep", "", false)
}

// TestUpdateManyAfterFailedCommit: a write whose commit failed is not
// seen by later reads, cached or not.
func TestUpdateManyAfterFailedCommit(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"), boltstore.Options{NoSync: true})
	var fail atomic.Bool
	s.InTx(func() {
		if fail.Load() {
			panic("page 42 already freed") // as bbolt's freelist does
		}
	})
	ctx := t.Context()
	if err := s.Set(ctx, "k", []byte("old"), 0); err != nil {
		t.Fatal(err)
	}
	peek(t, s, "k")
	fail.Store(true)
	if err := s.Set(ctx, "k", []byte("lost"), 0); err == nil {
		t.Fatal("Set in a panicking commit = nil, want an error")
	}
	fail.Store(false)
	if v, ok := peek(t, s, "k"); v != "old" || !ok {
		t.Errorf("after a failed commit UpdateMany sees %q, %v; want %q, true", v, ok, "old")
	}
}
