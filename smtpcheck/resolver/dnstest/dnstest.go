// Package dnstest runs a small authoritative DNS server in-process on
// 127.0.0.1 for tests.
//
// The server answers over UDP and TCP on the same port from records added
// with zone-file text ([Server.Add]) or with the DNS-list helpers
// ([Server.ListIP], [Server.ListDomain]). Per name or zone it can add
// latency, answer SERVFAIL (or any other rcode), stay silent, or truncate
// UDP answers, and it logs every query it receives. Tests that exercise
// code built on real DNS use it instead of a fake resolver, so the wire
// format, retries, TCP fallback and timeouts are all the real thing.
//
// Names are matched case-insensitively. A behaviour set for a name also
// applies to every name below it, so a behaviour set for a DNS list zone
// covers every query into that zone.
package dnstest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// DefaultTTL is the TTL of records added by the helpers that take no TTL
// ([Server.ListIP], [Server.ListDomain]) and of records written in
// [Server.Add] text without one.
const DefaultTTL = 300

// Query is one query received by the server.
type Query struct {
	Name  string        // question name, lower case, fully qualified
	Type  uint16        // question type, such as dns.TypeA
	Net   string        // "udp" or "tcp"
	Time  time.Time     // when the query arrived
	Delay time.Duration // latency added before the answer
}

// String returns the query as "name TYPE/net", for test failure messages.
func (q Query) String() string {
	return fmt.Sprintf("%s %s/%s", q.Name, dns.TypeToString[q.Type], q.Net)
}

// behaviour is what the server does for queries at or below a name.
type behaviour struct {
	latency  time.Duration
	rcode    int // -1: answer normally
	silent   bool
	truncate bool
}

// Server is an authoritative DNS server listening on 127.0.0.1 over UDP
// and TCP on one port. Its methods are safe for concurrent use, including
// while it answers queries.
type Server struct {
	tb   testing.TB
	addr string
	udp  *dns.Server
	tcp  *dns.Server
	done chan struct{}

	closeOnce sync.Once

	mu      sync.Mutex
	records map[string][]dns.RR // owner name -> records
	zones   map[string]bool     // names that have an SOA (added or synthesised)
	rules   map[string]*behaviour
	log     []Query
}

// New starts a server on 127.0.0.1 with a free port for both UDP and TCP
// and registers its shutdown with tb.Cleanup. It fails the test if the
// server cannot start, and the methods that take record text fail the
// test on a syntax error.
func New(tb testing.TB) *Server {
	tb.Helper()
	s, err := start(tb)
	if err != nil {
		tb.Fatalf("dnstest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Start starts a server outside a test (an example, a benchmark harness, a
// development tool). The caller must call Close. On a server made by Start
// the methods that take record text panic on a syntax error.
func Start() (*Server, error) { return start(nil) }

func start(tb testing.TB) (*Server, error) {
	s := &Server{
		tb:      tb,
		done:    make(chan struct{}),
		records: make(map[string][]dns.RR),
		zones:   make(map[string]bool),
		rules:   make(map[string]*behaviour),
	}
	// The UDP and TCP sockets must share a port; a free UDP port can be
	// taken for TCP by someone else in between, so retry a few times.
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			continue
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.addr = pc.LocalAddr().String()
	// Tests fire hundreds of queries at once; the default socket buffer
	// would drop some and turn a load test into a retry-timeout test.
	if uc, ok := pc.(*net.UDPConn); ok {
		uc.SetReadBuffer(4 << 20)
	}

	handler := dns.HandlerFunc(s.serve)
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &dns.Server{PacketConn: pc, Handler: handler, NotifyStartedFunc: notify}
	s.tcp = &dns.Server{Listener: ln, Handler: handler, NotifyStartedFunc: notify,
		ReadTimeout: 2 * time.Second, IdleTimeout: func() time.Duration { return 2 * time.Second }}
	errc := make(chan error, 2)
	go func() { errc <- s.udp.ActivateAndServe() }()
	go func() { errc <- s.tcp.ActivateAndServe() }()
	for range 2 {
		select {
		case <-started:
		case err := <-errc:
			pc.Close()
			ln.Close()
			return nil, fmt.Errorf("serve: %w", err)
		}
	}
	return s, nil
}

// fatalf fails the test, or panics on a server made by Start.
func (s *Server) fatalf(format string, args ...any) {
	if s.tb == nil {
		panic(fmt.Sprintf(format, args...))
	}
	s.tb.Helper()
	s.tb.Fatalf(format, args...)
}

func (s *Server) helper() {
	if s.tb != nil {
		s.tb.Helper()
	}
}

// Close stops the server; queries still waiting on latency are dropped.
// New registers it with the test's Cleanup; call it only after Start.
// Close may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(s.close)
}

func (s *Server) close() {
	close(s.done) // wakes handlers sleeping on latency
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.udp.ShutdownContext(ctx)
	s.tcp.ShutdownContext(ctx)
}

// Resolver returns the library's resolver asking this server alone, with
// cfg's other settings (its Servers are replaced). An invalid cfg fails
// the test, or panics on a server made by Start.
func (s *Server) Resolver(cfg resolver.Config) *resolver.Resolver {
	s.helper()
	cfg.Servers = []string{s.addr}
	r, err := resolver.New(cfg)
	if err != nil {
		s.fatalf("dnstest: resolver: %v", err)
	}
	return r
}

// Addr returns the server's address, "127.0.0.1:port", for UDP and TCP.
func (s *Server) Addr() string { return s.addr }

// NetResolver returns a *net.Resolver that sends every query to this
// server, for code that takes a standard library resolver.
func (s *Server) NetResolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, s.addr)
		},
	}
}

// Add adds records written in zone-file syntax, one per string, such as
// "example.test. 300 IN MX 10 mx.example.test." or "mx.example.test A
// 192.0.2.1". Names without a trailing dot are taken as fully qualified.
// A record without a TTL gets [DefaultTTL]. An SOA record makes its owner
// a zone: negative answers below it carry that SOA, whose minimum field is
// the negative-caching TTL (RFC 2308). Add fails the test on a syntax
// error.
func (s *Server) Add(records ...string) {
	s.helper()
	for _, text := range records {
		rr, err := parseRR(text)
		if err != nil {
			s.fatalf("dnstest: Add(%q): %v", text, err)
		}
		s.AddRR(rr)
	}
}

func parseRR(text string) (dns.RR, error) {
	// Make the owner absolute so that no $ORIGIN is needed.
	fields := strings.Fields(text)
	if len(fields) > 0 && !strings.HasSuffix(fields[0], ".") {
		text = strings.Replace(text, fields[0], fields[0]+".", 1)
	}
	rr, err := dns.NewRR("$TTL " + fmt.Sprint(DefaultTTL) + "\n" + text)
	if err != nil {
		return nil, err
	}
	if rr == nil {
		return nil, fmt.Errorf("no record in %q", text)
	}
	return rr, nil
}

// AddRR adds records already built with github.com/miekg/dns.
func (s *Server) AddRR(rrs ...dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		rr = dns.Copy(rr)
		h := rr.Header()
		h.Name = strings.ToLower(dns.Fqdn(h.Name))
		h.Class = dns.ClassINET
		if h.Rrtype == dns.TypeSOA {
			s.zones[h.Name] = true
			// One SOA per zone: a new one replaces the old.
			kept := s.records[h.Name][:0]
			for _, old := range s.records[h.Name] {
				if old.Header().Rrtype != dns.TypeSOA {
					kept = append(kept, old)
				}
			}
			s.records[h.Name] = kept
		}
		s.records[h.Name] = append(s.records[h.Name], rr)
	}
}

// Remove deletes every record of type qtype at name; qtype dns.TypeANY
// deletes all records at name.
func (s *Server) Remove(name string, qtype uint16) {
	name = canon(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.records[name][:0]
	for _, rr := range s.records[name] {
		if qtype != dns.TypeANY && rr.Header().Rrtype != qtype {
			kept = append(kept, rr)
		}
	}
	if len(kept) == 0 {
		delete(s.records, name)
		delete(s.zones, name)
		return
	}
	s.records[name] = kept
}

// Zone makes name a zone with an SOA whose minimum field, the negative
// caching TTL, is negTTL seconds. Queries below a zone that find nothing
// get NXDOMAIN or NODATA with this SOA in the authority section.
func (s *Server) Zone(name string, negTTL uint32) {
	name = canon(name)
	s.AddRR(&dns.SOA{
		Hdr:     dns.RR_Header{Name: name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: DefaultTTL},
		Ns:      "ns." + name,
		Mbox:    "hostmaster." + name,
		Serial:  1,
		Refresh: 3600, Retry: 600, Expire: 86400,
		Minttl: negTTL,
	})
}

// ensureZone gives zone an SOA with minimum [DefaultTTL] if it has none.
func (s *Server) ensureZone(zone string) {
	s.mu.Lock()
	has := s.zones[zone]
	s.mu.Unlock()
	if !has {
		s.Zone(zone, DefaultTTL)
	}
}

// ListIP lists ip in the DNS list zone the way RFC 5782 publishes it: an A
// record with the answer code (such as "127.0.0.2") at the reversed
// address under zone (nibble form for IPv6; an IPv4-mapped IPv6 address is
// listed as its IPv4 address), and a TXT record for each txt given. Call
// it again to add more codes. It makes zone a zone if it is not one yet,
// and fails the test on a malformed address or code.
func (s *Server) ListIP(zone, ip, code string, txt ...string) {
	s.helper()
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		s.fatalf("dnstest: ListIP(%q, %q): %v", zone, ip, err)
	}
	s.list(zone, ReverseName(addr)+"."+canon(zone), code, txt)
}

// ListDomain lists domain in the domain list (RHSBL) zone: an A record
// with the answer code at "domain.zone." and a TXT record for each txt
// given. It makes zone a zone if it is not one yet.
func (s *Server) ListDomain(zone, domain, code string, txt ...string) {
	s.helper()
	s.list(zone, strings.TrimSuffix(strings.ToLower(domain), ".")+"."+canon(zone), code, txt)
}

func (s *Server) list(zone, name, code string, txt []string) {
	s.helper()
	a, err := netip.ParseAddr(code)
	if err != nil || !a.Is4() {
		s.fatalf("dnstest: list %s in %s: answer code %q is not an IPv4 address", name, zone, code)
	}
	s.ensureZone(canon(zone))
	s.AddRR(&dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: DefaultTTL},
		A: a.AsSlice()})
	for _, t := range txt {
		s.AddRR(&dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: DefaultTTL},
			Txt: splitTXT(t)})
	}
}

// splitTXT cuts text into the 255-octet character-strings a TXT record holds.
func splitTXT(t string) []string {
	var out []string
	for len(t) > 255 {
		out = append(out, t[:255])
		t = t[255:]
	}
	return append(out, t)
}

// ReverseName returns the RFC 5782 query label sequence for addr, without
// a zone and without a trailing dot: "2.0.0.127" for 127.0.0.2, 32 nibbles
// for IPv6. An IPv4-mapped IPv6 address gives its IPv4 form.
func ReverseName(addr netip.Addr) string {
	addr = addr.Unmap()
	var b strings.Builder
	if addr.Is4() {
		a := addr.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d", a[3], a[2], a[1], a[0])
		return b.String()
	}
	a := addr.As16()
	const hex = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		if i != 15 {
			b.WriteByte('.')
		}
		b.WriteByte(hex[a[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[a[i]>>4])
	}
	return b.String()
}

func (s *Server) rule(name string) *behaviour {
	name = canon(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.rules[name]
	if b == nil {
		b = &behaviour{rcode: -1}
		s.rules[name] = b
	}
	return b
}

// Latency delays every answer at or below name by d. The delay ends early
// when the server shuts down.
func (s *Server) Latency(name string, d time.Duration) {
	b := s.rule(name)
	s.mu.Lock()
	b.latency = d
	s.mu.Unlock()
}

// ServFail makes every query at or below name answer SERVFAIL.
func (s *Server) ServFail(name string) { s.Rcode(name, dns.RcodeServerFailure) }

// Rcode makes every query at or below name answer with rcode and no
// records, such as dns.RcodeRefused.
func (s *Server) Rcode(name string, rcode int) {
	b := s.rule(name)
	s.mu.Lock()
	b.rcode = rcode
	s.mu.Unlock()
}

// Silence makes the server drop every query at or below name without an
// answer, like a zone whose servers are gone.
func (s *Server) Silence(name string) {
	b := s.rule(name)
	s.mu.Lock()
	b.silent = true
	s.mu.Unlock()
}

// Truncate makes every UDP answer at or below name come back empty with
// the TC bit set, so that a client must retry over TCP; TCP answers are
// complete. (Answers larger than the client's UDP size are truncated
// without this.)
func (s *Server) Truncate(name string) {
	b := s.rule(name)
	s.mu.Lock()
	b.truncate = true
	s.mu.Unlock()
}

// Reset removes every behaviour set by Latency, ServFail, Rcode, Silence
// and Truncate for name itself.
func (s *Server) Reset(name string) {
	s.mu.Lock()
	delete(s.rules, canon(name))
	s.mu.Unlock()
}

// Queries returns the queries received so far, oldest first.
func (s *Server) Queries() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.log...)
}

// Count returns how many queries for name and qtype (any type for
// dns.TypeANY) the server has received.
func (s *Server) Count(name string, qtype uint16) int {
	name = canon(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.log {
		if q.Name == name && (qtype == dns.TypeANY || q.Type == qtype) {
			n++
		}
	}
	return n
}

// ClearLog forgets the queries received so far.
func (s *Server) ClearLog() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}

func canon(name string) string { return strings.ToLower(dns.Fqdn(name)) }

// behaviourFor returns the behaviour of the closest enclosing rule.
// Called with s.mu held.
func (s *Server) behaviourFor(name string) behaviour {
	for n := name; ; {
		if b, ok := s.rules[n]; ok {
			return *b
		}
		if n == "." {
			return behaviour{rcode: -1}
		}
		i := strings.IndexByte(n, '.')
		n = n[i+1:]
		if n == "" {
			n = "."
		}
	}
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)

	s.mu.Lock()
	b := s.behaviourFor(name)
	s.log = append(s.log, Query{Name: name, Type: q.Qtype, Net: network, Time: time.Now(), Delay: b.latency})
	var m *dns.Msg
	if !b.silent && b.rcode < 0 {
		m = s.answer(req, name, q.Qtype)
	}
	s.mu.Unlock()

	if b.latency > 0 {
		t := time.NewTimer(b.latency)
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
			return
		}
	}
	switch {
	case b.silent:
		return
	case b.rcode >= 0:
		m = new(dns.Msg)
		m.SetRcode(req, b.rcode)
	}
	if network == "udp" {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
			size = int(opt.UDPSize())
		}
		if b.truncate {
			m.Answer, m.Ns, m.Extra = nil, nil, nil
			m.Truncated = true
		} else {
			m.Truncate(size)
		}
	}
	if opt := req.IsEdns0(); opt != nil && m.IsEdns0() == nil {
		m.SetEdns0(dns.DefaultMsgSize, false)
	}
	w.WriteMsg(m)
}

// answer builds the authoritative answer. Called with s.mu held.
func (s *Server) answer(req *dns.Msg, name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true

	target := name
	for range 8 { // follow CNAME chains inside our own data
		rrs, exists := s.records[target]
		var cname dns.RR
		found := false
		for _, rr := range rrs {
			t := rr.Header().Rrtype
			if t == qtype || qtype == dns.TypeANY {
				m.Answer = append(m.Answer, dns.Copy(rr))
				found = true
			} else if t == dns.TypeCNAME {
				cname = rr
			}
		}
		if found {
			return m
		}
		if cname != nil {
			m.Answer = append(m.Answer, dns.Copy(cname))
			target = strings.ToLower(cname.(*dns.CNAME).Target)
			continue
		}
		if !exists && !s.hasDescendant(target) {
			m.Rcode = dns.RcodeNameError
		}
		if soa := s.soaFor(target); soa != nil {
			m.Ns = append(m.Ns, soa)
		}
		return m
	}
	return m
}

// hasDescendant reports whether a name below name has records, which makes
// name an empty non-terminal (NODATA rather than NXDOMAIN).
func (s *Server) hasDescendant(name string) bool {
	suffix := "." + name
	if name == "." {
		suffix = "."
	}
	for n := range s.records {
		if strings.HasSuffix(n, suffix) && n != name {
			return true
		}
	}
	return false
}

// soaFor returns a copy of the SOA of the closest enclosing zone, with its
// TTL set to the negative-caching TTL, or nil outside every zone.
func (s *Server) soaFor(name string) dns.RR {
	for n := name; ; {
		if s.zones[n] {
			for _, rr := range s.records[n] {
				if soa, ok := rr.(*dns.SOA); ok {
					c := dns.Copy(soa).(*dns.SOA)
					if c.Minttl < c.Hdr.Ttl {
						c.Hdr.Ttl = c.Minttl
					}
					return c
				}
			}
		}
		if n == "." {
			return nil
		}
		i := strings.IndexByte(n, '.')
		n = n[i+1:]
		if n == "" {
			n = "."
		}
	}
}
