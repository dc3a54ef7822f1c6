package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store/boltstore"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "boltstore")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "policy.db")
	ctx := context.Background()

	s, err := boltstore.Open(path, boltstore.Options{SweepInterval: 10 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	s.Set(ctx, "grey:192.0.2.0/24|a@example.org|b@example.net", []byte("seen"), 36*24*time.Hour)
	s.Close()

	// The record is still there after a restart.
	s, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	v, ok, _ := s.Get(ctx, "grey:192.0.2.0/24|a@example.org|b@example.net")
	fmt.Println(string(v), ok)
	// Output: seen true
}

func ExampleStore_Sweep() {
	dir, _ := os.MkdirTemp("", "boltstore")
	defer os.RemoveAll(dir)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// No background sweeper: this owner sweeps when it chooses.
	s, _ := boltstore.Open(filepath.Join(dir, "policy.db"), boltstore.Options{Now: func() time.Time { return now }, SweepInterval: -1})
	defer s.Close()
	ctx := context.Background()

	s.Incr(ctx, "rate:192.0.2.1", 1, time.Minute)
	now = now.Add(time.Hour)
	n, _ := s.Sweep(ctx)
	fmt.Println("removed", n)
	// Output: removed 1
}

// A file cut short (a copy interrupted, a full disk) is refused at Open
// with ErrCorrupt, so a program can say what to do instead of crashing.
func ExampleOpen_damaged() {
	dir, _ := os.MkdirTemp("", "boltstore")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "policy.db")
	s, _ := boltstore.Open(path, boltstore.Options{})
	for i := range 500 {
		s.Set(context.Background(), fmt.Sprint("grey:", i), []byte("a record"), time.Hour)
	}
	s.Close()
	fi, _ := os.Stat(path)
	os.Truncate(path, fi.Size()/2)

	_, err := boltstore.Open(path, boltstore.Options{})
	if errors.Is(err, boltstore.ErrCorrupt) {
		fmt.Println("damaged: move it aside and start afresh")
	}
	// Output: damaged: move it aside and start afresh
}
