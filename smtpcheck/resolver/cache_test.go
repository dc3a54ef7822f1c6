package resolver_test

import (
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// With the default (coarse) clock an answer still expires at its TTL: the
// clock's reading is at most a millisecond or so old.
func TestCacheExpiresOnRealClock(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("short.test. 1 A 192.0.2.1")
	r := newResolver(t, resolver.Config{MinTTL: -1}, srv)
	ctx := ctxTimeout(t, 5*time.Second)
	for range 3 {
		if _, err := r.LookupA(ctx, "short.test"); err != nil {
			t.Fatal(err)
		}
	}
	if a, ok := r.Cached("short.test.", dns.TypeA); !ok || a.TTL > time.Second || a.TTL <= 0 {
		t.Fatalf("Cached = TTL %v, %v; want a TTL in (0, 1s]", a.TTL, ok)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, ok := r.Cached("short.test.", dns.TypeA); ok {
		t.Error("answer still cached past its TTL")
	}
	if _, err := r.LookupA(ctx, "short.test"); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("short.test", dns.TypeA); n != 2 {
		t.Errorf("server queries = %d, want 2 (one before, one after expiry)", n)
	}
}

// Cached finds names in any case and with or without the final dot, and
// Flush empties the lock-free front of the cache as well as the rest.
func TestCachedNameFormsAndFlush(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("host.test A 192.0.2.1")
	r := newResolver(t, resolver.Config{}, srv)
	ctx := ctxTimeout(t, 5*time.Second)
	if _, err := r.LookupA(ctx, "host.test"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"host.test.", "host.test", "HOST.Test."} {
		var a resolver.Answer
		if !r.CachedInto(&a, n, dns.TypeA) || !a.Cached || len(a.Addrs()) != 1 {
			t.Errorf("CachedInto(%q) = %+v, want the cached answer", n, a)
		}
	}
	if _, ok := r.Cached("host..test", dns.TypeA); ok {
		t.Error("Cached accepted an invalid name")
	}
	st := r.Stats()
	if st.CacheHits != 3 || st.Queries != 4 {
		t.Errorf("Stats = %+v, want 3 hits of 4 queries", st)
	}
	r.Flush()
	if _, ok := r.Cached("host.test.", dns.TypeA); ok {
		t.Error("answer cached after Flush")
	}
}
