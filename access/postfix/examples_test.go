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
