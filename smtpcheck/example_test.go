package smtpcheck_test

import (
	"context"
	"fmt"
	"strings"
	"time"

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

// A front-end asks which stages the policy has a check for, and skips the
// evaluation of the others (but RCPT, where held verdicts are given).
func ExamplePolicy_StageCheck() {
	p := &smtpcheck.Policy{Rcpt: smtpcheck.RelayControl("example.org")}
	for _, st := range []smtpcheck.Stage{smtpcheck.StageHelo, smtpcheck.StageRcpt} {
		fmt.Println(st, p.StageCheck(st) != nil)
	}
	// Output:
	// helo false
	// rcpt true
}

// A check family keeps its state per session under a key of its own type:
// the first call makes it, later ones (at any stage) get the same value.
func ExampleValueOf() {
	type seenKey struct{}
	type seen struct{ rcpts int }
	count := func(_ context.Context, s *smtpcheck.Session) smtpcheck.Result {
		smtpcheck.ValueOf[seen](s, seenKey{}).rcpts++
		return smtpcheck.Result{}
	}
	s := checktest.NewSession("192.0.2.1").Session()
	for range 3 {
		count(context.Background(), s)
	}
	fmt.Println(smtpcheck.ValueOf[seen](s, seenKey{}).rcpts)
	// Output: 3
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

// A restriction list in Postfix's sense: the first final verdict wins, so
// the allowlisted recipient is accepted before relay control is asked.
func ExampleFirstMatch() {
	postmaster := func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Rcpt.Local == "postmaster" {
			return smtpcheck.Permit(smtpcheck.Reason{Check: "postmaster"})
		}
		return smtpcheck.Result{}
	}
	list := smtpcheck.FirstMatch(postmaster, smtpcheck.RelayControl("example.org"))
	for _, rcpt := range []string{"postmaster", "eve@elsewhere.example"} {
		r := list(context.Background(), checktest.NewSession("192.0.2.1").To(rcpt).Session())
		fmt.Println(rcpt, r.Action, r.Reason.Check)
	}
	// Output:
	// postmaster accept postmaster
	// eve@elsewhere.example reject relay
}

// DNS-bound checks run at once under one deadline; their verdicts fold in
// list order, whichever answered first.
func ExampleParallel() {
	slow := func(d time.Duration, r smtpcheck.Result) smtpcheck.Check {
		return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			select {
			case <-time.After(d):
				return r
			case <-ctx.Done():
				return smtpcheck.Result{Err: ctx.Err()}
			}
		}
	}
	group := smtpcheck.Parallel(time.Second,
		slow(20*time.Millisecond, smtpcheck.Result{Action: smtpcheck.Reject, Reason: smtpcheck.Reason{Check: "first-list"}}),
		slow(1*time.Millisecond, smtpcheck.Result{Action: smtpcheck.Reject, Reason: smtpcheck.Reason{Check: "second-list"}}),
	)
	r := group(context.Background(), checktest.NewSession("192.0.2.1").Session())
	fmt.Println(r.Action, r.Reason.Check)
	// Output:
	// reject first-list
}

// Check families hand over their checks by stage; a program appends them and
// builds its policy.
func ExampleStages() {
	relay := smtpcheck.Stages{Rcpt: []smtpcheck.Check{smtpcheck.RelayControl("example.org")}}
	heloDigits := smtpcheck.Stages{Helo: []smtpcheck.Check{smtpcheck.Named("helo-digits", func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if strings.ContainsAny(s.Helo.Name, "0123456789") {
			return smtpcheck.Refuse(reply.HeloInvalid(s.Helo.Name), smtpcheck.Reason{Rule: "digits"})
		}
		return smtpcheck.Result{}
	})}}
	p := relay.Append(heloDigits).Policy()
	d := p.Evaluate(context.Background(), checktest.NewSession("192.0.2.1").Helo("host-1.example").Session())
	fmt.Println(d.Result.Action, d.Result.Reason.Check)
	// Output:
	// reject helo-digits
}

// The ladder Score, the DNS lists and the spam scanner share: the highest
// threshold reached wins, and a negative Allow accepts.
func ExampleThresholds_Decide() {
	th := smtpcheck.Thresholds{Allow: -1, Tag: 2, Reject: 5}
	for _, total := range []float64{-3, 0, 3, 8} {
		fmt.Println(total, th.Decide(total))
	}
	// Output:
	// -3 accept
	// 0 continue
	// 3 tag
	// 8 reject
}

func ExampleResult_WithCode() {
	r := smtpcheck.Refuse(reply.HeloNeedFQDN("localhost"), smtpcheck.Reason{Rule: "non_fqdn"})
	// A *_reject_code of 450 turns the permanent refusal into a temporary one.
	r = r.WithCode(450)
	fmt.Println(r.Action, r.Reply.Error())
	// Output: tempfail 450 4.5.2 <localhost>: Helo command rejected: need fully-qualified hostname
}
