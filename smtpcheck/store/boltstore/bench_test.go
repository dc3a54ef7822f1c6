package boltstore_test

import (
	"context"
	"path/filepath"
	"strconv"
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
		ctx := context.Background()
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
		ctx := context.Background()
		for b.Loop() {
			if err := s.Update(ctx, "grey:k", fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkIncr(b *testing.B) {
	benchStores(b, func(b *testing.B, s *boltstore.Store) {
		ctx := context.Background()
		for b.Loop() {
			if _, err := s.Incr(ctx, "rate:192.0.2.1", 1, time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
}
