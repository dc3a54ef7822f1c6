package smtpcheck_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// A policy with relay control and a recipient allowlist, evaluated for one
// recipient: the decision names the check, the rule and what it saw.
func ExamplePolicy_Evaluate() {
	p := &smtpcheck.Policy{
		Rcpt: smtpcheck.FirstMatch(smtpcheck.RelayControl("example.org")),
	}
	s := checktest.NewSession("192.0.2.1").Helo("mx.example.net").From("a@example.net").To("bob@elsewhere.example").Session()
	d := p.Evaluate(context.Background(), s)
	fmt.Println(d.Result.Action)
	fmt.Println(d.Result.DefaultReply().Error())
	fmt.Println(d.Result.Reason)
	// Output:
	// reject
	// 550 5.7.1 recipient <bob@elsewhere.example> relaying denied
	// relay rule=accepted-domains matched=elsewhere.example
}

// A check is a plain function; Guard gives it a name, a deadline and an
// error policy.
func ExampleGuard() {
	noDigitsInHelo := func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if strings.ContainsAny(s.Helo.Name, "0123456789") {
			return smtpcheck.Refuse(reply.HostBlacklisted(s.Helo.Name, s.Conn.ClientIP.String()),
				smtpcheck.Reason{Rule: "digits", Matched: s.Helo.Name})
		}
		return smtpcheck.Result{}
	}
	c := smtpcheck.Guard(noDigitsInHelo, smtpcheck.Options{Name: "helo-digits", OnError: smtpcheck.FailTemp})
	r := c(context.Background(), checktest.NewSession("192.0.2.7").Helo("host-192-0-2-7.example").Session())
	fmt.Println(r.Action, r.Reason)
	// Output:
	// reject helo-digits rule=digits matched=host-192-0-2-7.example
}

// Weighted scoring: two lists and an allowlist.
func ExampleScore() {
	w := func(rule string, score float64) smtpcheck.Check {
		return func(context.Context, *smtpcheck.Session) smtpcheck.Result {
			return smtpcheck.Result{Score: score, Reason: smtpcheck.Reason{Check: "dnsbl", Rule: rule}}
		}
	}
	c := smtpcheck.Score("dnsbl", smtpcheck.Thresholds{Tag: 1, Reject: 3, Allow: -1},
		w("zen.example", 3), w("bl.example", 1), w("wl.example", -2))
	r := c(context.Background(), checktest.NewSession("192.0.2.1").Session())
	fmt.Println(r.Action, r.Reason.Matched, r.Reason.Evidence)
	// Output:
	// tag 2 zen.example=3 bl.example=1 wl.example=-2
}
