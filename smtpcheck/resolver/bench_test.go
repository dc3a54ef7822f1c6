package resolver_test

import (
	"context"
	"testing"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

func BenchmarkQueryCached(b *testing.B) {
	srv := dnstest.New(b)
	srv.Add("host.test A 192.0.2.1")
	r, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})
	ctx := context.Background()
	r.Query(ctx, "host.test.", dns.TypeA)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Query(ctx, "host.test.", dns.TypeA); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQueryCachedParallel(b *testing.B) {
	srv := dnstest.New(b)
	srv.Add("host.test A 192.0.2.1")
	r, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})
	ctx := context.Background()
	r.Query(ctx, "host.test.", dns.TypeA)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Query(ctx, "host.test.", dns.TypeA)
		}
	})
}

func BenchmarkQueryWire(b *testing.B) {
	srv := dnstest.New(b)
	srv.Add("host.test A 192.0.2.1")
	r, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}, CacheSize: -1})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Query(ctx, "host.test.", dns.TypeA); err != nil {
			b.Fatal(err)
		}
	}
}
