// Package dnsbl checks IP addresses and domain names against DNS lists
// (RFC 5782): DNS block lists, domain lists (RHSBL) and allowlists.
//
// Lists are written in Postfix syntax ([ParseList]): answer filters
// (zen.example=127.0.0.[2..11]), bit masks (dbl.example&0.0.0.4) and
// weights, negative for allowlists (list.dnswl.example=127.0.[0..255].[1..3]*-2).
// A [ClientLists] queries all its lists in parallel under one deadline through
// the library's caching [resolver.Resolver], and returns a [Verdict] as
// data: per list the answer codes, weight, TXT reason and query time, and
// the total score. [ClientLists.Decide] turns the verdict into an
// smtpcheck.Result with separate tag, temp-fail and reject thresholds and
// an allowlist short-circuit; [ClientLists.ClientCheck], [ClientLists.HeloCheck],
// [ClientLists.SenderCheck], [ClientLists.ClientNameCheck] and
// [ClientLists.ReverseClientNameCheck] are ready-made checks.
//
// Answers are checked before they count: an answer outside 127.0.0.0/8 is
// ignored and logged, and the answers a list gives when it refuses a query
// (Spamhaus's 127.255.255.252, .254 and .255 for a public resolver or a
// rate limit, dnswl's 127.0.0.255) are never a listing: they are reported
// loudly as errors of that list. A list that fails (timeout, SERVFAIL,
// refusal) never fails the others; what its failure means is the
// ClientLists's error policy: fail open by default, temp-fail or fail closed on
// request. An optional health probe of the RFC 5782 test points marks a
// misbehaving zone unhealthy and skips it until it recovers.
package dnsbl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// Kind says what a ClientLists's lists hold.
type Kind uint8

// Kinds of list.
const (
	// IPList lists IP addresses (reversed, RFC 5782 section 2.1).
	IPList Kind = iota
	// DomainList lists domain names (RHSBL, RFC 5782 section 2.2).
	DomainList
)

// String returns "ip" or "domain".
func (k Kind) String() string {
	if k == DomainList {
		return "domain"
	}
	return "ip"
}

// DefaultTimeout bounds one evaluation of all lists when Config.Timeout is
// zero and the caller's context has no earlier deadline.
const DefaultTimeout = 5 * time.Second

// DefaultRefusedCodes are the answers that mean a list refused the query,
// never a listing: Spamhaus's 127.255.255.252 (typo in the zone name or a
// DQS key), 127.255.255.254 (query through a public resolver),
// 127.255.255.255 (excessive number of queries), and dnswl.org's
// 127.0.0.255 (over the free limit).
var DefaultRefusedCodes = []netip.Addr{
	netip.AddrFrom4([4]byte{127, 255, 255, 252}),
	netip.AddrFrom4([4]byte{127, 255, 255, 254}),
	netip.AddrFrom4([4]byte{127, 255, 255, 255}),
	netip.AddrFrom4([4]byte{127, 0, 0, 255}),
}

// Errors a list result can carry besides the resolver's.
var (
	// ErrQueryRefused means the list answered with one of its "query
	// refused" codes (see DefaultRefusedCodes): usually the server's
	// resolver is a public one, or the free query limit is exceeded.
	ErrQueryRefused = errors.New("dnsbl: list refused the query")
	// ErrNotQueried means the evaluation ended (deadline, allowlist
	// short-circuit) before the list answered.
	ErrNotQueried = errors.New("dnsbl: list did not answer in time")
)

// Config configures a ClientLists.
type Config struct {
	// Resolver sends the queries and caches the answers. Required.
	Resolver *resolver.Resolver
	// Lists are the lists to query, from ParseList or built by hand.
	Lists []List
	// Kind says whether the lists are IP lists or domain lists; it
	// chooses the health-probe test points and which checks apply.
	Kind Kind
	// Timeout bounds one evaluation of all lists together; zero means
	// DefaultTimeout. The caller's deadline applies if earlier.
	Timeout time.Duration
	// Thresholds turn the score into an action in Decide. The zero value
	// means Reject at 1 (any listing in a list of weight 1 rejects, as
	// reject_rbl_client does) and Allow at -1 (an allowlist hit accepts).
	// Allow, when negative, also short-circuits an evaluation: the lists
	// are combined in configuration order, and once the allowlists met so
	// far reach Allow, the lists after them are not waited for and do not
	// count (their result is ErrNotQueried). Put allowlists first to spare
	// an allowlisted client the wait for the block lists, as
	// permit_dnswl_client before reject_rbl_client does in Postfix.
	Thresholds smtpcheck.Thresholds
	// OnError is what a list's failure means for Decide when no listing
	// decided already: FailOpen (the default) ignores that list,
	// FailTemp answers with a temporary failure, FailClosed rejects.
	OnError smtpcheck.ErrorPolicy
	// RefusedCodes replaces DefaultRefusedCodes when not nil.
	RefusedCodes []netip.Addr
	// Style chooses the catalog reply for a rejection: StyleSmtpf (the
	// default, reply.DNSBLListed) or StylePostfix (reply.DNSBLBlocked).
	Style Style
	// Reply, when set, replaces the catalog reply with a template in the
	// style of Postfix's rbl_reply_maps (see Template).
	Reply *Template
	// HideZones keeps zone names out of replies: a list without a Name is
	// called "a DNS list" there, so a zone that carries an access key
	// never reaches the client. Logs use the Name too, when set.
	HideZones bool
	// Logger receives a line for every refused or out-of-range answer and
	// every change of a zone's health; nil means discard.
	Logger *slog.Logger
	// Now is the clock for health-check times; nil means time.Now.
	Now func() time.Time
}

// ClientLists queries a set of DNS lists. It is safe for concurrent use.
type ClientLists struct {
	res       *resolver.Resolver
	zones     []*zone
	kind      Kind
	timeout   time.Duration
	th        smtpcheck.Thresholds
	onError   smtpcheck.ErrorPolicy
	refused   []netip.Addr
	reply     *Template
	style     Style
	hideZones bool
	log       *slog.Logger
	now       func() time.Time
	hasAllow  bool
	verdicts  sync.Pool // *Verdict memory for ClientCheck's evaluations
}

// zone is a list with its counters and health.
type zone struct {
	List
	tally                       tally // queries and listings
	errors, refused, outOfRange atomic.Uint64
	nanos                       atomic.Int64

	mu      sync.Mutex
	healthy bool
	reason  string
	checked time.Time
	skipped atomic.Bool // unhealthy: skip in evaluations
}

// New returns a ClientLists for cfg. It fails without a resolver or lists, or
// with a list whose zone is not a valid name.
func New(cfg Config) (*ClientLists, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("dnsbl: Config.Resolver is required")
	}
	if len(cfg.Lists) == 0 {
		return nil, errors.New("dnsbl: no lists configured")
	}
	c := &ClientLists{
		res:       cfg.Resolver,
		kind:      cfg.Kind,
		timeout:   cfg.Timeout,
		th:        cfg.Thresholds,
		onError:   cfg.OnError,
		refused:   cfg.RefusedCodes,
		reply:     cfg.Reply,
		style:     cfg.Style,
		hideZones: cfg.HideZones,
		log:       cfg.Logger,
		now:       cfg.Now,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.th == (smtpcheck.Thresholds{}) {
		c.th = smtpcheck.Thresholds{Reject: 1, Allow: -1}
	}
	if c.refused == nil {
		c.refused = DefaultRefusedCodes
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	for _, l := range cfg.Lists {
		z, err := canonZone(l.Zone)
		if err != nil {
			return nil, err
		}
		l.Zone = z
		if l.Weight == 0 {
			l.Weight = 1
		}
		if l.Weight < 0 {
			c.hasAllow = true
		}
		c.zones = append(c.zones, &zone{List: l, healthy: true})
	}
	return c, nil
}

// Kind returns the kind of lists the ClientLists holds.
func (c *ClientLists) Kind() Kind { return c.kind }

// ListResult is what one list said about one subject.
type ListResult struct {
	// List is the list as configured.
	List *List
	// Query is the name looked up, such as "2.0.0.127.zen.example.".
	Query string
	// Listed reports that an answer matched the list's filter.
	Listed bool
	// Codes are the answers that matched; Answers are all the A records
	// in the reply, out-of-range and refusal codes included.
	Codes, Answers []netip.Addr
	// Weight is the list's weight if Listed, else 0.
	Weight int
	// TXT is the list's reason text, filled by ClientLists.TXT.
	TXT []string
	// Time is how long the answer took (near zero from the cache).
	Time time.Duration
	// Cached reports an answer from the resolver's cache.
	Cached bool
	// Skipped reports a list not asked because its zone is unhealthy.
	Skipped bool
	// Err is why the list gave no usable answer: a resolver error, an
	// ErrQueryRefused, or ErrNotQueried. NXDOMAIN is not an error.
	Err error

	buf []netip.Addr // the memory of Answers and Codes, kept for reuse
}

// Name returns the list's name for replies and logs.
func (r *ListResult) Name() string { return r.List.display() }

// Verdict is what all lists said about one subject.
type Verdict struct {
	// Subject is the IP address or the normalised domain asked about.
	Subject string
	// Kind is the kind of lists asked.
	Kind Kind
	// Lists holds one result per configured list, in configuration order.
	Lists []ListResult
	// Score is the sum of the weights of the lists that listed Subject.
	Score int
	// Allowed reports that the allowlists reached the Allow threshold.
	Allowed bool
	// Err is set when Subject could not be turned into a query name (an
	// invalid HELO name, for instance); Lists is then empty.
	Err error

	by   *ClientLists // the ClientLists that filled Lists, whose zones name the queries
	addr netip.Addr   // the IP address asked about, for reuse by CheckIPInto
}

// Listed returns the results of the lists (allowlists excluded) that
// listed the subject, heaviest first.
func (v *Verdict) Listed() []*ListResult {
	var out []*ListResult
	for i := range v.Lists {
		r := &v.Lists[i]
		if r.Listed && r.List.Weight > 0 {
			out = append(out, r)
		}
	}
	for i := 1; i < len(out); i++ { // insertion sort: stable, tiny
		for j := i; j > 0 && out[j].List.Weight > out[j-1].List.Weight; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Errors returns the results of the lists that failed (not skipped ones).
func (v *Verdict) Errors() []*ListResult {
	var out []*ListResult
	for i := range v.Lists {
		if v.Lists[i].Err != nil {
			out = append(out, &v.Lists[i])
		}
	}
	return out
}

// CheckIP asks every list about ip. An IPv4-mapped IPv6 address is asked
// as IPv4.
func (c *ClientLists) CheckIP(ctx context.Context, ip netip.Addr) *Verdict {
	v := new(Verdict)
	c.CheckIPInto(ctx, ip, v)
	return v
}

// CheckIPInto is CheckIP filling v, whose memory it reuses: the Lists
// array and the answer arrays always, and for the same address as v's
// previous evaluation by this ClientLists, the subject and the query names, so
// that a verdict from the cache allocates nothing. Everything v held
// before, slices included, is overwritten: keep no part of it across
// calls, and give one v to one evaluation at a time. The zero Verdict is
// ready for use.
func (c *ClientLists) CheckIPInto(ctx context.Context, ip netip.Addr, v *Verdict) {
	if !ip.IsValid() {
		*v = Verdict{Kind: IPList, Err: ErrBadIP, Lists: v.Lists[:0]}
		return
	}
	ip = ip.Unmap().WithZone("")
	same := v.by == c && v.addr == ip && v.Kind == IPList && v.Subject != "" && len(v.Lists) == len(c.zones)
	lists := v.Lists
	if cap(lists) >= len(c.zones) {
		lists = lists[:len(c.zones)]
	} else {
		lists, same = make([]ListResult, len(c.zones)), false
	}
	// Field by field, not whole structs: an evaluation from the cache is
	// short enough that copying the structs would show.
	if !same {
		v.Subject = ip.String()
	}
	v.Kind, v.Lists, v.Score, v.Allowed, v.Err, v.by, v.addr = IPList, lists, 0, false, nil, c, ip
	for i, z := range c.zones {
		r := &lists[i]
		if !same {
			r.Query = ipQuery(ip, z.Zone)
		}
		r.reset(&z.List)
	}
	c.evaluate(ctx, v)
}

// reset clears r for a new evaluation of list l, keeping its query name
// and its answer memory.
func (r *ListResult) reset(l *List) {
	r.List = l
	r.Listed, r.Weight, r.Time, r.Cached, r.Skipped = false, 0, 0, false, false
	if r.Codes != nil || r.Answers != nil || r.TXT != nil || r.Err != nil {
		r.Codes, r.Answers, r.TXT, r.Err = nil, nil, nil, nil
	}
}

// CheckDomain asks every list about domain (normalised with
// NormalizeDomain). A name that is not a valid domain gives a Verdict with
// Err set and no queries: a hostile HELO name never reaches the wire.
func (c *ClientLists) CheckDomain(ctx context.Context, domain string) *Verdict {
	d, err := NormalizeDomain(domain)
	if err != nil {
		return &Verdict{Subject: domain, Kind: DomainList, Err: err}
	}
	v := &Verdict{Subject: d, Kind: DomainList, Lists: make([]ListResult, len(c.zones))}
	for i, z := range c.zones {
		q, err := domainQuery(d, z.Zone)
		v.Lists[i] = ListResult{List: &z.List, Query: q, Err: err}
	}
	c.evaluate(ctx, v)
	return v
}

// evaluate fills v.Lists. Answers are combined in configuration order,
// whatever order they arrive in, so the same answers always give the same
// verdict: once the allowlists met so far reach the Allow threshold, the
// lists after them are not waited for (ErrNotQueried), cached or not. The
// leading lists whose answers are cached are read without any goroutine;
// the rest are asked in parallel under one deadline.
func (c *ClientLists) evaluate(ctx context.Context, v *Verdict) {
	cut := false
	var a resolver.Answer
	for i, z := range c.zones {
		r := &v.Lists[i]
		switch {
		case r.Err != nil:
			continue
		case z.skipped.Load():
			r.Skipped = true
			continue
		case cut:
			r.Err = ErrNotQueried
			continue
		}
		if !c.res.CachedInto(&a, r.Query, resolver.TypeA) {
			c.wait(ctx, v, i)
			break
		}
		c.record(z, r, &a, nil)
		cut = c.allowReached(v, r)
	}
	for i := range v.Lists {
		r := &v.Lists[i]
		if r.Listed {
			v.Score += r.List.Weight
		}
	}
	v.Allowed = c.th.Allow < 0 && c.allowScore(v) <= int(c.th.Allow)
}

// allowReached reports whether r, just recorded, is an allowlist listing
// that brings the allowlists recorded so far to the Allow threshold: the
// lists after it cannot change the outcome.
func (c *ClientLists) allowReached(v *Verdict, r *ListResult) bool {
	return c.hasAllow && c.th.Allow < 0 && r.Listed && r.List.Weight < 0 &&
		c.allowScore(v) <= int(c.th.Allow)
}

// allowScore sums the weights of the allowlists that listed the subject.
func (c *ClientLists) allowScore(v *Verdict) int {
	s := 0
	for i := range v.Lists {
		if r := &v.Lists[i]; r.Listed && r.List.Weight < 0 {
			s += r.List.Weight
		}
	}
	return s
}

type answer struct {
	i   int
	a   resolver.Answer
	err error
	d   time.Duration
}

// wait completes v.Lists from index first on, whose answer is not cached:
// it asks every list from there on that the cache cannot answer, all in
// parallel, then records the answers in configuration order as they become
// available, until the deadline passes or the allowlists decide.
func (c *ClientLists) wait(ctx context.Context, v *Verdict, first int) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel() // ends the queries still out: the resolver drops them
	n := len(v.Lists)
	got := make([]answer, n)
	have := make([]bool, n)
	ch := make(chan answer, n-first) // buffered: late senders never block
	for i := first; i < n; i++ {
		r := &v.Lists[i]
		if r.Err != nil {
			continue
		}
		if i > first {
			if c.zones[i].skipped.Load() {
				r.Skipped = true
				continue
			}
			if a, ok := c.res.Cached(r.Query, resolver.TypeA); ok {
				got[i], have[i] = answer{i: i, a: a}, true
				continue
			}
		}
		go func(i int, q string) {
			start := time.Now()
			a, err := c.res.Query(ctx, q, resolver.TypeA)
			ch <- answer{i, a, err, time.Since(start)}
		}(i, r.Query)
	}
	expired, cut := false, false
	for i := first; i < n; i++ {
		r, z := &v.Lists[i], c.zones[i]
		switch {
		case r.Err != nil || r.Skipped:
			continue
		case cut:
			r.Err = ErrNotQueried // not waited for is no fault of the zone's
			continue
		}
		for !have[i] && !expired {
			select {
			case x := <-ch:
				got[x.i], have[x.i] = x, true
			case <-ctx.Done():
				expired = true
			}
		}
		for !have[i] && len(ch) > 0 { // past the deadline: what has arrived counts
			x := <-ch
			got[x.i], have[x.i] = x, true
		}
		if !have[i] {
			r.Err = ErrNotQueried
			z.errors.Add(1)
			z.tally.count(false)
			continue
		}
		c.record(z, r, &got[i].a, got[i].err)
		r.Time = got[i].d
		cut = c.allowReached(v, r)
	}
}

// record turns one answer into the list result and counts it.
func (c *ClientLists) record(z *zone, r *ListResult, a *resolver.Answer, err error) {
	r.Cached = a.Cached
	if !a.Cached {
		z.nanos.Add(int64(a.RTT))
	}
	if err != nil {
		r.Err = err
		z.tally.count(false)
		z.errors.Add(1)
		c.log.Warn("dnsbl: list lookup failed", "list", z.display(), "query", c.logQuery(z, r.Query), "err", c.logErr(z, err))
		return
	}
	// One array for both, kept for the next evaluation into the same
	// Verdict: Codes is a subset of Answers.
	// Each record gives at most one address, so 2*len(Records) holds both.
	if cap(r.buf) < 2*len(a.Records) {
		r.buf = make([]netip.Addr, 2*len(a.Records))
	}
	buf := a.AppendAddrs(r.buf[:0])
	n := len(buf)
	r.Answers, r.Codes = nil, nil
	if n > 0 {
		r.Answers, r.Codes = buf[:n:n], buf[n:n:2*n]
	}
	for _, ip := range r.Answers {
		if !ip.Is4() {
			continue
		}
		switch {
		case c.isRefused(ip):
			r.Err = fmt.Errorf("%w: answer %s", ErrQueryRefused, ip)
			z.refused.Add(1)
			// Loud: a refusal usually means every lookup of this list is
			// useless (public resolver, exhausted quota) until fixed.
			c.log.Error("dnsbl: list refused the query; check the resolver and the list's terms of use",
				"list", z.display(), "answer", ip.String())
		case ip.As4()[0] != 127:
			z.outOfRange.Add(1)
			c.log.Warn("dnsbl: answer outside 127.0.0.0/8 ignored", "list", z.display(), "answer", ip.String())
		case z.Match(ip):
			r.Codes = append(r.Codes, ip)
		}
	}
	if r.Err != nil {
		z.tally.count(false)
		z.errors.Add(1)
		r.Codes = nil // a refused query never lists
		return
	}
	if len(r.Codes) == 0 {
		r.Codes = nil
	} else {
		r.Listed = true
		r.Weight = z.Weight
	}
	z.tally.count(r.Listed)
}

func (c *ClientLists) isRefused(ip netip.Addr) bool {
	for _, x := range c.refused {
		if x == ip {
			return true
		}
	}
	return false
}

// logQuery hides the zone of a keyed list in logs.
func (c *ClientLists) logQuery(z *zone, q string) string {
	if z.Name == "" {
		return q
	}
	return strings.TrimSuffix(strings.TrimSuffix(q, "."), z.Zone) + z.Name
}

func (c *ClientLists) logErr(z *zone, err error) string {
	s := err.Error()
	if z.Name != "" {
		s = strings.ReplaceAll(s, z.Zone, z.Name)
	}
	return s
}

// TXT fetches the TXT reason of a listing (once; later calls return the
// same) and stores it in r.TXT. Replies ask for it only when their
// template uses $text, as Postfix does.
func (c *ClientLists) TXT(ctx context.Context, r *ListResult) ([]string, error) {
	if r.TXT != nil || r.Query == "" {
		return r.TXT, nil
	}
	txt, err := c.res.LookupTXT(ctx, r.Query)
	if err != nil {
		if resolver.IsNotFound(err) {
			r.TXT = []string{}
			return r.TXT, nil
		}
		return nil, err
	}
	r.TXT = txt
	return txt, nil
}
