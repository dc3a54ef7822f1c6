package boltstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/boltstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

func open(t testing.TB, path string, opts boltstore.Options) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, *storetest.Clock) {
		c := storetest.NewClock()
		// NoSync keeps the suite fast; durability is tested on its own below.
		s := open(t, filepath.Join(t.TempDir(), "s.db"), boltstore.Options{Now: c.Now, NoSync: true})
		return s, c
	})
}

func TestSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	c := storetest.NewClock()
	ctx := t.Context()
	s := open(t, path, boltstore.Options{Now: c.Now})
	s.Set(ctx, "grey:a", []byte("first"), time.Hour)
	s.Set(ctx, "grey:b", []byte("short"), time.Minute)
	s.Incr(ctx, "rate:a", 3, time.Hour)
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	c.Advance(2 * time.Minute) // expiry is absolute, so it carries across a restart
	s = open(t, path, boltstore.Options{Now: c.Now})
	tests := []struct {
		key  string
		want string
		ok   bool
	}{
		{"grey:a", "first", true},
		{"grey:b", "", false},
		{"rate:a", "3", true},
	}
	for _, tt := range tests {
		got, ok, err := s.Get(ctx, tt.key)
		if err != nil || ok != tt.ok || string(got) != tt.want {
			t.Errorf("Get(%q) after reopen = %q, %v, %v; want %q, %v, nil", tt.key, got, ok, err, tt.want, tt.ok)
		}
	}
	if n, err := s.Incr(ctx, "rate:a", 1, time.Hour); n != 4 || err != nil {
		t.Errorf("Incr(%q) after reopen = %d, %v; want 4, nil", "rate:a", n, err)
	}
}

func TestLockedFileTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	open(t, path, boltstore.Options{})
	done := make(chan error, 1)
	go func() {
		s, err := boltstore.Open(path, boltstore.Options{OpenTimeout: 100 * time.Millisecond})
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Open of a locked file = %v, want ErrUnavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open of a locked file did not return")
	}
}

func TestGarbageFile(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"zeros 64k", make([]byte, 64<<10)},
		{"text", []byte("this is not a bolt file\n")},
		{"one byte", []byte{0}},
	}
	random := make([]byte, 32<<10)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(random)
	tests = append(tests, struct {
		name string
		data []byte
	}{"random bytes", random})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.db")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := boltstore.Open(path, boltstore.Options{})
			if err == nil {
				s.Close()
				t.Fatalf("Open(garbage) = nil error, want an error")
			}
		})
	}
}

func TestCorruptRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := open(t, path, boltstore.Options{})
	s.Close()
	// A record too short for its expiry header, written behind our back.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("records")).Put([]byte("kbad"), []byte{1, 2}) })
	db.Close()
	s = open(t, path, boltstore.Options{})
	ctx := t.Context()
	if _, _, err := s.Get(ctx, "bad"); err == nil {
		t.Errorf("Get of a corrupt record = nil error, want an error")
	}
	if _, err := s.Incr(ctx, "bad", 1, 0); err == nil {
		t.Errorf("Incr of a corrupt record = nil error, want an error")
	}
	if err := s.Set(ctx, "bad", []byte("fixed"), 0); err != nil {
		t.Errorf("Set over a corrupt record = %v, want nil", err)
	}
	if v, ok, err := s.Get(ctx, "bad"); string(v) != "fixed" || !ok || err != nil {
		t.Errorf("Get after repair = %q, %v, %v; want \"fixed\", true, nil", v, ok, err)
	}
}

func TestSweep(t *testing.T) {
	c := storetest.NewClock()
	s := open(t, filepath.Join(t.TempDir(), "s.db"), boltstore.Options{Now: c.Now, NoSync: true})
	ctx := t.Context()
	// 2500 records expire (more than one sweep batch), 500 never do, and
	// 100 were first written with a ttl and then rewritten without one.
	for i := range 3000 {
		ttl := time.Minute
		if i%6 == 0 {
			ttl = 0
		}
		s.Set(ctx, fmt.Sprint("r", i), []byte("v"), ttl)
	}
	for i := range 100 {
		s.Set(ctx, fmt.Sprint("re", i), []byte("v"), time.Minute)
		s.Set(ctx, fmt.Sprint("re", i), []byte("v2"), 0)
	}
	if n, err := s.Sweep(ctx); n != 0 || err != nil {
		t.Fatalf("Sweep() before expiry = %d, %v; want 0, nil", n, err)
	}
	c.Advance(time.Hour)
	if n, err := s.Sweep(ctx); n != 2500 || err != nil {
		t.Fatalf("Sweep() = %d, %v; want 2500, nil", n, err)
	}
	if count := rawCount(t, s); count != 600 {
		t.Errorf("Len() after Sweep = %d, want 600", count)
	}
	if n, err := s.Sweep(ctx); n != 0 || err != nil {
		t.Errorf("second Sweep() = %d, %v; want 0, nil", n, err)
	}
}

func TestBackgroundSweeper(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	c := storetest.NewClock()
	s := open(t, path, boltstore.Options{Now: c.Now, NoSync: true, SweepInterval: time.Millisecond})
	ctx := t.Context()
	s.Set(ctx, "k", []byte("v"), time.Second)
	c.Advance(time.Minute)
	// The record is invisible at once; the sweeper removes it from the file.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if rawCount(t, s) == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := rawCount(t, s); got != 0 {
		t.Errorf("records in file with a sweeper running = %d, want 0", got)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close() = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close() with a running sweeper did not return")
	}
}

// rawCount counts records in the file, expired or not.
func rawCount(t *testing.T, s *boltstore.Store) int {
	t.Helper()
	n, err := s.Len(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
