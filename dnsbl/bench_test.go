package dnsbl_test

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// BenchmarkCachedVerdict is the common case on a busy server: the client
// was seen within the TTL, so the verdict comes from the cache, into the
// reused Verdict that ClientCheck keeps for its evaluations.
//
//	go test ./dnsbl -run XXX -bench CachedVerdict -benchmem -count 5
//
// Ten interleaved rounds on a loaded 2-core VM: median 267 ns/op at commit
// b9fb416 (a mutex, two clock reads and a name check per cache hit), 87
// ns/op after (lock-free front of the cache, coarse clock), 0 allocs.
func BenchmarkCachedVerdict(b *testing.B) {
	srv := dnstest.New(b)
	srv.ListIP("zen.test", client, "127.0.0.2")
	c := newChecker(b, srv, dnsbl.Config{}, "zen.test")
	ip := netip.MustParseAddr(client)
	ctx := b.Context()
	var v dnsbl.Verdict
	c.CheckIPInto(ctx, ip, &v)
	b.ReportAllocs()
	for b.Loop() {
		if c.CheckIPInto(ctx, ip, &v); v.Score != 1 || !v.Lists[0].Cached {
			b.Fatalf("score %d cached %v", v.Score, v.Lists[0].Cached)
		}
	}
}

// BenchmarkCachedVerdictNew is the same with a new Verdict each time
// (CheckIP), as a caller that keeps its verdicts pays.
func BenchmarkCachedVerdictNew(b *testing.B) {
	srv := dnstest.New(b)
	srv.ListIP("zen.test", client, "127.0.0.2")
	c := newChecker(b, srv, dnsbl.Config{}, "zen.test")
	ip := netip.MustParseAddr(client)
	ctx := b.Context()
	c.CheckIP(ctx, ip)
	b.ReportAllocs()
	for b.Loop() {
		if v := c.CheckIP(ctx, ip); v.Score != 1 {
			b.Fatalf("score %d", v.Score)
		}
	}
}

// BenchmarkCachedVerdictThreeZones adds the allowlist and a second list
// that a real configuration has.
func BenchmarkCachedVerdictThreeZones(b *testing.B) {
	srv := dnstest.New(b)
	srv.ListIP("zen.test", client, "127.0.0.2")
	srv.Zone("bl.test", 60)
	srv.Zone("wl.test", 60)
	c := newChecker(b, srv, dnsbl.Config{}, "zen.test*2", "bl.test", "wl.test*-2")
	ip := netip.MustParseAddr(client)
	ctx := b.Context()
	var v dnsbl.Verdict
	c.CheckIPInto(ctx, ip, &v)
	b.ReportAllocs()
	for b.Loop() {
		if c.CheckIPInto(ctx, ip, &v); v.Score != 2 {
			b.Fatalf("score %d", v.Score)
		}
	}
}

// BenchmarkTenSlowZones: ten zones each answering after 20 ms must give a
// verdict in about 20 ms, not 200 ms. The cache is off so that every
// iteration goes to the wire.
func BenchmarkTenSlowZones(b *testing.B) {
	srv := dnstest.New(b)
	var specs []string
	for i := range 10 {
		z := fmt.Sprintf("z%d.test", i)
		srv.ListIP(z, client, "127.0.0.2")
		srv.Latency(z, 20*time.Millisecond)
		specs = append(specs, z)
	}
	r := srv.Resolver(resolver.Config{CacheSize: -1})
	c := newChecker(b, srv, dnsbl.Config{Resolver: r}, specs...)
	ip := netip.MustParseAddr(client)
	b.ReportAllocs()
	for b.Loop() {
		if v := c.CheckIP(b.Context(), ip); v.Score != 10 {
			b.Fatalf("score %d, want 10", v.Score)
		}
	}
}

// BenchmarkConcurrentEvaluations runs 1,000 evaluations at once against
// the test server (distinct clients, so every one goes to the wire) and
// checks that no goroutine is left behind.
func BenchmarkConcurrentEvaluations(b *testing.B) {
	srv := dnstest.New(b)
	srv.ListIP("zen.test", client, "127.0.0.2")
	srv.Zone("bl.test", 60)
	r := srv.Resolver(resolver.Config{CacheSize: -1, Timeout: 2 * time.Second})
	c := newChecker(b, srv, dnsbl.Config{Resolver: r}, "zen.test", "bl.test")
	before := runtime.NumGoroutine()
	b.ReportAllocs()
	for b.Loop() {
		var wg sync.WaitGroup
		for i := range 1000 {
			ip := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
			wg.Go(func() { c.CheckIP(b.Context(), ip) })
		}
		wg.Wait()
	}
	b.StopTimer()
	if n := goroutinesSettle(before); n > before {
		b.Errorf("goroutines after the evaluations = %d, want at most %d", n, before)
	}
}

// goroutinesSettle waits up to 5 s for the goroutine count to fall back
// to before, and returns the count.
func goroutinesSettle(before int) int {
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return runtime.NumGoroutine()
}

func TestNoGoroutineLeftBehind(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("zen.test", client, "127.0.0.2")
	srv.Silence("quiet.test")
	srv.Latency("slow.test", 50*time.Millisecond)
	r := srv.Resolver(resolver.Config{Timeout: time.Minute})
	c := newChecker(t, srv, dnsbl.Config{Resolver: r, Timeout: 30 * time.Millisecond}, "zen.test", "quiet.test", "slow.test")
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for i := range 1000 {
		ip := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		wg.Go(func() { c.CheckIP(t.Context(), ip) })
	}
	wg.Wait()
	if n := goroutinesSettle(before); n > before {
		t.Errorf("goroutines after 1000 evaluations with a silent zone = %d, want at most %d", n, before)
	}
}
