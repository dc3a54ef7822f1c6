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
// The policy's parameters are package assembly's, as smtpd's and
// policyd's: -config names a Postfix main.cf-style file whose
// smtppolicy_* parameters set what the flags do (each flag is a shorthand
// for one; a flag given wins over the file), and -print-config prints the
// effective file, the same one smtpd prints for the same flags. With
// -config the file is the whole policy, as in smtpd: the built-in checks
// that are on by default (-hygiene) stay off unless their flag is given.
// The embedded default needs no network. Postfix already does relay
// control, so unlike smtpd the default policy has none of its own. Every
// decision is logged with its reasons, the queue ID as the session.
//
// The filter sees the message, so it runs the checks of the header and
// body as smtpd does, at the end of the message: DKIM, DMARC and ARC
// (-msgauth, -arc-verify), the duplicate refusal (-duplicate, which
// remembers each message the filter lets through), the URI lists and the
// scanners; BATV and the callouts run on the envelope, and a -config
// file's reject_unverified_sender and reject_unverified_recipient ask the
// callouts. smtpf's four21 test needs the client's connection, which the
// MTA keeps: its parameters are ignored, with a warning.
//
// SIGHUP reloads the -config file, the tables and the access maps: MTA
// sessions under way finish with the policy they started with, new ones
// get the new policy, greylist and limit state is kept, and a file that
// does not load, or whose checks need a macro the MTA does not send,
// leaves the running policy in place (the log says why).
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
// -cpu-profile FILE writes a CPU profile of the filter at work, complete
// once the program stops on SIGTERM or SIGINT: go tool pprof FILE shows
// where the time of each message goes (the checks, the log, the protocol).
//
// # Postfix settings for throughput
//
// Postfix opens a milter connection for each SMTP session and has cleanup
// pass over the queue file for the filter; that costs it about as much
// as the filter's checks (see BenchmarkPostfixSMTPSource). On the same
// host, a unix socket costs Postfix a half to two thirds of what loopback
// TCP does:
//
//	milter -listen unix:/var/spool/postfix/private/smtppolicy
//
//	# main.cf
//	smtpd_milters = unix:private/smtppolicy
//	milter_default_action = tempfail
//
// The socket is made 0660: run the filter in group postfix (or chgrp the
// socket) so that smtpd can reach it; Debian's smtpd runs chrooted in
// /var/spool/postfix, where the socket must then be. The rest of Postfix's
// milter parameters are best left at their defaults:
//
//   - milter_protocol = 6 (the default): the filter asks Postfix to send
//     only the events its policy reads and to await its reply only at RCPT
//     and at end of message; version 2 awaits a reply to every event.
//   - milter_*_macros need not be set: under version 6 Postfix sends the
//     filter the macros it asks for, only those it reads, whatever the
//     lists say (they matter to an MTA that ignores the request: see
//     -mta-macros below).
//   - non_smtpd_milters empty (the default): mail submitted on the host
//     (sendmail, pickup) is not filtered; the policy's checks are about
//     SMTP clients.
//
// On a small host shared with Postfix, GOMAXPROCS=1 in the filter's
// environment saves it about 15% of its CPU time per message (fewer wake-ups
// of the Go runtime's threads); a policy with costly content checks on a
// large host keeps the default, one thread per CPU.
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
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/assembly"
	"github.com/smtppolicy/smtppolicy/examples/gomilter"
	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

func main() { daemon.Run("milter", run) }

func run(ctx context.Context, args []string, stderr *os.File, hup <-chan os.Signal) error {
	d, err := newDaemon(args, stderr)
	if err != nil || d == nil {
		return err
	}
	defer d.stop()
	d.OnHUP(ctx, hup)
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.f.Shutdown(shutdown)
	}()
	d.logger.Info("serving milter", "listen", d.ln.Addr().Network()+":"+d.ln.Addr().String())
	return d.f.Serve(d.ln)
}

// options are the core flags.
type options struct {
	daemon.PolicyFlags
	listen    string
	domains   daemon.ListFlag
	trusted   string
	hostname  string
	noPolicy  bool
	macros    string
	timeout   time.Duration
	spoolDir  string
	greetWait time.Duration
	profile   string
}

// milterDaemon is the running program: the filter, its listener, and the
// policy in force, which a reload swaps.
type milterDaemon struct {
	f      *gomilter.Filter
	ln     net.Listener
	logger *slog.Logger

	// Reloader builds a new policy from the flags and files and holds
	// the one in force.
	daemon.Reloader[built]
	stores *assembly.Stores
	// profile is the -cpu-profile file, written until the program stops.
	profile *os.File
}

// built is one policy made from the configuration, with what the filter
// needs to run it.
type built struct {
	policy  *smtpcheck.Policy
	trusted []netip.Prefix // -trusted and the file's mynetworks
	needs   []gomilter.Fact
	maxSize int64
	// accepted and closed are the assembly's hooks (Built.Accepted,
	// Closed): the duplicate refusal remembers what the filter let through
	// and gives back its claims when the session ends.
	accepted, closed []assembly.Hook
}

// stop ends the goroutines of the policy in force and closes the stores.
func (d *milterDaemon) stop() {
	d.Stop()
	d.stores.Close()
	if d.profile != nil {
		pprof.StopCPUProfile()
		d.profile.Close()
		d.profile = nil
	}
}

// newDaemon parses flags and builds everything; a nil daemon with a nil
// error means the flags asked for something else (-print-config) that is
// done.
func newDaemon(args []string, stderr *os.File) (*milterDaemon, error) {
	fs := flag.NewFlagSet("milter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.listen, "listen", "inet:127.0.0.1:8891", "where the MTA reaches the filter, as Postfix writes it: inet:HOST:PORT or unix:/path")
	fs.Var(&o.domains, "domain", "this MTA's domain, for the HELO checks and bounce tag validation (repeatable; default example.org and localhost)")
	fs.StringVar(&o.trusted, "trusted", "none", "comma-separated networks exempt from policy (CIDR), or none; with -config, mynetworks is added")
	fs.StringVar(&o.hostname, "hostname", "mx.localhost", "this MTA's host name (myhostname)")
	fs.BoolVar(&o.noPolicy, "no-policy", false, "serve with an empty policy, accepting everything (to measure the filter's cost)")
	fs.StringVar(&o.macros, "mta-macros", "requested", "what macros the MTA sends: requested (it honours the filter's request, as Postfix does), postfix-defaults, or the path of the MTA's main.cf (its milter_*_macros over the defaults)")
	fs.DurationVar(&o.timeout, "command-timeout", 20*time.Second, "longest a callback's checks run (keep it below Postfix's milter_command_timeout)")
	fs.StringVar(&o.spoolDir, "spool-dir", "", "directory for messages larger than 1 MiB while checked (default the system's temporary directory)")
	fs.DurationVar(&o.greetWait, "greet-pause", 0, "refused: the MTA sends no pre-greeting facts to a milter (use Postfix's postscreen)")
	fs.StringVar(&o.profile, "cpu-profile", "", "write a CPU profile of the running filter to this file, complete when the program stops on SIGTERM or SIGINT (read it with go tool pprof)")
	o.PolicyFlags.Register(fs)
	// The policy's parameters, smtpd's: every flag of the access map,
	// hygiene, SPF, DNS lists, links, scanners and greylisting sets one.
	params := assembly.NewConfig(nil)
	params.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.Config != "" {
		fileDecides(params)
	}
	if o.Print {
		return nil, params.PrintConfig(o.Config, os.Stdout, true)
	}
	level := slog.LevelInfo
	if o.Verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	trusted, res, err := o.Host(&o.domains, o.trusted, logger)
	if err != nil {
		return nil, err
	}
	sent := gomilter.PostfixDefaults()
	switch o.macros {
	case "requested":
		sent = sent.Union(gomilter.Requested())
	case "postfix-defaults":
	default:
		if !strings.Contains(o.macros, "/") {
			return nil, fmt.Errorf("-mta-macros %q: want requested, postfix-defaults or the path of main.cf", o.macros)
		}
		if sent, err = mtaMacros(o.macros); err != nil {
			return nil, fmt.Errorf("-mta-macros: %w", err)
		}
	}
	d := &milterDaemon{logger: logger, stores: &assembly.Stores{}}
	d.Logger = logger
	d.Attrs = func(b *built) []any { return []any{"trusted", len(b.trusted), "needs", fmt.Sprint(b.needs)} }
	if o.profile != "" {
		// Where the filter's time goes under the MTA's real load; the
		// profile covers the whole run, start-up included.
		pf, err := os.Create(o.profile)
		if err != nil {
			return nil, fmt.Errorf("-cpu-profile: %w", err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			pf.Close()
			return nil, fmt.Errorf("-cpu-profile: %w", err)
		}
		d.profile = pf
	}
	// build makes the policy from the flags and files, at start and at
	// each reload; the stores the first build opens are kept.
	d.Build = func(ctx context.Context) (*built, error) {
		b, err := assemble(ctx, o, params, res, logger, d.stores)
		if err != nil {
			return nil, err
		}
		b.trusted = append(slices.Clone(trusted), b.trusted...)
		if o.greetWait > 0 {
			b.needs = append(b.needs, gomilter.FactProtocol)
		}
		if err := gomilter.CheckFacts(b.needs, sent); err != nil {
			return nil, err
		}
		return b, nil
	}
	first, err := d.Start()
	if err != nil {
		d.stop()
		return nil, err
	}
	ln, err := gomilter.Listen(o.listen)
	if err != nil {
		d.stop()
		return nil, err
	}
	d.ln = ln
	d.f = gomilter.New(gomilter.Config{
		Policy:  first.policy,
		Trusted: first.trusted,
		Current: func() (*smtpcheck.Policy, []netip.Prefix) {
			b := d.Load()
			return b.policy, b.trusted
		},
		CommandTimeout: o.timeout,
		SpoolDir:       o.spoolDir,
		// The size limit comes from the flags and file at start; a
		// reload keeps it.
		MaxMessageBytes: first.maxSize,
		Logger:          logger,
		Accepted:        assembly.OnAccepted(func() []assembly.Hook { return d.Load().accepted }, logger),
		// The MTA sends the message to a policy that reads it, or when
		// a hook remembers it (a policy reloaded away counts as one).
		AcceptedReads: func(p *smtpcheck.Policy) bool {
			b := d.Load()
			return b.policy != p || len(b.accepted) > 0
		},
		OnClose: assembly.OnClose(func() []assembly.Hook { return d.Load().closed }, logger),
	})
	logger.Info("policy", "trusted", len(first.trusted), "needs", fmt.Sprint(first.needs))
	return d, nil
}

// fileDecides makes a -config file the whole policy, as smtpd does: the
// built-in checks that are on by default (-hygiene, and SPF with it) stay
// off unless -hygiene is given or the file sets smtppolicy_hygiene, so
// that one file means the same policy to every front-end.
func fileDecides(params *assembly.Config) {
	if !params.IsSet("smtppolicy_hygiene") && params.Value("smtppolicy_hygiene") != "no" {
		params.SetDefault("smtppolicy_hygiene", "no")
	}
}

// assemble builds the policy from the parameters (the flags over the
// -config file, loaded anew) with the assembly's parts in their order,
// and names the facts its checks need from the MTA's macros.
func assemble(ctx context.Context, o options, params *assembly.Config, res *resolver.Resolver, logger *slog.Logger, stores *assembly.Stores) (*built, error) {
	loaded, err := params.LoadConfig(o.Config)
	if err != nil {
		return nil, err
	}
	ab, err := assembly.Build(loaded, assembly.Env{
		Ctx: ctx, Logger: logger, Resolver: res, Hostname: o.hostname, Domains: o.domains, Body: true,
	}, stores)
	if err != nil {
		return nil, err
	}
	out := &built{maxSize: ab.MaxSize, accepted: ab.Accepted, closed: ab.Closed}
	out.needs = append(out.needs, gomilter.FactAuth, gomilter.FactQueueID)
	out.needs = append(out.needs, assemblyNeeds(loaded, res)...)
	policy := assembly.Then(nil, ab.Stages)
	policy.DelayReject = true
	policy.Logger = logger
	if o.Config != "" {
		p, fc, err := configPolicy(o.Config, loaded.File, o.domains, res, logger, ab)
		if err != nil {
			return nil, err
		}
		policy = p
		out.trusted = fc.MyNetworks
		out.needs = append(out.needs, fc.Needs...)
	}
	// The reputation learns from each answer as it is given.
	assembly.LearnNow(policy, ab.Reputation, nil, logger)
	policy.DryRun = policy.DryRun || o.DryRun
	if policy.DryRun {
		logger.Warn("dry run: verdicts are logged, every message passes")
	}
	if o.noPolicy {
		policy = &smtpcheck.Policy{Logger: logger}
		out.needs = nil
		// Every message: no size limit either, so the MTA sends the
		// filter no message at all.
		out.maxSize = 0
		logger.Warn("empty policy: every message is accepted")
	}
	slices.Sort(out.needs)
	out.needs = slices.Compact(out.needs)
	out.policy = policy
	return out, nil
}

// assemblyNeeds are the facts the assembly's checks need that reach a
// milter only as macros: the client's reverse name, for the hygiene
// checks' reverse DNS check and the link lists' check of the PTR name
// (both only with a resolver).
func assemblyNeeds(c *assembly.Config, res *resolver.Resolver) []gomilter.Fact {
	if res == nil {
		return nil
	}
	hygiene := c.Value("smtppolicy_hygiene") == "yes"
	ptrList := c.Value("smtppolicy_uri_bl_ptr") == "yes" && strings.TrimSpace(c.Value("smtppolicy_uribl_sites")) != ""
	if hygiene || ptrList {
		return []gomilter.Fact{gomilter.FactReverseName}
	}
	return nil
}
