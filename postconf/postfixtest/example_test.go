package postfixtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf/postfixtest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// A test asks a private Postfix, in a namespace resolving through the
// test's DNS server, what it answers a client at 127.0.0.66.
func ExampleStart() {
	t := &testing.T{} // in a test: the test's own *testing.T
	postfixtest.Require(t)
	dns := dnstest.New(t)
	dns.ListIP("zen.test", "127.0.0.66", "127.0.0.2")
	ns, err := postfixtest.NewNetNS(t, dns.Addr())
	if errors.Is(err, postfixtest.ErrNoNetNS) {
		postfixtest.Unavailable(t, err.Error())
	}
	postfixtest.Start(t, postfixtest.Options{
		NetNS: ns,
		Main:  "mydestination = example.org\n",
		Services: []postfixtest.Service{{Addr: "127.0.0.1:2600", Overrides: []postfixtest.Param{
			{Name: "smtpd_client_restrictions", Value: "reject_rbl_client zen.test"},
		}}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := ns.Dial(ctx, "127.0.0.1:2600", "127.0.0.66")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Cmd("EHLO mx.example.net")
	c.Cmd("MAIL FROM:<alice@example.net>")
	r, _ := c.Cmd("RCPT TO:<bob@example.org>")
	fmt.Println(r.Code, r.Enhanced, r.Verdict())
}
