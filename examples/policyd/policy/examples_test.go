package policy_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/smtppolicy/smtppolicy/examples/policyd/policy"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

func Example() {
	in := "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.10\nsender=a@example.org\nrecipient=b@example.net\n\n"
	req, err := policy.NewReader(strings.NewReader(in)).Read()
	if err != nil {
		panic(err)
	}
	s, _ := req.Session()
	fmt.Println(s.Stage, s.Conn.ClientIP, s.Mail.From, s.Rcpt)
	r := smtpcheck.Result{Action: smtpcheck.DeferIfPermit, Reply: reply.Greylisted(300)}
	policy.WriteAction(os.Stdout, policy.Action(r))
	// Output:
	// rcpt 192.0.2.10 a@example.org b@example.net
	// action=DEFER_IF_PERMIT 4.7.1 greylisted, try again in 300 seconds
}
