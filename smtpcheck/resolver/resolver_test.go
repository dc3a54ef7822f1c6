package resolver_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

func newResolver(t *testing.T, cfg resolver.Config, servers ...*dnstest.Server) *resolver.Resolver {
	t.Helper()
	for _, s := range servers {
		cfg.Servers = append(cfg.Servers, s.Addr())
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 300 * time.Millisecond
	}
	r, err := resolver.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func testZone(t *testing.T) *dnstest.Server {
	srv := dnstest.New(t)
	srv.Zone("example.test", 42)
	srv.Add(
		"example.test. 600 MX 20 mx2.example.test.",
		"example.test. 600 MX 10 MX1.example.test.",
		"example.test. NS ns1.example.test.",
		"example.test. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
		"long.example.test. TXT \"part one \" \"part two\"",
		"mx1.example.test. A 192.0.2.1",
		"mx1.example.test. AAAA 2001:db8::1",
		"v6only.example.test. AAAA 2001:db8::2",
		"alias.example.test. CNAME mx1.example.test.",
		"1.2.0.192.in-addr.arpa. PTR mx1.example.test.",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR mx1.example.test.",
		"2.2.0.192.in-addr.arpa. PTR liar.example.test.",
		"liar.example.test. A 192.0.2.200",
	)
	return srv
}

func TestTypedLookups(t *testing.T) {
	srv := testZone(t)
	r := newResolver(t, resolver.Config{}, srv)
	ctx := ctxTimeout(t, 5*time.Second)

	mx, err := r.LookupMX(ctx, "Example.Test.")
	want := []resolver.MX{{"mx1.example.test", 10}, {"mx2.example.test", 20}}
	if err != nil || !slices.Equal(mx, want) {
		t.Errorf("LookupMX(%q) = %v, %v; want %v", "Example.Test.", mx, err, want)
	}
	ips, err := r.LookupIP(ctx, "mx1.example.test")
	wantIPs := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}
	if err != nil || !slices.Equal(ips, wantIPs) {
		t.Errorf("LookupIP(%q) = %v, %v; want %v", "mx1.example.test", ips, err, wantIPs)
	}
	ips, err = r.LookupIP(ctx, "v6only.example.test")
	if err != nil || len(ips) != 1 || ips[0] != netip.MustParseAddr("2001:db8::2") {
		t.Errorf("LookupIP(%q) = %v, %v; want [2001:db8::2]", "v6only.example.test", ips, err)
	}
	ips, err = r.LookupA(ctx, "alias.example.test")
	if err != nil || len(ips) != 1 || ips[0] != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("LookupA(%q) = %v, %v; want [192.0.2.1] through the CNAME", "alias.example.test", ips, err)
	}
	txt, err := r.LookupTXT(ctx, "long.example.test")
	if err != nil || len(txt) != 1 || txt[0] != "part one part two" {
		t.Errorf("LookupTXT(%q) = %q, %v; want [\"part one part two\"]", "long.example.test", txt, err)
	}
	ns, err := r.LookupNS(ctx, "example.test")
	if err != nil || !slices.Equal(ns, []string{"ns1.example.test"}) {
		t.Errorf("LookupNS(%q) = %v, %v; want [ns1.example.test]", "example.test", ns, err)
	}
	for _, ip := range []string{"192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1"} {
		names, err := r.LookupPTR(ctx, netip.MustParseAddr(ip))
		if err != nil || !slices.Equal(names, []string{"mx1.example.test"}) {
			t.Errorf("LookupPTR(%q) = %v, %v; want [mx1.example.test]", ip, names, err)
		}
	}
}

func TestNotFound(t *testing.T) {
	srv := testZone(t)
	r := newResolver(t, resolver.Config{}, srv)
	ctx := ctxTimeout(t, 5*time.Second)

	tests := []struct {
		name     string
		qname    string
		qtype    uint16
		nxdomain bool
	}{
		{"NXDOMAIN", "nope.example.test", dns.TypeA, true},
		{"NODATA", "mx1.example.test", dns.TypeMX, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := r.Query(ctx, tt.qname, tt.qtype)
			if err != nil {
				t.Fatalf("Query(%q) error = %v, want an answer", tt.qname, err)
			}
			if !a.NotFound() || a.NXDomain() != tt.nxdomain {
				t.Errorf("Query(%q): NotFound() = %v, NXDomain() = %v; want true, %v", tt.qname, a.NotFound(), a.NXDomain(), tt.nxdomain)
			}
			_, err = r.LookupTXT(ctx, tt.qname)
			if tt.qtype == dns.TypeMX {
				_, err = r.LookupMX(ctx, tt.qname)
			}
			if !resolver.IsNotFound(err) || resolver.IsTemporary(err) {
				t.Errorf("lookup(%q) error = %v, want ErrNotFound and not temporary", tt.qname, err)
			}
			if errors.Is(err, resolver.ErrNXDomain) != tt.nxdomain || errors.Is(err, resolver.ErrNoData) == tt.nxdomain {
				t.Errorf("lookup(%q) error = %v, want ErrNXDomain %v, ErrNoData %v", tt.qname, err, tt.nxdomain, !tt.nxdomain)
			}
		})
	}
}

func TestFailures(t *testing.T) {
	srv := testZone(t)
	srv.Add("bad.example.test A 192.0.2.9", "quiet.example.test A 192.0.2.9", "no.example.test A 192.0.2.9")
	srv.ServFail("bad.example.test")
	srv.Silence("quiet.example.test")
	srv.Rcode("no.example.test", dns.RcodeRefused)
	r := newResolver(t, resolver.Config{Timeout: 100 * time.Millisecond}, srv)

	tests := []struct {
		name string
		want error
	}{
		{"bad.example.test", resolver.ErrServFail},
		{"quiet.example.test", resolver.ErrTimeout},
		{"no.example.test", resolver.ErrRefused},
		{"bad..name", resolver.ErrInvalidName},
		{"evil\x00.example.test", resolver.ErrInvalidName},
		{"sp ace.example.test", resolver.ErrInvalidName},
		{strings.Repeat("a", 64) + ".example.test", resolver.ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.want.Error(), func(t *testing.T) {
			_, err := r.Query(ctxTimeout(t, 2*time.Second), tt.name, dns.TypeA)
			if !errors.Is(err, tt.want) {
				t.Errorf("Query(%q) error = %v, want %v", tt.name, err, tt.want)
			}
			var e *resolver.Error
			if !errors.As(err, &e) {
				t.Errorf("Query(%q) error %T is not *resolver.Error", tt.name, err)
			}
		})
	}
}

func TestSilentZoneEndsAtCallerDeadline(t *testing.T) {
	srv := dnstest.New(t)
	srv.Silence(".")
	r := newResolver(t, resolver.Config{Timeout: time.Minute, Attempts: 5}, srv)
	ctx := ctxTimeout(t, 100*time.Millisecond)
	start := time.Now()
	_, err := r.Query(ctx, "anything.test", dns.TypeA)
	if !errors.Is(err, resolver.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Query(silent) error = %v, want ErrTimeout and DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Query(silent) returned after %v, past the 100ms deadline", d)
	}
}

func TestRetriesAcrossServers(t *testing.T) {
	broken, silent, good := dnstest.New(t), dnstest.New(t), dnstest.New(t)
	broken.ServFail(".")
	silent.Silence(".")
	good.Add("host.test A 192.0.2.7")
	r := newResolver(t, resolver.Config{Timeout: 100 * time.Millisecond}, broken, silent, good)
	ips, err := r.LookupA(ctxTimeout(t, 5*time.Second), "host.test")
	if err != nil || len(ips) != 1 {
		t.Fatalf("LookupA(host.test) = %v, %v; want the answer of the third server", ips, err)
	}
	for i, s := range []*dnstest.Server{broken, silent, good} {
		if n := s.Count("host.test", dns.TypeA); n != 1 {
			t.Errorf("server %d got %d queries, want 1", i, n)
		}
	}
}

func TestTCPFallback(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("tc.test A 192.0.2.1")
	srv.Truncate("tc.test")
	long := strings.Repeat("x", 250)
	for range 8 {
		srv.Add("big.test TXT \"" + long + "\"")
	}
	r := newResolver(t, resolver.Config{UDPSize: 512}, srv)
	ctx := ctxTimeout(t, 5*time.Second)
	if ips, err := r.LookupA(ctx, "tc.test"); err != nil || len(ips) != 1 {
		t.Errorf("LookupA(tc.test) = %v, %v; want the TCP answer", ips, err)
	}
	if txt, err := r.LookupTXT(ctx, "big.test"); err != nil || len(txt) != 8 {
		t.Errorf("LookupTXT(big.test) = %d records, %v; want 8", len(txt), err)
	}
	var tcp int
	for _, q := range srv.Queries() {
		if q.Net == "tcp" {
			tcp++
		}
	}
	if tcp != 2 || r.Stats().TCP != 2 {
		t.Errorf("TCP queries = %d, Stats().TCP = %d; want 2, 2", tcp, r.Stats().TCP)
	}
}

func TestCacheTTL(t *testing.T) {
	srv := testZone(t)
	srv.Add("short.example.test. 5 A 192.0.2.5", "long.example.test. 7200 A 192.0.2.6", "mid.example.test. 120 A 192.0.2.7")
	clk := storetest.NewClock()
	r := newResolver(t, resolver.Config{Now: clk.Now, MinTTL: time.Minute, MaxTTL: time.Hour}, srv)
	ctx := ctxTimeout(t, 5*time.Second)

	tests := []struct {
		name    string
		qname   string
		qtype   uint16
		ttl     time.Duration // clamped TTL of the first answer
		minTTL  bool          // configure without a floor
		refresh time.Duration // after this, the next query goes to the server
	}{
		{"positive TTL", "mid.example.test", dns.TypeA, 120 * time.Second, false, 120 * time.Second},
		{"raised to MinTTL", "short.example.test", dns.TypeA, time.Minute, false, time.Minute},
		{"cut to MaxTTL", "long.example.test", dns.TypeA, time.Hour, false, time.Hour},
		{"NXDOMAIN for SOA minimum", "gone.example.test", dns.TypeA, time.Minute, false, time.Minute},
		{"NODATA for SOA minimum, no floor", "mid.example.test", dns.TypeMX, 42 * time.Second, true, 42 * time.Second},
		{"NXDOMAIN for SOA minimum, no floor", "gone2.example.test", dns.TypeA, 42 * time.Second, true, 42 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := r
			if tt.minTTL {
				r = newResolver(t, resolver.Config{Now: clk.Now, MinTTL: -1}, srv)
			}
			a, err := r.Query(ctx, tt.qname, tt.qtype)
			if err != nil || a.TTL != tt.ttl || a.Cached {
				t.Fatalf("Query(%q) = TTL %v cached %v, %v; want TTL %v, fresh", tt.qname, a.TTL, a.Cached, err, tt.ttl)
			}
			clk.Advance(tt.refresh - time.Second)
			a, err = r.Query(ctx, tt.qname, tt.qtype)
			if err != nil || !a.Cached || a.TTL != time.Second {
				t.Errorf("Query(%q) 1s before expiry = cached %v TTL %v, %v; want cached with 1s left", tt.qname, a.Cached, a.TTL, err)
			}
			if n := srv.Count(tt.qname, tt.qtype); n != 1 {
				t.Errorf("server queries for %q before expiry = %d, want 1", tt.qname, n)
			}
			clk.Advance(time.Second)
			a, err = r.Query(ctx, tt.qname, tt.qtype)
			if err != nil || a.Cached {
				t.Errorf("Query(%q) at expiry = cached %v, %v; want a fresh answer", tt.qname, a.Cached, err)
			}
			if n := srv.Count(tt.qname, tt.qtype); n != 2 {
				t.Errorf("server queries for %q after expiry = %d, want 2", tt.qname, n)
			}
		})
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("flaky.test A 192.0.2.1")
	srv.ServFail("flaky.test")
	r := newResolver(t, resolver.Config{Attempts: 1}, srv)
	ctx := ctxTimeout(t, 5*time.Second)
	if _, err := r.LookupA(ctx, "flaky.test"); !errors.Is(err, resolver.ErrServFail) {
		t.Fatalf("LookupA(flaky.test) error = %v, want ErrServFail", err)
	}
	srv.Reset("flaky.test")
	if ips, err := r.LookupA(ctx, "flaky.test"); err != nil || len(ips) != 1 {
		t.Errorf("LookupA(flaky.test) after recovery = %v, %v; want the address", ips, err)
	}
}

func TestCacheSizeBound(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("a.test A 192.0.2.1", "b.test A 192.0.2.2", "c.test A 192.0.2.3")
	r := newResolver(t, resolver.Config{CacheSize: 2}, srv)
	ctx := ctxTimeout(t, 5*time.Second)
	for _, n := range []string{"a.test", "b.test", "a.test", "c.test", "a.test", "b.test"} {
		if _, err := r.LookupA(ctx, n); err != nil {
			t.Fatalf("LookupA(%q): %v", n, err)
		}
	}
	// a stays (recently used), b is evicted by c, then b evicts c.
	st := r.Stats()
	if st.Entries != 2 || st.Evictions != 2 || srv.Count("a.test", dns.TypeA) != 1 || srv.Count("b.test", dns.TypeA) != 2 {
		t.Errorf("Stats() = %+v, a queried %d, b queried %d; want 2 entries, 2 evictions, a once, b twice",
			st, srv.Count("a.test", dns.TypeA), srv.Count("b.test", dns.TypeA))
	}
	off := newResolver(t, resolver.Config{CacheSize: -1}, srv)
	off.LookupA(ctx, "a.test")
	off.LookupA(ctx, "a.test")
	if n := srv.Count("a.test", dns.TypeA); n != 3 {
		t.Errorf("with the cache off, server queries for a.test = %d, want 3", n)
	}
}

func TestSingleFlight(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("slow.test A 192.0.2.1")
	srv.Latency("slow.test", 100*time.Millisecond)
	r := newResolver(t, resolver.Config{}, srv)
	ctx := ctxTimeout(t, 5*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := r.LookupA(ctx, "slow.test")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("LookupA(slow.test) error = %v", err)
		}
	}
	if n := srv.Count("slow.test", dns.TypeA); n != 1 {
		t.Errorf("server queries for 50 concurrent lookups = %d, want 1", n)
	}
	if st := r.Stats(); st.Shared+st.CacheHits != 49 {
		t.Errorf("Stats() = %+v, want Shared+CacheHits = 49", st)
	}
}

func TestSingleFlightOutlivesShortCaller(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("slow.test A 192.0.2.1")
	srv.Latency("slow.test", 150*time.Millisecond)
	r := newResolver(t, resolver.Config{Timeout: time.Second}, srv)

	shortErr := make(chan error, 1)
	go func() {
		_, err := r.LookupA(ctxTimeout(t, 30*time.Millisecond), "slow.test")
		shortErr <- err
	}()
	time.Sleep(5 * time.Millisecond)
	ips, err := r.LookupA(ctxTimeout(t, 5*time.Second), "slow.test")
	if err != nil || len(ips) != 1 {
		t.Errorf("LookupA with a long deadline = %v, %v; want the answer", ips, err)
	}
	if err := <-shortErr; !errors.Is(err, resolver.ErrTimeout) {
		t.Errorf("LookupA with a 30ms deadline error = %v, want ErrTimeout", err)
	}
}

func TestNoGoroutineLeft(t *testing.T) {
	srv := dnstest.New(t)
	srv.Silence("quiet.test")
	r := newResolver(t, resolver.Config{Timeout: time.Minute}, srv)
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			r.Query(ctx, "x"+string(rune('a'+i%26))+".quiet.test", dns.TypeA)
		})
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("goroutines after 100 abandoned queries = %d, want at most %d", n, before)
	}
}

func TestVerifyPTR(t *testing.T) {
	srv := testZone(t)
	r := newResolver(t, resolver.Config{}, srv)
	ctx := ctxTimeout(t, 5*time.Second)
	tests := []struct {
		ip        string
		names     []string
		confirmed []string
		notFound  bool
	}{
		{"192.0.2.1", []string{"mx1.example.test"}, []string{"mx1.example.test"}, false},
		{"2001:db8::1", []string{"mx1.example.test"}, []string{"mx1.example.test"}, false},
		{"192.0.2.2", []string{"liar.example.test"}, nil, false},
		{"192.0.2.3", nil, nil, true},
	}
	for _, tt := range tests {
		names, confirmed, err := r.VerifyPTR(ctx, netip.MustParseAddr(tt.ip))
		if !slices.Equal(names, tt.names) || !slices.Equal(confirmed, tt.confirmed) || resolver.IsNotFound(err) != tt.notFound {
			t.Errorf("VerifyPTR(%q) = %v, %v, %v; want %v, %v, not found %v", tt.ip, names, confirmed, err, tt.names, tt.confirmed, tt.notFound)
		}
	}
}

func TestNetResolverWithSPF(t *testing.T) {
	srv := testZone(t)
	r := newResolver(t, resolver.Config{}, srv)
	var _ spf.DNSResolver = r.Net()
	tests := []struct {
		ip   string
		want spf.Result
	}{
		{"192.0.2.10", spf.Pass},
		{"198.51.100.1", spf.Fail},
	}
	for _, tt := range tests {
		res, err := spf.CheckHostWithSender(netip.MustParseAddr(tt.ip).AsSlice(), "mx1.example.test", "a@example.test",
			spf.WithResolver(r.Net()), spf.WithContext(ctxTimeout(t, 5*time.Second)))
		if res != tt.want {
			t.Errorf("spf.CheckHostWithSender(%q) = %v, %v; want %v", tt.ip, res, err, tt.want)
		}
	}
	res, _ := spf.CheckHostWithSender(netip.MustParseAddr("192.0.2.10").AsSlice(), "x", "a@nope.example.test",
		spf.WithResolver(r.Net()), spf.WithContext(ctxTimeout(t, 5*time.Second)))
	if res != spf.None {
		t.Errorf("spf.CheckHostWithSender(nope.example.test) = %v, want none (NXDOMAIN seen as not found)", res)
	}
}

func TestNetResolver(t *testing.T) {
	srv := testZone(t)
	srv.Add("bad.example.test A 192.0.2.9")
	srv.ServFail("bad.example.test")
	r := newResolver(t, resolver.Config{Attempts: 1}, srv).Net()
	ctx := ctxTimeout(t, 5*time.Second)
	mx, err := r.LookupMX(ctx, "example.test")
	if err != nil || len(mx) != 2 || mx[0].Host != "mx1.example.test." {
		t.Errorf("LookupMX(example.test) = %v, %v; want mx1.example.test. first", mx, err)
	}
	names, err := r.LookupAddr(ctx, "192.0.2.1")
	if err != nil || !slices.Equal(names, []string{"mx1.example.test."}) {
		t.Errorf("LookupAddr(192.0.2.1) = %v, %v; want [mx1.example.test.]", names, err)
	}
	hosts, err := r.LookupHost(ctx, "mx1.example.test")
	if err != nil || !slices.Equal(hosts, []string{"192.0.2.1", "2001:db8::1"}) {
		t.Errorf("LookupHost(mx1.example.test) = %v, %v", hosts, err)
	}
	ns, err := r.LookupNS(ctx, "example.test")
	if err != nil || len(ns) != 1 || ns[0].Host != "ns1.example.test." {
		t.Errorf("LookupNS(example.test) = %v, %v; want [ns1.example.test.]", ns, err)
	}
	ips, err := r.LookupIP(ctx, "ip6", "mx1.example.test")
	if err != nil || len(ips) != 1 || ips[0].String() != "2001:db8::1" {
		t.Errorf("LookupIP(ip6, mx1.example.test) = %v, %v; want [2001:db8::1]", ips, err)
	}
	addrs, err := r.LookupIPAddr(ctx, "mx1.example.test")
	if err != nil || len(addrs) != 2 || addrs[0].String() != "192.0.2.1" {
		t.Errorf("LookupIPAddr(mx1.example.test) = %v, %v; want 192.0.2.1 first of two", addrs, err)
	}
	_, err = r.LookupIPAddr(ctx, "nope.example.test")
	if de, ok := err.(interface{ Temporary() bool }); !ok || de.Temporary() || !resolver.IsNotFound(err) {
		t.Errorf("LookupIPAddr(nope) error = %#v, want a *net.DNSError, not found, not temporary", err)
	}
	_, err = r.LookupTXT(ctx, "bad.example.test")
	if !errors.Is(err, resolver.ErrServFail) || resolver.IsNotFound(err) {
		t.Errorf("LookupTXT(bad) error = %v, want ErrServFail", err)
	}
}

func TestNewConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	os.WriteFile(conf, []byte("nameserver 127.0.0.53\nnameserver ::1\noptions edns0\n"), 0o644)
	empty := filepath.Join(dir, "empty.conf")
	os.WriteFile(empty, []byte("# nothing\n"), 0o644)

	tests := []struct {
		name    string
		cfg     resolver.Config
		servers []string
		wantErr bool
	}{
		{"resolv.conf", resolver.Config{ResolvConf: conf}, []string{"127.0.0.53:53", "[::1]:53"}, false},
		{"explicit", resolver.Config{Servers: []string{"127.0.0.1", "127.0.0.2:5353", "[::1]"}},
			[]string{"127.0.0.1:53", "127.0.0.2:5353", "[::1]:53"}, false},
		{"missing file", resolver.Config{ResolvConf: filepath.Join(dir, "none")}, nil, true},
		{"no nameserver", resolver.Config{ResolvConf: empty}, nil, true},
		{"malformed", resolver.Config{Servers: []string{"127.0.0.1:"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := resolver.New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%+v) error = %v, want error %v", tt.cfg, err, tt.wantErr)
			}
			if err == nil && !slices.Equal(r.Servers(), tt.servers) {
				t.Errorf("New(%+v).Servers() = %v, want %v", tt.cfg, r.Servers(), tt.servers)
			}
		})
	}
}

func TestReverseAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "1.2.0.192.in-addr.arpa."},
		{"10.100.0.255", "255.0.100.10.in-addr.arpa."},
		{"::ffff:192.0.2.1", "1.2.0.192.in-addr.arpa."},
		{"2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."},
	}
	for _, tt := range tests {
		if got := resolver.ReverseAddr(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("ReverseAddr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
