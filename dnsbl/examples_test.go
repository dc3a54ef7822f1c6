package dnsbl_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// exampleLists starts a test DNS server holding three lists; a program
// would use its own resolver (resolver.Config{} reads /etc/resolv.conf).
func exampleLists() (*dnstest.Server, *resolver.Resolver) {
	srv, err := dnstest.Start()
	if err != nil {
		panic(err)
	}
	srv.ListIP("zen.example", "192.0.2.99", "127.0.0.2", "Listed in the SBL, see https://zen.example/")
	srv.ListIP("zen.example", "192.0.2.99", "127.0.0.10")
	srv.ListIP("list.dnswl.example", "192.0.2.7", "127.0.5.2")
	srv.ListDomain("dbl.example", "spam.example", "127.0.1.2")
	r, err := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})
	if err != nil {
		panic(err)
	}
	return srv, r
}

func ExampleParseList() {
	for _, spec := range []string{
		"zen.example=127.0.0.[2;4;10..11]*3",
		"dbl.example&0.0.0.4",
		"list.dnswl.example=127.0.[0..255].[1..3]*-2",
		"zen.example=127.0.0.[2..x]",
	} {
		l, err := dnsbl.ParseList(spec)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(l.Zone, l.Weight, l.Match(netip.MustParseAddr("127.0.0.4")))
	}
	// Output:
	// zen.example 3 true
	// dbl.example 1 true
	// list.dnswl.example -2 false
	// dnsbl: spec "zen.example=127.0.0.[2..x]" at offset 21: bad number "x" in octet 4
}

func ExampleIPQueryName() {
	for _, ip := range []string{"192.0.2.99", "::ffff:192.0.2.99", "2001:db8::1"} {
		q, _ := dnsbl.IPQueryName(netip.MustParseAddr(ip), "zen.example")
		fmt.Println(q)
	}
	// Output:
	// 99.2.0.192.zen.example.
	// 99.2.0.192.zen.example.
	// 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example.
}

func ExampleDomainQueryName() {
	// TEST is RFC 5782's test name, which every domain list lists.
	for _, d := range []string{"Bücher.Example.", "[192.0.2.1]", "evil.example\x00.zen", "TEST"} {
		q, err := dnsbl.DomainQueryName(d, "dbl.example")
		fmt.Printf("%q %v\n", q, err != nil)
	}
	// Output:
	// "xn--bcher-kva.example.dbl.example." false
	// "" true
	// "" true
	// "test.dbl.example." false
}

func ExampleNew() {
	srv, r := exampleLists()
	defer srv.Close()
	lists, _ := dnsbl.ParseLists("zen.example=127.0.0.[2..11]*2", "list.dnswl.example=127.0.[0..255].[1..3]*-5")
	c, err := dnsbl.New(dnsbl.Config{Resolver: r, Lists: lists})
	if err != nil {
		fmt.Println(err)
		return
	}
	v := c.CheckIP(context.Background(), netip.MustParseAddr("192.0.2.99"))
	for _, lr := range v.Lists {
		fmt.Println(lr.List.Zone, lr.Listed, lr.Codes)
	}
	fmt.Println("score", v.Score, "allowed", v.Allowed)
	// Output:
	// zen.example true [127.0.0.2 127.0.0.10]
	// list.dnswl.example false []
	// score 2 allowed false
}

func ExampleClientLists_ClientCheck() {
	srv, r := exampleLists()
	defer srv.Close()
	lists, _ := dnsbl.ParseLists("zen.example*2", "list.dnswl.example*-5")
	c, _ := dnsbl.New(dnsbl.Config{
		Resolver:   r,
		Lists:      lists,
		Thresholds: smtpcheck.Thresholds{Tag: 1, Reject: 2, Allow: -1},
		Style:      dnsbl.StylePostfix, // fetches the TXT reason for the reply
	})
	check := smtpcheck.Named("dnsbl", c.ClientCheck())
	for _, ip := range []string{"192.0.2.99", "192.0.2.7", "192.0.2.1"} {
		s := &smtpcheck.Session{Conn: smtpcheck.Conn{ClientIP: netip.MustParseAddr(ip)}}
		res := check(context.Background(), s)
		fmt.Println(strings.TrimSpace(fmt.Sprint(ip, " ", res.Action, " ", res.Reply.Error())))
	}
	// Output:
	// 192.0.2.99 reject 554 5.7.1 Service unavailable; Client host [192.0.2.99] blocked using zen.example; Listed in the SBL, see https://zen.example/
	// 192.0.2.7 accept
	// 192.0.2.1 continue
}

func ExampleClientLists_SenderCheck() {
	srv, r := exampleLists()
	defer srv.Close()
	c, _ := dnsbl.New(dnsbl.Config{Resolver: r, Kind: dnsbl.DomainList, Lists: []dnsbl.List{{Zone: "dbl.example"}}})
	s := &smtpcheck.Session{
		Conn: smtpcheck.Conn{ClientIP: netip.MustParseAddr("192.0.2.1")},
		Mail: &smtpcheck.Mail{From: smtpcheck.ParseAddress("<bob@SPAM.example>")},
	}
	res := c.SenderCheck()(context.Background(), s)
	fmt.Println(res.Action, res.Reply.Error())
	// Output: reject 550 5.7.0 spam.example [192.0.2.1] black listed by dbl.example
}

func ExampleClientLists_Probe() {
	srv, r := exampleLists()
	defer srv.Close()
	srv.ListIP("zen.example", "127.0.0.2", "127.0.0.2") // the RFC 5782 test point
	srv.Zone("gone.example", 60)                        // answers NXDOMAIN for everything
	lists, _ := dnsbl.ParseLists("zen.example", "gone.example")
	c, _ := dnsbl.New(dnsbl.Config{Resolver: r, Lists: lists})
	for _, st := range c.Probe(context.Background()) {
		fmt.Println(strings.TrimSpace(fmt.Sprint(st.Zone, " ", st.Healthy, " ", st.Reason)))
	}
	// Output:
	// zen.example true
	// gone.example false test point 2.0.0.127.gone.example. is not listed (zone not answering as a list)
}

func ExampleClientLists_CheckIPInto() {
	srv, r := exampleLists()
	defer srv.Close()
	c, _ := dnsbl.New(dnsbl.Config{Resolver: r, Lists: []dnsbl.List{{Zone: "zen.example"}}})
	// One Verdict serves evaluation after evaluation; the second comes
	// from the cache and allocates nothing.
	var v dnsbl.Verdict
	for range 2 {
		c.CheckIPInto(context.Background(), netip.MustParseAddr("192.0.2.99"), &v)
		fmt.Println(v.Subject, v.Score, v.Lists[0].Cached)
	}
	// Output:
	// 192.0.2.99 1 false
	// 192.0.2.99 1 true
}

func ExampleTestPoints() {
	points, _ := dnsbl.TestPoints(dnsbl.DomainList, "dbl.example", false)
	for _, p := range points {
		fmt.Println(p.Query, p.Listed)
	}
	points, _ = dnsbl.TestPoints(dnsbl.IPList, "zen.example", false)
	for _, p := range points {
		fmt.Println(p.Query, p.Listed)
	}
	// Output:
	// test.dbl.example. true
	// invalid.dbl.example. false
	// 2.0.0.127.zen.example. true
	// 1.0.0.127.zen.example. false
}

func ExampleNewTemplate() {
	t, err := dnsbl.NewTemplate(554, "5.7.1", dnsbl.PostfixTemplate)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.UsesText())
	fmt.Println(t.Reply(map[string]string{"class": "Client host", "what": "192.0.2.99", "zone": "zen.example"}).Error())
	// Output:
	// true
	// 554 5.7.1 Service unavailable; Client host [192.0.2.99] blocked using zen.example
}
