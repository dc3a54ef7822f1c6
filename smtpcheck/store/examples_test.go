package store_test

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

func ExampleNewMemory() {
	ctx := context.Background()
	s := store.NewMemory(store.MemoryOptions{MaxEntries: 100000})
	defer s.Close()

	// A rate limit: at most 3 connections per client per minute.
	for i := 0; i < 4; i++ {
		n, err := s.Incr(ctx, "conn:192.0.2.1", 1, time.Minute)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(n, n <= 3)
	}
	// Output:
	// 1 true
	// 2 true
	// 3 true
	// 4 false
}

func ExampleStore_update() {
	ctx := context.Background()
	var s store.Store = store.NewMemory(store.MemoryOptions{})
	defer s.Close()

	// Record the first time a triplet was seen; later calls leave it alone.
	first := func(now int64) store.UpdateFunc {
		return func(old []byte, ok bool) ([]byte, time.Duration, error) {
			if ok {
				return nil, 0, store.ErrNoChange
			}
			return strconv.AppendInt(nil, now, 10), 24 * time.Hour, nil
		}
	}
	s.Update(ctx, "grey:a", first(100))
	s.Update(ctx, "grey:a", first(200))
	v, ok, _ := s.Get(ctx, "grey:a")
	fmt.Println(string(v), ok)
	// Output: 100 true
}

func ExampleMemory_SweepEvery() {
	ctx, cancel := context.WithCancel(context.Background())
	s := store.NewMemory(store.MemoryOptions{})
	go s.SweepEvery(ctx, time.Minute)
	// ... use s ...
	cancel()
	s.Close()
	fmt.Println("stopped")
	// Output: stopped
}

func ExampleUpdateMany() {
	ctx := context.Background()
	var s store.Store = store.NewMemory(store.MemoryOptions{})
	defer s.Close()

	// Move one unit from one account to another, both or neither: one
	// transaction in memory or bbolt, one round trip to Redis.
	s.Set(ctx, "from", []byte("10"), 0)
	err := store.UpdateMany(ctx, s, []string{"from", "to"}, func(recs []store.Record) error {
		from, _ := strconv.Atoi(string(recs[0].Value))
		to, _ := strconv.Atoi(string(recs[1].Value)) // absent reads as 0
		if from == 0 {
			return store.ErrNoChange
		}
		recs[0].Value, recs[0].Write = strconv.AppendInt(nil, int64(from-1), 10), true
		recs[1].Value, recs[1].Write = strconv.AppendInt(nil, int64(to+1), 10), true
		return nil
	})
	from, _, _ := s.Get(ctx, "from")
	to, _, _ := s.Get(ctx, "to")
	fmt.Println(string(from), string(to), err)
	// Output:
	// 9 1 <nil>
}
