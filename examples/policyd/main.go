// Command policyd is a Postfix SMTP access policy server (the policy
// delegation protocol of SMTPD_POLICY_README) running smtppolicy's
// greylisting, in place of postgrey:
//
//	policyd -listen 127.0.0.1:10040 -greylist bolt:/var/lib/policyd/grey.db
//
// and in Postfix's main.cf:
//
//	smtpd_recipient_restrictions = ..., reject_unauth_destination,
//	    check_policy_service inet:127.0.0.1:10040
//
// Each request is mapped onto a smtpcheck session and answered with DUNNO,
// DEFER_IF_PERMIT, DEFER, REJECT or PREPEND with the catalog's text. A
// malformed request is logged and its connection closed, as the protocol
// asks.
//
// -greylist-list prints the triplets waiting out their delay and exits;
// -greylist-release KEY lets one through at once.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/policyd/policy"
	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/greylist/storespec"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "policyd:", err)
		os.Exit(1)
	}
}

// options are policyd's flags.
type options struct {
	listen   string
	greylist string
	delay    time.Duration
	exchange bool
	hostname string
	verbose  bool
	list     bool
	release  string
	timeout  time.Duration
	idle     time.Duration
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("policyd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.listen, "listen", "127.0.0.1:10040", "address to serve the policy protocol on")
	fs.StringVar(&o.greylist, "greylist", "memory:", "greylist store: memory:, bolt:PATH or redis://HOST:PORT/DB; none turns greylisting off")
	fs.DurationVar(&o.delay, "greylist-delay", greylist.DefaultDelay, "how long a new triplet is deferred")
	fs.BoolVar(&o.exchange, "greylist-exchange", false, "defer with enhanced code 4.2.0 instead of 4.7.1 (for Exchange peers)")
	fs.StringVar(&o.hostname, "hostname", "localhost", "this host's name, for the X-Greylist header")
	fs.BoolVar(&o.verbose, "v", false, "log every decision")
	fs.BoolVar(&o.list, "greylist-list", false, "print the triplets waiting out their delay, then exit")
	fs.StringVar(&o.release, "greylist-release", "", "let the triplet stored at this key through at once, then exit")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline for answering one request")
	fs.DurationVar(&o.idle, "idle", 5*time.Minute, "close a connection idle for this long")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return o, nil
}

// server answers policy requests with a smtpcheck.Policy.
type server struct {
	policy  *smtpcheck.Policy
	verbose bool
	log     *slog.Logger
	timeout time.Duration
	idle    time.Duration

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	srv, g, closeStore, err := build(ctx, o, logger)
	if err != nil {
		return err
	}
	defer closeStore()
	switch {
	case o.list:
		return g.Pending(ctx, func(w greylist.Waiting) error {
			_, err := fmt.Fprintf(stdout, "%s\tready %s\texpires %s\n", w.Key, w.Ready.Format(time.RFC3339), w.Expires.Format(time.RFC3339))
			return err
		})
	case o.release != "":
		return g.ReleaseKey(ctx, o.release)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	logger.Info("serving the Postfix policy protocol", "listen", ln.Addr().String(), "greylist", o.greylist, "delay", o.delay)
	return srv.serve(ctx, ln)
}

// build makes the server and its greylist from the options.
func build(ctx context.Context, o options, logger *slog.Logger) (*server, *greylist.Greylist, func(), error) {
	var rcpt []smtpcheck.Check
	var g *greylist.Greylist
	closeStore := func() {}
	if o.greylist != "none" {
		octx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := storespec.Open(octx, o.greylist)
		cancel()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("-greylist: %w", err)
		}
		closeStore = func() { st.Close() }
		g, err = greylist.New(greylist.Config{Store: st, Delay: o.delay, Exchange: o.exchange, Hostname: o.hostname, Logger: logger})
		if err != nil {
			st.Close()
			return nil, nil, nil, err
		}
		rcpt = append(rcpt, g.Check())
	} else if o.list || o.release != "" {
		return nil, nil, nil, errors.New("-greylist-list and -greylist-release need a -greylist store")
	}
	p := &smtpcheck.Policy{Rcpt: smtpcheck.FirstMatch(rcpt...)}
	return &server{policy: p, verbose: o.verbose, log: logger, timeout: o.timeout, idle: o.idle, conns: map[net.Conn]struct{}{}}, g, closeStore, nil
}

// serve accepts connections until ctx is done, then closes them all.
func (s *server) serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// handle answers the requests of one connection in turn.
func (s *server) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	r := policy.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		c.SetReadDeadline(time.Now().Add(s.idle))
		req, err := r.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				s.log.Warn("closing policy connection", "client", c.RemoteAddr().String(), "error", err)
			}
			return
		}
		action := s.decide(ctx, req)
		c.SetWriteDeadline(time.Now().Add(s.timeout))
		if err := policy.WriteAction(w, action); err != nil {
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// decide evaluates one request and returns the action to answer.
func (s *server) decide(ctx context.Context, req policy.Request) string {
	sess, err := req.Session()
	if err != nil {
		if !errors.Is(err, policy.ErrUnsupported) {
			s.log.Warn("policy request not understood; answering DUNNO", "error", err)
		}
		return "DUNNO"
	}
	sess.Now = time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// The stage's check runs directly rather than through Policy.Evaluate:
	// Postfix applies defer-if-permit across its own restriction lists, so
	// the verdict must reach it as DEFER_IF_PERMIT, not as a final DEFER.
	var r smtpcheck.Result
	if c := stageCheck(s.policy, sess.Stage); c != nil {
		r = c(ctx, sess)
	}
	if r.Err != nil && r.Action == smtpcheck.Continue {
		r = smtpcheck.FailOpen.Fail(r.Err, r.Reason)
	}
	action := policy.Action(r)
	if s.verbose || r.Action != smtpcheck.Continue {
		s.log.Debug("policy decision", "session", sess, "result", r, "action", action)
	}
	return action
}

// stageCheck returns the policy's check for a stage.
func stageCheck(p *smtpcheck.Policy, st smtpcheck.Stage) smtpcheck.Check {
	switch st {
	case smtpcheck.StageConnect:
		return p.Connect
	case smtpcheck.StageHelo:
		return p.Helo
	case smtpcheck.StageMail:
		return p.Mail
	case smtpcheck.StageRcpt:
		return p.Rcpt
	case smtpcheck.StageData:
		return p.Data
	case smtpcheck.StageEndOfData:
		return p.EndOfData
	}
	return nil
}
