package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

func BenchmarkMemoryIncr(b *testing.B) {
	s := store.NewMemory(store.MemoryOptions{})
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Incr(ctx, "rate:192.0.2.1", 1, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryIncrParallel(b *testing.B) {
	s := store.NewMemory(store.MemoryOptions{})
	ctx := b.Context()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Incr(ctx, "rate:192.0.2.1", 1, time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMemoryGet(b *testing.B) {
	s := store.NewMemory(store.MemoryOptions{})
	ctx := b.Context()
	s.Set(ctx, "grey:k", []byte("1735732800"), time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := s.Get(ctx, "grey:k"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkMemoryUpdate(b *testing.B) {
	s := store.NewMemory(store.MemoryOptions{})
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
