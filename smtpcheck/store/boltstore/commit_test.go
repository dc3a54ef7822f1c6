package boltstore_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/boltstore"
)

// TestConcurrentWritesFailAlone runs good and failing writes together, so
// that they share commits: each failure reaches only its own caller, and
// every good write is stored.
func TestConcurrentWritesFailAlone(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"), boltstore.Options{})
	ctx := t.Context()
	if err := s.Set(ctx, "text", []byte("not a number"), 0); err != nil {
		t.Fatal(err)
	}
	errRefused := errors.New("refused")
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := "k" + strconv.Itoa(i)
			switch i % 4 {
			case 0:
				errs[i] = s.Update(ctx, key, func([]byte, bool) ([]byte, time.Duration, error) { return nil, 0, errRefused })
			case 1:
				_, errs[i] = s.Incr(ctx, "text", 1, 0)
			case 2:
				errs[i] = s.Update(ctx, key, func([]byte, bool) ([]byte, time.Duration, error) { return []byte("v"), time.Hour, nil })
			case 3:
				_, errs[i] = s.Incr(ctx, "count", 1, time.Hour)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		var want error
		switch i % 4 {
		case 0:
			want = errRefused
		case 1:
			want = store.ErrNotCounter
		}
		if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
			t.Errorf("write %d (kind %d) = %v, want %v", i, i%4, err, want)
		}
	}
	for i := 2; i < n; i += 4 {
		key := "k" + strconv.Itoa(i)
		if v, ok, err := s.Get(ctx, key); string(v) != "v" || !ok || err != nil {
			t.Errorf("Get(%q) = %q, %v, %v; want \"v\", true, nil", key, v, ok, err)
		}
	}
	if v, _, _ := s.Get(ctx, "count"); string(v) != strconv.Itoa(n/4) {
		t.Errorf("Get(%q) = %q, want %q", "count", v, strconv.Itoa(n/4))
	}
	for i := 0; i < n; i += 4 {
		key := "k" + strconv.Itoa(i)
		if _, ok, _ := s.Get(ctx, key); ok {
			t.Errorf("Get(%q) found a record its refused Update never wrote", key)
		}
	}
}

// TestConcurrentWritesDurable checks that every write that returned is in
// the file after it is closed and opened again.
func TestConcurrentWritesDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path, boltstore.Options{})
	ctx := t.Context()
	const writers, each = 16, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%d:%d", w, i)
				if err := s.Update(ctx, key, func([]byte, bool) ([]byte, time.Duration, error) {
					return []byte(key), time.Hour, nil
				}); err != nil {
					t.Errorf("Update(%q) = %v", key, err)
				}
				if _, err := s.Incr(ctx, "total", 1, 0); err != nil {
					t.Errorf("Incr(total) = %v", err)
				}
			}
		})
	}
	wg.Wait()
	s.Close()
	s = open(t, path, boltstore.Options{})
	for w := range writers {
		for i := range each {
			key := fmt.Sprintf("w%d:%d", w, i)
			if v, ok, err := s.Get(ctx, key); string(v) != key || !ok || err != nil {
				t.Fatalf("Get(%q) after reopen = %q, %v, %v; want %q", key, v, ok, err, key)
			}
		}
	}
	if v, _, _ := s.Get(ctx, "total"); string(v) != strconv.Itoa(writers*each) {
		t.Errorf("Get(total) after reopen = %q, want %d", v, writers*each)
	}
}

// TestPanickingUpdate checks that an UpdateFunc that panics fails its own
// Update with an error and leaves the store working for others.
func TestPanickingUpdate(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"), boltstore.Options{NoSync: true})
	ctx := t.Context()
	err := s.Update(ctx, "k", func([]byte, bool) ([]byte, time.Duration, error) { panic("bug") })
	if err == nil {
		t.Errorf("Update with a panicking function = nil, want an error")
	}
	if n, err := s.Incr(ctx, "c", 1, 0); n != 1 || err != nil {
		t.Errorf("Incr after a panicking Update = %d, %v; want 1, nil", n, err)
	}
}

// TestConcurrentWritersShareCommits has 16 writers each write in turn, as
// 16 policy connections do: they share commits (each commit costs two
// fdatasync calls whatever it holds), every write is on disk when its
// caller returns, and a lone writer still gets a commit of its own.
func TestConcurrentWritersShareCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path, boltstore.Options{})
	ctx := t.Context()
	const writers, each = 16, 40
	before := s.Commits()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.Set(ctx, fmt.Sprintf("k%d.%d", w, i), []byte("v"), 0); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	commits := s.Commits() - before
	if perCommit := float64(writers*each) / float64(commits); perCommit < 10 {
		t.Errorf("%d writes took %d commits (%.1f a commit), want at least 10 a commit", writers*each, commits, perCommit)
	}
	before = s.Commits()
	start := time.Now()
	if err := s.Set(ctx, "alone", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if got := s.Commits() - before; got != 1 {
		t.Errorf("a lone write took %d commits, want 1", got)
	}
	t.Logf("lone write after concurrent ones: %v", time.Since(start))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := open(t, path, boltstore.Options{})
	if n, err := r.Len(ctx); err != nil || n != writers*each+1 {
		t.Errorf("reopened store holds %d records (%v), want %d", n, err, writers*each+1)
	}
}

// An update that changes nothing (a greylisted retry still waiting) costs
// no commit; one that changes the record commits it as before.
func TestUpdateWithoutChangeDoesNotCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path, boltstore.Options{})
	ctx := t.Context()
	if err := s.Set(ctx, "k", []byte("v1"), 0); err != nil {
		t.Fatal(err)
	}
	before := s.Commits()
	var saw string
	err := s.Update(ctx, "k", func(old []byte, ok bool) ([]byte, time.Duration, error) {
		saw = string(old)
		return nil, 0, store.ErrNoChange
	})
	if err != nil || saw != "v1" {
		t.Fatalf("Update with ErrNoChange = %v, saw %q; want nil, v1", err, saw)
	}
	if got := s.Commits() - before; got != 0 {
		t.Errorf("an update without change took %d commits, want 0", got)
	}
	errRefused := errors.New("refused")
	if err := s.Update(ctx, "k", func([]byte, bool) ([]byte, time.Duration, error) { return nil, 0, errRefused }); !errors.Is(err, errRefused) {
		t.Errorf("Update whose fn fails = %v, want %v", err, errRefused)
	}
	err = s.Update(ctx, "k", func(old []byte, ok bool) ([]byte, time.Duration, error) {
		return append(old, '+'), 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Commits() - before; got != 1 {
		t.Errorf("a changing update took %d commits, want 1", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r := open(t, path, boltstore.Options{})
	if v, ok, err := r.Get(ctx, "k"); err != nil || !ok || string(v) != "v1+" {
		t.Errorf("after reopening, k = %q, %v, %v; want v1+", v, ok, err)
	}
}
