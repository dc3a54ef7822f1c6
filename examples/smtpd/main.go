// Command smtpd is an SMTP server on github.com/emersion/go-smtp with an
// smtppolicy policy in front: the library's main job, ready to run.
//
//	go run ./examples/smtpd
//
// serves SMTP on 127.0.0.1:2525 with an embedded default policy that needs no
// network (relay control for the accepted domains and the checks that need no
// DNS), writes every accepted message to -maildir as an .eml file byte for byte
// after a Received: line, and logs every decision with its reasons.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// buildEnv is what a feature's checks are built from, once flags are parsed.
type buildEnv struct {
	Resolver *resolver.Resolver // nil without -resolver: DNS checks stay off
	Logger   *slog.Logger
	Domains  []string     // accepted recipient domains
	Hostname string       // this server's name
	Local    []netip.Addr // this server's addresses
	// Access is the smtpf access map when -access gave one, for the link
	// checks' Body: lookups.
	Access *access.Access
}

// staged are a feature's checks per stage, appended to that stage's list.
type staged struct {
	smtpcheck.Stages
	// Normalize, when set, rewrites an accepted message before it is
	// stored (bare LF/CR to CRLF).
	Normalize func(io.Reader) io.Reader
	// MaxSize, when set, is the largest message accepted (SIZE in EHLO).
	MaxSize int64
}

// feature registers its flags and returns the builder to call after parsing.
type feature func(fs *flag.FlagSet) func(env *buildEnv) (staged, error)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// options are the core flags.
type options struct {
	listen     string
	domains    listFlag
	maildir    string
	trusted    string
	resolver   string
	hostname   string
	verbose    bool
	noPolicy   bool
	config     string
	dryRun     bool
	greetPause time.Duration
	metrics    string
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "smtpd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr *os.File) error {
	srv, ln, logger, err := setup(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	logger.Info("serving SMTP", "listen", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return err
	}
	return nil
}

// setup parses flags, builds the policy and returns a server with its
// (wrapped) listener, ready to Serve.
func setup(args []string, stderr *os.File) (*smtp.Server, net.Listener, *slog.Logger, error) {
	fs := flag.NewFlagSet("smtpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.listen, "listen", "127.0.0.1:2525", "address to serve SMTP on")
	fs.Var(&o.domains, "domain", "accepted recipient domain (repeatable; default example.org and localhost)")
	fs.StringVar(&o.maildir, "maildir", "mail", "directory where accepted messages are written as .eml files")
	fs.StringVar(&o.trusted, "trusted", "none", "comma-separated networks exempt from policy (CIDR), or none")
	fs.StringVar(&o.resolver, "resolver", "", "DNS server HOST:PORT for DNS-based checks; none given: DNS checks are off")
	fs.StringVar(&o.hostname, "hostname", "smtpd.localhost", "this server's host name")
	fs.BoolVar(&o.verbose, "v", false, "log every decision, not only refusals")
	fs.BoolVar(&o.noPolicy, "no-policy", false, "serve with an empty policy, accepting everything (to measure the policy's cost)")
	fs.StringVar(&o.config, "config", "", "Postfix main.cf-style policy file (smtpd_*_restrictions and the parameters that shape them)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "log and count every verdict but let every message pass")
	fs.StringVar(&o.metrics, "metrics", "", "serve counts and durations per check and verdict at http://ADDR/debug/vars (expvar), such as 127.0.0.1:9025")
	dataTimeout := fs.Duration("data-timeout", gosmtp.DefaultDataTimeout, "longest DATA, from the 354 to the final dot; a client still sending then gets 421 4.4.2 and is disconnected")
	fs.DurationVar(&o.greetPause, "greet-pause", 0, "wait this long before the greeting and refuse clients that talk first (postscreen's pregreet test; 0: off)")
	// The policy's parts, in the order their checks run at each stage.
	features := []feature{accessFlags, hygieneFlags, dnsblFlags, uriFlags, scanFlags, greylistFlags}
	builders := make([]func(*buildEnv) (staged, error), 0, len(features))
	for _, f := range features {
		builders = append(builders, f(fs))
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, nil, err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if len(o.domains) == 0 {
		o.domains = listFlag{"example.org", "localhost"}
	}
	trusted, err := parseTrusted(o.trusted)
	if err != nil {
		return nil, nil, nil, err
	}
	env := &buildEnv{Logger: logger, Domains: o.domains, Hostname: o.hostname}
	if o.resolver != "" {
		res, err := resolver.New(resolver.Config{Servers: []string{o.resolver}, Logger: logger})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("-resolver: %w", err)
		}
		env.Resolver = res
		logger.Info("DNS-based checks on", "resolver", o.resolver)
	} else {
		logger.Info("DNS-based checks off: no -resolver given")
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return nil, nil, nil, err
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil {
		env.Local = append(env.Local, ap.Addr())
	}

	var all staged
	for _, build := range builders {
		st, err := build(env)
		if err != nil {
			ln.Close()
			return nil, nil, nil, err
		}
		all.Stages = all.Stages.Append(st.Stages)
		if st.Normalize != nil {
			all.Normalize = st.Normalize
		}
		if st.MaxSize > 0 {
			all.MaxSize = st.MaxSize
		}
	}
	policy := &smtpcheck.Policy{
		Connect: smtpcheck.FirstMatch(all.Connect...),
		Helo:    smtpcheck.FirstMatch(all.Helo...),
		Mail:    smtpcheck.FirstMatch(all.Mail...),
		// Relay control comes first: no allowlist may turn the server into
		// an open relay.
		Rcpt:        smtpcheck.FirstMatch(append([]smtpcheck.Check{smtpcheck.RelayControl(o.domains...)}, all.Rcpt...)...),
		Data:        smtpcheck.FirstMatch(all.Data...),
		Headers:     smtpcheck.FirstMatch(all.Headers...),
		EndOfData:   smtpcheck.FirstMatch(all.EndOfData...),
		DelayReject: true,
		Logger:      logger,
	}
	if o.config != "" {
		policy, err = configPolicy(o.config, env, all)
		if err != nil {
			ln.Close()
			return nil, nil, nil, err
		}
	}
	policy.DryRun = policy.DryRun || o.dryRun
	if policy.DryRun {
		logger.Warn("dry run: verdicts are logged, every message passes")
	}
	if o.noPolicy {
		policy = &smtpcheck.Policy{Logger: logger}
		logger.Warn("empty policy: every message is accepted")
	}
	if o.metrics != "" {
		m, err := serveMetrics(o.metrics, logger)
		if err != nil {
			ln.Close()
			return nil, nil, nil, fmt.Errorf("-metrics: %w", err)
		}
		policy.Metrics = m
	}
	store, err := newMaildir(o.maildir)
	if err != nil {
		ln.Close()
		return nil, nil, nil, err
	}
	cfg := gosmtp.Config{
		Policy:     policy,
		Hostname:   o.hostname,
		Trusted:    trusted,
		Deliver:    store.deliver,
		Normalize:  all.Normalize,
		GreetPause: o.greetPause,
		Logger:     logger,
		// The size check's limit, so that EHLO advertises it (SIZE).
		MaxMessageBytes: all.MaxSize,
		DataTimeout:     *dataTimeout,
		// RFC 5321 4.5.1: postmaster@ every served domain gets mail.
		PostmasterDomains: o.domains,
		OnClose: func(s *smtpcheck.Session) {
			// Give back the session's concurrency slot (Concurrent-Connect:).
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			access.Release(ctx, s)
		},
	}
	if env.Resolver != nil {
		cfg.LookupPTR = env.Resolver.VerifyPTR
	}
	be := gosmtp.New(cfg)
	srv := smtp.NewServer(be)
	srv.Domain = o.hostname
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = time.Minute
	be.Configure(srv) // the message size limit; body lines of any length
	srv.MaxRecipients = 100
	srv.AllowInsecureAuth = false
	srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelError)
	logger.Info("policy", "domains", strings.Join(o.domains, ","), "trusted", o.trusted, "maildir", o.maildir)
	return srv, be.Listener(ln), logger, nil
}

func parseTrusted(s string) ([]netip.Prefix, error) {
	if s == "" || s == "none" {
		return nil, nil
	}
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("-trusted: %q is not a network (CIDR) or address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
