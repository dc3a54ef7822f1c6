package boltstore_test

import (
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store/boltstore"
)

func benchStores(b *testing.B, fn func(b *testing.B, s *boltstore.Store)) {
	for _, noSync := range []bool{false, true} {
		b.Run("NoSync="+strconv.FormatBool(noSync), func(b *testing.B) {
			s := open(b, filepath.Join(b.TempDir(), "s.db"), boltstore.Options{NoSync: noSync})
			b.ReportAllocs()
			fn(b, s)
		})
	}
}

func BenchmarkGet(b *testing.B) {
	benchStores(b, func(b *testing.B, s *boltstore.Store) {
		ctx := b.Context()
		s.Set(ctx, "grey:k", []byte("1735732800"), time.Hour)
		for b.Loop() {
			if _, ok, err := s.Get(ctx, "grey:k"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}

func BenchmarkUpdate(b *testing.B) {
	fn := func(old []byte, ok bool) ([]byte, time.Duration, error) {
		n, _ := strconv.Atoi(string(old))
		return strconv.AppendInt(old[:0], int64(n+1), 10), time.Hour, nil
	}
	benchStores(b, func(b *testing.B, s *boltstore.Store) {
		ctx := b.Context()
		for b.Loop() {
			if err := s.Update(ctx, "grey:k", fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkIncr(b *testing.B) {
	benchStores(b, func(b *testing.B, s *boltstore.Store) {
		ctx := b.Context()
		for b.Loop() {
			if _, err := s.Incr(ctx, "rate:192.0.2.1", 1, time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchParallel runs fn from 16 concurrent callers (with GOMAXPROCS
// dividing 16), as a policy server with 16 connections makes them.
func benchParallel(b *testing.B, fn func(s *boltstore.Store, i int) error) {
	benchStores(b, func(b *testing.B, s *boltstore.Store) {
		b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
		var next atomic.Int64
		commits0 := s.Commits()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1))
			for pb.Next() {
				if err := fn(s, i); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		if c := s.Commits() - commits0; c > 0 {
			b.ReportMetric(float64(b.N)/float64(c), "ops/commit")
		}
	})
}

// BenchmarkUpdateParallel is Update from 16 concurrent callers, each on
// its own key.
func BenchmarkUpdateParallel(b *testing.B) {
	fn := func(old []byte, ok bool) ([]byte, time.Duration, error) {
		n, _ := strconv.Atoi(string(old))
		return strconv.AppendInt(old[:0], int64(n+1), 10), time.Hour, nil
	}
	benchParallel(b, func(s *boltstore.Store, i int) error {
		return s.Update(b.Context(), "grey:k"+strconv.Itoa(i), fn)
	})
}

// BenchmarkIncrParallel is Incr from 16 concurrent callers on one counter.
func BenchmarkIncrParallel(b *testing.B) {
	benchParallel(b, func(s *boltstore.Store, i int) error {
		_, err := s.Incr(b.Context(), "rate:192.0.2.1", 1, time.Minute)
		return err
	})
}
