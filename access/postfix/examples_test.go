package postfix_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

func ExampleCheckClientAccess() {
	t, err := postfix.Parse("hash", strings.NewReader("192.0.2 REJECT\n"), "/etc/postfix/client_access")
	if err != nil {
		fmt.Println(err)
		return
	}
	check := postfix.CheckClientAccess(t, postfix.DefaultOptions)
	r := check(context.Background(), checktest.NewSession("192.0.2.1").Session())
	fmt.Println(r.Reply.Error())
	// Output: 554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied
}

func ExampleCheckSenderAccess() {
	t, _ := postfix.Parse("regexp", strings.NewReader(`/^(.+)@spam\.example$/ REJECT $1 go away`+"\n"), "sender_regexp")
	check := postfix.CheckSenderAccess(t, postfix.DefaultOptions)
	r := check(context.Background(), checktest.NewSession("192.0.2.1").From("joe@spam.example").Session())
	fmt.Println(r.Reply.Error())
	// Output: 554 5.7.1 <joe@spam.example>: Sender address rejected: joe go away
}

func ExampleAddressQueries() {
	fmt.Println(postfix.AddressQueries(smtpcheck.ParseAddress("user+ext@mail.example.com"), postfix.DefaultOptions))
	// Output: [user+ext@mail.example.com user@mail.example.com mail.example.com example.com com user+ext@ user@]
}

func ExampleReplyFor() {
	// A "550 5.1.1 text" entry in a sender table: the recipient status is
	// fitted to a sender, as Postfix's smtpd does.
	r := postfix.ReplyFor(postfix.Sender, "joe@example.net", 550, "5.7.1", "5.1.1", "no such user", "Access denied")
	fmt.Println(r.Error())
	// Output: 550 5.1.7 <joe@example.net>: Sender address rejected: no such user
}

func ExampleRefuse() {
	r := postfix.Refuse(postfix.ReplyFor(postfix.Client, "unknown[192.0.2.1]", 421, "4.7.1", "", "closing", ""), smtpcheck.Reason{})
	fmt.Println(r.Action, r.Reply.Error())
	// Output: disconnect 421 4.7.1 <unknown[192.0.2.1]>: Client host rejected: closing
}

func ExampleEntries() {
	t, _ := postfix.Parse("hash", strings.NewReader("a.example OK\nb.example FILTER smtp:[127.0.0.1]:10025\n"), "access")
	for _, a := range postfix.Entries(t) {
		if a.Delegated() {
			fmt.Printf("access:%d: %s is carried out by Postfix only\n", a.Line, a)
		}
	}
	// Output: access:2: FILTER smtp:[127.0.0.1]:10025 is carried out by Postfix only
}

func ExamplePassedOn() {
	t, _ := postfix.Parse("hash", strings.NewReader("example.net REDIRECT abuse@example.org\n"), "access")
	s := checktest.NewSession("192.0.2.1").From("joe@example.net").Session()
	r := postfix.CheckSenderAccess(t, postfix.DefaultOptions)(context.Background(), s)
	fmt.Println(r.Action, postfix.PassedOn(s))
	// Output: continue [REDIRECT abuse@example.org]
}

func ExamplePostfixOnly() {
	t, _ := postfix.Parse("hash", strings.NewReader("a.example HOLD\nb.example BCC archive@example.org\n"), "/etc/postfix/access")
	fmt.Println(postfix.PostfixOnly(t))
	// Output: /etc/postfix/access:2: "BCC archive@example.org" is carried out by Postfix only
}

func ExampleLookup() {
	// check_sender_mx_access's second step: the MX host's name and its
	// parent domains, answered as a refusal of the sender.
	t, _ := postfix.Parse("hash", strings.NewReader("badhost.example REJECT bad mail server\n"), "mx_access")
	s := checktest.NewSession("192.0.2.1").From("a@mxhost.example").Session()
	r := postfix.Lookup(s, t, postfix.DefaultOptions, postfix.Sender, "a@mxhost.example",
		postfix.DomainQueries("mx1.badhost.example", postfix.DefaultOptions))
	fmt.Println(r.Reply.Error())
	// Output: 554 5.7.1 <a@mxhost.example>: Sender address rejected: bad mail server
}

func ExampleParseMap() {
	// A map's results are kept as written: here, virtual alias targets.
	t, _ := postfix.ParseMap("hash", strings.NewReader("info@example.com  bob@example.net, carol@example.net\n"), "virtual")
	a, ok := t.Find("info@example.com")
	fmt.Println(ok, a.Text)
	// Output: true bob@example.net, carol@example.net
}

func ExampleLastError() {
	// A hash: table whose source loads has no reload error.
	t, err := postfix.Load("hash:testdata/example_access")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(postfix.LastError(t))
	// Output: <nil>
}
