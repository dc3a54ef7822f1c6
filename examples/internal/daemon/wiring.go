package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// ListFlag is a repeatable string flag.
type ListFlag []string

// String joins the values with commas, as the flag package prints defaults.
func (l *ListFlag) String() string { return strings.Join(*l, ",") }

// Set appends one more value.
func (l *ListFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// UsageError is a bad command line, already reported with the usage:
// Main exits 2 without saying it again.
type UsageError struct{ error }

// NewUsageError wraps err as a bad command line already reported.
func NewUsageError(err error) error { return UsageError{err} }

// Unwrap returns the parse error.
func (e UsageError) Unwrap() error { return e.error }

// Main runs a program until SIGINT or SIGTERM ends ctx, handing it
// SIGHUP on hup, and exits as the programs always have: 0 for -h, 2 for a
// UsageError, 1 with "name: error" for any other error.
func Main(name string, run func(ctx context.Context, hup <-chan os.Signal) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	err := run(ctx, hup)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(UsageError)):
		os.Exit(2) // the flag package has said why, with the usage
	default:
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Run is Main for a program that reads its arguments and reports to its
// standard error as run does, given os.Args[1:] and os.Stderr.
func Run(name string, run func(ctx context.Context, args []string, stderr *os.File, hup <-chan os.Signal) error) {
	Main(name, func(ctx context.Context, hup <-chan os.Signal) error {
		return run(ctx, os.Args[1:], os.Stderr, hup)
	})
}

// ParseTrusted reads -trusted: comma-separated networks (CIDR) or
// addresses, or none.
func ParseTrusted(s string) ([]netip.Prefix, error) {
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

// NewResolver makes the resolver -resolver names, and logs whether the
// DNS-based checks are on; none named: a nil resolver, and they are off.
func NewResolver(server string, logger *slog.Logger) (*resolver.Resolver, error) {
	if server == "" {
		logger.Info("DNS-based checks off: no -resolver given")
		return nil, nil
	}
	res, err := resolver.New(resolver.Config{Servers: []string{server}, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("-resolver: %w", err)
	}
	logger.Info("DNS-based checks on", "resolver", server)
	return res, nil
}

// Reloader holds the policy in force and builds a new one on demand:
// sessions under way keep the one they loaded, and a build that fails
// leaves the running one in place.
type Reloader[T any] struct {
	// Build makes a policy from the flags and files; ctx ends when the
	// policy is replaced or the program stops, ending the goroutines its
	// checks started.
	Build func(ctx context.Context) (*T, error)
	// Logger says whether a reload took.
	Logger *slog.Logger
	// Attrs, when set, are what the log says of a new policy.
	Attrs func(*T) []any

	mu   sync.Mutex // serialises reloads
	live atomic.Pointer[T]
	stop context.CancelFunc
}

// Start builds the first policy; on error nothing is left running.
func (r *Reloader[T]) Start() (*T, error) {
	ctx, cancel := context.WithCancel(context.Background())
	b, err := r.Build(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live.Store(b)
	r.stop = cancel
	return b, nil
}

// Load returns the policy in force.
func (r *Reloader[T]) Load() *T { return r.live.Load() }

// Reload builds the policy anew and swaps it in; on any error the
// running policy stays.
func (r *Reloader[T]) Reload() {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := r.Build(ctx)
	if err != nil {
		cancel()
		r.Logger.Error("reload failed; the running policy stays in force", "error", err)
		return
	}
	r.live.Store(b)
	if r.stop != nil {
		r.stop()
	}
	r.stop = cancel
	var attrs []any
	if r.Attrs != nil {
		attrs = r.Attrs(b)
	}
	r.Logger.Info("reloaded the policy", attrs...)
}

// Stop ends the goroutines of the policy in force.
func (r *Reloader[T]) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop != nil {
		r.stop()
	}
}

// OnHUP reloads at each signal on hup until ctx ends.
func (r *Reloader[T]) OnHUP(ctx context.Context, hup <-chan os.Signal) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.Reload()
			}
		}
	}()
}

// PolicyFlags are the flags smtpd and the milter share word for word:
// where the policy comes from and how its verdicts are logged and applied.
type PolicyFlags struct {
	Resolver string // -resolver: DNS server HOST:PORT; empty: DNS checks off
	Verbose  bool   // -v: log every decision
	Config   string // -config: the main.cf-style policy file, the whole policy
	DryRun   bool   // -dry-run: log and count verdicts, let every message pass
	Print    bool   // -print-config: print the effective file and exit
}

// Register adds the flags to fs.
func (p *PolicyFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&p.Resolver, "resolver", "", "DNS server HOST:PORT for DNS-based checks; none given: DNS checks are off")
	fs.BoolVar(&p.Verbose, "v", false, "log every decision, not only refusals")
	fs.StringVar(&p.Config, "config", "", "Postfix main.cf-style policy file (smtpd_*_restrictions and the parameters that shape them); it is the whole policy: built-in checks that are on by default stay off unless their flag is given")
	fs.BoolVar(&p.DryRun, "dry-run", false, "log and count every verdict but let every message pass")
	fs.BoolVar(&p.Print, "print-config", false, "print the effective configuration (the -config file with every flag applied) as a main.cf file, then exit")
}

// Host reads, once the flags are parsed, what smtpd's and the milter's
// say alike of the host they serve: domains (-domain) gets its default,
// example.org and localhost, when none is given; trusted (-trusted) is
// parsed into networks, and the resolver -resolver names is made (nil:
// the DNS-based checks are off), as the log says.
func (p *PolicyFlags) Host(domains *ListFlag, trusted string, logger *slog.Logger) ([]netip.Prefix, *resolver.Resolver, error) {
	if len(*domains) == 0 {
		*domains = ListFlag{"example.org", "localhost"}
	}
	nets, err := ParseTrusted(trusted)
	if err != nil {
		return nil, nil, err
	}
	res, err := NewResolver(p.Resolver, logger)
	if err != nil {
		return nil, nil, err
	}
	return nets, res, nil
}
