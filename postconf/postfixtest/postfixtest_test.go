package postfixtest_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf/postfixtest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

func freePort(t *testing.T, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// A private Postfix in a namespace answers from the test's DNS: a sender
// domain the test's server does not know is refused, one it knows passes,
// and XCLIENT sets the client Postfix sees.
func TestInstanceInNetNS(t *testing.T) {
	postfixtest.Require(t)
	dns := dnstest.New(t)
	dns.Add("known.example. 300 IN A 192.0.2.1")
	dns.Zone("known.example.", 60)
	dns.Zone("nxdomain.example.", 60)
	ns, err := postfixtest.NewNetNS(t, dns.Addr())
	if errors.Is(err, postfixtest.ErrNoNetNS) {
		postfixtest.Unavailable(t, err.Error())
	} else if err != nil {
		t.Fatal(err)
	}
	// The namespace's port space is its own, so any port is free there.
	addr := net.JoinHostPort(ns.NSIP, "2525")
	inst := postfixtest.Start(t, postfixtest.Options{
		NetNS:        ns,
		XclientHosts: ns.HostIP,
		// trivial-rewrite, not smtpd, reads the address classes: they are
		// the instance's, not a service's.
		Main: "mydestination = example.org\n",
		Services: []postfixtest.Service{{Addr: addr, Overrides: []postfixtest.Param{
			{"smtpd_sender_restrictions", "reject_unknown_sender_domain, check_client_access inline:{ { 192.0.2.66 = REJECT listed } }"},
		}}},
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	session := func(client, from string) postfixtest.Reply {
		t.Helper()
		c, _, err := postfixtest.Dial(ctx, addr, "")
		if err != nil {
			t.Fatalf("dial: %v\n%s", err, inst.Log())
		}
		defer c.Close()
		if r, err := c.Cmd("EHLO test.example"); err != nil || r.Code != 250 {
			t.Fatalf("EHLO: %v %v", r, err)
		}
		if r, err := c.Cmd("XCLIENT ADDR=" + client + " NAME=[UNAVAILABLE]"); err != nil || r.Code != 220 {
			t.Fatalf("XCLIENT: %v %v", r, err)
		}
		c.Cmd("EHLO mx.example.net")
		c.Cmd("MAIL FROM:<" + from + ">")
		r, err := c.Cmd("RCPT TO:<bob@example.org>")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := session("192.0.2.1", "a@known.example"); r.Code != 250 {
		t.Errorf("known sender domain: %v, want 250\n%s", r, inst.Log())
	}
	if r := session("192.0.2.1", "a@nxdomain.example"); r.Code != 450 || r.Enhanced != "4.1.8" || !strings.Contains(r.Text, "Domain not found") {
		t.Errorf("unknown sender domain: %v, want 450 4.1.8 Domain not found", r)
	}
	if r := session("192.0.2.66", "a@known.example"); r.Code != 554 || !strings.Contains(r.Text, "listed") {
		t.Errorf("XCLIENT client in the inline table: %v, want 554 ... listed", r)
	}
}

// Services asking for port 0 get distinct free ports, and Postfix answers
// on each of them.
func TestStartChoosesFreePorts(t *testing.T) {
	postfixtest.Require(t)
	inst := postfixtest.Start(t, postfixtest.Options{Services: []postfixtest.Service{
		{Addr: "127.0.0.1:0"},
		{Addr: "127.0.0.1:0", Overrides: []postfixtest.Param{{"smtpd_banner", "$myhostname second"}}},
	}})
	a, b := inst.Services[0].Addr, inst.Services[1].Addr
	if a == b || strings.HasSuffix(a, ":0") || strings.HasSuffix(b, ":0") {
		t.Fatalf("chosen addresses %q and %q, want two distinct ports", a, b)
	}
	for i, want := range []string{"mx.private.test ESMTP", "mx.private.test second"} {
		c, greeting, err := postfixtest.Dial(t.Context(), inst.Services[i].Addr, "")
		if err != nil {
			t.Fatalf("dial %s: %v\n%s", inst.Services[i].Addr, err, inst.Log())
		}
		c.Close()
		if greeting.Code != 220 || !strings.HasPrefix(greeting.Text, want) {
			t.Errorf("service %d greets %v, want 220 %s", i, greeting, want)
		}
	}
}
