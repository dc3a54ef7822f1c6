package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

// updateOnly hides Memory's native Tally, so store.Tally takes its
// fallback through Update, as on a bolt store.
type updateOnly struct{ store.Store }

func tallyStores(t *testing.T) map[string]func() (store.Store, *storetest.Clock) {
	return map[string]func() (store.Store, *storetest.Clock){
		"memory": func() (store.Store, *storetest.Clock) {
			c := storetest.NewClock()
			return store.NewMemory(store.MemoryOptions{Now: c.Now}), c
		},
		// The fallback reads the real clock: its clock is nil and the
		// tests leave out the steps over time (Apply, which both share,
		// is stepped through on the memory store).
		"update": func() (store.Store, *storetest.Clock) {
			return updateOnly{store.NewMemory(store.MemoryOptions{})}, nil
		},
	}
}

func TestTallyCountsInOneWindow(t *testing.T) {
	for name, mk := range tallyStores(t) {
		t.Run(name, func(t *testing.T) {
			st, clock := mk()
			ctx := t.Context()
			win := time.Minute
			op := func(counter string) int64 {
				t.Helper()
				r, err := store.Tally(ctx, st, "c", store.TallyOp{Counter: counter, Window: win})
				if err != nil {
					t.Fatal(err)
				}
				return r.Count
			}
			for i := int64(1); i <= 3; i++ {
				if n := op("mail"); n != i {
					t.Fatalf("mail event %d counted %d", i, n)
				}
			}
			if n := op("rcpt"); n != 1 {
				t.Errorf("first rcpt event counted %d, want 1 (counters are separate)", n)
			}
			// After the window every counter starts again, as anvil resets
			// them together.
			if clock == nil {
				return
			}
			clock.Advance(win + time.Second)
			if n := op("rcpt"); n != 1 {
				t.Errorf("rcpt after the window = %d, want 1", n)
			}
			if n := op("mail"); n != 1 {
				t.Errorf("mail after the window = %d, want 1 (reset with the window)", n)
			}
		})
	}
}

func TestTallyHolders(t *testing.T) {
	for name, mk := range tallyStores(t) {
		t.Run(name, func(t *testing.T) {
			st, clock := mk()
			ctx := t.Context()
			hold := time.Minute
			held := func(op store.TallyOp) int64 {
				t.Helper()
				op.Window, op.HoldFor = time.Minute, hold
				r, err := store.Tally(ctx, st, "h", op)
				if err != nil {
					t.Fatal(err)
				}
				return r.Held
			}
			if n := held(store.TallyOp{Holder: "a"}); n != 1 {
				t.Fatalf("held after a = %d", n)
			}
			if n := held(store.TallyOp{Holder: "b"}); n != 2 {
				t.Fatalf("held after b = %d", n)
			}
			if n := held(store.TallyOp{Holder: "a"}); n != 2 {
				t.Errorf("renewing a = %d held, want 2 (a holder counts once)", n)
			}
			if n := held(store.TallyOp{Holder: "b", Release: true}); n != 1 {
				t.Errorf("after releasing b = %d held, want 1", n)
			}
			if n := held(store.TallyOp{Holder: "b", Release: true}); n != 1 {
				t.Errorf("releasing b again = %d held, want 1", n)
			}
			// A holder nobody releases (its host died) lapses.
			if clock == nil {
				return
			}
			clock.Advance(hold + time.Second)
			if n := held(store.TallyOp{Holder: "c"}); n != 1 {
				t.Errorf("after a lapsed = %d held, want 1", n)
			}
			if n := held(store.TallyOp{Holder: "c", Release: true}); n != 0 {
				t.Errorf("after the last release = %d held, want 0", n)
			}
		})
	}
}

func TestTallyRecordDisappears(t *testing.T) {
	c := storetest.NewClock()
	st := store.NewMemory(store.MemoryOptions{Now: c.Now})
	ctx := t.Context()
	store.Tally(ctx, st, "k", store.TallyOp{Counter: "conn", Window: time.Minute, Holder: "x", HoldFor: time.Hour})
	if _, ok, _ := st.Get(ctx, "k"); !ok {
		t.Fatal("no record after an event")
	}
	c.Advance(2 * time.Minute)
	if _, ok, _ := st.Get(ctx, "k"); !ok {
		t.Error("record gone while its holder is live")
	}
	c.Advance(time.Hour)
	if _, ok, _ := st.Get(ctx, "k"); ok {
		t.Error("record kept after its window and holder lapsed")
	}
}

func TestTallyBadOps(t *testing.T) {
	st := store.NewMemory(store.MemoryOptions{})
	for _, op := range []store.TallyOp{
		{Counter: "mail"}, // no window
		{Holder: "a"},     // no HoldFor
		{Counter: "a b", Window: time.Second},
		{Holder: "a=b", HoldFor: time.Second},
	} {
		if _, err := store.Tally(t.Context(), st, "k", op); !errors.Is(err, store.ErrBadTally) {
			t.Errorf("Tally(%+v) = %v, want ErrBadTally", op, err)
		}
	}
	st.Set(t.Context(), "v", []byte("not a tally"), 0)
	if _, err := store.Tally(t.Context(), st, "v", store.TallyOp{Counter: "c", Window: time.Second}); !errors.Is(err, store.ErrBadTally) {
		t.Errorf("Tally on a plain record = %v, want ErrBadTally", err)
	}
}

func TestTallyRecordText(t *testing.T) {
	in := store.TallyRecord{Start: 1700000000000, Counters: map[string]int64{"conn": 3}, Holders: map[string]int64{"a.1": 1700000060000}}
	b, _ := in.MarshalText()
	var out store.TallyRecord
	if err := out.UnmarshalText(b); err != nil {
		t.Fatal(err)
	}
	if out.Start != in.Start || out.Counters["conn"] != 3 || out.Holders["a.1"] != 1700000060000 {
		t.Errorf("UnmarshalText(%q) = %+v, want %+v", b, out, in)
	}
}

// FuzzTallyRecord: whatever bytes a store holds at a tally key (another
// program's, a corrupted file), reading them never panics, and a record
// read back writes itself back the same.
func FuzzTallyRecord(f *testing.F) {
	f.Add([]byte("tally start=1700000000000 c:conn=3 c:mail=1 h:ab12.1=1700000900000"))
	f.Add([]byte("tally start=0"))
	f.Add([]byte("tally start=1 c:x=9223372036854775807 h:=-1"))
	f.Add([]byte("42"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r store.TallyRecord
		if err := r.UnmarshalText(b); err != nil {
			return
		}
		out, _ := r.MarshalText()
		var again store.TallyRecord
		if err := again.UnmarshalText(out); err != nil {
			t.Fatalf("UnmarshalText(MarshalText(%q)) = %v", b, err)
		}
		r.Apply(1700000000000, store.TallyOp{Counter: "c", Window: 60e9, Holder: "h", HoldFor: 60e9})
	})
}
