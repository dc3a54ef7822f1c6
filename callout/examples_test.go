package callout_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/smtppolicy/smtppolicy/callout"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// exampleMX is a tiny mail server on loopback for the examples: it knows
// one mailbox, alice.
func exampleMX() (port int, stop func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "220 mx.example.test ESMTP\r\n")
				buf := make([]byte, 512)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					cmd := string(buf[:n])
					switch {
					case strings.HasPrefix(cmd, "RCPT") && !strings.Contains(cmd, "<alice@"):
						io.WriteString(c, "550 5.1.1 no such user\r\n")
					case strings.HasPrefix(cmd, "QUIT"):
						io.WriteString(c, "221 bye\r\n")
						return
					default:
						io.WriteString(c, "250 ok\r\n")
					}
				}
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, func() { l.Close() }
}

// exampleDNS serves example.test's MX record, pointing at loopback.
func exampleDNS() (*resolver.Resolver, func()) {
	srv, err := dnstest.Start()
	if err != nil {
		panic(err)
	}
	srv.Add("example.test. 300 IN MX 10 mx.example.test.", "mx.example.test. 300 IN A 127.0.0.1")
	r, err := resolver.New(resolver.Config{Servers: []string{srv.Addr()}})
	if err != nil {
		panic(err)
	}
	return r, srv.Close
}

// Verify an address by asking its domain's MX host, with the verdict
// cached in a store.
func ExampleVerifier_Verify() {
	port, stop := exampleMX()
	defer stop()
	r, closeDNS := exampleDNS()
	defer closeDNS()
	cache := store.NewMemory(store.MemoryOptions{})
	defer cache.Close()
	v, err := callout.New(callout.Config{
		Resolver: r,
		Store:    cache,
		Port:     port, // 25 in production
		// The example's MX host is on loopback, which is pruned otherwise.
		Usable: func(a netip.Addr) bool { return a.IsLoopback() },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range []string{"alice@example.test", "bob@example.test", "bob@example.test"} {
		vd := v.Verify(context.Background(), smtpcheck.ParseAddress(a))
		fmt.Println(a, vd.Status, vd.Code, "cached:", vd.Cached)
	}
	// Output:
	// alice@example.test deliverable 250 cached: false
	// bob@example.test undeliverable 550 cached: false
	// bob@example.test undeliverable 550 cached: true
}

// Sender verification (smtpf's call-back, Postfix's
// reject_unverified_sender) at MAIL FROM.
func ExampleVerifier_SenderCheck() {
	port, stop := exampleMX()
	defer stop()
	r, closeDNS := exampleDNS()
	defer closeDNS()
	v, _ := callout.New(callout.Config{Resolver: r, Port: port, Usable: func(a netip.Addr) bool { return a.IsLoopback() }, OnError: smtpcheck.FailTemp})
	check := smtpcheck.Guard(v.SenderCheck(), smtpcheck.Options{Name: callout.Name})
	s := checktest.NewSession("192.0.2.1").From("bob@example.test").Session()
	res := check(context.Background(), s)
	fmt.Println(res.Action, res.DefaultReply().Error())
	fmt.Println(res.Reason.Rule, res.Reason.Evidence == "host mx.example.test[127.0.0.1]:"+strconv.Itoa(port)+" said: 550 5.1.1 no such user (in reply to RCPT TO command)")
	// Output:
	// reject 550 5.7.0 sender <bob@example.test> verification failed
	// sender-undeliverable true
}

// Recipient verification (smtpf's call-ahead) against the downstream
// server that holds the mailboxes.
func ExampleVerifier_RecipientCheck() {
	port, stop := exampleMX()
	defer stop()
	v, _ := callout.New(callout.Config{Host: "127.0.0.1:" + strconv.Itoa(port)})
	s := checktest.NewSession("192.0.2.1").From("someone@example.net").To("bob@example.org").Session()
	res := v.RecipientCheck()(context.Background(), s)
	fmt.Println(res.Action, res.DefaultReply().Error())
	// Output:
	// reject 550 5.7.1 recipient <bob@example.org> unknown
}

// A Postfix-vocabulary recipient verifier (reject_unverified_recipient)
// takes a function of the address; the caller's sentinel marks an
// undeliverable one.
func ExampleVerifier_VerifyFunc() {
	port, stop := exampleMX()
	defer stop()
	v, _ := callout.New(callout.Config{Host: "127.0.0.1:" + strconv.Itoa(port)})
	errUndeliverable := errors.New("undeliverable address")
	verify := v.VerifyFunc(errUndeliverable)
	for _, a := range []string{"alice@example.org", "bob@example.org"} {
		err := verify(context.Background(), smtpcheck.ParseAddress(a))
		fmt.Println(a, errors.Is(err, errUndeliverable))
	}
	// Output:
	// alice@example.org false
	// bob@example.org true
}

// MX hosts on loopback, private or documentation addresses are pruned
// (smtpf#493).
func ExamplePublicAddr() {
	for _, a := range []string{"127.0.0.1", "10.0.0.1", "192.0.2.1", "8.8.8.8", "2001:db8::1", "2a00:1450::1"} {
		fmt.Println(a, callout.PublicAddr(netip.MustParseAddr(a)))
	}
	// Output:
	// 127.0.0.1 false
	// 10.0.0.1 false
	// 192.0.2.1 false
	// 8.8.8.8 true
	// 2001:db8::1 false
	// 2a00:1450::1 true
}

// A verdict explains itself in Postfix's words, and as an error.
func ExampleVerdict_Err() {
	vd := callout.Verdict{Status: callout.Undeliverable, Step: callout.StepRcpt, Host: "mx.example.org[198.51.100.7]:25", Said: "550 5.1.1 no such user", Code: 550}
	err := vd.Err()
	fmt.Println(errors.Is(err, callout.ErrUndeliverable))
	fmt.Println(err)
	// Output:
	// true
	// host mx.example.org[198.51.100.7]:25 said: 550 5.1.1 no such user (in reply to RCPT TO command)
}

// New fills the defaults of Postfix's verify(8): 31 days for a deliverable
// address, 3 days for an undeliverable one.
func ExampleNew() {
	_, err := callout.New(callout.Config{})
	fmt.Println(err)
	fmt.Println(callout.DefaultPositiveTTL, callout.DefaultNegativeTTL)
	// Output:
	// callout: a resolver is required to follow MX records
	// 744h0m0s 72h0m0s
}
