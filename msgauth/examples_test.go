package msgauth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/smtppolicy/smtppolicy/msgauth"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// A message signed by example.net, whose key and DMARC policy the DNS
// serves, passes with an Authentication-Results header; the same message
// altered in transit is refused by the domain's p=reject.
func ExampleVerifier_Check() {
	// The signer's side: a key, its DNS record, a signed message.
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	dns, err := dnstest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dns.Close()
	dns.Add(`s1._domainkey.example.net. TXT "v=DKIM1; k=ed25519; p=`+base64.StdEncoding.EncodeToString(pub)+`"`,
		`_dmarc.example.net. TXT "v=DMARC1; p=reject"`)
	msg := "From: Alice <alice@example.net>\r\nTo: bob@example.org\r\nSubject: lunch\r\n\r\nTuesday?\r\n"
	var signed bytes.Buffer
	if err := dkim.Sign(&signed, strings.NewReader(msg), &dkim.SignOptions{Domain: "example.net", Selector: "s1", Signer: key}); err != nil {
		fmt.Println(err)
		return
	}

	// The receiver's side.
	res, err := resolver.New(resolver.Config{Servers: []string{dns.Addr()}})
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := msgauth.New(msgauth.Config{Resolver: res, AuthServID: "mx.example.org"})
	if err != nil {
		fmt.Println(err)
		return
	}
	atEndOfData := func(m string) *smtpcheck.Session {
		h, body, _ := smtpcheck.SplitMessage(smtpcheck.BytesBody(m))
		return &smtpcheck.Session{Stage: smtpcheck.StageEndOfData, Header: h, Body: body, Message: smtpcheck.BytesBody(m),
			Mail: &smtpcheck.Mail{From: smtpcheck.ParseAddress("alice@example.net")}}
	}
	r := v.Check()(context.Background(), atEndOfData(signed.String()))
	fmt.Println(r.Action)
	fmt.Println(r.Headers[0].Name + ": " + strings.ReplaceAll(r.Headers[0].Value, "\r\n", "\n"))

	altered := strings.Replace(signed.String(), "Tuesday", "Friday", 1)
	r = v.Check()(context.Background(), atEndOfData(altered))
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
	dns, err := dnstest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dns.Close()
	res, _ := resolver.New(resolver.Config{Servers: []string{dns.Addr()}})
	v, _ := msgauth.New(msgauth.Config{Resolver: res, AuthServID: "mx.example.org"})
	m := smtpcheck.BytesBody("From: alice@example.net\r\n\r\nHello\r\n")
	h, body, _ := smtpcheck.SplitMessage(m)
	s := &smtpcheck.Session{Stage: smtpcheck.StageEndOfData, Header: h, Body: body, Message: m}
	o, err := v.Verify(context.Background(), s)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.DKIM, o.DMARC.Result, o.DMARC.Reason)
	v.Check()(context.Background(), s)
	stored, ok := msgauth.ResultOf(s)
	fmt.Println(ok, stored.DMARC.From)
	// Output:
	// none none no DMARC record
	// true example.net
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
