package postconf_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// A policy in Postfix's words becomes an smtpcheck.Policy: here relay
// control and a rejection of non-FQDN senders, evaluated for one recipient.
func ExampleBuild() {
	const mainCF = `
mynetworks = 192.0.2.0/24
relay_domains = example.org
smtpd_recipient_restrictions = permit_mynetworks,
    reject_non_fqdn_sender,
    reject_unauth_destination
`
	f, err := postconf.Parse(strings.NewReader(mainCF), "main.cf")
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := postconf.Build(f, postconf.Env{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, rcpt := range []string{"bob@example.org", "eve@elsewhere.example"} {
		s := checktest.NewSession("198.51.100.7").Helo("mx.example.net").From("alice@example.net").To(rcpt).Session()
		d := cfg.Policy.Evaluate(ctx, s)
		if d.Result.Action == smtpcheck.Continue {
			fmt.Println(rcpt, "accepted")
		} else {
			fmt.Println(d.Result.DefaultReply().Error())
		}
	}
	// Output:
	// bob@example.org accepted
	// 554 5.7.1 <eve@elsewhere.example>: Relay access denied
}

// Every error names the file and line, and nothing is half loaded.
func ExampleParse_error() {
	f, _ := postconf.Parse(strings.NewReader("smtpd_client_restrictions = permit_mynetworks,\n  reject_spammers\n"), "main.cf")
	_, err := postconf.Build(f, postconf.Env{})
	fmt.Println(err)
	// Output:
	// main.cf:1: smtpd_client_restrictions: unknown restriction "reject_spammers"
}
