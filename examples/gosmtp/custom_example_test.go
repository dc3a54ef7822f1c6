package gosmtp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// myBackend is a go-smtp Backend of one's own that runs a policy through
// gosmtp.Checks and stores what is accepted.
type myBackend struct {
	policy *smtpcheck.Policy
	store  func(m *gosmtp.Message) error
}

func (b *myBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s := &mySession{checks: gosmtp.NewChecks(b.policy, c), store: b.store}
	return s, s.checks.Hello(context.TODO(), c.Hostname())
}

type mySession struct {
	checks *gosmtp.Checks
	store  func(m *gosmtp.Message) error
}

func (s *mySession) Mail(from string, o *smtp.MailOptions) error {
	return s.checks.Mail(context.TODO(), from, o)
}
func (s *mySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	return s.checks.Rcpt(context.TODO(), to)
}
func (s *mySession) Data(r io.Reader) error {
	m, err := s.checks.Data(context.TODO(), r)
	if m == nil || err != nil {
		return err
	}
	return s.store(m)
}
func (s *mySession) Reset()        {}
func (s *mySession) Logout() error { return nil }

// greylistPolicy is a policy that refuses a HELO that is not a domain name
// (held for RCPT: DelayReject) and greylists at RCPT, on a memory store
// and the given clock.
func greylistPolicy(clock func() time.Time) *smtpcheck.Policy {
	g, err := greylist.New(greylist.Config{
		Store:    store.NewMemory(store.MemoryOptions{Now: clock}),
		Now:      clock,
		Hostname: "mx.example.org",
	})
	if err != nil {
		panic(err)
	}
	return &smtpcheck.Policy{
		Helo:        hygiene.HeloFQDN(hygiene.HeloFQDNConfig{}),
		Rcpt:        g.Check(),
		DelayReject: true,
	}
}

// sendOnce runs one SMTP transaction against addr and returns the first
// error the server gave.
func sendOnce(addr, helo string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(helo); err != nil {
		return err
	}
	if err := c.Mail("alice@example.net", nil); err != nil {
		return err
	}
	if err := c.Rcpt("bob@example.org", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprint(w, "Subject: hi\r\n\r\nhello\r\n")
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// A Backend of one's own runs a policy with gosmtp.Checks: the first
// attempt is greylisted, the retry after the delay is stored with its
// X-Greylist header, and a refused HELO is given at RCPT.
func ExampleChecks() {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var stored bytes.Buffer
	be := &myBackend{policy: greylistPolicy(clock), store: func(m *gosmtp.Message) error {
		_, err := m.WriteTo(&stored)
		return err
	}}
	srv := smtp.NewServer(be)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()

	show := func(err error) {
		if e, ok := err.(*smtp.SMTPError); ok {
			fmt.Println(e.Code, e.EnhancedCode, e.Message)
		} else {
			fmt.Println(err)
		}
	}
	show(sendOnce(ln.Addr().String(), "client.example.net"))
	now = now.Add(6 * time.Minute)
	show(sendOnce(ln.Addr().String(), "client.example.net"))
	_, afterReceived, _ := strings.Cut(stored.String(), "X-Greylist")
	fmt.Printf("X-Greylist%s", strings.ReplaceAll(afterReceived, "\r\n", "\n"))
	show(sendOnce(ln.Addr().String(), "notfqdn"))
	// Output:
	// 451 [4 7 1] greylisted, try again in 300 seconds
	// <nil>
	// X-Greylist: delayed 360 seconds by smtppolicy at mx.example.org; Fri, 04 Dec 2026 12:06:00 +0000
	// Subject: hi
	//
	// hello
	// 550 [5 7 0] HELO notfqdn argument must be a FQDN or IP-domain literal
}
