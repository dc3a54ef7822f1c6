package msgauth_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/msgauth"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// A message signed by example.net, whose key and DMARC policy the DNS
// serves, passes with an Authentication-Results header; the same message
// altered in transit is refused by the domain's p=reject.
func ExampleVerifier_Check() {
	t := &testing.T{}
	w := newWorld(t)
	w.txt("_dmarc.example.net", "v=DMARC1; p=reject")
	v, err := msgauth.New(msgauth.Config{Resolver: w.res, AuthServID: "mx.example.org"})
	if err != nil {
		fmt.Println(err)
		return
	}
	signed := sign(t, plainMessage, "example.net", "ed")
	r := v.Check()(context.Background(), session(t, signed, "alice@example.net"))
	fmt.Println(r.Action)
	fmt.Println(r.Headers[0].Name + ": " + strings.ReplaceAll(r.Headers[0].Value, "\r\n", "\n"))

	altered := strings.Replace(signed, "Tuesday", "Friday", 1)
	r = v.Check()(context.Background(), session(t, altered, "alice@example.net"))
	fmt.Println(r.DefaultReply())
	fmt.Println(r.Reason)
	// Output:
	// continue
	// Authentication-Results: mx.example.org;
	// 	dkim=pass header.d=example.net header.i=@example.net;
	// 	dmarc=pass header.from=example.net
	// 550 5.7.1 message refused: DMARC policy of example.net says reject (no aligned DKIM or SPF pass; p=reject)
	// msgauth rule=dmarc matched=fail evidence=example.net: no aligned DKIM or SPF pass; p=reject
}

// Verify reports the results without deciding, for a program that wants
// them for its own use; ResultOf finds what Check stored.
func ExampleVerifier_Verify() {
	t := &testing.T{}
	w := newWorld(t)
	v, _ := msgauth.New(msgauth.Config{Resolver: w.res, AuthServID: "mx.example.org"})
	s := session(t, sign(t, plainMessage, "example.net", "rsa"), "alice@example.net")
	o, err := v.Verify(context.Background(), s)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.DKIM, o.Signatures[0].Domain, o.DMARC.Result, o.DMARC.Reason)
	v.Check()(context.Background(), s)
	stored, ok := msgauth.ResultOf(s)
	fmt.Println(ok, stored.DKIM)
	// Output:
	// pass example.net none no DMARC record
	// true pass
}

// New needs the resolver the DKIM keys and DMARC records are looked up on.
func ExampleNew() {
	_, err := msgauth.New(msgauth.Config{})
	fmt.Println(err)
	// Output: msgauth: no resolver
}

// ResultOf is empty until the check has run.
func ExampleResultOf() {
	_, ok := msgauth.ResultOf(&smtpcheck.Session{})
	fmt.Println(ok)
	// Output: false
}
