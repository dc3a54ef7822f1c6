package assembly

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/batv"
	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/examples/internal/storespec"
	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/postscreen"
	"github.com/smtppolicy/smtppolicy/reputation"
	"github.com/smtppolicy/smtppolicy/scan/clamd"
	"github.com/smtppolicy/smtppolicy/scan/spamd"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/spfcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/uri"
)

// Env is what the front-end knows that the parameters do not say.
type Env struct {
	// Ctx ends when the policy built is replaced by a reload or the
	// program stops: the goroutines a build starts (access map watchers,
	// DNS list health probes) end with it.
	Ctx      context.Context
	Logger   *slog.Logger
	Resolver *resolver.Resolver // nil: the DNS-based checks stay off
	Hostname string             // this server's name
	Domains  []string           // accepted recipient domains
	Local    []netip.Addr       // this server's addresses
	// Body is set by a front-end that sees the message (an SMTP server, a
	// milter); without it the checks of the header and body are left out
	// and the parameters that need them are named in a warning.
	Body bool
	// Conn is set by a front-end that owns the client's connection (an
	// SMTP server): the tests that answer the client themselves before the
	// server greets it (four21) run only there, and are named in a
	// warning elsewhere.
	Conn bool
	// Delivers is set by a front-end that stores the mail it accepts (an
	// SMTP server): what changes the stored envelope (BATV's tagging of
	// outgoing senders) runs only there; behind an MTA the queue is the
	// MTA's.
	Delivers bool
	// Repeated, when set, is true while a stage is evaluated again for
	// the same event (a policy service walks every stage up to the
	// request's own for each recipient): the checks that count events
	// (access map limits, greylisting) skip then.
	Repeated smtpcheck.Condition
	// Greylist, when set, adjusts the greylist's configuration (a
	// front-end's own options, such as postgrey's).
	Greylist func(*greylist.Config) error
	// GreylistAnswer, when set, wraps the greylist's check (to rewrite its
	// answers as a front-end's options ask).
	GreylistAnswer func(smtpcheck.Check) smtpcheck.Check
	// MyNetworks are the networks postscreen_access_list's
	// permit_mynetworks permits when the file sets no mynetworks (the
	// front-end's trusted networks).
	MyNetworks []netip.Prefix
	// GreetPause is the front-end's own pause before the greeting (an SMTP
	// server's -greet-pause): with it postscreen's pregreet test is on, and
	// a client whose pass is cached skips the pause.
	GreetPause time.Duration
}

// Stores are what outlives a reload: the counters of the access map's
// limits and the greylist's store, opened once by the first build that
// needs them. The zero value is ready to use.
type Stores struct {
	mu        sync.Mutex
	limits    store.Store
	grey      store.Store
	greySpec  string
	closeGrey func() error
	anvil     store.Store // smtppolicy_anvil_store, when not memory: (anvil.go)
	anvilSpec string
	more      moreStores // the pass cache's and the reputation's
}

// Close closes the stores the builds opened.
func (s *Stores) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.more.close()
	if s.anvil != nil {
		err = errors.Join(s.anvil.Close(), err)
		s.anvil = nil
	}
	if s.closeGrey != nil {
		err = errors.Join(s.closeGrey(), err)
		s.closeGrey = nil
	}
	return err
}

// Limits returns the store of the access map's limit counters, nil until
// a build has made one, for a program to show them (an admin endpoint).
func (s *Stores) Limits() store.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits
}

func (s *Stores) limitStore() store.Store {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limits == nil {
		s.limits = store.NewMemory(store.MemoryOptions{MaxEntries: 1 << 20})
	}
	return s.limits
}

// greyStore opens the greylist store at spec the first time; later
// builds get the same store (a reload keeps every triplet).
func (s *Stores) greyStore(ctx context.Context, spec, where string, logger *slog.Logger) (store.Store, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grey != nil {
		if spec != s.greySpec {
			logger.Warn("the greylist store is kept until restart", "in_use", daemon.RedactURL(s.greySpec), "configured", daemon.RedactURL(spec))
		}
		return s.grey, nil
	}
	g, err := openStore(ctx, spec, where, " (give -greylist bolt:PATH in a writable directory, or memory:)")
	if err != nil {
		return nil, err
	}
	s.grey, s.greySpec = g, spec
	s.closeGrey = g.Close
	return g, nil
}

// openStore opens the store at spec for a program, within 5 seconds. A
// bolt file's directory is made private, as the stores name who mails
// whom; hint ends the error when it cannot be made. The errors name where
// the spec came from and never show its password.
func openStore(ctx context.Context, spec, where, hint string) (store.Store, error) {
	if path, ok := strings.CutPrefix(spec, "bolt:"); ok && path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("%s %s: cannot create its directory: %v%s", where, spec, errors.Unwrap(err), hint)
		}
	}
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := storespec.Open(octx, spec)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", where, daemon.RedactURL(spec), daemon.RedactError(err, spec))
	}
	return st, nil
}

// Built is one policy's checks, made from a Config.
type Built struct {
	// Stages are the checks per stage, in the order they run: the access
	// map, the hygiene checks and SPF, the DNS lists, the link checks, the
	// scanners, greylisting.
	smtpcheck.Stages
	// Access is the smtpf access map, nil without one: an SMTP front-end
	// takes its GreetPause: and CommandPause: from it.
	Access *access.Access
	// Greylist is the greylist, nil without a store.
	Greylist *greylist.Greylist
	// Normalize, when set, rewrites an accepted message before it is
	// stored (bare LF/CR to CRLF).
	Normalize func(io.Reader) io.Reader
	// MaxSize is the largest message accepted (SIZE in EHLO); 0 without
	// the hygiene checks.
	MaxSize int64
	// Postscreen is postscreen's tests, for a front-end that sees the
	// connection (see PostscreenBuilt); nil when none is configured.
	Postscreen *PostscreenBuilt
	// Reputation is the client reputation, nil without a store.
	Reputation *reputation.Reputation
	// Accepted are told of each message the front-end accepted (and
	// delivered), Closed of each session's end: the duplicate refusal
	// remembers a message only once it is taken, and gives back its
	// claim when the session ends.
	Accepted, Closed []Hook
	// Listener, when set, wraps the listening socket before the server
	// sees a connection (four21, for a front-end with Env.Conn).
	Listener func(net.Listener) net.Listener
	// Signer, when set, tags the sender of outgoing mail
	// (smtppolicy_batv_sign, for a front-end with Env.Delivers): the
	// front-end signs what batv.Outgoing says leaves.
	Signer *batv.Signer
	// Verify are the address verifiers for a -config file's
	// reject_unverified_sender and reject_unverified_recipient.
	Verify Verifiers
	// Checks names the checks built, part by part, in order: what this
	// front-end runs of the configuration.
	Checks []string
}

// Parts are the names of the policy's parts, in the order Build runs
// their checks at each stage. A front-end with checks of its own may
// build part by part (Builder.Part) and put its checks between them.
func Parts() []string {
	return []string{"access", "postscreen", "hygiene", "dnsbl", "uri", "msgauth", "batv", "scan", "greylist", "duplicate", "four21", "callout", "reputation"}
}

// Builder builds one policy part by part.
type Builder struct {
	c   *Config
	env Env
	st  *Stores
	b   Built // what the parts built so far
}

// NewBuilder starts a policy from c; a front-end that never sees the
// message (env.Body unset) gets a warning naming the parameters it ignores.
func NewBuilder(c *Config, env Env, st *Stores) *Builder {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	if env.Ctx == nil {
		env.Ctx = context.Background()
	}
	if !env.Body {
		if names := c.Ignored(); len(names) > 0 {
			env.Logger.Warn("parameters ignored: they need the message body, which this front-end never sees", "parameters", strings.Join(names, ","))
		}
	}
	if !env.Delivers {
		if names := c.IgnoredDelivery(); len(names) > 0 {
			env.Logger.Warn("parameters ignored: they change the mail the SMTP server stores, and this front-end stores none", "parameters", strings.Join(names, ","))
		}
	}
	if !env.Conn {
		if names := c.IgnoredConn(); len(names) > 0 {
			env.Logger.Warn("parameters ignored: they need the client's connection, which only the SMTP server owns", "parameters", strings.Join(names, ","))
		}
	}
	return &Builder{c: c, env: env, st: st}
}

// Part builds the named part (one of Parts) and returns its checks; the
// access map, greylist, normalizer and size limit it makes are also kept
// for Built.
func (bd *Builder) Part(name string) (smtpcheck.Stages, error) {
	build := map[string]func(*Config, Env, *Stores, *Built) error{
		"access": buildAccess, "hygiene": buildHygiene, "dnsbl": buildDNSBL,
		"uri": buildURI, "scan": buildScan, "greylist": buildGreylist,
		"postscreen": buildPostscreen, "reputation": buildReputation,
		"msgauth": buildMsgauth, "batv": buildBATV, "duplicate": buildDuplicate,
		"four21": buildFour21, "callout": buildCallout,
	}[name]
	if build == nil {
		return smtpcheck.Stages{}, fmt.Errorf("assembly: no part %q", name)
	}
	part := Built{Access: bd.b.Access}
	if err := build(bd.c, bd.env, bd.st, &part); err != nil {
		return smtpcheck.Stages{}, err
	}
	if !bd.env.Body {
		part.Headers = nil // no request carries the header
		part.Normalize = nil
	}
	bd.b.Stages = bd.b.Stages.Append(part.Stages)
	if part.Access != nil {
		bd.b.Access = part.Access
	}
	if part.Greylist != nil {
		bd.b.Greylist = part.Greylist
	}
	if part.Normalize != nil {
		bd.b.Normalize = part.Normalize
	}
	if part.MaxSize > 0 {
		bd.b.MaxSize = part.MaxSize
	}
	if part.Postscreen != nil {
		bd.b.Postscreen = part.Postscreen
	}
	if part.Reputation != nil {
		bd.b.Reputation = part.Reputation
	}
	bd.b.Accepted = append(bd.b.Accepted, part.Accepted...)
	bd.b.Closed = append(bd.b.Closed, part.Closed...)
	if part.Listener != nil {
		bd.b.Listener = part.Listener
	}
	if part.Signer != nil {
		bd.b.Signer = part.Signer
	}
	if part.Verify.Sender != nil {
		bd.b.Verify.Sender = part.Verify.Sender
	}
	if part.Verify.Recipient != nil {
		bd.b.Verify.Recipient = part.Verify.Recipient
	}
	bd.b.Checks = append(bd.b.Checks, part.Checks...)
	return part.Stages, nil
}

// Built returns what the parts built so far, their checks in order.
func (bd *Builder) Built() *Built {
	b := bd.b
	return &b
}

// Build makes the checks the configuration describes, every part in
// order. It is called at start and again at each reload, with the same
// Stores.
func Build(c *Config, env Env, st *Stores) (*Built, error) {
	bd := NewBuilder(c, env, st)
	for _, name := range Parts() {
		if _, err := bd.Part(name); err != nil {
			return nil, err
		}
	}
	return bd.Built(), nil
}

// counting makes a check that counts events skip the repeated walks.
func counting(env Env, c smtpcheck.Check) smtpcheck.Check {
	if env.Repeated == nil {
		return c
	}
	return smtpcheck.SkipIf(env.Repeated, c)
}

func buildAccess(c *Config, env Env, st *Stores, b *Built) error {
	if files := c.listValue("smtppolicy_access_maps"); len(files) > 0 {
		a, err := access.New(access.Config{Files: files, Store: st.limitStore(), Logger: env.Logger})
		if err != nil {
			return fmt.Errorf("%s: %w", c.where("smtppolicy_access_maps"), err)
		}
		if every := c.durationValue("smtppolicy_access_reload"); every > 0 {
			go a.Watch(env.Ctx, every) // until the policy is replaced
		}
		b.Access = a
		check := smtpcheck.Named(access.CheckName, a.Check())
		lim := counting(env, smtpcheck.Guard(a.Limits(), smtpcheck.Options{Name: access.LimitsName, OnError: smtpcheck.FailOpen}))
		b.Connect = append(b.Connect, lim, check)
		b.Helo = append(b.Helo, check)
		b.Mail = append(b.Mail, check, lim)
		b.Rcpt = append(b.Rcpt, check, lim)
		b.Data = append(b.Data, check)
		b.Headers = append(b.Headers, check)
		b.EndOfData = append(b.EndOfData, check, lim)
		b.Checks = append(b.Checks, "access")
		env.Logger.Info("access map on", "files", files, "keys", a.Map().Len())
	}
	for _, spec := range c.listValue("smtppolicy_postfix_access") {
		kinds, table := lookupKinds(spec)
		t, err := postfix.Load(table)
		if err == nil {
			err = postfix.PostfixOnly(t)
		}
		if err != nil {
			return fmt.Errorf("%s %q: %w", c.where("smtppolicy_postfix_access"), spec, err)
		}
		o := postfix.DefaultOptions
		for _, kind := range kinds {
			switch kind {
			case "client":
				b.Connect = append(b.Connect, smtpcheck.Named("check_client_access", postfix.CheckClientAccess(t, o)))
			case "helo":
				b.Helo = append(b.Helo, smtpcheck.Named("check_helo_access", postfix.CheckHeloAccess(t, o)))
			case "sender":
				b.Mail = append(b.Mail, smtpcheck.Named("check_sender_access", postfix.CheckSenderAccess(t, o)))
			case "recipient":
				b.Rcpt = append(b.Rcpt, smtpcheck.Named("check_recipient_access", postfix.CheckRecipientAccess(t, o)))
			}
		}
		b.Checks = append(b.Checks, "postfix-access")
		env.Logger.Info("postfix access table on", "table", table, "lookups", kinds)
	}
	return nil
}

// lookupKinds splits a smtppolicy_postfix_access entry. The plain form is
// Postfix's TYPE:FILE (hash:/etc/postfix/access), and the table then
// serves every lookup, as one access(5) table keyed by addresses, domains
// and networks can; a leading client:, helo:, sender: or recipient:
// limits it to one.
func lookupKinds(spec string) (kinds []string, table string) {
	for _, k := range []string{"client", "helo", "sender", "recipient"} {
		if strings.HasPrefix(spec, k+":") {
			return []string{k}, spec[len(k)+1:]
		}
	}
	return []string{"client", "helo", "sender", "recipient"}, spec
}

func buildHygiene(c *Config, env Env, st *Stores, b *Built) error {
	if !c.boolValue("smtppolicy_hygiene") {
		return nil
	}
	var mode hygiene.LineMode
	switch lines := c.Value("smtppolicy_hygiene_lines"); lines {
	case "reject":
	case "normalize", "normalise":
		mode = hygiene.LineNormalize
	default:
		return fmt.Errorf("%s: %q is neither reject nor normalize", c.where("smtppolicy_hygiene_lines"), lines)
	}
	maxSize := c.intValue("smtppolicy_hygiene_max_size")
	stages := hygiene.Default(hygiene.DefaultConfig{
		Names:    append([]string{env.Hostname}, env.Domains...),
		Addrs:    env.Local,
		MaxSize:  maxSize,
		Lines:    mode,
		LabNames: !c.boolValue("smtppolicy_hygiene_names"),
	})
	if env.Resolver == nil {
		env.Logger.Info("hygiene checks on; DNS-based ones off without -resolver")
	} else {
		stages = stages.Append(hygiene.DefaultDNS(hygiene.DNSConfig{Resolver: env.Resolver}))
		if c.boolValue("smtppolicy_spf") {
			stages.Mail = append(stages.Mail, spfcheck.Mail(spfcheck.Config{Resolver: env.Resolver, Receiver: env.Hostname, Logger: env.Logger}))
			b.Checks = append(b.Checks, "spf")
		}
		env.Logger.Info("hygiene checks on, with sender domain, reverse DNS and SPF", "spf", c.boolValue("smtppolicy_spf"))
	}
	b.Stages = b.Stages.Append(stages)
	b.Checks = append([]string{"hygiene"}, b.Checks...)
	b.MaxSize = maxSize
	if mode == hygiene.LineNormalize {
		// The checks pass bare LF/CR; the stored message gets CRLF.
		b.Normalize = hygiene.NormalizeLineEndings
	}
	return nil
}

// dnsAllowlisted is the session key set when a DNS allowlist accepted the
// client.
type dnsAllowlisted struct{}

// OnDNSAllowlist is true for a client a DNS allowlist (a DNS list with a
// negative weight) accepted at connect: greylisting skips it.
func OnDNSAllowlist(s *smtpcheck.Session) bool {
	v, _ := s.Value(dnsAllowlisted{}).(bool)
	return v
}

func buildDNSBL(c *Config, env Env, st *Stores, b *Built) error {
	specs := c.listValue("smtppolicy_dnsbl_sites")
	if len(specs) == 0 {
		return nil
	}
	if env.Resolver == nil {
		return fmt.Errorf("%s needs -resolver", c.where("smtppolicy_dnsbl_sites"))
	}
	threshold := c.intValue("smtppolicy_dnsbl_threshold")
	if threshold < 1 {
		return fmt.Errorf("%s %d: want 1 or more", c.where("smtppolicy_dnsbl_threshold"), threshold)
	}
	lists, err := dnsbl.ParseLists(specs...)
	if err != nil {
		return fmt.Errorf("%s: %w", c.where("smtppolicy_dnsbl_sites"), err)
	}
	dc, err := dnsbl.New(dnsbl.Config{
		Resolver:   env.Resolver,
		Lists:      lists,
		Timeout:    5 * time.Second,
		Thresholds: smtpcheck.Thresholds{Reject: float64(threshold), Allow: -1},
		Logger:     env.Logger,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", c.where("smtppolicy_dnsbl_sites"), err)
	}
	env.Logger.Info("DNS lists on", "lists", strings.Join(specs, ","), "threshold", threshold)
	if every := c.durationValue("smtppolicy_dnsbl_health"); every > 0 {
		go dc.RunHealth(env.Ctx, every) // until the policy is replaced
	}
	client := dc.ClientCheck()
	remember := func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := client(ctx, s)
		if r.Action == smtpcheck.Accept {
			s.SetValue(dnsAllowlisted{}, true) // greylisting skips this client
		}
		return r
	}
	b.Checks = append(b.Checks, "dnsbl")
	b.Connect = append(b.Connect, smtpcheck.Guard(remember, smtpcheck.Options{
		Name:    "dnsbl",
		Timeout: 6 * time.Second, // the lists' own deadline comes first
		// postscreen.Passed: a client the pass cache vouches for costs no query.
		Skip: []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated, postscreen.Passed},
	}))
	return nil
}

func buildURI(c *Config, env Env, st *Stores, b *Built) error {
	specs := c.listValue("smtppolicy_uribl_sites")
	cfg := uri.Config{
		Exclude:       c.listValue("smtppolicy_uri_exclude"),
		MaxURIs:       int(c.intValue("smtppolicy_uri_max_limit")),
		RequireDomain: c.boolValue("smtppolicy_uri_require_domain"),
		Logger:        env.Logger,
	}
	switch links := c.Value("smtppolicy_uri_links_policy"); links {
	case "ignore":
	case "tag":
		cfg.Links = uri.LinksTag
	case "reject":
		cfg.Links = uri.LinksReject
	default:
		return fmt.Errorf("%s %q: want ignore, tag or reject", c.where("smtppolicy_uri_links_policy"), links)
	}
	ipInName, nsNX := c.boolValue("smtppolicy_uri_ip_in_name"), c.boolValue("smtppolicy_uri_ns_nxdomain")
	ipInNS, requirePTR := c.boolValue("smtppolicy_uri_ip_in_ns"), c.boolValue("smtppolicy_uri_require_ptr")
	dnsWanted := len(specs) > 0 || ipInName || nsNX || ipInNS || requirePTR
	if dnsWanted && env.Resolver == nil {
		env.Logger.Info("URI lists and link DNS checks off: no -resolver given")
	}
	if dnsWanted && env.Resolver != nil {
		for _, s := range specs {
			l, err := uri.ParseList(s)
			if err != nil {
				return fmt.Errorf("%s: %w", c.where("smtppolicy_uribl_sites"), err)
			}
			cfg.Lists = append(cfg.Lists, l)
		}
		cfg.Resolver = env.Resolver
		cfg.IPInName, cfg.NSNXDomain, cfg.IPInNS, cfg.RequirePTR = ipInName, nsNX, ipInNS, requirePTR
	}
	if b.Access != nil {
		cfg.Body = accessBody(b.Access) // Body: entries exempt or reject link hosts
	}
	if cfg.Resolver == nil && cfg.MaxURIs == 0 && !cfg.RequireDomain && cfg.Links == uri.LinksIgnore && cfg.Body == nil {
		return nil
	}
	u, err := uri.New(cfg)
	if err != nil {
		return fmt.Errorf("uri: %w", err)
	}
	env.Logger.Info("link checks on", "lists", strings.Join(specs, ","), "dns", cfg.Resolver != nil)
	skip := []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated}
	guard := func(name string, check smtpcheck.Check) smtpcheck.Check {
		return smtpcheck.Guard(check, smtpcheck.Options{Name: name, Timeout: 15 * time.Second, Skip: skip})
	}
	if env.Body {
		b.EndOfData = append(b.EndOfData, guard("uri", u.Check()))
		b.Checks = append(b.Checks, "uri")
	}
	if cfg.Resolver != nil && len(cfg.Lists) > 0 {
		if c.boolValue("smtppolicy_uri_bl_helo") {
			b.Helo = append(b.Helo, guard("uri-bl-helo", u.HeloCheck()))
		}
		if c.boolValue("smtppolicy_uri_bl_ptr") {
			b.Helo = append(b.Helo, guard("uri-bl-ptr", u.ClientPTRCheck()))
		}
		if c.boolValue("smtppolicy_uri_bl_mail") {
			b.Mail = append(b.Mail, guard("uri-bl-mail", u.SenderCheck()))
		}
	}
	return nil
}

func buildScan(c *Config, env Env, st *Stores, b *Built) error {
	if !env.Body {
		return nil
	}
	skip := []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated}
	guard := func(name string, check smtpcheck.Check, timeout time.Duration) smtpcheck.Check {
		// The scanners keep their own deadline and answer an overrun with
		// the catalog's reply; the guard's is a backstop.
		return smtpcheck.Guard(check, smtpcheck.Options{Name: name, Timeout: timeout + time.Second, OnError: smtpcheck.FailTemp, Skip: skip})
	}
	kbytes := func(name string) int64 {
		n := c.intValue(name) << 10
		if n <= 0 {
			return -1
		}
		return n
	}
	if sock := c.Value("smtppolicy_clamd_socket"); sock != "" {
		onFound, err := clamd.ParseAction(c.Value("smtppolicy_clamd_policy"))
		if err != nil {
			return fmt.Errorf("%s: %w", c.where("smtppolicy_clamd_policy"), err)
		}
		onErr, err := smtpcheck.ParseErrorPolicy(c.Value("smtppolicy_clamd_error_policy"))
		if err != nil {
			return fmt.Errorf("%s: %w", c.where("smtppolicy_clamd_error_policy"), err)
		}
		timeout := c.durationValue("smtppolicy_clamd_timeout")
		sc, err := clamd.New(clamd.Config{Address: sock, Timeout: timeout, MaxSize: kbytes("smtppolicy_clamd_max_size"), OnFound: onFound, OnError: onErr, Logger: env.Logger})
		if err != nil {
			return fmt.Errorf("%s: %w", c.where("smtppolicy_clamd_socket"), err)
		}
		b.EndOfData = append(b.EndOfData, guard(clamd.Name, sc.Check(), timeout))
		b.Checks = append(b.Checks, clamd.Name)
		env.Logger.Info("virus scanning on", "clamd", sock, "policy", onFound, "on-error", onErr)
	}
	if sock := c.Value("smtppolicy_spamd_socket"); sock != "" {
		onErr, err := smtpcheck.ParseErrorPolicy(c.Value("smtppolicy_spamd_error_policy"))
		if err != nil {
			return fmt.Errorf("%s: %w", c.where("smtppolicy_spamd_error_policy"), err)
		}
		th := smtpcheck.Thresholds{Reject: c.floatValue("smtppolicy_spamd_score_reject"), Tag: c.floatValue("smtppolicy_spamd_score_tag")}
		if th.Reject < 0 {
			th.Reject = math.Inf(1)
		}
		timeout := c.durationValue("smtppolicy_spamd_timeout")
		sc, err := spamd.New(spamd.Config{
			Address: sock, User: c.Value("smtppolicy_spamd_user"), Timeout: timeout, MaxSize: kbytes("smtppolicy_spamd_max_size"), Thresholds: th,
			RejectSenderMarkedSpam: c.boolValue("smtppolicy_spamd_reject_sender_marked_spam"),
			SenderMarkedSpam:       c.boolValue("smtppolicy_spamd_sender_marked_spam"),
			OnError:                onErr, Logger: env.Logger,
		})
		if err != nil {
			return fmt.Errorf("%s: %w", c.where("smtppolicy_spamd_socket"), err)
		}
		b.EndOfData = append(b.EndOfData, guard(spamd.Name, sc.Check(), timeout))
		b.Checks = append(b.Checks, spamd.Name)
		env.Logger.Info("spam scoring on", "spamd", sock, "reject", th.Reject, "on-error", onErr)
	}
	return nil
}

// GreylistOff reports whether the configuration turns greylisting off.
func (c *Config) GreylistOff() bool {
	spec := c.Value("smtppolicy_greylist_store")
	return spec == "" || spec == "none"
}

func buildGreylist(c *Config, env Env, st *Stores, b *Built) error {
	if c.GreylistOff() {
		return nil
	}
	spec := c.Value("smtppolicy_greylist_store")
	gs, err := st.greyStore(env.Ctx, spec, c.where("smtppolicy_greylist_store"), env.Logger)
	if err != nil {
		return err
	}
	exchange := c.boolValue("smtppolicy_greylist_exchange")
	cfg := greylist.Config{
		Store:              gs,
		Delay:              c.durationValue("smtppolicy_greylist_delay"),
		Exchange:           exchange,
		Hostname:           env.Hostname,
		Logger:             env.Logger,
		AutoAllow:          int(c.intValue("smtppolicy_greylist_auto_allow")),
		AutoAllowByNetwork: c.boolValue("smtppolicy_greylist_auto_allow_by_network"),
		// A store that cannot be reached defers the mail: letting it
		// through would undo greylisting while the store is down.
		OnError: smtpcheck.FailTemp,
		// A client already on a DNS allowlist is not greylisted.
		Skip: []smtpcheck.Condition{OnDNSAllowlist},
	}
	if cfg.AutoAllow <= 0 {
		cfg.AutoAllow = greylist.AutoAllowOff // 0 means off, as in postgrey
	}
	if b.Access != nil {
		// The access map's Grey-Connect: and Grey-To: set the period.
		cfg.Period = b.Access.GreyPeriod
	}
	if env.Greylist != nil {
		if err := env.Greylist(&cfg); err != nil {
			return err
		}
	}
	g, err := greylist.New(cfg)
	if err != nil {
		return err
	}
	b.Greylist = g
	content := env.Body && c.boolValue("smtppolicy_greylist_content")
	env.Logger.Info("greylisting on", "store", daemon.RedactURL(spec), "delay", cfg.Delay, "content", content)
	if content {
		b.EndOfData = append(b.EndOfData, g.ContentCheck())
		b.Checks = append(b.Checks, "greylist-content")
		return nil
	}
	check := g.Check()
	if env.GreylistAnswer != nil {
		check = env.GreylistAnswer(check)
	}
	b.Rcpt = append(b.Rcpt, counting(env, check))
	b.Checks = append(b.Checks, "greylist")
	return nil
}

// Then returns p with the checks of st run after p's own at each stage
// (p's are a file's Postfix restriction lists, which run first); a nil p
// is an empty policy. The first refusal at a stage answers. A stage with
// no check stays nil, so that a front-end can tell where the policy has
// nothing to say (the milter asks the MTA not to wait there).
func Then(p *smtpcheck.Policy, st smtpcheck.Stages) *smtpcheck.Policy {
	if p == nil {
		p = &smtpcheck.Policy{}
	}
	then := func(first smtpcheck.Check, more []smtpcheck.Check) smtpcheck.Check {
		if first == nil {
			if len(more) == 0 {
				return nil
			}
			return smtpcheck.FirstMatch(more...)
		}
		return smtpcheck.FirstMatch(append([]smtpcheck.Check{first}, more...)...)
	}
	p.Connect = then(p.Connect, st.Connect)
	p.Helo = then(p.Helo, st.Helo)
	p.Mail = then(p.Mail, st.Mail)
	p.Rcpt = then(p.Rcpt, st.Rcpt)
	p.Data = then(p.Data, st.Data)
	p.Headers = then(p.Headers, st.Headers)
	p.EndOfData = then(p.EndOfData, st.EndOfData)
	return p
}

// accessBody reads an access map's Body: tag as the link check's verdict:
// OK exempts the host, REJECT and IREJECT refuse the message; the map's
// other actions leave the host to the other checks.
func accessBody(a *access.Access) func(string) (uri.BodyVerdict, string) {
	return func(host string) (uri.BodyVerdict, string) {
		v, key, found := a.Body(host)
		if !found {
			return uri.BodyNone, ""
		}
		switch v.Action {
		case access.OK:
			return uri.BodyExempt, "Body:" + key
		case access.Reject:
			return uri.BodyReject, "Body:" + key
		case access.IReject:
			return uri.BodyRejectNow, "Body:" + key
		}
		return uri.BodyNone, ""
	}
}
