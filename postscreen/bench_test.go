package postscreen

import (
	"net/netip"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// A cached client costs one read of the store: on Redis, one round trip.
func TestBeginOneRoundTripOnRedis(t *testing.T) {
	var n redistest.Counter
	c := redistest.Client(t, redistest.Addr, &n)
	cache, err := NewCache(CacheConfig{Store: redisstore.New(c, redisstore.Options{}), Prefix: redistest.Prefix(t, c) + "ps:"})
	if err != nil {
		t.Fatal(err)
	}
	sc := New(Config{Cache: cache, Enabled: Tests(0).With(Pregreet).With(DNSBL)})
	ctx := t.Context()
	if err := sc.Finish(ctx, client, sc.Config().Enabled, 0, 0); err != nil {
		t.Fatal(err)
	}
	n.Reset()
	st := sc.Begin(ctx, client)
	if !st.Cached {
		t.Fatalf("Begin = %+v, want cached", st)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("Begin of a cached client took %d Redis round trips, want 1", got)
	}
}

func BenchmarkCacheHitMemory(b *testing.B) {
	s := store.NewMemory(store.MemoryOptions{})
	defer s.Close()
	cache, _ := NewCache(CacheConfig{Store: s})
	sc := New(Config{Cache: cache, Enabled: Tests(0).With(Pregreet).With(DNSBL).With(Pipelining).With(NonSMTP).With(BareNewline)})
	ctx := b.Context()
	sc.Finish(ctx, client, sc.Config().Enabled, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		if !sc.Begin(ctx, client).Cached {
			b.Fatal("not cached")
		}
	}
}

func BenchmarkCacheHitRedis(b *testing.B) {
	c := redistest.Client(b, redistest.Addr)
	cache, _ := NewCache(CacheConfig{Store: redisstore.New(c, redisstore.Options{}), Prefix: redistest.Prefix(b, c) + "ps:"})
	sc := New(Config{Cache: cache, Enabled: Tests(0).With(Pregreet).With(DNSBL)})
	ctx := b.Context()
	sc.Finish(ctx, client, sc.Config().Enabled, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		if !sc.Begin(ctx, client).Cached {
			b.Fatal("not cached")
		}
	}
}

func BenchmarkCacheRecordMemory(b *testing.B) {
	s := store.NewMemory(store.MemoryOptions{})
	defer s.Close()
	cache, _ := NewCache(CacheConfig{Store: s})
	ctx := b.Context()
	ip := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		cache.Record(ctx, ip, Deep, 0, 0)
	}
}
