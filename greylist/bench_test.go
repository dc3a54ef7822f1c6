package greylist

import (
	"net/netip"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/smtppolicy/smtppolicy/internal/storekind"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// BenchmarkAttempt measures greylisting decisions per second on each store:
// a working set of 1000 triplets, so most attempts find a record.
func BenchmarkAttempt(b *testing.B) {
	for _, name := range []string{"memory", "bolt", "redis"} {
		b.Run(name, func(b *testing.B) {
			ctx := b.Context()
			g, trips := benchGreylist(b, name)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := g.Attempt(ctx, trips[i%len(trips)], ""); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
	}
}

// benchGreylist is a Greylist on the named store and a working set of 1000
// triplets, so most attempts find a record.
func benchGreylist(b *testing.B, name string) (*Greylist, []Triplet) {
	clk := newClock()
	s, prefix := storekind.Open(b, name, clk)
	g, err := New(Config{Store: s, Now: clk.Now, KeyPrefix: prefix, AutoAllow: -1})
	if err != nil {
		b.Fatal(err)
	}
	trips := make([]Triplet, 1000)
	for i := range trips {
		trips[i] = Triplet{Client: netip.MustParsePrefix("192.0.2.0/24"), Sender: "s" + strconv.Itoa(i) + "@example.org", Rcpt: "r@example.net"}
	}
	return g, trips
}

// BenchmarkCheck is the whole RCPT check on the memory store, allowlists included.
func BenchmarkCheck(b *testing.B) {
	ctx := b.Context()
	g, err := New(Config{Store: store.NewMemory(store.MemoryOptions{}), AutoAllow: -1})
	if err != nil {
		b.Fatal(err)
	}
	check := g.Check()
	s := checktest.NewSession("192.0.2.10").PTR("mx.example.org").From("bounce-123@example.org").To("b@example.net").Session()
	b.ReportAllocs()
	for b.Loop() {
		if r := check(ctx, s); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}

func BenchmarkNormalizeSender(b *testing.B) {
	a := smtpcheck.ParseAddress("prvs=0123456789=Bounce-12345-user=example.net@Lists.Example.ORG")
	b.ReportAllocs()
	for b.Loop() {
		NormalizeSender(a)
	}
}

// BenchmarkAttemptParallel is BenchmarkAttempt from 16 concurrent callers
// (with GOMAXPROCS dividing 16), as a policy server with 16 connections
// makes them.
func BenchmarkAttemptParallel(b *testing.B) {
	for _, name := range []string{"memory", "bolt", "redis"} {
		b.Run(name, func(b *testing.B) {
			ctx := b.Context()
			g, trips := benchGreylist(b, name)
			b.ReportAllocs()
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1)) * 61
				for pb.Next() {
					if _, err := g.Attempt(ctx, trips[i%len(trips)], ""); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
	}
}

// BenchmarkAttemptRedisRoundTrips counts the Redis round trips of one
// greylisting decision, with auto-allow on as policyd runs it: a first
// sight, and an early retry of a triplet still in its delay.
func BenchmarkAttemptRedisRoundTrips(b *testing.B) {
	var calls redistest.Counter
	c := redistest.Client(b, redisAddr, &calls)
	prefix := randomPrefix(b, c)
	clk := newClock()
	g, err := New(Config{Store: redisstore.New(c, redisstore.Options{}), Now: clk.Now, KeyPrefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	trip := func(i int) Triplet {
		return Triplet{Client: netip.MustParsePrefix("192.0.2.0/24"), Addr: netip.MustParseAddr("192.0.2.1"),
			Sender: "s" + strconv.Itoa(i) + "@example.org", Rcpt: "r@example.net"}
	}
	seen := 0 // triplets seen so far, each once
	for _, phase := range []string{"first-sight", "early-retry"} {
		b.Run(phase, func(b *testing.B) {
			ctx := b.Context()
			calls.Reset()
			n := 0
			for b.Loop() {
				i := seen
				if phase == "first-sight" {
					seen++
				} else {
					i = n % seen
				}
				d, err := g.Attempt(ctx, trip(i), "")
				if err != nil {
					b.Fatal(err)
				}
				if want := map[string]Outcome{"first-sight": FirstSeen, "early-retry": EarlyRetry}[phase]; d.Outcome != want {
					b.Fatalf("Attempt %d = %v, want %v", n, d.Outcome, want)
				}
				n++
			}
			b.ReportMetric(float64(calls.Load())/float64(n), "round-trips/op")
		})
	}
}
