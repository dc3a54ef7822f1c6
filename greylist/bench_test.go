package greylist

import (
	"net/netip"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// BenchmarkAttempt measures greylisting decisions per second on each store:
// a working set of 1000 triplets, so most attempts find a record.
func BenchmarkAttempt(b *testing.B) {
	for _, name := range []string{"memory", "bolt", "redis"} {
		b.Run(name, func(b *testing.B) {
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
	s, prefix := stores[name](b, clk)
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
