// Package resolver is the one DNS resolver of the library: a stub resolver
// on github.com/miekg/dns with a shared answer cache.
//
// A [Resolver] sends recursive queries to the configured servers (by
// default those of /etc/resolv.conf) over UDP with EDNS0, retries over TCP
// when an answer is truncated, and moves on to the next server on a
// timeout, SERVFAIL or REFUSED, all within the caller's context deadline.
// Queries to a server share a few connected UDP sockets, answers matched
// to queries by message ID and question; [Resolver.Close] closes them.
//
// Answers go into one in-memory cache shared by every check that holds the
// Resolver: positive answers for their TTL, NXDOMAIN and NODATA for the
// SOA minimum (RFC 2308), each clamped to [Config.MinTTL, Config.MaxTTL].
// The cache is size bounded (least recently used entries go first), and
// identical queries in flight at the same time are sent once.
//
// [Resolver.Query] reports NXDOMAIN and NODATA as an [Answer], not an
// error, for callers that tell them apart (DNS lists). The typed lookups
// ([Resolver.LookupIP], [Resolver.LookupMX], ...) return an error
// wrapping [ErrNotFound] instead. Failures wrap [ErrTimeout],
// [ErrServFail], [ErrRefused], [ErrNetwork] or [ErrBadResponse], so checks
// can apply their own error policy with errors.Is.
//
// [Resolver.Net] gives a view with the method set of *net.Resolver, so
// SPF (blitiri.com.ar/go/spf) and other standard-library-style consumers
// use the same servers and cache.
package resolver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Defaults used for zero Config fields.
const (
	DefaultTimeout   = 2 * time.Second
	DefaultAttempts  = 2
	DefaultMinTTL    = 60 * time.Second // as Postfix postscreen
	DefaultMaxTTL    = time.Hour
	DefaultCacheSize = 10000
	DefaultUDPSize   = 1232 // the DNS flag day 2020 EDNS0 buffer size
)

// Config configures a [Resolver]. The zero value is usable: it reads the
// servers from /etc/resolv.conf and uses the defaults above.
type Config struct {
	// Servers are the recursive servers, as "host" or "host:port" (port 53
	// when none is given), tried in order. Empty means the nameservers of
	// ResolvConf.
	Servers []string
	// ResolvConf is the file read when Servers is empty;
	// "" means /etc/resolv.conf.
	ResolvConf string
	// Timeout bounds each attempt at one server. Zero means
	// DefaultTimeout. The caller's context deadline bounds the whole query.
	Timeout time.Duration
	// Attempts is how many times the whole server list is tried. Zero
	// means DefaultAttempts.
	Attempts int
	// MinTTL and MaxTTL clamp how long answers stay cached. Zero means
	// the default; a negative MinTTL means no floor (answers with TTL 0
	// are then not cached).
	MinTTL, MaxTTL time.Duration
	// CacheSize is the most answers kept. Zero means DefaultCacheSize; a
	// negative value turns the cache off.
	CacheSize int
	// UDPSize is the EDNS0 buffer size advertised. Zero means
	// DefaultUDPSize.
	UDPSize uint16
	// Now is the clock for cache expiry; nil means time.Now.
	Now func() time.Time
	// Logger receives debug lines for retries and failures; nil means
	// discard.
	Logger *slog.Logger
}

// Resolver is a caching DNS stub resolver. It is safe for concurrent use;
// share one per program.
type Resolver struct {
	servers  []string
	timeout  time.Duration
	attempts int
	minTTL   time.Duration
	maxTTL   time.Duration
	udpSize  uint16
	clock    *clock
	log      *slog.Logger
	cache    *cache

	fmu     sync.Mutex
	flights map[cacheKey]*flight

	// udp holds the UDP sockets by server (see udp.go).
	udp map[string]*udpPool

	// Queries are not counted: they are hits (counted by the cache) +
	// misses + invalid, and a cache hit pays for one atomic add, not three.
	invalid, misses, shared, exchanges, tcp, failures atomic.Uint64
}

// New returns a Resolver for cfg. It fails if no server is configured and
// the resolv.conf file cannot be read or names none, or if a server
// address is malformed.
func New(cfg Config) (*Resolver, error) {
	r := &Resolver{
		timeout:  cfg.Timeout,
		attempts: cfg.Attempts,
		minTTL:   cfg.MinTTL,
		maxTTL:   cfg.MaxTTL,
		udpSize:  cfg.UDPSize,
		clock:    newClock(cfg.Now),
		log:      cfg.Logger,
		flights:  make(map[cacheKey]*flight),
		udp:      make(map[string]*udpPool),
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.attempts <= 0 {
		r.attempts = DefaultAttempts
	}
	if r.minTTL == 0 {
		r.minTTL = DefaultMinTTL
	}
	if r.maxTTL <= 0 {
		r.maxTTL = DefaultMaxTTL
	}
	if r.udpSize == 0 {
		r.udpSize = DefaultUDPSize
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.CacheSize == 0:
		r.cache = newCache(DefaultCacheSize)
	case cfg.CacheSize > 0:
		r.cache = newCache(cfg.CacheSize)
	}

	servers := cfg.Servers
	if len(servers) == 0 {
		path := cfg.ResolvConf
		if path == "" {
			path = "/etc/resolv.conf"
		}
		cc, err := dns.ClientConfigFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("resolver: reading %s: %w", path, err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
		if len(servers) == 0 {
			return nil, fmt.Errorf("resolver: no nameserver in %s", path)
		}
	}
	for _, s := range servers {
		addr, err := serverAddr(s)
		if err != nil {
			return nil, err
		}
		r.servers = append(r.servers, addr)
		if r.udp[addr] == nil {
			r.udp[addr] = newUDPPool(addr, r.udpSize)
		}
	}
	return r, nil
}

// Close closes the Resolver's sockets; queries in flight fail, and so do
// later ones that miss the cache. The Resolver runs no goroutine of its
// own: one that is never closed holds one UDP socket per server it asked.
func (r *Resolver) Close() error {
	for _, p := range r.udp {
		p.close()
	}
	return nil
}

// serverAddr normalises "host" or "host:port" to "host:port".
func serverAddr(s string) (string, error) {
	if host, port, err := net.SplitHostPort(s); err == nil {
		if host == "" || port == "" {
			return "", fmt.Errorf("resolver: malformed server address %q", s)
		}
		return s, nil
	}
	h := strings.Trim(s, "[]")
	if h == "" || strings.ContainsAny(h, " /") {
		return "", fmt.Errorf("resolver: malformed server address %q", s)
	}
	return net.JoinHostPort(h, "53"), nil
}

// Servers returns the servers queried, in order, as "host:port".
func (r *Resolver) Servers() []string { return append([]string(nil), r.servers...) }

// Answer is the outcome of one query that got a NOERROR or NXDOMAIN reply.
type Answer struct {
	// Name and Type are the question, Name fully qualified in lower case.
	Name string
	Type uint16
	// Rcode is dns.RcodeSuccess or dns.RcodeNameError (NXDOMAIN).
	Rcode int
	// Records is the answer section: records of Type, and the CNAMEs that
	// led to them. It is shared with the cache: do not modify it. The
	// records' own TTL fields are as received; TTL below is what is left.
	Records []dns.RR
	// TTL is how long the answer stays cached from now (the clamped TTL of
	// a fresh answer).
	TTL time.Duration
	// Cached reports whether the answer came from the cache.
	Cached bool
	// Server is the server that gave the answer.
	Server string
	// RTT is the round-trip time of the exchange that gave the answer;
	// zero for a cached answer.
	RTT time.Duration

	addrs []netip.Addr // the addresses of Records, decoded once for AppendAddrs
}

// NXDomain reports whether the name does not exist.
func (a Answer) NXDomain() bool { return a.Rcode == dns.RcodeNameError }

// NotFound reports whether the answer holds no record of the question's
// type: NXDOMAIN or NODATA.
func (a Answer) NotFound() bool {
	if a.Rcode != dns.RcodeSuccess {
		return true
	}
	for _, rr := range a.Records {
		if rr.Header().Rrtype == a.Type {
			return false
		}
	}
	return true
}

// Stats are counters since the Resolver was made.
type Stats struct {
	Queries     uint64 // calls to Query, typed lookups included
	CacheHits   uint64 // answered from the cache
	CacheMisses uint64 // not in the cache
	Shared      uint64 // answered by joining an identical query in flight
	Exchanges   uint64 // messages sent to servers, retries included
	TCP         uint64 // retries over TCP after a truncated UDP answer
	Failures    uint64 // queries that ended in an error
	Entries     int    // answers in the cache now
	Evictions   uint64 // answers dropped to make room
}

// Stats returns the resolver's counters.
func (r *Resolver) Stats() Stats {
	entries, evictions, hits := r.cache.stats()
	misses := r.misses.Load()
	return Stats{
		Queries:     hits + misses + r.invalid.Load(),
		CacheHits:   hits,
		CacheMisses: misses,
		Shared:      r.shared.Load(),
		Exchanges:   r.exchanges.Load(),
		TCP:         r.tcp.Load(),
		Failures:    r.failures.Load(),
		Entries:     entries,
		Evictions:   evictions,
	}
}

// Flush empties the cache.
func (r *Resolver) Flush() { r.cache.flush() }

// canonical validates name and returns it fully qualified in lower case.
// It allows the octets of host names, underscores (for _dmarc and the
// like) and nothing else: no spaces, no escapes, no control characters.
func canonical(name string) (string, bool) {
	if name == "" || name == "." {
		return ".", name != ""
	}
	n := len(name)
	if name[n-1] == '.' {
		n--
	}
	if n > 253 {
		return "", false
	}
	lower := true
	label := 0
	for i := 0; i < n; i++ {
		c := name[i]
		switch {
		case c == '.':
			if label == 0 || label > 63 {
				return "", false
			}
			label = 0
			continue
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c >= 'A' && c <= 'Z':
			lower = false
		default:
			return "", false
		}
		label++
	}
	if label == 0 || label > 63 {
		return "", false
	}
	if !lower {
		name = strings.ToLower(name)
	}
	if name[len(name)-1] != '.' {
		name += "."
	}
	return name, true
}

// Cached returns the cached answer for name and qtype without sending a
// query, and false if there is none.
func (r *Resolver) Cached(name string, qtype uint16) (Answer, bool) {
	var a Answer
	ok := r.CachedInto(&a, name, qtype)
	return a, ok
}

// CachedInto is Cached writing the answer to *dst, for callers on a hot
// path that keep one Answer: it spares copies of the struct. *dst is left
// as it was when there is no cached answer.
func (r *Resolver) CachedInto(dst *Answer, name string, qtype uint16) bool {
	if r.cache == nil {
		return false
	}
	// The name as given first: the cache holds canonical names only, so a
	// hit proves name canonical, and the callers that ask most (DNS lists,
	// with names they built) skip the validation.
	now := r.clock.Nanos()
	if r.cache.getInto(dst, cacheKey{name, qtype}, now) {
		return true
	}
	n, ok := canonical(name)
	if !ok || n == name {
		return false
	}
	return r.cache.getInto(dst, cacheKey{n, qtype}, now)
}

// Query asks for records of type qtype at name and returns the answer.
// NXDOMAIN and NODATA are answers, not errors (see [Answer.NotFound]);
// failures are *[Error] values wrapping the sentinel errors. The answer
// comes from the cache when it can; otherwise one query is sent for all
// concurrent callers asking the same question.
func (r *Resolver) Query(ctx context.Context, name string, qtype uint16) (Answer, error) {
	n, ok := canonical(name)
	if !ok {
		r.invalid.Add(1)
		r.failures.Add(1)
		return Answer{}, newError(name, qtype, "", ErrInvalidName, nil)
	}
	k := cacheKey{n, qtype}
	if r.cache != nil { // without a cache, no clock reading either
		if a, ok := r.cache.get(k, r.clock.Nanos()); ok {
			return a, nil
		}
	}
	r.misses.Add(1)
	a, err := r.await(ctx, k)
	if err != nil {
		r.failures.Add(1)
	}
	return a, err
}

// flight is one query on the wire, sent by the first caller to ask and
// awaited by every caller that asks the same question meanwhile.
//
// Most flights have no other caller: done is made by the first caller
// that joins, and a flight that none joined is used again, which spares
// a query two allocations of its own.
type flight struct {
	done    chan struct{} // closed when the flight ends; nil until joined
	ans     Answer
	err     error
	expired bool // ended by its caller's deadline or cancellation, not by an answer
}

var flights = sync.Pool{New: func() any { return new(flight) }}

// await joins the flight for k and waits for it or for ctx, or, when none
// is in the air, sends the query itself.
func (r *Resolver) await(ctx context.Context, k cacheKey) (Answer, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Answer{}, ctxError(ctx, k.name, k.qtype)
		}
		r.fmu.Lock()
		f, joined := r.flights[k]
		if !joined {
			f = flights.Get().(*flight)
			r.flights[k] = f
			r.fmu.Unlock()
			return r.fly(ctx, k, f)
		}
		if f.done == nil {
			f.done = make(chan struct{})
		}
		done := f.done
		r.shared.Add(1)
		r.fmu.Unlock()

		select {
		case <-done:
			if f.expired && ctx.Err() == nil {
				// The flight's deadline or cancellation was its first
				// caller's: try again with ours.
				continue
			}
			return f.ans, f.err
		case <-ctx.Done():
			return Answer{}, ctxError(ctx, k.name, k.qtype)
		}
	}
}

// fly sends the query of flight f in the caller's goroutine: a goroutine
// per query, handing its answer on, cost more wake-ups than the query.
// The flight ends with its caller's deadline or cancellation; the callers
// that joined it and have time left then start another.
func (r *Resolver) fly(ctx context.Context, k cacheKey, f *flight) (Answer, error) {
	// A caller without a deadline gets the resolver's whole budget; a
	// deadline rather than a context with a timer: it costs less. One
	// clock reading serves the first attempt's checks, its deadline and
	// the start of its round trip: on a virtual machine a reading costs
	// as much as a tenth of the rest of the client's work.
	now := time.Now()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = now.Add(r.timeout * time.Duration(r.attempts*len(r.servers)))
	}
	a, err := r.exchange(ctx, now, deadline, k.name, k.qtype)
	if err == nil && (k.qtype == dns.TypeA || k.qtype == dns.TypeAAAA) {
		// Decoded once here rather than at every cache hit.
		a.addrs = a.AppendAddrs(nil)
	}
	if err == nil && r.cache != nil {
		r.cache.put(k, a, a.TTL, r.clock.Nanos())
	}
	r.fmu.Lock()
	if r.flights[k] == f {
		delete(r.flights, k) // later callers start afresh (or hit the cache)
	}
	done := f.done
	if done != nil {
		f.ans, f.err = a, err
		// A network deadline can fire a moment before the context
		// reports it, so "ran out of time" is judged by the clock as well.
		f.expired = err != nil && (ctx.Err() != nil || time.Until(deadline) < time.Millisecond)
	} else { // none joined, and none can now
		flights.Put(f)
	}
	r.fmu.Unlock()
	if done != nil {
		close(done)
	}
	if err != nil && ctx.Err() != nil {
		return Answer{}, ctxError(ctx, k.name, k.qtype)
	}
	return a, err
}

// ended reports whether ctx is done or deadline has passed: a socket's
// deadline can fire a moment before the context's timer.
func ended(ctx context.Context, deadline time.Time) bool {
	return ctx.Err() != nil || !time.Now().Before(deadline)
}

// exchange sends the question to the servers in turn until one gives a
// usable answer, then computes its cache TTL. now is the time of the
// call; each later attempt reads the clock again.
func (r *Resolver) exchange(ctx context.Context, now, deadline time.Time, name string, qtype uint16) (Answer, error) {
	var last *Error
	for attempt := 0; attempt < r.attempts; attempt++ {
		for i, server := range r.servers {
			if attempt > 0 || i > 0 {
				now = time.Now()
			}
			if ctx.Err() != nil || !now.Before(deadline) {
				if last != nil && !errors.Is(last.Err, ErrTimeout) {
					return Answer{}, last
				}
				e := ctxError(ctx, name, qtype)
				e.Server = server
				return Answer{}, e
			}
			resp, rtt, err := r.exchangeOne(ctx, now, deadline, name, qtype, server)
			if err != nil {
				last = err
				r.log.Debug("dns query failed", "name", name, "type", dns.TypeToString[qtype],
					"server", server, "attempt", attempt+1, "err", err)
				continue
			}
			switch resp.Rcode {
			case dns.RcodeSuccess, dns.RcodeNameError:
				a := Answer{Name: name, Type: qtype, Rcode: resp.Rcode, Records: resp.Answer,
					Server: server, RTT: rtt}
				a.TTL = r.ttl(resp)
				return a, nil
			case dns.RcodeServerFailure:
				last = newError(name, qtype, server, ErrServFail, nil)
			case dns.RcodeRefused:
				last = newError(name, qtype, server, ErrRefused, nil)
			default:
				last = newError(name, qtype, server, ErrBadResponse,
					fmt.Errorf("rcode %s", dns.RcodeToString[resp.Rcode]))
			}
			r.log.Debug("dns query failed", "name", name, "type", dns.TypeToString[qtype],
				"server", server, "attempt", attempt+1, "err", last)
		}
	}
	return Answer{}, last
}

// exchangeOne asks one server, starting now, over UDP and then over TCP
// if the UDP answer was truncated.
func (r *Resolver) exchangeOne(ctx context.Context, now, deadline time.Time, name string, qtype uint16, server string) (*dns.Msg, time.Duration, *Error) {
	r.exchanges.Add(1)
	resp, rtt, err := r.udp[server].exchange(ctx, now, name, qtype, r.attemptDeadline(now, deadline))
	if err != nil && ended(ctx, deadline) {
		err = errors.Join(ctxError(ctx, name, qtype).Cause, err)
	}
	if err == nil && resp.Truncated {
		r.tcp.Add(1)
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.SetEdns0(r.udpSize, false)
		resp, rtt, err = r.roundTrip(ctx, r.attemptDeadline(time.Now(), deadline), m, "tcp", server)
	}
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
			return nil, 0, newError(name, qtype, server, ErrTimeout, err)
		case errors.Is(err, context.Canceled):
			return nil, 0, newError(name, qtype, server, context.Canceled, err)
		case errors.As(err, &ne):
			return nil, 0, newError(name, qtype, server, ErrNetwork, err)
		default:
			return nil, 0, newError(name, qtype, server, ErrBadResponse, err)
		}
	}
	if len(resp.Question) != 1 || resp.Question[0].Qtype != qtype ||
		!strings.EqualFold(resp.Question[0].Name, name) {
		return nil, 0, newError(name, qtype, server, ErrBadResponse, errors.New("answer does not match the question"))
	}
	return resp, rtt, nil
}

// attemptDeadline is when an attempt at one server started now ends: after
// the per-attempt timeout, or at the query's deadline if that is sooner.
func (r *Resolver) attemptDeadline(now, deadline time.Time) time.Time {
	if d := now.Add(r.timeout); d.Before(deadline) {
		return d
	}
	return deadline
}

// roundTrip is one exchange over a new connection (TCP, after a truncated
// UDP answer) bounded by the per-attempt timeout and ended at once when
// ctx is cancelled (miekg/dns only honours its deadline).
func (r *Resolver) roundTrip(ctx context.Context, deadline time.Time, m *dns.Msg, network, server string) (*dns.Msg, time.Duration, error) {
	r.exchanges.Add(1)
	actx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	c := &dns.Client{Net: network, UDPSize: r.udpSize, Timeout: r.timeout}
	co, err := c.DialContext(actx, server)
	if err != nil {
		return nil, 0, err
	}
	defer co.Close()
	stop := context.AfterFunc(actx, func() { co.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	resp, rtt, err := c.ExchangeWithConnContext(actx, m, co)
	if err != nil && actx.Err() != nil {
		err = errors.Join(actx.Err(), err)
	}
	return resp, rtt, err
}

// ttl is how long to cache resp: the smallest TTL of the answer records,
// or for NXDOMAIN and NODATA the smaller of the SOA's TTL and its minimum
// field (RFC 2308 section 5), clamped to the configured bounds. A
// negative answer without an SOA is kept for MinTTL.
func (r *Resolver) ttl(resp *dns.Msg) time.Duration {
	var ttl uint32
	found := false
	if resp.Rcode == dns.RcodeSuccess {
		for _, rr := range resp.Answer {
			if t := rr.Header().Ttl; !found || t < ttl {
				ttl, found = t, true
			}
		}
	}
	if !found {
		for _, rr := range resp.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttl, found = min(soa.Hdr.Ttl, soa.Minttl), true
				break
			}
		}
	}
	d := time.Duration(ttl) * time.Second
	if !found {
		d = 0
	}
	if r.minTTL > 0 && d < r.minTTL {
		d = r.minTTL
	}
	if d > r.maxTTL {
		d = r.maxTTL
	}
	return d
}
