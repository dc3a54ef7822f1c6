package hygiene_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

func ExamplePostfixInvalidHelo() {
	check := hygiene.PostfixInvalidHelo(hygiene.PostfixConfig{})
	for _, helo := range []string{"mx.example.org", "[1.2.3]", "my pc"} {
		s := checktest.NewSession("192.0.2.1").Helo(helo).At(smtpcheck.StageHelo)
		r := check(context.Background(), s)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %v %s", helo, r.Action, r.Reply.Error())))
	}
	// Output:
	// mx.example.org: continue
	// [1.2.3]: reject 501 5.5.2 <[1.2.3]>: Helo command rejected: invalid ip address
	// my pc: reject 501 5.5.2 <my pc>: Helo command rejected: Invalid name
}

func ExamplePostfixNonFQDNHelo() {
	// non_fqdn_reject_code = 550 instead of Postfix's default 504.
	check := hygiene.PostfixNonFQDNHelo(hygiene.PostfixConfig{NonFQDNCode: 550})
	s := checktest.NewSession("192.0.2.1").Helo("localhost").At(smtpcheck.StageHelo)
	r := check(context.Background(), s)
	fmt.Println(r.Action, r.Reply.Error())
	// Output: reject 550 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname
}

func ExamplePostfixNonFQDNAddress() {
	check := hygiene.PostfixNonFQDNAddress(hygiene.PostfixConfig{}, true)
	for _, to := range []string{"postmaster", "root@localhost"} {
		s := checktest.NewSession("192.0.2.1").Helo("mx.example.org").From("a@example.org").To(to).At(smtpcheck.StageRcpt)
		r := check(context.Background(), s)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %v %s", to, r.Action, r.Reply.Error())))
	}
	// Output:
	// postmaster: continue
	// root@localhost: reject 504 5.5.2 <root@localhost>: Recipient address rejected: need fully-qualified address
}

// exampleResolver is a resolver on an in-process DNS server that knows
// one domain.
func exampleResolver() (*resolver.Resolver, func()) {
	srv, err := dnstest.Start()
	if err != nil {
		panic(err)
	}
	srv.Zone("example.test", 60)
	srv.Add("mx.example.test. A 192.0.2.25", "example.test. MX 10 mx.example.test.")
	res, err := resolver.New(resolver.Config{Servers: []string{srv.Addr()}, Timeout: time.Second})
	if err != nil {
		panic(err)
	}
	return res, srv.Close
}

func ExamplePostfixUnknownHelo() {
	res, stop := exampleResolver()
	defer stop()
	check := hygiene.PostfixUnknownHelo(hygiene.PostfixConfig{Resolver: res})
	for _, helo := range []string{"mx.example.test", "ghost.example.test"} {
		s := checktest.NewSession("192.0.2.1").Helo(helo).At(smtpcheck.StageHelo)
		r := check(context.Background(), s)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %v %s", helo, r.Action, r.Reply.Error())))
	}
	// Output:
	// mx.example.test: continue
	// ghost.example.test: tempfail 450 4.7.1 <ghost.example.test>: Helo command rejected: Host not found
}

func ExamplePostfixUnknownDomain() {
	res, stop := exampleResolver()
	defer stop()
	// unknown_address_reject_code = 550: a domain that does not exist is
	// refused for good; a lookup that fails now would still get 450.
	check := hygiene.PostfixUnknownDomain(hygiene.PostfixConfig{Resolver: res, UnknownAddressCode: 550}, false)
	for _, from := range []string{"a@example.test", "a@ghost.example.test"} {
		s := checktest.NewSession("192.0.2.1").Helo("mx.example.org").From(from).At(smtpcheck.StageMail)
		r := check(context.Background(), s)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s: %v %s", from, r.Action, r.Reply.Error())))
	}
	// Output:
	// a@example.test: continue
	// a@ghost.example.test: reject 550 5.1.8 <a@ghost.example.test>: Sender address rejected: Domain not found
}

func ExampleHeloRequired() {
	check := hygiene.HeloRequired()
	s := checktest.NewSession("192.0.2.1").From("a@example.org").At(smtpcheck.StageMail)
	r := check(context.Background(), s)
	fmt.Println(r.Action, r.Reply.Error())
	// Output: reject 503 5.5.1 Error: send HELO/EHLO first
}
