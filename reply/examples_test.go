package reply_test

import (
	"errors"
	"fmt"

	"github.com/smtppolicy/smtppolicy/reply"
)

func ExampleNew() {
	r, err := reply.New(550, "5.7.1", "no thanks")
	fmt.Printf("%q %v\n", r.String(), err)

	_, err = reply.New(550, "4.7.1", "a 5xx with a 4.x.x enhanced code")
	fmt.Println(errors.Is(err, reply.ErrClassMismatch))
	// Output:
	// "550 5.7.1 no thanks\r\n" <nil>
	// true
}

func ExampleRelayDenied() {
	r := reply.RelayDenied("bob@example.org")
	fmt.Println(r)
	fmt.Println(r.Entry().Refs)
	// Output:
	// 550 5.7.1 recipient <bob@example.org> relaying denied
	// [smtpf#288 smtpf#293 smtpf#296]
}

func ExampleReply_AppendTo() {
	buf := make([]byte, 0, 512) // reused for every reply of a session
	buf = reply.HostBlacklisted("mail.example.net", "192.0.2.1").AppendTo(buf[:0])
	fmt.Printf("%q\n", buf)

	// A hostile HELO cannot start a reply line of its own.
	buf = reply.HeloInvalid("x\r\n250 2.0.0 welcome").AppendTo(buf[:0])
	fmt.Printf("%q\n", buf)
	// Output:
	// "550 5.7.1 host mail.example.net [192.0.2.1] black listed\r\n"
	// "501 5.5.4 invalid HELO x??250 2.0.0 welcome\r\n"
}

func ExampleReply_WithText() {
	r := reply.RelayDenied("bob@example.org").WithText("we do not relay; see https://example.org/mail")
	fmt.Println(r)
	// Output:
	// 550 5.7.1 we do not relay; see https://example.org/mail
}

func ExampleParse() {
	r, err := reply.Parse("550-5.1.1 <bob@example.org>: no such user\r\n550 5.1.1 see https://example.org/help\r\n")
	fmt.Println(r.Code(), r.Enhanced(), r.Text(), err)

	_, err = reply.Parse("550 5.7.1000 four digits")
	fmt.Println(errors.Is(err, reply.ErrEnhanced))
	// Output:
	// 550 5.1.1 [<bob@example.org>: no such user see https://example.org/help] <nil>
	// true
}

func ExampleParse_grammar() {
	// RFC 5321 4.2: the first digit is 2 to 5, the second 0 to 5.
	_, err := reply.Parse("150 opening data connection")
	fmt.Println(errors.Is(err, reply.ErrCode), err)
	// RFC 3463 2: no leading zeros in an enhanced code.
	_, err = reply.Parse("550 5.07.1 denied")
	var pe *reply.ParseError
	fmt.Println(errors.Is(err, reply.ErrEnhanced), errors.As(err, &pe) && pe.Line == 1, pe.Reason)
	// Output:
	// true reply: basic code out of range: first digit 1 is not 2 to 5 (RFC 5321 4.2) (line 1: "150 opening data connection")
	// true true 5.07.1: subject has a leading zero (RFC 3463 2)
}

func ExampleReply_Received() {
	r, _ := reply.Parse("550-5.7.1 listed at \x1b[1mbl.example\r\n550 5.7.1 see https://bl.example/q?ip=192.0.2.1\r\n")
	fmt.Printf("%q\n", r.Text())
	fmt.Printf("%q\n", r.ReceivedText())
	fmt.Printf("%q\n", r.Received())
	// Output:
	// ["listed at ?[1mbl.example" "see https://bl.example/q?ip=192.0.2.1"]
	// ["5.7.1 listed at \x1b[1mbl.example" "5.7.1 see https://bl.example/q?ip=192.0.2.1"]
	// "550-5.7.1 listed at \x1b[1mbl.example\r\n550 5.7.1 see https://bl.example/q?ip=192.0.2.1\r\n"
}

func ExampleClassify() {
	c := reply.Classify(reply.MustParse("451 4.7.1 greylisted, try again in 300 seconds"))
	fmt.Println(c.Class, c.Retryable, c.Mismatch)

	c = reply.Classify(reply.MustParse("550 4.7.1 broken server"))
	fmt.Println(c.Class, c.Retryable, c.Mismatch)
	// Output:
	// transient true false
	// permanent false true
}

func ExampleIdentifyText() {
	ms, err := reply.IdentifyText("554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org")
	if err != nil {
		panic(err)
	}
	for _, m := range ms {
		fmt.Println(m.Entry.Name, m.Entry.Refs, m.Args)
	}
	// Output:
	// DNSBLBlocked [postfix smtppolicy] [192.0.2.1 zen.spamhaus.org ]
}

func ExampleExplainText() {
	x, err := reply.ExplainText("550 5.7.1 recipient <bob@example.org> relaying denied")
	if err != nil {
		panic(err)
	}
	fmt.Println(x.Classification.Class, x.Basic.Code, x.Status.Title)
	for _, m := range x.Matches {
		fmt.Println(m.Entry.Name, m.Entry.Refs)
	}
	// Output:
	// permanent 550 Delivery not authorized, message refused
	// RelayDenied [smtpf#288 smtpf#293 smtpf#296]
}

func ExampleLookupEnhanced() {
	info, ok := reply.LookupEnhanced(reply.Enhanced{Class: 5, Subject: 7, Detail: 23})
	fmt.Println(info.Code(), info.Title, info.RFC, ok)
	// Output:
	// X.7.23 SPF validation failed RFC 7372 true
}

func ExampleLookupCode() {
	info, ok := reply.LookupCode(421)
	fmt.Println(info.Standard, ok)
	fmt.Println(info.Advice)
	// Output:
	// true true
	// Retry later; if it repeats for hours, check whether your IP is rate-limited or blocked.
}

func ExampleCatalog() {
	n := 0
	for _, e := range reply.Catalog() {
		if e.HasRef("smtppolicy") {
			n++
		}
	}
	fmt.Println(n > 10, reply.ByRef("barracuda:5XX_BLOCKED_RBL").Name)
	// Output:
	// true RBLBlocked
}

// Lines gives the text of each wire line, folded and sanitised, for a
// server library that writes the codes itself.
func ExampleReply_Lines() {
	r := reply.MustNew(550, "5.7.1", "message refused", "see https://example.org/policy")
	for _, l := range r.Lines() {
		fmt.Printf("%q\n", l)
	}
	// Output:
	// "message refused"
	// "see https://example.org/policy"
}
