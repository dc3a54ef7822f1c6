// Command milter runs an smtppolicy policy as a mail filter for Postfix or
// Sendmail (the milter protocol): the MTA keeps the SMTP conversation and
// the queue, the policy sees every stage, the message included.
//
//	go run ./examples/milter -listen inet:127.0.0.1:8891
//
// and in Postfix's main.cf:
//
//	smtpd_milters = inet:127.0.0.1:8891
//	milter_default_action = tempfail
//
// The policy is built as smtpd builds it, from the same flags (-config for
// a Postfix main.cf-style file, -access, -hygiene-*, -dnsbl, -uribl,
// -greylist, -resolver): the embedded default needs no network. Postfix
// already does relay control, so unlike smtpd the default policy has none
// of its own. Every decision is logged with its reasons, the queue ID as
// the session.
//
// Which checks need which macros, where the MTA does not honour the
// filter's request for them:
//
//	checks                                          macros (Postfix parameter)
//	-resolver (hygiene's reverse DNS check),        {client_ptr} {client_resolve} (milter_connect_macros)
//	-uri-bl-ptr, -config's reject_unknown_client_hostname
//	and reject_unknown_reverse_client_hostname
//	every check that skips authenticated clients    {auth_authen} (milter_mail_macros, default)
//	the decision log's session ID (queue ID)        i (milter_mail_macros, default)
//	-greet-pause                                    none: refused (Postfix's postscreen does it)
//
// Postfix's mynetworks reaches the filter through -config or -trusted, as no
// macro carries it.
//
// At start-up the program refuses a policy whose checks need a fact the
// MTA will not send (see package gomilter's table): -mta-macros says what
// the MTA sends. "requested" (the default) trusts the filter's request
// for its macros at negotiation, which Postfix honours with milter_protocol
// 6; "postfix-defaults" assumes the MTA ignores requests and sends Postfix's
// default lists; a path names the MTA's own main.cf, whose milter_*_macros
// override those defaults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/examples/gomilter"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// buildEnv is what a feature's checks are built from, once flags are parsed.
type buildEnv struct {
	Resolver *resolver.Resolver // nil without -resolver: DNS checks stay off
	Logger   *slog.Logger
	Domains  []string     // this MTA's own domains (for the HELO checks' claims-to-be-us)
	Hostname string       // this MTA's name
	Local    []netip.Addr // this MTA's addresses
	// Access is the smtpf access map when -access gave one, for the link
	// checks' Body: lookups.
	Access *access.Access
}

// staged are a feature's checks per stage, appended to that stage's list.
type staged struct {
	smtpcheck.Stages
	// MaxSize, when set, is the largest message accepted.
	MaxSize int64
	// Needs are the facts the checks need from the MTA's macros.
	Needs []gomilter.Fact
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

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "milter:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr *os.File) error {
	f, ln, logger, err := setup(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.Shutdown(shutdown)
	}()
	logger.Info("serving milter", "listen", ln.Addr().Network()+":"+ln.Addr().String())
	return f.Serve(ln)
}

// options are the core flags.
type options struct {
	listen    string
	domains   listFlag
	trusted   string
	resolver  string
	hostname  string
	verbose   bool
	noPolicy  bool
	config    string
	dryRun    bool
	macros    string
	timeout   time.Duration
	spoolDir  string
	greetWait time.Duration
}

// setup parses flags, builds the policy and returns the filter with its
// listener, ready to Serve.
func setup(args []string, stderr *os.File) (*gomilter.Filter, net.Listener, *slog.Logger, error) {
	fs := flag.NewFlagSet("milter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.listen, "listen", "inet:127.0.0.1:8891", "where the MTA reaches the filter, as Postfix writes it: inet:HOST:PORT or unix:/path")
	fs.Var(&o.domains, "domain", "this MTA's domain, for the HELO checks (repeatable; default example.org and localhost)")
	fs.StringVar(&o.trusted, "trusted", "none", "comma-separated networks exempt from policy (CIDR), or none; with -config, mynetworks is added")
	fs.StringVar(&o.resolver, "resolver", "", "DNS server HOST:PORT for DNS-based checks; none given: DNS checks are off")
	fs.StringVar(&o.hostname, "hostname", "mx.localhost", "this MTA's host name (myhostname)")
	fs.BoolVar(&o.verbose, "v", false, "log every decision, not only refusals")
	fs.BoolVar(&o.noPolicy, "no-policy", false, "serve with an empty policy, accepting everything (to measure the filter's cost)")
	fs.StringVar(&o.config, "config", "", "Postfix main.cf-style policy file (smtpd_*_restrictions and the parameters that shape them)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "log and count every verdict but let every message pass")
	fs.StringVar(&o.macros, "mta-macros", "requested", "what macros the MTA sends: requested (it honours the filter's request, as Postfix does), postfix-defaults, or the path of the MTA's main.cf (its milter_*_macros over the defaults)")
	fs.DurationVar(&o.timeout, "command-timeout", 20*time.Second, "longest a callback's checks run (keep it below Postfix's milter_command_timeout)")
	fs.StringVar(&o.spoolDir, "spool-dir", "", "directory for messages larger than 1 MiB while checked (default the system's temporary directory)")
	fs.DurationVar(&o.greetWait, "greet-pause", 0, "refused: the MTA sends no pre-greeting facts to a milter (use Postfix's postscreen)")
	// The policy's parts, in the order their checks run at each stage.
	features := []feature{accessFlags, hygieneFlags, dnsblFlags, uriFlags, greylistFlags}
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
	policy, built, err := assemble(o, env, builders)
	if err != nil {
		return nil, nil, nil, err
	}
	trusted = append(trusted, built.trusted...)
	if o.greetWait > 0 {
		built.needs = append(built.needs, gomilter.FactProtocol)
	}
	sent := gomilter.PostfixDefaults()
	switch o.macros {
	case "requested":
		sent = sent.Union(gomilter.Requested())
	case "postfix-defaults":
	default:
		if !strings.Contains(o.macros, "/") {
			return nil, nil, nil, fmt.Errorf("-mta-macros %q: want requested, postfix-defaults or the path of main.cf", o.macros)
		}
		if sent, err = mtaMacros(o.macros); err != nil {
			return nil, nil, nil, fmt.Errorf("-mta-macros: %w", err)
		}
	}
	if err := gomilter.CheckFacts(built.needs, sent); err != nil {
		return nil, nil, nil, err
	}
	ln, err := gomilter.Listen(o.listen)
	if err != nil {
		return nil, nil, nil, err
	}
	f := gomilter.New(gomilter.Config{
		Policy:          policy,
		Trusted:         trusted,
		CommandTimeout:  o.timeout,
		SpoolDir:        o.spoolDir,
		MaxMessageBytes: built.maxSize,
		Logger:          logger,
		OnClose: func(s *smtpcheck.Session) {
			// Give back the session's concurrency slot (Concurrent-Connect:).
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			access.Release(ctx, s)
		},
	})
	logger.Info("policy", "trusted", len(trusted), "needs", fmt.Sprint(built.needs))
	return f, ln, logger, nil
}

// assembled is the policy with what the filter needs to run it.
type assembled struct {
	trusted []netip.Prefix
	needs   []gomilter.Fact
	maxSize int64
}

// assemble builds the policy from the flags' features, or from -config
// with the features after the file's lists: the one place the program's
// policy comes from, to be replaced by a shared assembly.
func assemble(o options, env *buildEnv, builders []func(*buildEnv) (staged, error)) (*smtpcheck.Policy, assembled, error) {
	var out assembled
	var all staged
	for _, build := range builders {
		st, err := build(env)
		if err != nil {
			return nil, out, err
		}
		all.Stages = all.Stages.Append(st.Stages)
		if st.MaxSize > 0 {
			all.MaxSize = st.MaxSize
		}
		all.Needs = append(all.Needs, st.Needs...)
	}
	out.maxSize = all.MaxSize
	out.needs = append(out.needs, gomilter.FactAuth, gomilter.FactQueueID)
	out.needs = append(out.needs, all.Needs...)
	policy := &smtpcheck.Policy{
		Connect:     smtpcheck.FirstMatch(all.Connect...),
		Helo:        smtpcheck.FirstMatch(all.Helo...),
		Mail:        smtpcheck.FirstMatch(all.Mail...),
		Rcpt:        smtpcheck.FirstMatch(all.Rcpt...),
		Data:        smtpcheck.FirstMatch(all.Data...),
		Headers:     smtpcheck.FirstMatch(all.Headers...),
		EndOfData:   smtpcheck.FirstMatch(all.EndOfData...),
		DelayReject: true,
		Logger:      env.Logger,
	}
	if o.config != "" {
		p, fc, err := configPolicy(o.config, env, all)
		if err != nil {
			return nil, out, err
		}
		policy = p
		out.trusted = fc.MyNetworks
		out.needs = append(out.needs, fc.Needs...)
	}
	policy.DryRun = policy.DryRun || o.dryRun
	if policy.DryRun {
		env.Logger.Warn("dry run: verdicts are logged, every message passes")
	}
	if o.noPolicy {
		policy = &smtpcheck.Policy{Logger: env.Logger}
		out.needs = nil
		env.Logger.Warn("empty policy: every message is accepted")
	}
	slices.Sort(out.needs)
	out.needs = slices.Compact(out.needs)
	return policy, out, nil
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
