package postconf_test

import (
	"context"
	"errors"
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

// A "{ }" group keeps white space and commas inside one list element, as in
// Postfix 3.0 and later: an inline table stays whole.
func ExampleSplitList() {
	words, err := postconf.SplitList("check_client_access inline:{ 192.0.2.1=REJECT, { 192.0.2.2 = REJECT go away } }, permit")
	fmt.Printf("%q %v\n", words, err)
	// Output:
	// ["check_client_access" "inline:{ 192.0.2.1=REJECT, { 192.0.2.2 = REJECT go away } }" "permit"] <nil>
}

// A real main.cf sets many parameters that do not shape the policy; they
// load, and Ignored names them.
func ExampleFile_Ignored() {
	const mainCF = `
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no
compatibility_level = 3.6
smtpd_tls_cert_file = /etc/ssl/certs/ssl-cert-snakeoil.pem
smtpd_recipient_restrictions = reject_unauth_destination
`
	f, err := postconf.Parse(strings.NewReader(mainCF), "main.cf")
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := postconf.Build(f, postconf.Env{}); err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range f.Ignored() {
		fmt.Printf("main.cf:%d: %s\n", p.Line, p.Name)
	}
	// Output:
	// main.cf:2: smtpd_banner
	// main.cf:3: biff
	// main.cf:5: smtpd_tls_cert_file
}

// Every error in a file is reported at once, each with its file and line;
// a $name expansion that would grow without bound is one of them.
func ExampleBuild_errors() {
	const mainCF = `
smtpd_recipient_restriction = reject
header_checks = regexp:/etc/postfix/header_checks
a = $b $b $b $b $b $b $b $b $b $b $b $b $b $b $b $b
b = $c $c $c $c $c $c $c $c $c $c $c $c $c $c $c $c
c = $d $d $d $d $d $d $d $d $d $d $d $d $d $d $d $d
d = $e $e $e $e $e $e $e $e $e $e $e $e $e $e $e $e
e = $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f $f
f = lol lol lol lol lol lol lol lol lol lol lol lol
smtpd_client_restrictions = check_client_access inline:{ 192.0.2.1 = REJECT $a }
`
	f, err := postconf.Parse(strings.NewReader(mainCF), "main.cf")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = postconf.Build(f, postconf.Env{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, postconf.ErrExpansionTooLarge))
	// Output:
	// main.cf:2: unknown parameter "smtpd_recipient_restriction": not a Postfix 3.7 parameter, and no other parameter uses it as $smtpd_recipient_restriction (did you mean smtpd_recipient_restrictions?)
	// main.cf:3: header_checks = regexp:/etc/postfix/header_checks: this changes smtpd's answers in Postfix and is not implemented here (accepted: empty)
	// main.cf:10: smtpd_client_restrictions: parameter expansion too large: more than 1048576 bytes
	// true
}
