// Command smtpd is an SMTP server on github.com/emersion/go-smtp with an
// smtppolicy policy in front: the library's main job, ready to run.
//
//	go run ./examples/smtpd
//
// serves SMTP on 127.0.0.1:2525 with an embedded default policy that needs no
// network (relay control for the accepted domains and the checks that need no
// DNS), writes every accepted message to -maildir as an .eml file byte for byte
// after a Received: line, and logs every decision with its reasons.
//
// The policy's parameters are package assembly's: -config names a Postfix
// main.cf-style file whose smtppolicy_* parameters set what the flags do
// (each flag is a shorthand for one; a flag given wins over the file), and
// -print-config prints the effective file.
//
// SIGHUP reloads the -config file, the tables and the access maps: sessions
// under way finish with the policy they started with, new ones get the new
// policy, greylist and limit state is kept, and a file that does not load
// leaves the running policy in place (the log says which file and line).
// SIGTERM and SIGINT stop accepting and let sessions finish, for at most
// -shutdown-timeout.
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
	"runtime/pprof"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/batv"
	"github.com/smtppolicy/smtppolicy/examples/assembly"
	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/examples/internal/ops"
	"github.com/smtppolicy/smtppolicy/greylist"
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
	// Ctx ends when the policy built from this env is replaced by a
	// reload or the program stops: goroutines a feature starts for its
	// checks (file watchers, health probes) end with it.
	Ctx context.Context
	// Assembly builds the parts of the policy the smtppolicy_* parameters
	// describe (see part).
	Assembly *assembly.Builder
	// Params are the smtppolicy_* parameters the assembly was built from.
	Params *assembly.Config
}

// staged are a feature's checks per stage, appended to that stage's list.
type staged struct {
	smtpcheck.Stages
	// Normalize, when set, rewrites an accepted message before it is
	// stored (bare LF/CR to CRLF).
	Normalize func(io.Reader) io.Reader
	// MaxSize, when set, is the largest message accepted (SIZE in EHLO).
	MaxSize int64
	// Configure, when set, adjusts the server adapter's settings
	// (postscreen's tests, per-client hooks); only the first build's apply.
	Configure []func(*gosmtp.Config)
}

// feature registers its flags and returns the builder to call after parsing.
type feature func(fs *flag.FlagSet) func(env *buildEnv) (staged, error)

// options are the core flags.
type options struct {
	daemon.PolicyFlags
	listen     string
	listenMode string
	stopWait   time.Duration
	version    bool
	domains    daemon.ListFlag
	maildir    string
	trusted    string
	hostname   string
	noPolicy   bool
	greetPause time.Duration
	metrics    string
	cpuProfile string
}

func main() { daemon.Run("smtpd", run) }

func run(ctx context.Context, args []string, stderr *os.File, hup <-chan os.Signal) error {
	d, err := newDaemon(args, stderr)
	if err != nil || d == nil {
		return err
	}
	if d.cpuProfile != "" {
		stop, err := startCPUProfile(d.cpuProfile, d.logger)
		if err != nil {
			d.Stop()
			return err
		}
		defer stop()
	}
	d.OnHUP(ctx, hup)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), d.stopWait)
		defer cancel()
		if err := d.srv.Shutdown(shutdown); errors.Is(err, context.DeadlineExceeded) {
			d.logger.Warn("shutdown deadline passed; closing the sessions still open")
			d.srv.Close()
		}
	}()
	d.logger.Info("serving SMTP", "listen", d.ln.Addr().String())
	err = d.srv.Serve(d.ln)
	if err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		d.Stop()
		return err
	}
	// Serve returns as soon as the listener closes; the sessions under
	// way finish first.
	<-drained
	d.Stop()
	return nil
}

// startCPUProfile profiles the process's CPU into the file path until stop
// is called, which writes the profile out.
func startCPUProfile(path string, logger *slog.Logger) (stop func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("-cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpu-profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			logger.Error("CPU profile not written", "file", path, "error", err)
			return
		}
		logger.Info("CPU profile written", "file", path)
	}, nil
}

// smtpDaemon is the running program: the server, its listener, and the
// policy in force, which a reload swaps.
type smtpDaemon struct {
	srv      *smtp.Server
	ln       net.Listener
	logger   *slog.Logger
	stopWait time.Duration
	// cpuProfile is -cpu-profile's file; "" when off.
	cpuProfile string

	// Reloader builds a new policy from the flags and files and holds
	// the one in force.
	daemon.Reloader[built]
}

// built is one policy made from the configuration.
type built struct {
	policy *smtpcheck.Policy
	access *access.Access // nil without -access
	// norm and maxSize come from flags, not files: a reload keeps them,
	// and only the first build's are used.
	norm    func(io.Reader) io.Reader
	maxSize int64
	// listener is the first build's: the socket is wrapped once.
	listener func(net.Listener) net.Listener
	// grey is the greylist in force, for the admin endpoints; nil when off.
	grey *greylist.Greylist
	// accepted and closed are the assembly's hooks (Built.Accepted, Closed).
	accepted, closed []assembly.Hook
	// configure is the first build's: the adapter is made once.
	configure []func(*gosmtp.Config)
	// signer tags the sender of outgoing mail (-batv-sign); nil: off.
	signer *batv.Signer
}

// newDaemon parses flags and builds everything; a nil daemon with a nil
// error means the flags asked for something else (-version) that is done.
func newDaemon(args []string, stderr *os.File) (*smtpDaemon, error) {
	fs := flag.NewFlagSet("smtpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.listen, "listen", "127.0.0.1:2525", "address to serve SMTP on: inet:HOST:PORT, HOST:PORT or unix:/path")
	fs.StringVar(&o.listenMode, "listen-mode", "0666", "permissions of a unix: listening socket (octal)")
	fs.DurationVar(&o.stopWait, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long sessions under way may take before they are closed")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.Var(&o.domains, "domain", "accepted recipient domain (repeatable; default example.org and localhost)")
	fs.StringVar(&o.maildir, "maildir", "mail", "directory where accepted messages are written as .eml files")
	fs.StringVar(&o.trusted, "trusted", "none", "comma-separated networks exempt from policy (CIDR), or none")
	fs.StringVar(&o.hostname, "hostname", "smtpd.localhost", "this server's host name")
	fs.BoolVar(&o.noPolicy, "no-policy", false, "serve with an empty policy, accepting everything (to measure the policy's cost)")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics, expvar at /debug/vars and the admin endpoints (/admin/greylist, /admin/limits; loopback clients only), such as 127.0.0.1:9025")
	dataTimeout := fs.Duration("data-timeout", gosmtp.DefaultDataTimeout, "longest DATA, from the 354 to the final dot; a client still sending then gets 421 4.4.2 and is disconnected")
	fs.StringVar(&o.cpuProfile, "cpu-profile", "", "profile the server's CPU from start to shutdown and write the profile to this file when it stops on SIGTERM or SIGINT (read it with go tool pprof), to see where the time goes")
	fs.DurationVar(&o.greetPause, "greet-pause", 0, "wait this long before the greeting and refuse clients that talk first (postscreen's pregreet test; 0: off)")
	o.PolicyFlags.Register(fs)
	// The policy's parameters: every flag of the access map, hygiene,
	// SPF, DNS lists, links, scanners and greylisting sets one of them.
	params := assembly.NewConfig(nil)
	params.Flags(fs)
	// The policy's parts, in the order their checks run at each stage.
	features := []feature{accessFlags, postscreenFlags, hygieneFlags, dnsblFlags, uriFlags, msgauthFlags, batvFlags, scanFlags, greylistFlags, duplicateFlags, four21Flags, calloutFlags, reputationFlags}
	builders := make([]func(*buildEnv) (staged, error), 0, len(features))
	for _, f := range features {
		builders = append(builders, f(fs))
	}
	logFlags := ops.AddLogFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, daemon.NewUsageError(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return nil, daemon.NewUsageError(fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if o.version {
		_, err := fmt.Fprintln(os.Stdout, "smtpd", daemon.Version())
		return nil, err
	}
	mode, err := daemon.ParseMode(o.listenMode)
	if err != nil {
		return nil, fmt.Errorf("-listen-mode: %w", err)
	}
	network, laddr, err := daemon.ParseListen(o.listen)
	if err != nil {
		return nil, fmt.Errorf("-listen: %w", err)
	}
	var fileOff []string
	if o.Config != "" {
		fileOff = fileDecides(params)
	}
	if o.Print {
		return nil, params.PrintConfig(o.Config, os.Stdout, true)
	}
	var prom *ops.Metrics
	if o.metrics != "" {
		prom = ops.NewMetrics()
	}
	logger, err := newLogger(logFlags, stderr, o.Verbose, prom)
	if err != nil {
		return nil, err
	}

	trusted, res, err := o.Host(&o.domains, o.trusted, logger)
	if err != nil {
		return nil, err
	}
	var local []netip.Addr
	if network == "tcp" {
		if host, _, err := net.SplitHostPort(laddr); err == nil {
			if a, err := netip.ParseAddr(host); err == nil {
				local = append(local, a)
			}
		}
	}
	var stores assembly.Stores
	var metrics *expvarMetrics
	if o.metrics != "" {
		metrics = newExpvarMetrics()
	}

	// build makes the policy from the flags and files, at start and at
	// each reload; the stores the features open the first time are kept.
	build := func(ctx context.Context) (*built, error) {
		loaded, err := params.LoadConfig(o.Config)
		if err != nil {
			return nil, err
		}
		env := &buildEnv{Logger: logger, Domains: o.domains, Hostname: o.hostname, Local: local, Resolver: res, Ctx: ctx}
		env.Params = loaded
		env.Assembly = assembly.NewBuilder(loaded, assembly.Env{
			Ctx: ctx, Logger: logger, Resolver: res, Hostname: o.hostname, Domains: o.domains, Local: local, Body: true, Conn: true, Delivers: true,
			MyNetworks: trusted, GreetPause: o.greetPause,
		}, &stores)
		var all staged
		for _, build := range builders {
			st, err := build(env)
			if err != nil {
				return nil, err
			}
			all.Stages = all.Stages.Append(st.Stages)
			if st.Normalize != nil {
				all.Normalize = st.Normalize
			}
			if st.MaxSize > 0 {
				all.MaxSize = st.MaxSize
			}
			all.Configure = append(all.Configure, st.Configure...)
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
		if o.Config != "" {
			var err error
			policy, err = configPolicy(o.Config, loaded.File, env, all)
			if err != nil {
				return nil, err
			}
			logger.Info("the policy file decides; built-in defaults off unless given", "off", fileOff)
		}
		policy.DryRun = policy.DryRun || o.DryRun
		if policy.DryRun {
			logger.Warn("dry run: verdicts are logged, every message passes")
		}
		if o.noPolicy {
			policy = &smtpcheck.Policy{Logger: logger}
			logger.Warn("empty policy: every message is accepted")
		}
		if metrics != nil {
			policy.Metrics = ops.Tee{metrics, prom}
		}
		ab := env.Assembly.Built()
		return &built{policy: policy, access: env.Access, norm: all.Normalize, maxSize: all.MaxSize, listener: ab.Listener,
			grey: ab.Greylist, accepted: ab.Accepted, closed: ab.Closed, configure: all.Configure, signer: ab.Signer}, nil
	}
	d := &smtpDaemon{logger: logger, stopWait: o.stopWait, cpuProfile: o.cpuProfile}
	d.Build, d.Logger = build, logger
	first, err := d.Start()
	if err != nil {
		return nil, err
	}
	store, err := newStore(o.maildir)
	if err != nil {
		d.Stop()
		return nil, fmt.Errorf("-maildir: %w", err)
	}
	cfg := gosmtp.Config{
		Policy:   first.policy,
		Current:  func() *smtpcheck.Policy { return d.Load().policy },
		Hostname: o.hostname,
		Trusted:  trusted,
		Deliver: func(ctx context.Context, m *gosmtp.Message) error {
			return store.deliver(ctx, m, returnPath(d.Load().signer, m.Session, o.domains))
		},
		Normalize:  first.norm,
		GreetPause: o.greetPause,
		// The size check's limit, so that EHLO advertises it (SIZE).
		MaxMessageBytes: first.maxSize,
		DataTimeout:     *dataTimeout,
		// RFC 5321 4.5.1: postmaster@ every served domain gets mail. A
		// -config file is the whole policy, in Postfix's words: Postfix
		// exempts only the bare <postmaster> (smtpd_check.c), so the file
		// decides for postmaster@domain like for any recipient.
		PostmasterDomains: postmasterDomains(&o),
		// The access map's GreetPause: and CommandPause: set them per client.
		GreetPauseFor: func(ctx context.Context, s *smtpcheck.Session) (time.Duration, bool) {
			if a := d.Load().access; a != nil {
				return a.GreetPause(ctx, s)
			}
			return 0, false
		},
		CommandPauseFor: func(ctx context.Context, s *smtpcheck.Session) (time.Duration, bool) {
			if a := d.Load().access; a != nil {
				return a.CommandPause(ctx, s)
			}
			return 0, false
		},
		Logger:   logger,
		Accepted: assembly.OnAccepted(func() []assembly.Hook { return d.Load().accepted }, logger),
		OnClose:  assembly.OnClose(func() []assembly.Hook { return d.Load().closed }, logger),
	}
	if res != nil {
		cfg.LookupPTR = res.VerifyPTR
	}
	for _, f := range first.configure {
		f(&cfg)
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
	// The sockets open only now that the whole configuration has loaded:
	// a bad file never leaves a half-started server answering.
	if o.metrics != "" {
		if err := serveMetrics(o.metrics, logger, prom, res, d.admin(&stores)); err != nil {
			d.Stop()
			return nil, fmt.Errorf("-metrics: %w", err)
		}
	}
	ln, err := daemon.Listen(o.listen, mode)
	if err != nil {
		d.Stop()
		return nil, err
	}
	logger.Info("policy", "domains", strings.Join(o.domains, ","), "trusted", o.trusted, "maildir", o.maildir)
	inner := daemon.Retrying(ln, logger)
	if first.listener != nil {
		inner = first.listener(inner)
	}
	d.srv, d.ln = srv, be.Listener(inner)
	return d, nil
}

// postmasterDomains are the domains whose postmaster@ is accepted over any
// refusal: every accepted domain with the built-in policy, none with a
// -config file, which answers for postmaster@domain as Postfix does.
func postmasterDomains(o *options) []string {
	if o.Config != "" {
		return nil
	}
	return o.domains
}
