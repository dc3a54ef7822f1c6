package envelope_test

import (
	"fmt"

	"github.com/smtppolicy/smtppolicy/smtpcheck/envelope"
)

func ExampleParseCommand() {
	c, err := envelope.ParseCommand("MAIL FROM: <user%other.example@relay.example> SIZE=1000", envelope.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	size, _ := c.Param("SIZE")
	fmt.Println(c.Verb, c.Path, size, c.ExtraSpaces, c.Path.PercentHack())
	// Output: MAIL user%other.example@relay.example 1000 true true
}

func ExampleParsePath() {
	_, err := envelope.ParsePath("<"+"averyveryveryveryveryveryveryveryveryveryveryverylonglocalpart-x"+"x@example.org>", envelope.Options{})
	fmt.Println(envelope.RuleOf(err))
	p, _ := envelope.ParsePath("<postmaster>", envelope.Options{})
	fmt.Println(p.Postmaster())
	// Output:
	// local-length
	// true
}

func ExampleCheckVerb() {
	// <postmaster> without a domain is for RCPT only, <> for MAIL only.
	p, _ := envelope.ParsePath("<postmaster>", envelope.Options{})
	fmt.Println(envelope.CheckVerb("RCPT", p), envelope.RuleOf(envelope.CheckVerb("MAIL", p)))
	_, err := envelope.ParseCommand("MAIL FROM:<Postmaster>", envelope.Options{})
	fmt.Println(err)
	// Output:
	// <nil> no-domain
	// envelope: address has no domain (postmaster alone is a recipient only): "MAIL FROM:<Postmaster>"
}

func ExampleParseHelo() {
	for _, s := range []string{"mx.example.org", "[192.0.2.1]", "localhost", "bad name"} {
		h, err := envelope.ParseHelo(s)
		fmt.Println(h.Kind, err != nil)
	}
	// Output:
	// fqdn false
	// literal false
	// dotless false
	// invalid true
}

func ExampleParseParts() {
	// The parts of an address a server already split, checked without
	// joining them again.
	p, err := envelope.ParseParts("bob", "example.org", envelope.Options{})
	fmt.Println(p, err)
	_, err = envelope.ParseParts("bob", "ex_ample.org", envelope.Options{})
	fmt.Println(envelope.RuleOf(err))
	// Output:
	// bob@example.org <nil>
	// syntax
}

func ExampleMaybeIP() {
	fmt.Println(envelope.MaybeIP("192.0.2.1"), envelope.MaybeIP("mx.example.org"))
	// Output: true false
}
