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
// The policy's parameters are package assembly's, the same as smtpd's:
// the flags of the access map, hygiene checks, SPF, DNS lists (with
// -dnsbl-health probes; a client a DNS allowlist accepts is not
// greylisted) and greylisting are shorthands for smtppolicy_* parameters
// that a -config file may set too (a flag given wins), and -print-config
// prints the effective file. A policy request carries no message, so the
// parameters of the header and body checks (URI lists, clamd, spamd,
// content greylisting, bare line endings, DKIM, DMARC and ARC, duplicate
// refusal) are accepted but ignored: -h names them, the log names the
// ones set at start, and -print-config prints them commented out; nor
// does policyd own the client's connection, so smtpf's four21 test is
// ignored too. BATV and the callouts run as in smtpd, and a -config
// file's reject_unverified_sender and reject_unverified_recipient ask the
// callouts (-callout-recipient names the server that knows the
// recipients).
//
// -greylist-list prints the triplets waiting out their delay and exits;
// -greylist-release KEY lets one through at once.
//
// postgrey's options are taken too, with postgrey's names, units and list
// file formats (--inet=10023 --delay=300 --whitelist-clients=FILE ...),
// so a postgrey command line keeps working.
//
// Greylist triplets are kept in a bbolt file, by default
// /var/lib/smtppolicy/greylist.db (its directory is created 0700), so a
// restart keeps them; -greylist memory: keeps them in memory only.
//
// policyd runs its Go code on one thread unless the GOMAXPROCS
// environment variable asks for more: a request costs microseconds of
// CPU, most of it the kernel's, and on one thread the requests of every
// connection run in turn without waking another thread for each, which
// costs 10-15% less CPU per request on two cores. One core answers over
// ten thousand requests a second; DNS lookups, store round trips and
// fsyncs wait without holding it.
//
// SIGHUP reloads the -config file and the access maps: the new policy
// takes over for the next request, the greylist and limit counters are
// kept, and a file that does not load leaves the running policy in place
// (the log says which file and line). SIGTERM and SIGINT stop accepting,
// answer the requests under way and close the connections, waiting at
// most -shutdown-timeout.
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
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/assembly"
	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/examples/internal/ops"
	"github.com/smtppolicy/smtppolicy/examples/policyd/policy"
	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

func main() {
	if os.Getenv("GOMAXPROCS") == "" {
		// One thread runs the Go code: see the package comment.
		runtime.GOMAXPROCS(1)
	}
	daemon.Main("policyd", func(ctx context.Context, hup <-chan os.Signal) error {
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr, hup)
	})
}

// defaultStore is where triplets are kept unless -greylist says otherwise.
const defaultStore = "bolt:/var/lib/smtppolicy/greylist.db"

// options are policyd's flags.
type options struct {
	listen     string
	listenMode string
	greylist   string
	delay      time.Duration
	exchange   bool
	hostname   string
	verbose    bool
	list       bool
	release    string
	timeout    time.Duration
	idle       time.Duration
	stopWait   time.Duration
	version    bool

	config    string
	resolver  string
	dnsbl     listFlag
	domains   listFlag // -domain: this MTA's domains, for BATV and the HELO checks
	threshold int
	access    listFlag
	hygiene   bool
	dryRun    bool

	autoAllow    int  // -greylist-auto-allow: passes before a client is allowed outright; 0: off
	autoAllowNet bool // -greylist-auto-allow-by-network: count per /24 or /64, not per address

	pg postgreyOptions

	// params are the policy's parameters as the flags set them; the
	// fields above them are their values, read back after parsing.
	params *assembly.Config
	print  bool

	logFlags *ops.LogFlags
	metrics  string
}

// mirror reads the parameters the flags set back into o's fields.
func (o *options) mirror() {
	p := o.params
	o.greylist = p.Value("smtppolicy_greylist_store")
	o.delay, _ = time.ParseDuration(p.Value("smtppolicy_greylist_delay"))
	o.exchange = p.Value("smtppolicy_greylist_exchange") == "yes"
	o.autoAllow, _ = strconv.Atoi(p.Value("smtppolicy_greylist_auto_allow"))
	o.autoAllowNet = p.Value("smtppolicy_greylist_auto_allow_by_network") == "yes"
	o.dnsbl = postconf.Fields(p.Value("smtppolicy_dnsbl_sites"))
	o.threshold, _ = strconv.Atoi(p.Value("smtppolicy_dnsbl_threshold"))
	o.access = postconf.Fields(p.Value("smtppolicy_access_maps"))
	o.hygiene = p.Value("smtppolicy_hygiene") == "yes"
}

// cannotRun is the end of the usage: the checks whose flags policyd
// accepts but cannot run, read from the parameters' table.
func cannotRun() string {
	var body, conn []string
	for _, p := range assembly.Params() {
		switch {
		case p.Body:
			body = append(body, "-"+p.Flag)
		case p.Conn:
			conn = append(conn, "-"+p.Flag)
		}
	}
	text := "A policy request carries the envelope but no message, so these checks cannot run here: DKIM, DMARC and ARC, " +
		"duplicate refusal, URI lists and link checks, clamd, spamd, content greylisting and bare line endings (" +
		strings.Join(body, " ") + "). policyd owns no client connection, so smtpf's four21 test cannot run either (" +
		strings.Join(conn, " ") + "). Their parameters are accepted and ignored, and the log names the ones set. " +
		"BATV and the callouts run here as in smtpd, and a -config file's reject_unverified_sender and " +
		"reject_unverified_recipient ask the callouts."
	var b strings.Builder
	b.WriteString("\n")
	line := 0
	for _, w := range strings.Fields(text) {
		if line > 0 && line+1+len(w) > 100 {
			b.WriteString("\n")
			line = 0
		}
		if line > 0 {
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\n")
	return b.String()
}

// listFlag is a repeatable string flag.
type listFlag = daemon.ListFlag

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("policyd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.listen, "listen", "127.0.0.1:10040", "address to serve the policy protocol on: inet:HOST:PORT, HOST:PORT or unix:/path, as check_policy_service names it")
	fs.StringVar(&o.listenMode, "listen-mode", "0666", "permissions of a unix: listening socket (octal)")
	fs.StringVar(&o.hostname, "hostname", "localhost", "this host's name, for the X-Greylist header and, with -config, myhostname where the file sets none")
	fs.BoolVar(&o.verbose, "v", false, "log every decision")
	fs.BoolVar(&o.list, "greylist-list", false, "print the triplets waiting out their delay, then exit")
	fs.StringVar(&o.release, "greylist-release", "", "let the triplet stored at this key through at once, then exit")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline for answering one request")
	fs.DurationVar(&o.idle, "idle", 5*time.Minute, "close a connection idle for this long")
	fs.DurationVar(&o.stopWait, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long requests under way may take before their connections are closed")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.config, "config", "", "Postfix main.cf-style policy file (smtpd_*_restrictions and the parameters that shape them); its lists run first at each stage")
	fs.StringVar(&o.resolver, "resolver", "", "DNS server HOST:PORT for DNS-based checks; none given: DNS checks are off")
	fs.Var(&o.domains, "domain", "this MTA's domain (repeatable): bounce tag validation checks bounces to these only, and the HELO checks refuse a client naming one; none given: BATV checks every recipient")
	fs.BoolVar(&o.dryRun, "dry-run", false, "log and count every verdict but answer DUNNO (PREPEND headers are still given)")
	// The policy's parameters: the flags of the access map, hygiene, DNS
	// lists and greylisting set them, as smtpd's do; hygiene is off by
	// default because Postfix enforces protocol hygiene itself.
	o.params = assembly.NewConfig(map[string]string{
		"smtppolicy_hygiene":        "no",
		"smtppolicy_hygiene_names":  "yes",
		"smtppolicy_greylist_store": defaultStore,
	})
	o.params.Flags(fs)
	fs.BoolVar(&o.print, "print-config", false, "print the effective configuration (the -config file with every flag applied) as a main.cf file, then exit")
	pgNames := postgreyFlags(fs, &o, &o.pg)
	o.logFlags = ops.AddLogFlags(fs)
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics and the admin endpoints (/admin/greylist, /admin/limits; loopback clients only), such as 127.0.0.1:9026")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of %s:\n", fs.Name())
		fs.PrintDefaults()
		io.WriteString(fs.Output(), cannotRun())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, daemon.NewUsageError(err)
	}
	o.pg.markPostgreyGiven(fs, pgNames)
	if o.pg.dbdir != "" {
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "greylist" })
		if !explicit {
			o.params.Set("smtppolicy_greylist_store", "bolt:"+filepath.Join(o.pg.dbdir, "greylist.db"))
		}
	}
	o.mirror()
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return o, daemon.NewUsageError(fmt.Errorf("unexpected arguments %q", fs.Args()))
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

	// live, when set, holds the server whose policy is in force: a
	// reload swaps it, and every request is answered by the one it holds
	// when the request arrives, while connections stay open.
	live *daemon.Reloader[server]

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// stopWait bounds how long requests under way may take at shutdown.
	stopWait time.Duration
	// grey is the policy's greylist, for the admin endpoints; nil when off.
	grey *greylist.Greylist
}

// current returns the server in force.
func (s *server) current() *server {
	if s.live == nil {
		return s
	}
	return s.live.Load()
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, hup <-chan os.Signal) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.version {
		_, err := fmt.Fprintln(stdout, "policyd", daemon.Version())
		return err
	}
	if o.print {
		params, err := o.params.LoadConfig(o.config)
		if err != nil {
			return err
		}
		return params.Print(stdout, false)
	}
	mode, err := daemon.ParseMode(o.listenMode)
	if err != nil {
		return fmt.Errorf("-listen-mode: %w", err)
	}
	if _, _, err := daemon.ParseListen(o.listen); err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	var prom *ops.Metrics
	if o.metrics != "" {
		prom = ops.NewMetrics()
	}
	logOut, flushLog := batchedLog(stderr)
	defer flushLog()
	logger, err := newLogger(o, logOut, prom)
	if err != nil {
		return err
	}
	st, err := openStores(ctx, o, logger)
	if err != nil {
		return err
	}
	if prom != nil {
		st.metrics = prom
	}
	defer st.close()
	// A reload builds on the same stores; the policy in force answers
	// each request as it arrives.
	policies := &daemon.Reloader[server]{
		Build: func(ctx context.Context) (*server, error) {
			srv, _, err := buildPolicy(ctx, o, st, logger)
			return srv, err
		},
		Logger: logger,
		Attrs:  func(*server) []any { return []any{"config", o.config, "access", o.access.String()} },
	}
	srv, err := policies.Start()
	if err != nil {
		return err
	}
	defer policies.Stop()
	switch {
	case o.list:
		return srv.grey.Pending(ctx, func(w greylist.Waiting) error {
			_, err := fmt.Fprintf(stdout, "%s\tready %s\texpires %s\n", w.Key, w.Ready.Format(time.RFC3339), w.Expires.Format(time.RFC3339))
			return err
		})
	case o.release != "":
		return srv.grey.ReleaseKey(ctx, o.release)
	}
	// The socket opens only now that the whole configuration has loaded:
	// a bad file never leaves a half-started daemon answering.
	ln, err := daemon.Listen(o.listen, mode)
	if err != nil {
		return err
	}
	srv.live = policies
	if prom != nil {
		if err := serveMetrics(ctx, o.metrics, logger, prom, st, srv); err != nil {
			ln.Close()
			return fmt.Errorf("-metrics: %w", err)
		}
	}
	policies.OnHUP(ctx, hup)
	logger.Info("serving the Postfix policy protocol", "listen", o.listen, "addr", ln.Addr().String(),
		"greylist", daemon.RedactURL(o.greylist), "delay", o.delay, "dry_run", srv.policy.DryRun)
	return srv.serve(ctx, daemon.Retrying(ln, logger))
}

// serve accepts connections until ctx is done, then stops accepting, lets
// the requests under way be answered, and closes every connection,
// waiting at most stopWait.
func (s *server) serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			// A connection waiting for its next request ends now; one
			// whose request is being answered ends after the answer.
			c.SetReadDeadline(time.Now())
		}
		s.mu.Unlock()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				s.drain()
				return nil
			}
			s.wg.Wait()
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

// drain waits for the connections to end, up to stopWait, then closes the
// rest.
func (s *server) drain() {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	wait := s.stopWait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	select {
	case <-done:
		return
	case <-time.After(wait):
	}
	s.mu.Lock()
	n := len(s.conns)
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.log.Warn("shutdown deadline passed; closed the connections still answering", "connections", n)
	<-done
}

// deadlineSlack is how far past its due time a connection's deadline is
// set, so that it need not move with every request.
const deadlineSlack = time.Second

// moveDeadline returns the deadline set for a connection whose deadline
// is cur and is due at due: cur when it lies within [due, due +
// deadlineSlack], else due + deadlineSlack, set with set.
func moveDeadline(set func(time.Time) error, cur, due time.Time) time.Time {
	if !cur.Before(due) && !cur.After(due.Add(deadlineSlack)) {
		return cur
	}
	cur = due.Add(deadlineSlack)
	set(cur)
	return cur
}

// handle answers the requests of one connection in turn, each with the
// policy in force when it arrives.
func (s *server) handle(ctx context.Context, c net.Conn) {
	defer c.Close()
	r := policy.NewReader(c)
	w := bufio.NewWriter(c)
	// The answers are due even while shutting down: a context of their
	// own keeps each request's deadline but not the shutdown. One for the
	// connection, not one per request.
	answerCtx := context.WithoutCancel(ctx)
	var st requestMemory
	var timers connTimer // the requests' deadlines, one request at a time
	defer timers.stop()
	// One clock reading per request, when it has been read: its answer's
	// deadlines and the next read's idle deadline count from it. The
	// decision is due within -timeout of it, and its answer's write is
	// given -timeout more (as when the write deadline was set after the
	// decision), so the connection is idle from twice -timeout after the
	// request's arrival at the latest. Moving a socket deadline costs a
	// runtime timer update, so each is set a little past where it is due
	// (by deadlineSlack) and moved again only once it falls short (or lies
	// beyond that margin, after a HUP shortened -idle or -timeout): a
	// connection is closed no sooner than -idle after its last answer, and
	// at most twice -timeout plus the margin later.
	now := time.Now()
	var readDL, writeDL time.Time
	for {
		cur := s.current()
		readDL = moveDeadline(c.SetReadDeadline, readDL, now.Add(2*cur.timeout+cur.idle))
		if ctx.Err() != nil {
			return // shutting down: no new request on this connection
		}
		req, err := r.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				s.log.Warn("closing policy connection", "client", c.RemoteAddr().String(), "error", err)
			}
			return
		}
		now = time.Now()
		cur = s.current()
		rc := newRequestContextAt(answerCtx, now, cur.timeout, &timers)
		action := cur.decideIn(rc, &st, req)
		rc.end()
		writeDL = moveDeadline(c.SetWriteDeadline, writeDL, now.Add(2*cur.timeout))
		if err := policy.WriteAction(w, action); err != nil {
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}
