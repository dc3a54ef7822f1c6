package uri

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// ListKind says which hosts a URI list takes.
type ListKind uint8

// List kinds. Domain lists (Spamhaus DBL, URIBL) never see an IP address;
// IP lists (a DNSBL used for link addresses) never see a domain.
const (
	ListDomains ListKind = iota // registered domains only (the default)
	ListIPs                     // IP hosts only, reversed as RFC 5782 asks
	ListBoth                    // both (SURBL's multi list takes reversed IPs too)
)

// List is one URI list: a DNS list spec and which hosts it takes.
type List struct {
	dnsbl.List
	Kind ListKind
}

// ParseList parses a URI list spec: a dnsbl spec (zone[=pattern|&mask][*weight],
// see dnsbl.ParseList), optionally prefixed "ip:" for a list of IP
// addresses or "any:" for a list of domains and addresses. Without a prefix
// the list is a domain list.
func ParseList(spec string) (List, error) {
	kind := ListDomains
	s := strings.TrimSpace(spec)
	switch {
	case strings.HasPrefix(s, "ip:"):
		kind, s = ListIPs, s[3:]
	case strings.HasPrefix(s, "any:"):
		kind, s = ListBoth, s[4:]
	}
	l, err := dnsbl.ParseList(s)
	if err != nil {
		return List{}, err
	}
	return List{List: l, Kind: kind}, nil
}

// LinkPolicy is what the checks do with a broken link (smtpf's
// uri-links-policy).
type LinkPolicy uint8

// Link policies.
const (
	LinksIgnore LinkPolicy = iota // broken links count for nothing
	LinksTag                      // tag the message (Action Tag)
	LinksReject                   // reject with BrokenURL (smtpf#766)
)

// DefaultMaxLookups is how many hosts one list is asked about per message
// when Config.MaxLookups is zero (Haraka's figure).
const DefaultMaxLookups = 20

// DefaultTimeout bounds the DNS work of one message's check when
// Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// BodyVerdict is what a [Config.Body] lookup says about one link host.
// It is this package's own word so that any list (an access map, a file of
// names, a database) can feed it.
type BodyVerdict int

const (
	// BodyNone means no entry: the other checks judge the host.
	BodyNone BodyVerdict = iota
	// BodyExempt skips the host: no list or DNS check looks at it.
	BodyExempt
	// BodyReject refuses the message (550 URIHostRejected); under delayed
	// rejection the refusal waits for the recipient stage like any other.
	BodyReject
	// BodyRejectNow refuses the message at once, even under delayed
	// rejection (an access map's IREJECT).
	BodyRejectNow
)

// Config configures a LinkLists. The DNS checks need Resolver; without it only
// the checks that need no DNS (RequireDomain, MaxURIs, Links, Body) run.
type Config struct {
	Resolver *resolver.Resolver
	// Lists are the URI lists (uri-bl, uri-dns-bl).
	Lists []List
	// Exclude lists domains never looked up or refused for: a host that is
	// one of them or below one of them is passed over (your own domains,
	// w3.org, common CDNs).
	Exclude []string
	// MaxLookups caps the hosts each list, and each DNS test, is asked
	// about per message; zero means DefaultMaxLookups.
	MaxLookups int
	// Limits bound the extraction.
	Limits Limits
	// MaxURIs rejects a message linking to more distinct hosts than this
	// (uri-max-limit, smtpf#781); zero means no limit.
	MaxURIs int
	// RequireDomain rejects links whose host is an IP address
	// (uri-require-domain, smtpf#765).
	RequireDomain bool
	// IPInName rejects a link host whose name embeds one of its own
	// addresses, as dynamic hosts' names do (uri-ip-in-name, smtpf#746).
	IPInName bool
	// NSNXDomain rejects a link domain delegated to a name server whose
	// name does not exist (uri-ns-nxdomain, smtpf#743).
	NSNXDomain bool
	// IPInNS rejects a link domain whose name server's name embeds its own
	// address (uri-ip-in-ns, smtpf#741).
	IPInNS bool
	// RequirePTR rejects a link host with an address that has no PTR
	// record (uri-require-ptr, smtpf#748).
	RequirePTR bool
	// CheckNS also asks the domain lists about the registered domains of a
	// link domain's name servers (uri-bl-ns, smtpf#788).
	CheckNS bool
	// Links is the broken-link policy (uri-links-policy, smtpf#766).
	Links LinkPolicy
	// Body, when set, looks a link host up in a list the program keeps
	// (an access map's Body: tag, smtpf#763) and says what to do with it;
	// key names the entry that matched, for the reason.
	Body func(host string) (v BodyVerdict, key string)
	// Timeout bounds one message's lookups; zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives a line per message with what was found; nil means
	// discard.
	Logger *slog.Logger
}

// LinkLists runs the URI checks. It is safe for concurrent use.
type LinkLists struct {
	cfg     Config
	domains []*listChecker // lists asked about domains
	ips     []*listChecker // lists asked about IP hosts
	exclude map[string]bool
	log     *slog.Logger
	x       *Extractor
}

type listChecker struct {
	list List
	c    *dnsbl.ClientLists
}

// New returns a LinkLists. It fails on a list without a resolver, or a list
// the dnsbl package refuses.
func New(cfg Config) (*LinkLists, error) {
	c := &LinkLists{cfg: cfg, exclude: map[string]bool{}, log: cfg.Logger, x: NewExtractor()}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.cfg.MaxLookups <= 0 {
		c.cfg.MaxLookups = DefaultMaxLookups
	}
	if c.cfg.Timeout <= 0 {
		c.cfg.Timeout = DefaultTimeout
	}
	c.cfg.Limits = c.cfg.Limits.withDefaults()
	if c.cfg.MaxURIs > 0 && c.cfg.Limits.MaxHosts <= c.cfg.MaxURIs {
		c.cfg.Limits.MaxHosts = c.cfg.MaxURIs + 1
	}
	for _, d := range cfg.Exclude {
		c.exclude[strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")] = true
	}
	if len(cfg.Lists) > 0 && cfg.Resolver == nil {
		return nil, errors.New("uri: lists need a resolver")
	}
	if cfg.Resolver == nil && (cfg.IPInName || cfg.NSNXDomain || cfg.IPInNS || cfg.RequirePTR) {
		return nil, errors.New("uri: DNS checks need a resolver")
	}
	for _, l := range cfg.Lists {
		add := func(kind dnsbl.Kind) (*listChecker, error) {
			dc, err := dnsbl.New(dnsbl.Config{Resolver: cfg.Resolver, Lists: []dnsbl.List{l.List}, Kind: kind, Timeout: c.cfg.Timeout, Logger: cfg.Logger})
			if err != nil {
				return nil, err
			}
			return &listChecker{list: l, c: dc}, nil
		}
		if l.Kind == ListDomains || l.Kind == ListBoth {
			lc, err := add(dnsbl.DomainList)
			if err != nil {
				return nil, err
			}
			c.domains = append(c.domains, lc)
		}
		if l.Kind == ListIPs || l.Kind == ListBoth {
			lc, err := add(dnsbl.IPList)
			if err != nil {
				return nil, err
			}
			c.ips = append(c.ips, lc)
		}
	}
	return c, nil
}

// excluded reports a host in or below an excluded domain.
func (c *LinkLists) excluded(name string) bool {
	for len(c.exclude) > 0 {
		if c.exclude[name] {
			return true
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return false
		}
		name = name[i+1:]
	}
	return false
}

type foundKey struct{}

// found is an extraction with the transaction it belongs to: session
// values outlive a transaction, and the next message of the session must
// be read afresh.
type found struct {
	mail *smtpcheck.Mail
	r    *Result
}

// Found returns the extraction result a Check stored for the session's
// current message, or nil when none ran.
func Found(s *smtpcheck.Session) *Result {
	f, _ := s.Value(foundKey{}).(found)
	if f.mail != s.Mail {
		return nil
	}
	return f.r
}

// extract reads the message's body once; later checks reuse it.
func (c *LinkLists) extract(s *smtpcheck.Session) (*Result, error) {
	if r := Found(s); r != nil {
		return r, nil
	}
	if s.Body == nil {
		return nil, nil
	}
	body, err := s.Body.Open()
	if err != nil {
		return nil, fmt.Errorf("uri: open body: %w", err)
	}
	defer body.Close()
	ct, _ := s.Header.Get("Content-Type")
	cte, _ := s.Header.Get("Content-Transfer-Encoding")
	r, err := c.x.ExtractBody(ct, cte, body, c.cfg.Limits)
	if err != nil {
		return nil, fmt.Errorf("uri: read body: %w", err)
	}
	s.SetValue(foundKey{}, found{s.Mail, r})
	return r, nil
}

func reason(rule, matched, evidence string) smtpcheck.Reason {
	return smtpcheck.Reason{Check: "uri", Rule: rule, Matched: matched, Evidence: evidence}
}

// Check returns the end-of-data check: it reads the body through
// Session.Body.Open, extracts the hosts, and refuses for the first host, in
// order of appearance, that a rule refuses. A DNS failure that keeps a rule
// from deciding, when nothing refused, is returned as Result.Err for the
// enclosing Guard's error policy.
func (c *LinkLists) Check() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		found, err := c.extract(s)
		if err != nil {
			return smtpcheck.Result{Err: err, Reason: reason("extract", "", "")}
		}
		if found == nil {
			return smtpcheck.Result{}
		}
		c.log.Debug("uri: hosts found", slog.String("id", s.Conn.ID), slog.Int("hosts", len(found.Hosts)),
			slog.Int("broken", len(found.Broken)), slog.Bool("truncated", found.Truncated))
		if c.cfg.MaxURIs > 0 && len(found.Hosts) > c.cfg.MaxURIs {
			return smtpcheck.Refuse(reply.TooManyURIs(), reason("uri-max-limit", fmt.Sprint(len(found.Hosts)), fmt.Sprintf("limit=%d", c.cfg.MaxURIs)))
		}
		var tagged smtpcheck.Result
		if len(found.Broken) > 0 {
			b := found.Broken[0]
			why := strings.TrimPrefix(b.Err.Error(), "uri: ")
			switch c.cfg.Links {
			case LinksReject:
				return smtpcheck.Refuse(reply.BrokenURL(b.URL, why), reason("uri-links-policy", b.URL, why))
			case LinksTag:
				tagged = smtpcheck.Result{Action: smtpcheck.Tag, Reason: reason("uri-links-policy", b.URL, why)}
			}
		}
		var hosts []Host
		for _, h := range found.Hosts {
			if c.excluded(h.Name) {
				continue
			}
			if c.cfg.Body != nil {
				switch v, key := c.cfg.Body(h.Name); v {
				case BodyExempt:
					continue
				case BodyReject, BodyRejectNow:
					r := smtpcheck.Refuse(reply.URIHostRejected(h.Name), reason(key, h.Name, h.URL))
					r.Immediate = v == BodyRejectNow
					return r
				}
			}
			if c.cfg.RequireDomain && h.IsIP() {
				return smtpcheck.Refuse(reply.URIHostIsIP(h.URL), reason("uri-require-domain", h.Name, h.URL))
			}
			hosts = append(hosts, h)
		}
		if c.cfg.Resolver == nil || len(hosts) == 0 {
			return tagged
		}
		ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
		if r := c.dnsChecks(ctx, hosts); r.Action != smtpcheck.Continue || r.Err != nil {
			return r
		}
		return tagged
	}
}

// job is one DNS question about one host; its verdict lands in res.
type job struct {
	host int // index in the hosts slice: refusals are chosen by host order
	rank int // rule order within a host
	run  func(ctx context.Context) smtpcheck.Result
	res  smtpcheck.Result
}

const concurrency = 8

// dnsChecks plans the lookups in order of appearance (so the per-list caps
// keep the first hosts), runs them in parallel, and returns the refusal of
// the earliest host, or the first error when nothing refused.
func (c *LinkLists) dnsChecks(ctx context.Context, hosts []Host) smtpcheck.Result {
	var jobs []*job
	listUsed := make([]int, len(c.domains)+len(c.ips))
	ruleUsed := map[string]int{}
	seenDomain := map[string]bool{}
	take := func(rule string) bool {
		if ruleUsed[rule] >= c.cfg.MaxLookups {
			return false
		}
		ruleUsed[rule]++
		return true
	}
	for i, h := range hosts {
		add := func(rank int, f func(ctx context.Context) smtpcheck.Result) {
			jobs = append(jobs, &job{host: i, rank: rank, run: f})
		}
		if h.IsIP() {
			for k, lc := range c.ips {
				if listUsed[len(c.domains)+k] >= c.cfg.MaxLookups {
					continue
				}
				listUsed[len(c.domains)+k]++
				add(10+k, func(ctx context.Context) smtpcheck.Result { return c.ipListed(ctx, lc, h) })
			}
			if c.cfg.RequirePTR && take("ptr") {
				add(200, func(ctx context.Context) smtpcheck.Result { return c.requirePTR(ctx, h.Name, []netip.Addr{h.IP}) })
			}
			continue
		}
		if h.Domain != "" && !seenDomain[h.Domain] {
			seenDomain[h.Domain] = true
			for k, lc := range c.domains {
				if listUsed[k] >= c.cfg.MaxLookups {
					continue
				}
				listUsed[k]++
				add(100+k, func(ctx context.Context) smtpcheck.Result { return c.domainListed(ctx, lc, h.Domain) })
			}
			if (c.cfg.NSNXDomain || c.cfg.IPInNS || c.cfg.CheckNS) && take("ns") {
				add(300, func(ctx context.Context) smtpcheck.Result { return c.nsChecks(ctx, h.Domain) })
			}
		}
		if (c.cfg.IPInName || c.cfg.RequirePTR) && take("addr") {
			add(200, func(ctx context.Context) smtpcheck.Result { return c.addrChecks(ctx, h) })
		}
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			j.res = j.run(ctx)
		}()
	}
	wg.Wait()
	var best *job
	var firstErr smtpcheck.Result
	for _, j := range jobs {
		if j.res.Action.Refuses() {
			if best == nil || j.host < best.host || j.host == best.host && j.rank < best.rank {
				best = j
			}
		} else if j.res.Err != nil && firstErr.Err == nil {
			firstErr = j.res
		}
	}
	if best != nil {
		return best.res
	}
	return firstErr
}

// ipListed asks one IP list about an IP host (smtpf#776).
func (c *LinkLists) ipListed(ctx context.Context, lc *listChecker, h Host) smtpcheck.Result {
	v := lc.c.CheckIP(ctx, h.IP)
	return c.listVerdict(v, func(zone string) reply.Reply { return reply.URIHostBlacklisted(h.Name, zone) }, "uri-dns-bl")
}

// domainListed asks one domain list about a registered domain (smtpf#762).
func (c *LinkLists) domainListed(ctx context.Context, lc *listChecker, domain string) smtpcheck.Result {
	v := lc.c.CheckDomain(ctx, domain)
	return c.listVerdict(v, func(zone string) reply.Reply { return reply.URIDomainBlacklisted(domain, zone) }, "uri-bl")
}

func (c *LinkLists) listVerdict(v *dnsbl.Verdict, rep func(zone string) reply.Reply, rule string) smtpcheck.Result {
	if v.Err != nil {
		return smtpcheck.Result{}
	}
	if l := v.Listed(); len(l) > 0 {
		codes := make([]string, len(l[0].Codes))
		for i, a := range l[0].Codes {
			codes[i] = a.String()
		}
		return smtpcheck.Refuse(rep(l[0].Name()), reason(rule+" "+l[0].Name(), v.Subject, "codes="+strings.Join(codes, ",")))
	}
	if errs := v.Errors(); len(errs) > 0 {
		return smtpcheck.Result{Err: errs[0].Err, Reason: reason(rule+" "+errs[0].Name(), v.Subject, "")}
	}
	return smtpcheck.Result{}
}

// lookupErr turns a lookup error into an undecided result; not-found is no
// error.
func lookupErr(err error, rule, matched string) smtpcheck.Result {
	if err == nil || resolver.IsNotFound(err) {
		return smtpcheck.Result{}
	}
	return smtpcheck.Result{Err: err, Reason: reason(rule, matched, "")}
}

// addrChecks resolves a host name and runs uri-ip-in-name and
// uri-require-ptr on its addresses.
func (c *LinkLists) addrChecks(ctx context.Context, h Host) smtpcheck.Result {
	addrs, err := c.cfg.Resolver.LookupIP(ctx, h.Name)
	if err != nil {
		return lookupErr(err, "uri-resolve", h.Name)
	}
	if c.cfg.IPInName {
		for _, a := range addrs {
			if IPInName(h.Name, a) {
				return smtpcheck.Refuse(reply.URIHostIP(h.Name, a.String(), "name"), reason("uri-ip-in-name", h.Name, a.String()))
			}
		}
	}
	if c.cfg.RequirePTR {
		return c.requirePTR(ctx, h.Name, addrs)
	}
	return smtpcheck.Result{}
}

// requirePTR refuses a host with an address that has no PTR (smtpf#748).
func (c *LinkLists) requirePTR(ctx context.Context, host string, addrs []netip.Addr) smtpcheck.Result {
	for _, a := range addrs {
		names, err := c.cfg.Resolver.LookupPTR(ctx, a)
		if err != nil && !resolver.IsNotFound(err) {
			return lookupErr(err, "uri-require-ptr", host)
		}
		if len(names) == 0 {
			return smtpcheck.Refuse(reply.URLHostNoPTR(host), reason("uri-require-ptr", host, a.String()))
		}
	}
	return smtpcheck.Result{}
}

// nsChecks looks at a link domain's name servers: names that do not exist
// (smtpf#743), names that embed their own address (smtpf#741), and name
// server domains on the URI lists (smtpf#788).
func (c *LinkLists) nsChecks(ctx context.Context, domain string) smtpcheck.Result {
	nss, err := c.cfg.Resolver.LookupNS(ctx, domain)
	if err != nil {
		return lookupErr(err, "uri-ns", domain)
	}
	if len(nss) > 4 {
		nss = nss[:4]
	}
	for _, ns := range nss {
		if c.cfg.NSNXDomain || c.cfg.IPInNS {
			a, err := c.cfg.Resolver.Query(ctx, ns, resolver.TypeA)
			if err != nil {
				return lookupErr(err, "uri-ns", ns)
			}
			if c.cfg.NSNXDomain && a.NXDomain() {
				return smtpcheck.Refuse(reply.URINSNXDomain(domain, ns), reason("uri-ns-nxdomain", domain, ns))
			}
			if c.cfg.IPInNS {
				for _, ip := range a.Addrs() {
					if IPInName(ns, ip) {
						return smtpcheck.Refuse(reply.URINSIPInName(domain, ns, ip.String()), reason("uri-ip-in-ns", domain, ns))
					}
				}
			}
		}
		if c.cfg.CheckNS {
			nd := registeredDomain(ns)
			if nd == "" || nd == domain || c.excluded(nd) {
				continue
			}
			for _, lc := range c.domains {
				v := lc.c.CheckDomain(ctx, nd)
				if l := v.Listed(); len(l) > 0 {
					why := fmt.Sprintf("black listed URL domain %s by %s", nd, l[0].Name())
					return smtpcheck.Refuse(reply.NSRejected(ns, why), reason("uri-bl-ns "+l[0].Name(), ns, domain))
				}
			}
		}
	}
	return smtpcheck.Result{}
}

// IPInName reports whether a host name embeds the IPv4 address ip, forwards
// or backwards, with dots, dashes, underscores or nothing between the
// octets, or as eight hex digits: 192-0-2-7.dyn.example,
// 7.2.0.192.pool.example, c0000207.example. The separator-less decimal form
// must be zero-padded (192000002007), to keep short numbers from matching.
func IPInName(name string, ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.Is4() {
		return false
	}
	o := ip.As4()
	name = strings.ToLower(name)
	for _, sep := range []string{".", "-", "_"} {
		if strings.Contains(name, fmt.Sprintf("%d%s%d%s%d%s%d", o[0], sep, o[1], sep, o[2], sep, o[3])) ||
			strings.Contains(name, fmt.Sprintf("%d%s%d%s%d%s%d", o[3], sep, o[2], sep, o[1], sep, o[0])) {
			return true
		}
	}
	return strings.Contains(name, fmt.Sprintf("%03d%03d%03d%03d", o[0], o[1], o[2], o[3])) ||
		strings.Contains(name, fmt.Sprintf("%03d%03d%03d%03d", o[3], o[2], o[1], o[0])) ||
		strings.Contains(name, fmt.Sprintf("%02x%02x%02x%02x", o[0], o[1], o[2], o[3]))
}

// Subject checks: the HELO name, the sender's domain and the client's PTR
// name against the domain lists (smtpf's uri-bl-helo, uri-bl-mail,
// uri-bl-ptr).

// HeloCheck returns a check of the HELO name's registered domain against
// the URI domain lists (smtpf#792).
func (c *LinkLists) HeloCheck() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		return c.subject(ctx, s.Helo.Name, "uri-bl-helo", func(why string) reply.Reply { return reply.HeloNameRejected(why) })
	}
}

// SenderCheck returns a check of the MAIL FROM domain's registered domain
// against the URI domain lists (smtpf#794). The null sender is not looked up.
func (c *LinkLists) SenderCheck() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Mail == nil {
			return smtpcheck.Result{}
		}
		return c.subject(ctx, s.Mail.From.Domain, "uri-bl-mail", func(why string) reply.Reply { return reply.SenderDomainRejected(why) })
	}
}

// ClientPTRCheck returns a check of the client's PTR names (as the session
// has them) against the URI domain lists (smtpf#790).
func (c *LinkLists) ClientPTRCheck() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		var errRes smtpcheck.Result
		for _, name := range s.Conn.PTR {
			r := c.subject(ctx, name, "uri-bl-ptr", func(why string) reply.Reply {
				return reply.ClientNameRejected(name, s.Conn.ClientIP.String(), why)
			})
			if r.Action.Refuses() {
				return r
			}
			if r.Err != nil && errRes.Err == nil {
				errRes = r
			}
		}
		return errRes
	}
}

// subject looks a name's registered domain up in the domain lists.
func (c *LinkLists) subject(ctx context.Context, name, rule string, rep func(why string) reply.Reply) smtpcheck.Result {
	if name == "" || strings.HasPrefix(name, "[") || len(c.domains) == 0 {
		return smtpcheck.Result{}
	}
	h, err := ParseHost(name)
	if err != nil || h.IsIP() || h.Domain == "" || c.excluded(h.Name) {
		return smtpcheck.Result{}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var errRes smtpcheck.Result
	for _, lc := range c.domains {
		r := c.listVerdict(lc.c.CheckDomain(ctx, h.Domain), func(zone string) reply.Reply {
			return rep(fmt.Sprintf("black listed URL domain %s by %s", h.Domain, zone))
		}, rule)
		if r.Action.Refuses() {
			return r
		}
		if r.Err != nil && errRes.Err == nil {
			errRes = r
		}
	}
	return errRes
}
