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
