package checktest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
)

// Build a session in one line and run a check against it.
func ExampleNewSession() {
	s := checktest.NewSession("192.0.2.1").Helo("mx.example.net").From("alice@example.net").To("eve@elsewhere.example").Session()
	r := smtpcheck.RelayControl("example.org")(context.Background(), s)
	fmt.Println(r.Action, r.DefaultReply().Error())
	// Output:
	// reject 550 5.7.1 recipient <eve@elsewhere.example> relaying denied
}

// In a downstream unit test, assert the verdict, its reply and its reason.
func ExampleAssertVerdict() {
	t := &testing.T{} // in a real test, the *testing.T of the test function
	s := checktest.NewSession("192.0.2.1").To("eve@elsewhere.example").Session()
	r := smtpcheck.RelayControl("example.org")(context.Background(), s)
	checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.7.1", "relay")
	checktest.AssertRule(t, r, "accepted-domains", "elsewhere.example")
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

// The client's reverse DNS as a server would have found it: names, no PTR
// record, names that do not lead back, or a lookup that failed.
func ExampleBuilder_PTRFailed() {
	ptr := hygiene.ClientPTR(hygiene.ClientConfig{})
	for _, b := range []*checktest.Builder{
		checktest.NewSession("192.0.2.1").PTR("mx.example.net"),
		checktest.NewSession("192.0.2.1").PTR(),
		checktest.NewSession("192.0.2.1").PTRUnverified("forged.example.net"),
		checktest.NewSession("192.0.2.1").PTRFailed(errors.New("SERVFAIL")),
	} {
		r := ptr(context.Background(), b.Session())
		fmt.Println(r.Action, r.Reply.Code())
	}
	// Output:
	// continue 0
	// reject 554
	// continue 0
	// defer-if-permit 421
}

// A client whose PTR name does not lead back to its address has reverse
// DNS (client-ptr passes) but no verified name (client-fcrdns refuses).
func ExampleBuilder_PTRUnverified() {
	s := checktest.NewSession("192.0.2.1").PTRUnverified("forged.example.net").Session()
	ptr := hygiene.ClientPTR(hygiene.ClientConfig{})(context.Background(), s)
	fcrdns := hygiene.ClientFCrDNS(hygiene.FCrDNSConfig{})(context.Background(), s)
	fmt.Println(ptr.Action, fcrdns.Action, fcrdns.Reply.Code(), s.Conn.Name())
	// Output:
	// continue tempfail 450 unknown
}
