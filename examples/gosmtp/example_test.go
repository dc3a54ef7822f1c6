package gosmtp_test

import (
	"context"
	"fmt"
	"net"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Wiring a policy into a go-smtp server: the Backend runs the policy at every
// stage, and the wrapped listener runs the connect stage before the greeting.
func ExampleNew() {
	be := gosmtp.New(gosmtp.Config{
		Policy: &smtpcheck.Policy{
			Rcpt: smtpcheck.FirstMatch(smtpcheck.RelayControl("example.org")),
		},
		Deliver: func(ctx context.Context, m *gosmtp.Message) error {
			fmt.Printf("delivered %d bytes from %s\n", m.Data.Size(), m.Session.Mail.From)
			return nil
		},
	})
	srv := smtp.NewServer(be)
	srv.Domain = "mx.example.org"
	be.Configure(srv)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(be.Listener(ln))
	defer srv.Close()

	c, _ := smtp.Dial(ln.Addr().String())
	defer c.Close()
	c.Hello("client.example.net")
	c.Mail("alice@example.net", nil)
	if err := c.Rcpt("eve@elsewhere.example", nil); err != nil {
		e := err.(*smtp.SMTPError)
		fmt.Println(e.Code, e.EnhancedCode, e.Message)
	}
	c.Rcpt("bob@example.org", nil)
	w, _ := c.Data()
	fmt.Fprint(w, "Subject: hi\r\n\r\nhello\r\n")
	w.Close()
	// Output:
	// 550 [5 7 1] recipient <eve@elsewhere.example> relaying denied
	// delivered 22 bytes from alice@example.net
}

// Configure gives go-smtp the Backend's message size limit, which EHLO
// advertises, and lifts go-smtp's line limit from message lines (the
// Listener bounds command lines).
func ExampleBackend_Configure() {
	be := gosmtp.New(gosmtp.Config{MaxMessageBytes: 40 << 20})
	srv := smtp.NewServer(be)
	be.Configure(srv)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(be.Listener(ln))
	defer srv.Close()

	c, _ := smtp.Dial(ln.Addr().String())
	defer c.Close()
	c.Hello("client.example.net")
	_, size := c.Extension("SIZE")
	fmt.Println("SIZE", size)
	// Output:
	// SIZE 41943040
}
