// Package callout verifies mail addresses by asking the mail server that
// would receive them: smtpf's call-back (is the sender's address one a
// bounce can reach?) and call-ahead (does the recipient exist on the
// downstream server?), with Postfix's reject_unverified_sender and
// reject_unverified_recipient semantics.
//
// A probe follows the domain's MX records through the project's resolver,
// prunes hosts that resolve to nothing, to loopback or to addresses not
// reachable from the Internet (smtpf#493), and talks SMTP to the first hosts
// that answer: EHLO, MAIL FROM (the null sender unless configured), RCPT
// TO, QUIT. It never sends DATA. Every step is bounded in time, and the
// whole probe by a total deadline.
//
// Verdicts are kept in a verify cache on the shared store (memory, bolt or
// Redis), like Postfix's verify(8): a deliverable address for
// PositiveTTL (31 days), an undeliverable one for NegativeTTL (3 days), an
// undetermined one (a host that did not answer, a DNS timeout) only for
// TempTTL, and a cached verdict older than its refresh time is probed again.
package callout

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Name is the check's name in traces, logs and metrics.
const Name = "callout"

// Defaults used for zero Config fields.
const (
	DefaultPort           = 25
	DefaultConnectTimeout = 5 * time.Second
	DefaultCommandTimeout = 10 * time.Second
	DefaultTimeout        = 20 * time.Second
	DefaultMaxHosts       = 3
	// Postfix's address_verify_positive_expire_time and
	// address_verify_positive_refresh_time.
	DefaultPositiveTTL     = 31 * 24 * time.Hour
	DefaultPositiveRefresh = 7 * 24 * time.Hour
	// Postfix's address_verify_negative_expire_time and
	// address_verify_negative_refresh_time.
	DefaultNegativeTTL     = 3 * 24 * time.Hour
	DefaultNegativeRefresh = 3 * time.Hour
	// DefaultTempTTL keeps an undetermined verdict only long enough that a
	// burst of mail from one sender does not probe a dead host for each.
	DefaultTempTTL = time.Minute
)

// Steps of a probe, as Verdict.Step names them: where the verdict was made.
const (
	StepAddress  = "address"  // the address itself is malformed
	StepMX       = "mx"       // the domain's MX lookup
	StepHost     = "host"     // the MX hosts' address lookups and pruning
	StepConnect  = "connect"  // the TCP connection
	StepGreeting = "greeting" // the server's 220
	StepHelo     = "helo"     // EHLO or HELO
	StepMail     = "mail"     // MAIL FROM
	StepRcpt     = "rcpt"     // RCPT TO
)

// Status is what a probe learnt about an address.
type Status uint8

// Statuses.
const (
	// Undetermined: the probe could not decide (no host answered, a DNS
	// timeout, a 4xx). It is never a reason for a permanent refusal.
	Undetermined Status = iota
	// Deliverable: a server that receives the domain's mail accepted the
	// address at RCPT TO.
	Deliverable
	// Undeliverable: the domain does not exist or takes no mail, or its
	// server refused the address, or the null sender as probe sender, with
	// a 5xx. (A configured probe sender that is refused leaves the address
	// undetermined.)
	Undeliverable
)

var statusNames = [...]string{"undetermined", "deliverable", "undeliverable"}

// String returns "undetermined", "deliverable" or "undeliverable".
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Verdict is the outcome of verifying one address, probed or cached.
type Verdict struct {
	Status  Status
	Address string // the address verified, as probed
	// Step is where the verdict was made, one of the Step constants.
	Step string
	// Host is the server that answered or failed, "mx.example.org[192.0.2.1]:25",
	// or the domain when the verdict came from DNS.
	Host string
	// Said is the server's reply at Step ("550 5.1.1 no such user"), or
	// what went wrong ("connection refused", "NXDOMAIN").
	Said string
	// Code is the server's reply code at Step, 0 when none came (the
	// connection failed, timed out or broke off, or DNS decided).
	Code int
	// Checked is when the probe ran.
	Checked time.Time
	// Cached is set when the verdict came from the verify cache.
	Cached bool
}

// String explains the verdict in Postfix's words, such as
// "host mx.example.org[192.0.2.1]:25 said: 550 5.1.1 no such user (in reply to RCPT TO command)".
func (v Verdict) String() string {
	cached := ""
	if v.Cached {
		cached = " (cached)"
	}
	// One concatenation each: the string is built for every decision's
	// reason, cached ones included.
	switch v.Step {
	case StepMail, StepRcpt, StepHelo, StepGreeting:
		return "host " + v.Host + " said: " + v.Said + " (in reply to " + stepCommand(v.Step) + ")" + cached
	case StepConnect:
		return "connect to " + v.Host + ": " + v.Said + cached
	}
	if v.Host != "" {
		return v.Host + ": " + v.Said + cached
	}
	return v.Said + cached
}

func stepCommand(step string) string {
	switch step {
	case StepGreeting:
		return "initial greeting"
	case StepHelo:
		return "EHLO command"
	case StepMail:
		return "MAIL FROM command"
	}
	return "RCPT TO command"
}

// Errors that Verdict.Err wraps.
var (
	// ErrUndeliverable: the address was refused or its domain takes no mail.
	ErrUndeliverable = errors.New("callout: undeliverable address")
	// ErrUndetermined: the probe could not decide; retry later.
	ErrUndetermined = errors.New("callout: address not verified")
)

// Err returns nil for a deliverable address, and otherwise an error wrapping
// ErrUndeliverable or ErrUndetermined whose text is the verdict's String.
func (v Verdict) Err() error {
	switch v.Status {
	case Deliverable:
		return nil
	case Undeliverable:
		return &VerifyError{Verdict: v, Kind: ErrUndeliverable}
	}
	return &VerifyError{Verdict: v, Kind: ErrUndetermined}
}

// VerifyError is a verdict as an error.
type VerifyError struct {
	Verdict Verdict
	// Kind is ErrUndeliverable, ErrUndetermined, or the sentinel a caller
	// asked for (see VerifyFunc).
	Kind error
}

// Error returns the verdict's explanation.
func (e *VerifyError) Error() string { return e.Verdict.String() }

// Unwrap returns Kind, for errors.Is.
func (e *VerifyError) Unwrap() error { return e.Kind }

// Config configures a Verifier.
type Config struct {
	// Resolver finds the MX hosts and their addresses. Required.
	Resolver *resolver.Resolver
	// Store is the verify cache, shared by a cluster of hosts when it is
	// Redis. Nil: every verification probes. The verdict read keeps the
	// bytes Get returns, which must be the caller's own copy, as with
	// every Store of this project.
	Store store.Store
	// KeyPrefix begins the cache keys; "" means "callout:" followed by
	// Host (or "mx") and ":", so that a sender verifier and a recipient
	// verifier asking another server keep their verdicts apart.
	KeyPrefix string
	// Host, when set, is the one server asked ("host" or "host:port"),
	// instead of the domain's MX hosts: smtpf's call-ahead to the
	// downstream server that holds the mailboxes. It is not pruned: a
	// downstream server on a private network is the usual case.
	Host string
	// Port is the port probed on MX hosts; zero means 25.
	Port int
	// Sender is the MAIL FROM address of probes; "" means the null sender
	// <>, which every server must accept (RFC 5321 4.5.5) and which Postfix
	// and smtpf use.
	Sender string
	// Helo is the name given in EHLO; "" means "localhost".
	Helo string
	// ConnectTimeout bounds each connection attempt, CommandTimeout each
	// command's reply (the greeting's too), and Timeout the whole probe
	// over every host tried. Zero means the defaults.
	ConnectTimeout, CommandTimeout, Timeout time.Duration
	// MaxHosts is how many addresses (MX hosts' addresses in preference
	// order) are tried before the probe gives up; zero means 3.
	MaxHosts int
	// Usable tells which MX host addresses may be probed; the others are
	// pruned as smtpf#493 describes. Nil means PublicAddr. Tests probing a
	// server on loopback pass a function that allows it.
	Usable func(netip.Addr) bool
	// PositiveTTL, NegativeTTL and TempTTL are how long deliverable,
	// undeliverable and undetermined verdicts are cached; zero means the
	// defaults, a negative value does not cache that kind.
	PositiveTTL, NegativeTTL, TempTTL time.Duration
	// PositiveRefresh and NegativeRefresh are the ages after which a cached
	// verdict is probed again; a probe that cannot decide keeps the cached
	// verdict. Zero means the defaults.
	PositiveRefresh, NegativeRefresh time.Duration
	// OnError is what an undetermined verdict does in a check (Postfix's
	// unverified_*_tempfail_action): FailOpen (the zero value, as in every
	// check) lets the mail through and logs why; FailTemp, Postfix's and
	// smtpf's behaviour, answers with the catalog's 4xx reply for what
	// failed, as a defer-if-permit in a restriction list; FailClosed
	// refuses with the catalog's 554.
	OnError smtpcheck.ErrorPolicy
	// Now is the clock for cache ages; nil means time.Now.
	Now func() time.Time
	// Logger receives a line per probe; nil means discard.
	Logger *slog.Logger
	// Dial opens the connections; nil means a net.Dialer. Tests and
	// programs with a proxy may replace it.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// Verifier verifies addresses. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	prefix string
	log    *slog.Logger
	probe  probe

	ownClock bool // Config.Now was given

	mu      sync.Mutex
	flights map[string]*flight // probes under way, by cache key

	// The catalog's replies, looked up once.
	noAnswer, noSuchSender, mxLookupError, noAcceptableMX,
	lookupDeferred, lookupFailed, senderFailed,
	rcptUnknown, forwardDenied, forwardNetwork *reply.Entry
}

// New returns a Verifier for cfg.
func New(cfg Config) (*Verifier, error) {
	if cfg.Resolver == nil && cfg.Host == "" {
		return nil, errors.New("callout: a resolver is required to follow MX records")
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("callout: port %d out of range", cfg.Port)
	}
	if strings.ContainsAny(cfg.Sender, "<> \r\n") || strings.ContainsAny(cfg.Helo, " \r\n") {
		return nil, errors.New("callout: the probe sender and HELO name must be single words without angle brackets")
	}
	cfg.ConnectTimeout = cmp.Or(cfg.ConnectTimeout, DefaultConnectTimeout)
	cfg.CommandTimeout = cmp.Or(cfg.CommandTimeout, DefaultCommandTimeout)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.PositiveTTL = cmp.Or(cfg.PositiveTTL, DefaultPositiveTTL)
	cfg.NegativeTTL = cmp.Or(cfg.NegativeTTL, DefaultNegativeTTL)
	cfg.TempTTL = cmp.Or(cfg.TempTTL, DefaultTempTTL)
	cfg.PositiveRefresh = cmp.Or(cfg.PositiveRefresh, DefaultPositiveRefresh)
	cfg.NegativeRefresh = cmp.Or(cfg.NegativeRefresh, DefaultNegativeRefresh)
	if cfg.MaxHosts <= 0 {
		cfg.MaxHosts = DefaultMaxHosts
	}
	if cfg.Helo == "" {
		cfg.Helo = "localhost"
	}
	if cfg.Usable == nil {
		cfg.Usable = PublicAddr
	}
	ownClock := cfg.Now != nil
	if !ownClock {
		cfg.Now = time.Now
	}
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{}).DialContext
	}
	v := &Verifier{cfg: cfg, prefix: cfg.KeyPrefix, log: cfg.Logger, flights: make(map[string]*flight), ownClock: ownClock}
	if v.prefix == "" {
		v.prefix = "callout:mx:"
		if cfg.Host != "" {
			v.prefix = "callout:" + strings.ToLower(cfg.Host) + ":"
		}
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	v.probe = probe{helo: cfg.Helo, sender: cfg.Sender, connect: cfg.ConnectTimeout, command: cfg.CommandTimeout, dialer: cfg.Dial}
	for _, e := range []struct {
		p   **reply.Entry
		ref string
	}{
		{&v.noAnswer, "smtpf#488"}, {&v.noSuchSender, "smtpf#489"}, {&v.mxLookupError, "smtpf#491"},
		{&v.noAcceptableMX, "smtpf#493"}, {&v.lookupDeferred, "smtpf#498"}, {&v.lookupFailed, "smtpf#499"},
		{&v.senderFailed, "smtpf#572"}, {&v.rcptUnknown, "smtpf#292"}, {&v.forwardDenied, "smtpf#300"},
		{&v.forwardNetwork, "smtpf#481"},
	} {
		if *e.p = reply.ByRef(e.ref); *e.p == nil {
			return nil, fmt.Errorf("callout: the reply catalog has no %s", e.ref)
		}
	}
	return v, nil
}

// PublicAddr reports an address an MX host of a real domain may have:
// global unicast, not private (RFC 1918, RFC 4193), not loopback, link-local,
// unspecified, multicast, or one of the blocks RFC 5737 and RFC 3849 reserve
// for documentation, RFC 6598 for carrier NAT, RFC 2544 for benchmarks.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("2001:db8::/32"),
}
