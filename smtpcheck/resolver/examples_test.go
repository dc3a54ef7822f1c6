package resolver_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// exampleServer starts a test DNS server; a program would use its
// recursive servers (Config.Servers, or /etc/resolv.conf by default).
func exampleServer() *dnstest.Server {
	srv, err := dnstest.Start()
	if err != nil {
		panic(err)
	}
	srv.Zone("example.test", 300)
	srv.Add(
		"example.test. 3600 IN MX 10 mx.example.test.",
		"mx.example.test. 3600 IN A 192.0.2.1",
		"1.2.0.192.in-addr.arpa. 3600 IN PTR mx.example.test.",
	)
	return srv
}

func ExampleNew() {
	srv := exampleServer()
	defer srv.Close()

	r, err := resolver.New(resolver.Config{
		Servers: []string{srv.Addr()},
		Timeout: time.Second,
		MinTTL:  60 * time.Second, // as postscreen
		MaxTTL:  time.Hour,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mxs, err := r.LookupMX(ctx, "example.test")
	fmt.Println(mxs, err)
	// Output: [{mx.example.test 10}] <nil>
}

func ExampleResolver_Query() {
	srv := exampleServer()
	defer srv.Close()
	r, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})
	ctx := context.Background()

	// NXDOMAIN is an answer, not an error.
	a, err := r.Query(ctx, "2.0.0.127.zen.example.test", dns.TypeA)
	fmt.Println(a.NXDomain(), a.TTL, err)
	// The second time it comes from the cache.
	a, _ = r.Query(ctx, "2.0.0.127.zen.example.test", dns.TypeA)
	fmt.Println(a.Cached)
	// Output:
	// true 5m0s <nil>
	// true
}

func ExampleIsNotFound() {
	srv := exampleServer()
	defer srv.Close()
	srv.ServFail("broken.example.test")
	r, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}, Attempts: 1})
	ctx := context.Background()

	_, err := r.LookupA(ctx, "nohost.example.test")
	fmt.Println(resolver.IsNotFound(err), resolver.IsTemporary(err))
	_, err = r.LookupA(ctx, "broken.example.test")
	fmt.Println(errors.Is(err, resolver.ErrServFail), resolver.IsTemporary(err))
	// Output:
	// true false
	// true true
}

func ExampleResolver_VerifyPTR() {
	srv := exampleServer()
	defer srv.Close()
	r, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})
	names, confirmed, err := r.VerifyPTR(context.Background(), netip.MustParseAddr("192.0.2.1"))
	fmt.Println(names, confirmed, err)
	// Output: [mx.example.test] [mx.example.test] <nil>
}

func ExampleResolver_Net() {
	srv := exampleServer()
	defer srv.Close()
	r, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})
	// r.Net() fits blitiri.com.ar/go/spf's WithResolver and any other
	// consumer of *net.Resolver's method set.
	names, err := r.Net().LookupAddr(context.Background(), "192.0.2.1")
	fmt.Println(names, err)
	// Output: [mx.example.test.] <nil>
}

func ExampleResolver_Stats() {
	srv := exampleServer()
	defer srv.Close()
	r, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})
	for range 3 {
		r.LookupA(context.Background(), "mx.example.test")
	}
	st := r.Stats()
	fmt.Println(st.Queries, st.CacheHits, st.Exchanges, st.Entries)
	// Output: 3 2 1 1
}
