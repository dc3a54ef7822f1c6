package boltstore_test

import (
	"context"
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
	s, _ := boltstore.Open(filepath.Join(dir, "policy.db"), boltstore.Options{Now: func() time.Time { return now }})
	defer s.Close()
	ctx := context.Background()

	s.Incr(ctx, "rate:192.0.2.1", 1, time.Minute)
	now = now.Add(time.Hour)
	n, _ := s.Sweep(ctx)
	fmt.Println("removed", n)
	// Output: removed 1
}
