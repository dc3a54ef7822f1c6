// Command sink is a bare github.com/emersion/go-smtp server with no policy
// at all: it accepts every message and stores it as examples/smtpd does,
// through the same package (examples/internal/maildir): a Received: line,
// then the message byte for byte, fsynced before the 250. It is the peer
// that examples/smtpd/loadtest.sh measures the example server's CPU per
// message against: whatever smtpd spends beyond the sink is the price of
// its adapter and policy.
//
//	go run ./examples/smtpd/sink -listen 127.0.0.1:2603 -maildir /tmp/sink
//
// SIGTERM and SIGINT stop it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/examples/internal/maildir"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:2525", "address to serve SMTP on (HOST:PORT)")
	dir := flag.String("maildir", "mail", "directory where accepted messages are written as .eml files")
	hostname := flag.String("hostname", "sink.localhost", "this server's host name")
	flag.Parse()
	if err := run(*listen, *dir, *hostname); err != nil {
		log.Fatal(err)
	}
}

func run(listen, dir, hostname string) error {
	md, err := maildir.Open(dir)
	if err != nil {
		return err
	}
	// Names start with the start time, so that a restarted sink never
	// reuses one.
	be := &backend{dir: md, host: hostname, start: strconv.FormatInt(time.Now().UnixNano(), 36)}
	srv := smtp.NewServer(be)
	srv.Domain = hostname
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 25 << 20
	srv.MaxRecipients = 100
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return err
	}
	return nil
}

// backend hands each connection a session; conns numbers them, for the
// file names.
type backend struct {
	dir   *maildir.Dir
	host  string
	start string
	conns atomic.Uint64
	seq   atomic.Uint64
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{b: b, c: c, id: b.start + "." + strconv.FormatUint(b.conns.Add(1), 10)}, nil
}

// session accepts whatever it is given.
type session struct {
	b  *backend
	c  *smtp.Conn
	id string
}

func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *session) Reset()                               {}
func (s *session) Logout() error                        { return nil }

// Data stores the message under a Received: line like smtpd's.
func (s *session) Data(r io.Reader) error {
	ip := s.c.Conn().RemoteAddr().String()
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	head := fmt.Appendf(nil, "Received: from %s ([%s])\r\n\tby %s (sink) with ESMTP id %s;\r\n\t%s\r\n",
		s.c.Hostname(), ip, s.b.host, s.id, time.Now().Format(time.RFC1123Z))
	name := s.id + "-" + strconv.FormatUint(s.b.seq.Add(1), 10) + ".eml"
	return s.b.dir.Deliver(context.Background(), "", name, head, r)
}
