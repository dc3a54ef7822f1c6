package dnstest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

func ExampleNew() {
	// In a test: srv := dnstest.New(t), which also registers srv.Close.
	srv, err := dnstest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	srv.Add(
		"example.test. 300 IN MX 10 mx.example.test.",
		"mx.example.test. 300 IN A 192.0.2.1",
	)
	// Any stdlib-style consumer can be pointed at the server.
	r := srv.NetResolver()
	mxs, err := r.LookupMX(context.Background(), "example.test")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(mxs[0].Host, mxs[0].Pref)
	// Output: mx.example.test. 10
}

func ExampleServer_Resolver() {
	srv, _ := dnstest.Start()
	defer srv.Close()
	srv.Add("mx.example.test. 300 IN A 192.0.2.1")
	// The library's own resolver, asking this server alone.
	r := srv.Resolver(resolver.Config{Timeout: time.Second})
	addrs, err := r.LookupA(context.Background(), "mx.example.test")
	fmt.Println(addrs, err)
	// Output: [192.0.2.1] <nil>
}

func ExampleServer_ListIP() {
	srv, _ := dnstest.Start()
	defer srv.Close()
	srv.ListIP("zen.test", "192.0.2.99", "127.0.0.2", "listed for testing")
	addrs, _ := srv.NetResolver().LookupHost(context.Background(), "99.2.0.192.zen.test")
	txt, _ := srv.NetResolver().LookupTXT(context.Background(), "99.2.0.192.zen.test")
	fmt.Println(addrs, txt)
	// Output: [127.0.0.2] [listed for testing]
}

func ExampleServer_ListDomain() {
	srv, _ := dnstest.Start()
	defer srv.Close()
	srv.ListDomain("dbl.test", "spam.example", "127.0.1.2")
	addrs, _ := srv.NetResolver().LookupHost(context.Background(), "spam.example.dbl.test")
	fmt.Println(addrs)
	// Output: [127.0.1.2]
}

func ExampleServer_ServFail() {
	srv, _ := dnstest.Start()
	defer srv.Close()
	srv.ListIP("broken.test", "192.0.2.1", "127.0.0.2")
	srv.ServFail("broken.test") // every name in the zone
	_, err := srv.NetResolver().LookupHost(context.Background(), "1.2.0.192.broken.test")
	fmt.Println(err != nil)
	fmt.Println(srv.Count("1.2.0.192.broken.test", 1) > 0)
	// Output:
	// true
	// true
}
