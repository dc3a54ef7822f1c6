// Command policyd is a Postfix SMTP access policy server (the policy
// delegation protocol of SMTPD_POLICY_README) running a whole smtppolicy
// policy: greylisting, in place of postgrey, plus DNS lists, an smtpf
// access map, the hygiene checks and Postfix restriction lists from a
// main.cf-style file:
//
//	policyd -listen 127.0.0.1:10040 -greylist bolt:/var/lib/policyd/grey.db \
//	    -resolver 127.0.0.1:53 -dnsbl zen.spamhaus.org -access /etc/policyd/access.cf
//
// and in Postfix's main.cf:
//
//	smtpd_recipient_restrictions = ..., reject_unauth_destination,
//	    check_policy_service inet:127.0.0.1:10040
//
// A request carries the whole envelope at once. It is mapped onto one
// fresh smtpcheck session that is walked through the stages up to the
// request's protocol_state (connect, HELO, MAIL, RCPT, then DATA and
// END-OF-MESSAGE), each stage evaluated by smtpcheck.Policy.Evaluate with
// delayed rejection, so every decision is traced, logged and counted as
// in an SMTP server. The first refusal ends the walk and is answered
// REJECT, DEFER, DEFER_IF_PERMIT (Postfix applies defer-if-permit across
// its own restriction lists, so it is never turned into a final DEFER
// here), DISCARD or HOLD with the catalog's text; a request that passes is
// answered PREPEND (a header to add) or DUNNO. A malformed request is
// logged and its connection closed, as the protocol asks.
//
// When the policy itself fails (a check panicked, or an error the policy
// turns into 451 4.3.0), the answer is the -config file's
// smtpd_policy_service_default_action if the file sets one, and otherwise
// "DEFER_IF_PERMIT 4.3.0 internal server error": DUNNO would let mail
// through unchecked while the policy is broken, and a plain DEFER would
// defer mail Postfix's own lists reject; DEFER_IF_PERMIT lets Postfix's
// rejections stand and defers the rest until the policy works again.
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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/policyd/policy"
	"github.com/smtppolicy/smtppolicy/greylist"
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

	config    string
	resolver  string
	dnsbl     listFlag
	threshold int
	access    listFlag
	hygiene   bool
	dryRun    bool

	autoAllow    int  // -greylist-auto-allow: passes before a client is allowed outright; 0: off
	autoAllowNet bool // -greylist-auto-allow-by-network: count per /24 or /64, not per address
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("policyd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.listen, "listen", "127.0.0.1:10040", "address to serve the policy protocol on")
	fs.StringVar(&o.greylist, "greylist", "memory:", "greylist store: memory:, bolt:PATH or redis://HOST:PORT/DB; none turns greylisting off")
	fs.DurationVar(&o.delay, "greylist-delay", greylist.DefaultDelay, "how long a new triplet is deferred")
	fs.BoolVar(&o.exchange, "greylist-exchange", false, "defer with enhanced code 4.2.0 instead of 4.7.1 (for Exchange peers)")
	fs.IntVar(&o.autoAllow, "greylist-auto-allow", greylist.DefaultAutoAllow, "allow a client outright after this many passes (at most one an hour counts); 0 turns it off, as postgrey's --auto-whitelist-clients=0")
	fs.BoolVar(&o.autoAllowNet, "greylist-auto-allow-by-network", false, "count passes per client /24 or /64 network instead of per client address (postgrey counts per address)")
	fs.StringVar(&o.hostname, "hostname", "localhost", "this host's name, for the X-Greylist header")
	fs.BoolVar(&o.verbose, "v", false, "log every decision")
	fs.BoolVar(&o.list, "greylist-list", false, "print the triplets waiting out their delay, then exit")
	fs.StringVar(&o.release, "greylist-release", "", "let the triplet stored at this key through at once, then exit")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline for answering one request")
	fs.DurationVar(&o.idle, "idle", 5*time.Minute, "close a connection idle for this long")
	fs.StringVar(&o.config, "config", "", "Postfix main.cf-style policy file (smtpd_*_restrictions and the parameters that shape them); its lists run first at each stage")
	fs.StringVar(&o.resolver, "resolver", "", "DNS server HOST:PORT for DNS-based checks; none given: DNS checks are off")
	fs.Var(&o.dnsbl, "dnsbl", "DNS list to check the client IP against, Postfix syntax ZONE[=PATTERN|&MASK][*WEIGHT] (repeatable; needs -resolver)")
	fs.IntVar(&o.threshold, "dnsbl-threshold", 1, "reject when the weights of the DNS lists that list the client add up to this")
	fs.Var(&o.access, "access", "smtpf access map file (repeatable; later files override earlier keys)")
	fs.BoolVar(&o.hygiene, "hygiene", false, "HELO, envelope and size checks (off by default: Postfix enforces protocol hygiene itself)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "log and count every verdict but answer DUNNO (PREPEND headers are still given)")
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
	// policy holds refusals found before RCPT until RCPT (delayed
	// rejection); immediate is the same policy without, for requests the
	// walk never takes to RCPT (a CONNECT, HELO or MAIL request, or a DATA
	// request without a single recipient).
	policy    *smtpcheck.Policy
	immediate *smtpcheck.Policy
	// failAction answers a request the policy failed on.
	failAction string
	verbose    bool
	log        *slog.Logger
	timeout    time.Duration
	idle       time.Duration

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
	logger.Info("serving the Postfix policy protocol", "listen", ln.Addr().String(), "greylist", o.greylist, "delay", o.delay, "dry_run", srv.policy.DryRun)
	return srv.serve(ctx, ln)
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
