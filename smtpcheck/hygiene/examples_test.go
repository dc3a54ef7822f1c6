package hygiene_test

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
)

func ExampleDefault() {
	st := hygiene.Default(hygiene.DefaultConfig{Names: []string{"mx.our-mail.de"}})
	helo := smtpcheck.FirstMatch(st.Helo...)
	s := checktest.NewSession("192.0.2.1").Helo("localhost").Session()
	r := helo(context.Background(), s)
	fmt.Println(r.Action, r.Reply.Error())
	// Output: reject 550 5.7.0 HELO localhost argument must be a FQDN or IP-domain literal
}

func ExampleHeloClaimsUs() {
	check := hygiene.HeloClaimsUs(hygiene.HeloClaimsUsConfig{Names: []string{"mx.our-mail.de"}})
	s := checktest.NewSession("192.0.2.1").Helo("MX.our-mail.de").Session()
	r := check(context.Background(), s)
	fmt.Println(r.Reply.Error())
	fmt.Println(r.Reason)
	// Output:
	// 550 5.7.0 unknown [192.0.2.1] claims to be us "MX.our-mail.de"
	// helo-claims-us rule=helo-claims-us matched=MX.our-mail.de
}

func ExampleRcptSyntax() {
	check := hygiene.RcptSyntax(hygiene.SyntaxConfig{})
	for _, rcpt := range []string{"postmaster", "user%other.example@relay.de", `"a@b"@relay.de`} {
		s := checktest.NewSession("192.0.2.1").Helo("mx.sender.de").From("a@sender.de").To(rcpt).Session()
		r := check(context.Background(), s)
		if r.Action == smtpcheck.Continue {
			fmt.Printf("%s: %v\n", rcpt, r.Action)
			continue
		}
		fmt.Printf("%s: %v %s\n", rcpt, r.Action, r.Reply.Error())
	}
	// Output:
	// postmaster: continue
	// user%other.example@relay.de: reject 550 5.7.1 routed address relaying denied
	// "a@b"@relay.de: reject 550 5.7.1 special case of at-sign in local-part denied
}

func ExampleScanLineEndings() {
	f, _ := hygiene.ScanLineEndings(context.Background(), strings.NewReader("hi\r\n.\nMAIL FROM:<x@y>\r\n"))
	fmt.Println(f)
	// Output: bare-lf=1 bare-cr=0 dot-lines=1 first=4
}

func ExampleNormalizeLineEndings() {
	b, _ := io.ReadAll(hygiene.NormalizeLineEndings(strings.NewReader("one\ntwo\rthree\r\n")))
	fmt.Printf("%q\n", b)
	// Output: "one\r\ntwo\r\nthree\r\n"
}

func ExampleParseTLDs() {
	// A fresh copy of IANA's tlds-alpha-by-domain.txt, fetched by the program.
	list, err := hygiene.ParseTLDs(strings.NewReader("# Version 2026112300\nCOM\nDE\nXN--P1AI\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	check := hygiene.SenderUnknownTLD(hygiene.TLDConfig{TLDs: list})
	s := checktest.NewSession("192.0.2.1").Helo("mx.sender.de").From("a@sender.org").Session()
	fmt.Println(list.Len(), check(context.Background(), s).Reply.Error())
	// Output: 3 550 5.7.1 sender <a@sender.org> from unknown TLD
}

func ExampleIPInName() {
	fmt.Println(hygiene.IPInName("ec2-54-1-2-3.compute-1.amazonaws.com", netipMust("54.1.2.3"), nil))
	fmt.Println(hygiene.IPInName("mail-wr1-f54.google.com", netipMust("209.85.221.54"), nil))
	// Output:
	// true
	// false
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }
