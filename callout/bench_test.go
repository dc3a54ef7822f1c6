package callout_test

import (
	"testing"

	"github.com/smtppolicy/smtppolicy/callout"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// BenchmarkSenderCheckCached is a sender check answered from the verify
// cache in memory, the cost every message from a known sender pays: a
// refusal with its catalog reply, and a pass.
//
// Measured on 2 shared cores under a load average of 8 to 11 (go test
// -bench . -benchmem -count 10, so the spread is wide): the verdict alone
// (BenchmarkVerifyCached) 459 ns fastest, about 670 ns median, 128 B in 2
// allocations; the refusal 723-781 ns fastest, about 910 ns median, 264 B
// in 4; the pass 536-915 ns fastest, 304 B in 4. Half of what is left is
// the memory store's lookup (its clock read and the copy it hands out).
func BenchmarkSenderCheckCached(b *testing.B) {
	m := startMailServerB(b)
	_, r := newDNS(b, "ok.test. 300 IN MX 10 mx.ok.test.", "mx.ok.test. 300 IN A 127.0.0.1")
	s := store.NewMemory(store.MemoryOptions{})
	b.Cleanup(func() { s.Close() })
	v := newVerifier(b, callout.Config{Resolver: r, Store: s, OnError: smtpcheck.FailTemp}, m.port)
	check := v.SenderCheck()
	for _, tc := range []struct{ name, sender string }{{"refused", "nobody@ok.test"}, {"deliverable", "ok@ok.test"}} {
		sess := checktest.NewSession("192.0.2.1").From(tc.sender).Session()
		ctx := b.Context()
		first := check(ctx, sess) // the probe that fills the cache
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r := check(ctx, sess); r.Action != first.Action {
					b.Fatalf("cached verdict %v, probed %v", r.Action, first.Action)
				}
			}
		})
	}
}

// BenchmarkVerifyCached is the verdict alone, from the verify cache in
// memory.
func BenchmarkVerifyCached(b *testing.B) {
	m := startMailServerB(b)
	_, r := newDNS(b, "ok.test. 300 IN MX 10 mx.ok.test.", "mx.ok.test. 300 IN A 127.0.0.1")
	s := store.NewMemory(store.MemoryOptions{})
	b.Cleanup(func() { s.Close() })
	v := newVerifier(b, callout.Config{Resolver: r, Store: s}, m.port)
	a := smtpcheck.ParseAddress("nobody@ok.test")
	ctx := b.Context()
	v.Verify(ctx, a)
	b.ReportAllocs()
	for b.Loop() {
		if vd := v.Verify(ctx, a); !vd.Cached {
			b.Fatal("not from the cache")
		}
	}
}
