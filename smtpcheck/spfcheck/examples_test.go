package spfcheck_test

import (
	"context"
	"fmt"

	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/spfcheck"
)

func ExampleMail() {
	srv, _ := dnstest.Start()
	defer srv.Close()
	srv.Zone("example.com", 60)
	srv.Add(`example.com. TXT "v=spf1 ip4:192.0.2.0/24 -all"`)
	res, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})

	check := spfcheck.Mail(spfcheck.Config{Resolver: res})
	s := checktest.NewSession("198.51.100.7").Helo("mx.elsewhere.example").From("alice@example.com").Session()
	r := check(context.Background(), s)
	fmt.Println(r.Action, r.Reply.Error())
	o, _ := spfcheck.ResultOf(s)
	fmt.Println(o.Result, o.Pass())
	// Output:
	// reject 550 5.7.23 SPF check failed: example.com does not designate [198.51.100.7] as a permitted sender
	// fail false
}

func ExampleHelo() {
	srv, _ := dnstest.Start()
	defer srv.Close()
	srv.Zone("example.com", 60)
	srv.Add(`mx.example.com. TXT "v=spf1 a -all"`, "mx.example.com. A 192.0.2.25")
	res, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})

	s := checktest.NewSession("192.0.2.25").Helo("mx.example.com").Session()
	r := spfcheck.Helo(spfcheck.Config{Resolver: res, Receiver: "mx.our.example"})(context.Background(), s)
	fmt.Println(r.Action, r.Headers[0].Name)
	fmt.Println(r.Headers[0].Value)
	// Output:
	// continue Received-SPF
	// pass (mx.our.example: domain of mx.example.com designates 192.0.2.25 as permitted sender) client-ip=192.0.2.25; envelope-from="postmaster@mx.example.com"; helo=mx.example.com; receiver=mx.our.example; identity=helo;
}
