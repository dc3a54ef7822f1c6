package dnstest_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

func exchange(t *testing.T, srv *dnstest.Server, network, name string, qtype uint16) (*dns.Msg, error) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: network, Timeout: 500 * time.Millisecond}
	r, _, err := c.Exchange(m, srv.Addr())
	return r, err
}

func TestAnswers(t *testing.T) {
	srv := dnstest.New(t)
	srv.Zone("example.test", 42)
	srv.Add(
		"example.test. 600 IN MX 10 mx.example.test.",
		"mx.example.test A 192.0.2.1",
		"mx.example.test. IN AAAA 2001:db8::1",
		"www.example.test. 60 IN CNAME mx.example.test.",
		"a.b.example.test. IN TXT \"deep\"",
		"1.2.0.192.in-addr.arpa. PTR mx.example.test.",
	)
	srv.ListIP("zen.test", "192.0.2.99", "127.0.0.2", "listed: see https://zen.test/")
	srv.ListIP("zen.test", "::ffff:192.0.2.98", "127.0.0.4")
	srv.ListIP("zen6.test", "2001:db8::1", "127.0.0.3")
	srv.ListDomain("dbl.test", "Bad.Example.", "127.0.1.2")

	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string // record data, in order
		soaTTL uint32   // TTL of the SOA in a negative answer, 0 for none
	}{
		{"MX", "example.test", dns.TypeMX, dns.RcodeSuccess, []string{"10 mx.example.test."}, 0},
		{"A default TTL", "MX.Example.Test", dns.TypeA, dns.RcodeSuccess, []string{"192.0.2.1"}, 0},
		{"AAAA", "mx.example.test", dns.TypeAAAA, dns.RcodeSuccess, []string{"2001:db8::1"}, 0},
		{"CNAME followed", "www.example.test", dns.TypeA, dns.RcodeSuccess, []string{"mx.example.test.", "192.0.2.1"}, 0},
		{"PTR", "1.2.0.192.in-addr.arpa", dns.TypePTR, dns.RcodeSuccess, []string{"mx.example.test."}, 0},
		{"NXDOMAIN with SOA", "nope.example.test", dns.TypeA, dns.RcodeNameError, nil, 42},
		{"NODATA", "mx.example.test", dns.TypeTXT, dns.RcodeSuccess, nil, 42},
		{"empty non-terminal", "b.example.test", dns.TypeA, dns.RcodeSuccess, nil, 42},
		{"listed IPv4", "99.2.0.192.zen.test", dns.TypeA, dns.RcodeSuccess, []string{"127.0.0.2"}, 0},
		{"listed TXT", "99.2.0.192.zen.test", dns.TypeTXT, dns.RcodeSuccess, []string{`"listed: see https://zen.test/"`}, 0},
		{"mapped listed as IPv4", "98.2.0.192.zen.test", dns.TypeA, dns.RcodeSuccess, []string{"127.0.0.4"}, 0},
		{"listed IPv6 nibbles", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen6.test", dns.TypeA, dns.RcodeSuccess, []string{"127.0.0.3"}, 0},
		{"not listed", "1.2.0.192.zen.test", dns.TypeA, dns.RcodeNameError, nil, dnstest.DefaultTTL},
		{"listed domain", "bad.example.dbl.test", dns.TypeA, dns.RcodeSuccess, []string{"127.0.1.2"}, 0},
		{"outside every zone", "nothing.invalid", dns.TypeA, dns.RcodeNameError, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := exchange(t, srv, "udp", tt.qname, tt.qtype)
			if err != nil {
				t.Fatalf("exchange(%q) error %v", tt.qname, err)
			}
			if r.Rcode != tt.rcode {
				t.Errorf("exchange(%q) rcode = %s, want %s", tt.qname, dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			var got []string
			for _, rr := range r.Answer {
				got = append(got, strings.TrimPrefix(rr.String(), rr.Header().String()))
			}
			if strings.Join(got, "|") != strings.Join(tt.answer, "|") {
				t.Errorf("exchange(%q) answer = %q, want %q", tt.qname, got, tt.answer)
			}
			var soaTTL uint32
			for _, rr := range r.Ns {
				if rr.Header().Rrtype == dns.TypeSOA {
					soaTTL = rr.Header().Ttl
				}
			}
			if soaTTL != tt.soaTTL {
				t.Errorf("exchange(%q) SOA TTL = %d, want %d", tt.qname, soaTTL, tt.soaTTL)
			}
		})
	}
}

func TestBehaviours(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("ok.test A 192.0.2.1", "fail.test A 192.0.2.1", "slow.test A 192.0.2.1",
		"x.quiet.test A 192.0.2.1", "tc.test A 192.0.2.1", "no.test A 192.0.2.1")
	srv.ServFail("fail.test")
	srv.Rcode("no.test", dns.RcodeRefused)
	srv.Silence("quiet.test")
	srv.Truncate("tc.test")
	srv.Latency("slow.test", 50*time.Millisecond)

	r, err := exchange(t, srv, "udp", "fail.test", dns.TypeA)
	if err != nil || r.Rcode != dns.RcodeServerFailure {
		t.Errorf("ServFail: exchange = %v, %v; want SERVFAIL", r, err)
	}
	r, err = exchange(t, srv, "udp", "no.test", dns.TypeA)
	if err != nil || r.Rcode != dns.RcodeRefused {
		t.Errorf("Rcode(REFUSED): exchange = %v, %v; want REFUSED", r, err)
	}
	if _, err = exchange(t, srv, "udp", "x.quiet.test", dns.TypeA); err == nil {
		t.Errorf("Silence: exchange(x.quiet.test) answered, want a timeout")
	}
	r, err = exchange(t, srv, "udp", "tc.test", dns.TypeA)
	if err != nil || !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("Truncate: UDP exchange = %v, %v; want empty with TC", r, err)
	}
	r, err = exchange(t, srv, "tcp", "tc.test", dns.TypeA)
	if err != nil || r.Truncated || len(r.Answer) != 1 {
		t.Errorf("Truncate: TCP exchange = %v, %v; want the full answer", r, err)
	}
	start := time.Now()
	if _, err = exchange(t, srv, "udp", "slow.test", dns.TypeA); err != nil {
		t.Errorf("Latency: exchange error %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("Latency: answer after %v, want at least 50ms", d)
	}
	srv.Reset("fail.test")
	r, err = exchange(t, srv, "udp", "fail.test", dns.TypeA)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		t.Errorf("after Reset: exchange = %v, %v; want NOERROR", r, err)
	}

	if n := srv.Count("tc.test", dns.TypeA); n != 2 {
		t.Errorf("Count(tc.test, A) = %d, want 2", n)
	}
	qs := srv.Queries()
	if len(qs) != 7 || qs[4].Net != "tcp" {
		t.Errorf("Queries() = %v, want 7 queries, the fifth over TCP", qs)
	}
	srv.ClearLog()
	if n := len(srv.Queries()); n != 0 {
		t.Errorf("len(Queries()) after ClearLog = %d, want 0", n)
	}
}

func TestLargeAnswerTruncatedOverUDP(t *testing.T) {
	srv := dnstest.New(t)
	long := strings.Repeat("x", 250)
	for i := range 6 {
		srv.Add("big.test TXT \"" + long + string(rune('a'+i)) + "\"")
	}
	m := new(dns.Msg)
	m.SetQuestion("big.test.", dns.TypeTXT) // no EDNS0: 512 octets at most
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, srv.Addr())
	if err != nil || !r.Truncated {
		t.Fatalf("UDP exchange(big.test) = %v, %v; want truncated", r, err)
	}
	r, err = exchange(t, srv, "tcp", "big.test", dns.TypeTXT)
	if err != nil || len(r.Answer) != 6 {
		t.Fatalf("TCP exchange(big.test) = %v, %v; want 6 records", r, err)
	}
}

func TestRemove(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("h.test A 192.0.2.1", "h.test TXT hello")
	srv.Remove("h.test", dns.TypeA)
	r, _ := exchange(t, srv, "udp", "h.test", dns.TypeA)
	if r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("after Remove(A): exchange(h.test, A) = %v, want NODATA", r)
	}
	srv.Remove("h.test", dns.TypeANY)
	r, _ = exchange(t, srv, "udp", "h.test", dns.TypeTXT)
	if r == nil || r.Rcode != dns.RcodeNameError {
		t.Errorf("after Remove(ANY): exchange(h.test, TXT) = %v, want NXDOMAIN", r)
	}
}

func TestReverseName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "1.2.0.192"},
		{"::ffff:127.0.0.2", "2.0.0.127"},
		{"2001:db8::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"},
	}
	for _, tt := range tests {
		if got := dnstest.ReverseName(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("ReverseName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestShutdownWakesSlowHandlers(t *testing.T) {
	// A cleanup that waited out a long latency would stall every test
	// that leaves a slow query behind.
	start := time.Now()
	t.Run("inner", func(t *testing.T) {
		srv := dnstest.New(t)
		srv.Latency(".", time.Hour)
		m := new(dns.Msg)
		m.SetQuestion("x.test.", dns.TypeA)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		(&dns.Client{}).ExchangeContext(ctx, m, srv.Addr())
	})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("server cleanup with a query waiting an hour took %v, want it to end at once", d)
	}
}
