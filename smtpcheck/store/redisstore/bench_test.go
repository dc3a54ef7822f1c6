package redisstore_test

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

func benchStore(b *testing.B) *redisstore.Store {
	c := client(b)
	return redisstore.New(c, redisstore.Options{Prefix: prefix(b, c)})
}

func BenchmarkGet(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	s.Set(ctx, "grey:k", []byte("1735732800"), time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := s.Get(ctx, "grey:k"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	fn := func(old []byte, ok bool) ([]byte, time.Duration, error) {
		n, _ := strconv.Atoi(string(old))
		return strconv.AppendInt(old[:0], int64(n+1), 10), time.Hour, nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Update(ctx, "grey:k", fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIncr(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Incr(ctx, "rate:192.0.2.1", 1, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIncrDeadline is Incr as a caller with a per-command deadline
// makes it.
func BenchmarkIncrDeadline(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(b.Context(), time.Second)
		_, err := s.Incr(ctx, "rate:192.0.2.1", 1, time.Minute)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateConcurrent is 16 callers updating records of their own
// at once, as a policy service's connections do, on one thread
// (GOMAXPROCS=1, policyd's default): its trips/op is the round trips per
// call that pipelining leaves.
func BenchmarkUpdateConcurrent(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var trips redistest.Counter
	c := redistest.Client(b, "", &trips)
	s := redisstore.New(c, redisstore.Options{Prefix: prefix(b, c)})
	ctx := b.Context()
	fn := func(old []byte, ok bool) ([]byte, time.Duration, error) {
		n, _ := strconv.Atoi(string(old))
		return strconv.AppendInt(old[:0], int64(n+1), 10), time.Hour, nil
	}
	const workers = 16
	var next atomic.Int64
	run := func(n int64) {
		var wg sync.WaitGroup
		for w := range workers {
			key := "grey:" + strconv.Itoa(w)
			wg.Go(func() {
				for next.Add(1) <= n {
					if err := s.Update(ctx, key, fn); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	run(workers) // the script loaded, each key's guess known
	next.Store(0)
	trips.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	run(int64(b.N))
	b.ReportMetric(float64(trips.Load())/float64(b.N), "trips/op")
}
