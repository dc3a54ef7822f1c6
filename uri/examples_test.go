package uri_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
	"github.com/smtppolicy/smtppolicy/uri"
)

func ExampleExtract() {
	msg := "Content-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nOffer: www.Shop.Example.co.uk/deal\r\n" +
		"--b\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"<a href=3D\"http://bank.example.com@0x7f.1/\">your bank</a>\r\n--b--\r\n"
	r, err := uri.Extract(strings.NewReader(msg), uri.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range r.Hosts {
		fmt.Printf("%s domain=%q part=%d where=%s\n", h.Name, h.Domain, h.Part, h.Where)
	}
	// Output:
	// www.shop.example.co.uk domain="example.co.uk" part=2 where=text
	// 127.0.0.1 domain="" part=3 where=href
}

func ExampleExtractor() {
	// One Extractor serves every message (and every goroutine) of a
	// program: what it learns of hosts and Content-Types is kept.
	x := uri.NewExtractor()
	for _, msg := range []string{
		"Content-Type: text/plain\r\n\r\nSee www.shop.example.com/a\r\n",
		"Content-Type: text/plain\r\n\r\nSee http://www.shop.example.com/b and mail x@example.org\r\n",
	} {
		r, err := x.Extract(strings.NewReader(msg), uri.Limits{})
		if err != nil {
			fmt.Println(err)
			return
		}
		var names []string
		for _, h := range r.Hosts {
			names = append(names, h.Name)
		}
		fmt.Println(strings.Join(names, " "))
	}
	// Output:
	// www.shop.example.com
	// www.shop.example.com example.org
}

func ExampleExtractBody() {
	// At end of data an SMTP server has the header parsed already.
	body := "aHR0cDovL2Jhc2U2NC5leGFtcGxlLm9yZy8=\r\n"
	r, _ := uri.ExtractBody("text/plain; charset=us-ascii", "base64", strings.NewReader(body), uri.Limits{})
	fmt.Println(r.Hosts[0].Name, r.Hosts[0].Kind)
	// Output: base64.example.org url
}

func ExampleExtractText() {
	r := uri.ExtractText("Read report.pdf (v1.2.3), then mail sales@shop.example.net or visit example.org.", uri.Limits{})
	for _, h := range r.Hosts {
		fmt.Println(h.Name, h.Kind)
	}
	// Output:
	// shop.example.net mail
	// example.org bare
}

func ExampleExtractHTML() {
	page := `<base href="http://base.example.com/"><a href="/offer">x</a> <img src="//img.example.net/p.gif">`
	r, _ := uri.ExtractHTML(strings.NewReader(page), uri.Limits{})
	for _, h := range r.Hosts {
		fmt.Println(h.Name, h.Where)
	}
	// Output:
	// base.example.com href
	// img.example.net src
}

func ExampleParseHost() {
	for _, s := range []string{"WWW.Bücher.DE.", "0x7f.1", "%77ww.example.com", "[2001:DB8::1]"} {
		h, err := uri.ParseHost(s)
		fmt.Printf("%s %q %v\n", h.Name, h.Domain, err)
	}
	// Output:
	// www.xn--bcher-kva.de "xn--bcher-kva.de" <nil>
	// 127.0.0.1 "" <nil>
	// www.example.com "example.com" <nil>
	// 2001:db8::1 "" <nil>
}

func ExampleIPInName() {
	fmt.Println(uri.IPInName("192-0-2-7.dyn.example.net", netip.MustParseAddr("192.0.2.7")))
	fmt.Println(uri.IPInName("mail.example.net", netip.MustParseAddr("192.0.2.7")))
	// Output:
	// true
	// false
}

func ExampleParseList() {
	l, _ := uri.ParseList("any:multi.surbl.test&0.0.0.4")
	fmt.Println(l.Zone, l.Kind == uri.ListBoth)
	// Output: multi.surbl.test true
}

func ExampleLinkLists_Check() {
	srv, err := dnstest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	srv.ListDomain("dbl.test", "spam.example", "127.0.1.2")
	res, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})

	dbl, _ := uri.ParseList("dbl.test=127.0.1.[2..99]")
	c, err := uri.New(uri.Config{Resolver: res, Lists: []uri.List{dbl}, Exclude: []string{"w3.org"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	s := checktest.NewSession("192.0.2.1").From("a@sender.example").To("b@rcpt.example").
		Message("Subject: hi\n\nClick http://www.Deals.SPAM.example/now\n").Session()
	r := c.Check()(context.Background(), s)
	fmt.Println(r.Action, r.Reply)
	// Output: reject 550 5.7.1 black listed URL domain spam.example by dbl.test
}

func ExampleLinkLists_HeloCheck() {
	srv, _ := dnstest.Start()
	defer srv.Close()
	srv.ListDomain("dbl.test", "spam.example", "127.0.1.2")
	res, _ := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})
	dbl, _ := uri.ParseList("dbl.test")
	c, _ := uri.New(uri.Config{Resolver: res, Lists: []uri.List{dbl}})
	s := checktest.NewSession("192.0.2.1").Helo("mx1.spam.example").Session()
	fmt.Println(c.HeloCheck()(context.Background(), s).Reply)
	// Output: 550 5.7.1 rejected HELO, black listed URL domain spam.example by dbl.test
}
