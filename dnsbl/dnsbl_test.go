package dnsbl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

const client = "192.0.2.99"

func newResolver(t testing.TB, srv *dnstest.Server) *resolver.Resolver {
	t.Helper()
	r := srv.Resolver(resolver.Config{Timeout: 200 * time.Millisecond, Attempts: 1})
	return r
}

func newChecker(t testing.TB, srv *dnstest.Server, cfg dnsbl.Config, specs ...string) *dnsbl.ClientLists {
	t.Helper()
	lists, err := dnsbl.ParseLists(specs...)
	if err != nil {
		t.Fatalf("ParseLists(%q): %v", specs, err)
	}
	cfg.Lists = append(cfg.Lists, lists...)
	if cfg.Resolver == nil {
		cfg.Resolver = newResolver(t, srv)
	}
	c, err := dnsbl.New(cfg)
	if err != nil {
		t.Fatalf("dnsbl.New: %v", err)
	}
	return c
}

func session(ip string) *smtpcheck.Session {
	return &smtpcheck.Session{Stage: smtpcheck.StageConnect, Conn: smtpcheck.Conn{ClientIP: netip.MustParseAddr(ip)}}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestCheckIP(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("zen.test", client, "127.0.0.2", "spam source")
	srv.ListIP("zen.test", client, "127.0.0.10")
	srv.ListIP("mask.test", client, "127.0.0.6")
	srv.ListIP("other.test", client, "127.0.0.3")
	srv.ListIP("wl.test", client, "127.0.10.2")
	srv.Zone("empty.test", 60)
	srv.ListIP("v6.test", "2001:db8::99", "127.0.0.2")

	tests := []struct {
		name   string
		specs  []string
		ip     string
		score  int
		listed []string // zones that listed, in configuration order
	}{
		{"listed, any code", []string{"zen.test"}, client, 1, []string{"zen.test"}},
		{"not listed", []string{"empty.test"}, client, 0, nil},
		{"filter matches one code", []string{"zen.test=127.0.0.[10..11]"}, client, 1, []string{"zen.test"}},
		{"filter matches none", []string{"zen.test=127.0.0.[4;5]", "other.test=127.0.0.2"}, client, 0, nil},
		{"mask", []string{"mask.test&0.0.0.4", "other.test&0.0.0.4"}, client, 1, []string{"mask.test"}},
		{"weights add", []string{"zen.test*3", "other.test*2", "empty.test*5"}, client, 5, []string{"zen.test", "other.test"}},
		{"allowlist subtracts", []string{"zen.test*3", "wl.test=127.0.[0..255].[1..3]*-2"}, client, 1, []string{"zen.test", "wl.test"}},
		{"IPv6", []string{"v6.test"}, "2001:db8::99", 1, []string{"v6.test"}},
		{"IPv4-mapped asked as IPv4", []string{"zen.test"}, "::ffff:" + client, 1, []string{"zen.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, srv, dnsbl.Config{Thresholds: smtpcheck.Thresholds{Reject: 100}}, tt.specs...)
			v := c.CheckIP(ctxTimeout(t, 5*time.Second), netip.MustParseAddr(tt.ip))
			var listed []string
			for _, r := range v.Lists {
				if r.Err != nil {
					t.Errorf("CheckIP(%s): list %s error %v", tt.ip, r.List.Zone, r.Err)
				}
				if r.Listed {
					listed = append(listed, r.List.Zone)
				}
			}
			if v.Score != tt.score || strings.Join(listed, ",") != strings.Join(tt.listed, ",") {
				t.Errorf("CheckIP(%s) with %q = score %d listed %v; want %d, %v", tt.ip, tt.specs, v.Score, listed, tt.score, tt.listed)
			}
		})
	}
}

func TestRefusedAnswers(t *testing.T) {
	for _, code := range []string{"127.255.255.252", "127.255.255.254", "127.255.255.255", "127.0.0.255"} {
		t.Run(code, func(t *testing.T) {
			srv := dnstest.New(t)
			srv.ListIP("zen.test", client, code)
			var logs bytes.Buffer
			c := newChecker(t, srv, dnsbl.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, "zen.test")
			v := c.CheckIP(ctxTimeout(t, 5*time.Second), netip.MustParseAddr(client))
			r := v.Lists[0]
			if r.Listed || v.Score != 0 || !errors.Is(r.Err, dnsbl.ErrQueryRefused) {
				t.Errorf("CheckIP with answer %s = listed %v score %d err %v; want not listed, ErrQueryRefused", code, r.Listed, v.Score, r.Err)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), code) {
				t.Errorf("log for answer %s = %q, want an ERROR line naming the code", code, logs.String())
			}
			if st := c.Status()[0]; st.Refused != 1 || st.Errors != 1 || st.Listed != 0 {
				t.Errorf("Status() after answer %s = %+v, want 1 refused, 1 error, 0 listed", code, st)
			}
			// Under fail-open the refusal changes nothing; it is no listing.
			res := c.ClientCheck()(t.Context(), session(client))
			if res.Action != smtpcheck.Continue {
				t.Errorf("ClientCheck with answer %s = %v, want continue", code, res.Action)
			}
		})
	}
}

func TestOutOfRangeAnswerIgnored(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("hijacked.test", client, "192.0.2.1") // a resolver that "helpfully" answers
	var logs bytes.Buffer
	c := newChecker(t, srv, dnsbl.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, "hijacked.test")
	v := c.CheckIP(ctxTimeout(t, 5*time.Second), netip.MustParseAddr(client))
	if v.Lists[0].Listed || v.Lists[0].Err != nil || v.Score != 0 {
		t.Errorf("CheckIP with answer 192.0.2.1 = %+v, want not listed, no error", v.Lists[0])
	}
	if !strings.Contains(logs.String(), "outside 127.0.0.0/8") || c.Status()[0].OutOfRange != 1 {
		t.Errorf("out-of-range answer not logged/counted: %q, %+v", logs.String(), c.Status()[0])
	}
}

func TestFailingZoneDoesNotFailOthers(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("zen.test", client, "127.0.0.2")
	srv.ListIP("broken.test", client, "127.0.0.2")
	srv.ListIP("quiet.test", client, "127.0.0.2")
	srv.ServFail("broken.test")
	srv.Silence("quiet.test")
	specs := []string{"zen.test*2", "broken.test", "quiet.test"}

	tests := []struct {
		name    string
		policy  smtpcheck.ErrorPolicy
		zenList bool // zen.test lists (decides) or is absent
		want    smtpcheck.Action
		code    int
	}{
		{"fail open, listing decides", smtpcheck.FailOpen, true, smtpcheck.Reject, 550},
		{"fail temp, listing still decides", smtpcheck.FailTemp, true, smtpcheck.Reject, 550},
		{"fail open, no listing", smtpcheck.FailOpen, false, smtpcheck.Continue, 0},
		{"fail temp, no listing", smtpcheck.FailTemp, false, smtpcheck.TempFail, 451},
		{"fail closed, no listing", smtpcheck.FailClosed, false, smtpcheck.Reject, 554},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := specs
			if !tt.zenList {
				sp = specs[1:]
			}
			c := newChecker(t, srv, dnsbl.Config{OnError: tt.policy, Timeout: time.Second}, sp...)
			v := c.CheckIP(ctxTimeout(t, 5*time.Second), netip.MustParseAddr(client))
			var broken, quiet *dnsbl.ListResult
			for i := range v.Lists {
				switch v.Lists[i].List.Zone {
				case "broken.test":
					broken = &v.Lists[i]
				case "quiet.test":
					quiet = &v.Lists[i]
				}
			}
			if !errors.Is(broken.Err, resolver.ErrServFail) || quiet.Err == nil {
				t.Errorf("CheckIP: broken.test err %v, quiet.test err %v; want SERVFAIL and a timeout", broken.Err, quiet.Err)
			}
			if tt.zenList && (!v.Lists[0].Listed || v.Lists[0].Err != nil) {
				t.Errorf("CheckIP: zen.test = %+v, want listed despite the other zones failing", v.Lists[0])
			}
			res := c.Decide(t.Context(), session(client), v, dnsbl.SubjectClient)
			if res.Action != tt.want || res.DefaultReply().Code() != tt.code && tt.code != 0 {
				t.Errorf("Decide(%v) = %v %v, want %v %d", tt.policy, res.Action, res.Reply, tt.want, tt.code)
			}
		})
	}
}

func TestSilentZoneEndsAtDeadline(t *testing.T) {
	srv := dnstest.New(t)
	srv.Silence("quiet.test")
	srv.ListIP("zen.test", client, "127.0.0.2")
	r := srv.Resolver(resolver.Config{Timeout: time.Hour})
	c := newChecker(t, srv, dnsbl.Config{Resolver: r, Timeout: 100 * time.Millisecond}, "quiet.test", "zen.test")
	start := time.Now()
	v := c.CheckIP(t.Context(), netip.MustParseAddr(client))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("CheckIP with a silent zone took %v, past its 100ms deadline", d)
	}
	if v.Lists[0].Err == nil || !v.Lists[1].Listed {
		t.Errorf("CheckIP = %+v; want quiet.test failed and zen.test listed", v.Lists)
	}
}

func TestAllowlistShortCircuit(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("wl.test", client, "127.0.10.2")
	srv.ListIP("slow.test", client, "127.0.0.2")
	srv.Latency("slow.test", time.Hour)
	r := srv.Resolver(resolver.Config{Timeout: time.Hour})
	// The allowlist comes first: once it lists the client, the block list
	// after it is not waited for.
	c := newChecker(t, srv, dnsbl.Config{Resolver: r, Timeout: time.Hour}, "wl.test*-10", "slow.test*5")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan smtpcheck.Result, 1)
	go func() { done <- c.ClientCheck()(ctx, session(client)) }()
	select {
	case res := <-done:
		if res.Action != smtpcheck.Accept || res.Reason.Rule != "wl.test" {
			t.Errorf("ClientCheck = %v (%v), want accept by wl.test", res.Action, res.Reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("ClientCheck still waiting for slow.test after the allowlist answered")
	}
}

// The verdict does not depend on which answer arrives first: the answers
// are combined in configuration order. The server delays each list's
// answer at random, run after run, and every run must give one score. With
// the zero-value thresholds (Reject 1, Allow -1) and a listing block list
// before a listing allowlist, both count (3 - 4 = -1); with the allowlist
// first, the block list after it is not waited for (-4).
func TestVerdictIndependentOfArrivalOrder(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("zen.test", client, "127.0.0.2")
	srv.ListIP("wl.test", client, "127.0.10.2")
	srv.ListIP("bl.test", client, "127.0.0.3")
	// No cache: every run asks the server again, with new delays.
	r := srv.Resolver(resolver.Config{CacheSize: -1, Timeout: 5 * time.Second})
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name   string
		th     smtpcheck.Thresholds
		specs  []string
		score  int
		action smtpcheck.Action
	}{
		{"block list first", smtpcheck.Thresholds{}, []string{"zen.test*3", "wl.test*-4"}, -1, smtpcheck.Accept},
		{"allowlist first", smtpcheck.Thresholds{}, []string{"wl.test*-4", "zen.test*3"}, -4, smtpcheck.Accept},
		{"allowlist between", smtpcheck.Thresholds{}, []string{"bl.test*2", "wl.test*-4", "zen.test*3"}, -2, smtpcheck.Accept},
		{"allowlist not reaching", smtpcheck.Thresholds{Reject: 1, Allow: -5}, []string{"wl.test*-4", "zen.test*3", "bl.test*2"}, 1, smtpcheck.Reject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, srv, dnsbl.Config{Resolver: r, Thresholds: tt.th}, tt.specs...)
			scores := map[int]int{}
			for range 40 {
				for _, z := range []string{"zen.test", "wl.test", "bl.test"} {
					srv.Latency(z, time.Duration(rng.IntN(8000))*time.Microsecond)
				}
				v := c.CheckIP(ctxTimeout(t, 10*time.Second), netip.MustParseAddr(client))
				scores[v.Score]++
				if res := c.Decide(t.Context(), session(client), v, dnsbl.SubjectClient); res.Action != tt.action {
					t.Errorf("Decide = %v (%v), want %v", res.Action, res.Reason, tt.action)
				}
			}
			if len(scores) != 1 || scores[tt.score] == 0 {
				t.Errorf("scores over 40 runs with random answer delays = %v, want only %d", scores, tt.score)
			}
		})
	}
}

// A cached answer after the allowlist that decided does not count either:
// a lookup scores the same whether or not the cache holds that list.
func TestVerdictSameWithAndWithoutCache(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("zen.test", client, "127.0.0.2")
	srv.ListIP("wl.test", client, "127.0.10.2")
	r := newResolver(t, srv)
	ip := netip.MustParseAddr(client)
	ctx := ctxTimeout(t, 5*time.Second)
	// Warm the cache for zen.test only.
	newChecker(t, srv, dnsbl.Config{Resolver: r}, "zen.test").CheckIP(ctx, ip)
	c := newChecker(t, srv, dnsbl.Config{Resolver: r}, "wl.test*-4", "zen.test*3")
	for i := range 2 {
		v := c.CheckIP(ctx, ip)
		if v.Score != -4 || !v.Allowed || !errors.Is(v.Lists[1].Err, dnsbl.ErrNotQueried) {
			t.Errorf("run %d: CheckIP = score %d allowed %v, zen.test %+v; want -4, allowed, zen.test not counted", i, v.Score, v.Allowed, v.Lists[1])
		}
	}
}

// A Verdict reused across evaluations never carries anything over: not
// the subject, the query names, the codes, nor the lists of another
// Checker.
func TestCheckIPIntoReuse(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("zen.test", client, "127.0.0.2")
	srv.ListIP("zen.test", client, "127.0.0.4")
	srv.ListIP("bl.test", "192.0.2.7", "127.0.0.3")
	srv.Zone("wl.test", 60)
	r := newResolver(t, srv)
	c1 := newChecker(t, srv, dnsbl.Config{Resolver: r}, "zen.test", "bl.test")
	c2 := newChecker(t, srv, dnsbl.Config{Resolver: r}, "wl.test*-1", "bl.test", "zen.test")
	ctx := ctxTimeout(t, 5*time.Second)
	var v dnsbl.Verdict
	steps := []struct {
		c      *dnsbl.ClientLists
		ip     string
		score  int
		codes  string
		query0 string
	}{
		{c1, client, 1, "[[127.0.0.2 127.0.0.4] []]", "99.2.0.192.zen.test."},
		{c1, client, 1, "[[127.0.0.2 127.0.0.4] []]", "99.2.0.192.zen.test."}, // from the cache
		{c1, "192.0.2.7", 1, "[[] [127.0.0.3]]", "7.2.0.192.zen.test."},
		{c2, "192.0.2.7", 1, "[[] [127.0.0.3] []]", "7.2.0.192.wl.test."},
		{c1, "192.0.2.8", 0, "[[] []]", "8.2.0.192.zen.test."},
	}
	for i, st := range steps {
		st.c.CheckIPInto(ctx, netip.MustParseAddr(st.ip), &v)
		want := st.c.CheckIP(ctx, netip.MustParseAddr(st.ip))
		var codes []string
		for _, l := range v.Lists {
			codes = append(codes, fmt.Sprint(l.Codes))
		}
		got := "[" + strings.Join(codes, " ") + "]"
		if v.Subject != st.ip || v.Score != st.score || got != st.codes || v.Lists[0].Query != st.query0 ||
			v.Score != want.Score || len(v.Lists) != len(want.Lists) {
			t.Errorf("step %d: CheckIPInto(%s) = subject %s score %d codes %s query %s; want %s %d %s %s (CheckIP score %d)",
				i, st.ip, v.Subject, v.Score, got, v.Lists[0].Query, st.ip, st.score, st.codes, st.query0, want.Score)
		}
	}
	c1.CheckIPInto(ctx, netip.Addr{}, &v)
	if !errors.Is(v.Err, dnsbl.ErrBadIP) || len(v.Lists) != 0 || v.Score != 0 {
		t.Errorf("CheckIPInto(invalid) = %+v, want ErrBadIP and no lists", v)
	}
}

// ClientCheck reuses verdict memory between evaluations; concurrent
// sessions for different clients must each get their own decision.
func TestClientCheckConcurrentClients(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("zen.test", "192.0.2.1", "127.0.0.2")
	srv.Zone("zen.test", 60)
	c := newChecker(t, srv, dnsbl.Config{}, "zen.test")
	check := c.ClientCheck()
	ctx := ctxTimeout(t, 10*time.Second)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			ip := []string{"192.0.2.1", "192.0.2.2"}[i%2]
			res := check(ctx, session(ip))
			want := smtpcheck.Continue
			if ip == "192.0.2.1" {
				want = smtpcheck.Reject
			}
			if res.Action != want || res.Reason.Matched != ip {
				t.Errorf("ClientCheck(%s) = %v matched %s, want %v", ip, res.Action, res.Reason.Matched, want)
			}
		})
	}
	wg.Wait()
}

func TestCachedVerdict(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("zen.test", client, "127.0.0.2")
	srv.Zone("empty.test", 60)
	c := newChecker(t, srv, dnsbl.Config{}, "zen.test", "empty.test")
	ip := netip.MustParseAddr(client)
	c.CheckIP(t.Context(), ip)
	v := c.CheckIP(t.Context(), ip)
	if !v.Lists[0].Cached || !v.Lists[1].Cached || !v.Lists[0].Listed || v.Lists[1].Listed {
		t.Errorf("second CheckIP = %+v, want both answers from the cache, zen listed, empty not", v.Lists)
	}
	if n := len(srv.Queries()); n != 2 {
		t.Errorf("server queries for two evaluations = %d, want 2 (the second from the cache, NXDOMAIN included)", n)
	}
}

func TestReplies(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("zen.test", client, "127.0.0.2", "Listed, see https://zen.test/q?"+client)
	srv.ListIP("key123.dq.test", client, "127.0.0.4")
	postfix := dnsbl.MustTemplate(554, "5.7.1", dnsbl.PostfixTemplate)
	tests := []struct {
		name     string
		cfg      dnsbl.Config
		spec     string
		want     string
		txtQuery int // TXT queries the reply needs
	}{
		{"smtpf catalog", dnsbl.Config{}, "zen.test",
			"550 5.7.0 unknown [192.0.2.99] black listed by zen.test", 0},
		{"postfix catalog with TXT", dnsbl.Config{Style: dnsbl.StylePostfix}, "zen.test",
			"554 5.7.1 Service unavailable; Client host [192.0.2.99] blocked using zen.test; Listed, see https://zen.test/q?192.0.2.99", 1},
		{"template with TXT", dnsbl.Config{Reply: postfix}, "zen.test",
			"554 5.7.1 Service unavailable; Client host [192.0.2.99] blocked using zen.test; Listed, see https://zen.test/q?192.0.2.99", 1},
		{"template without TXT", dnsbl.Config{Reply: dnsbl.MustTemplate(550, "5.7.1", "$ip listed by $zone ($code)")}, "zen.test",
			"550 5.7.1 192.0.2.99 listed by zen.test (127.0.0.2)", 0},
		{"hidden key zone", dnsbl.Config{HideZones: true, Style: dnsbl.StylePostfix}, "key123.dq.test",
			"554 5.7.1 Service unavailable; Client host [192.0.2.99] blocked using dnsbl", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ClearLog()
			c := newChecker(t, srv, tt.cfg, tt.spec)
			res := c.ClientCheck()(ctxTimeout(t, 5*time.Second), session(client))
			if got := res.Reply.Error(); res.Action != smtpcheck.Reject || got != tt.want {
				t.Errorf("ClientCheck reply = %v %q, want reject %q", res.Action, got, tt.want)
			}
			if n := srv.Count(strings.SplitN(srv.Queries()[0].Name, " ", 2)[0], dns.TypeTXT); n != tt.txtQuery {
				t.Errorf("TXT queries = %d, want %d", n, tt.txtQuery)
			}
			if tt.cfg.HideZones && strings.Contains(res.Reply.String()+res.Reason.String(), "key123") {
				t.Errorf("hidden zone leaks: reply %q reason %q", res.Reply.String(), res.Reason.String())
			}
		})
	}
}

func TestThresholds(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("a.test", client, "127.0.0.2")
	srv.ListIP("b.test", client, "127.0.0.2")
	specs := []string{"a.test*2", "b.test*3"} // score 5
	tests := []struct {
		name string
		th   smtpcheck.Thresholds
		want smtpcheck.Action
	}{
		{"default rejects", smtpcheck.Thresholds{}, smtpcheck.Reject},
		{"reject reached", smtpcheck.Thresholds{Tag: 1, TempFail: 3, Reject: 5}, smtpcheck.Reject},
		{"tempfail reached", smtpcheck.Thresholds{Tag: 1, TempFail: 4, Reject: 6}, smtpcheck.TempFail},
		{"tag reached", smtpcheck.Thresholds{Tag: 5, Reject: 10}, smtpcheck.Tag},
		{"nothing reached", smtpcheck.Thresholds{Tag: 6, Reject: 10}, smtpcheck.Continue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, srv, dnsbl.Config{Thresholds: tt.th}, specs...)
			res := c.ClientCheck()(ctxTimeout(t, 5*time.Second), session(client))
			if res.Action != tt.want || res.Score != 5 {
				t.Errorf("ClientCheck with %+v = %v score %v, want %v score 5", tt.th, res.Action, res.Score, tt.want)
			}
			if tt.want == smtpcheck.Tag && len(res.Headers) != 1 {
				t.Errorf("tag result headers = %v, want one X-DNSBL header", res.Headers)
			}
		})
	}
}

func TestDomainChecks(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListDomain("dbl.test", "spam.example", "127.0.1.2")
	srv.ListDomain("dbl.test", "ptr.example", "127.0.1.2")
	srv.Zone("example", 60)
	srv.Add("99.2.0.192.in-addr.arpa. PTR mail.ptr.example.", "mail.ptr.example. A 192.0.2.1")
	r := newResolver(t, srv)
	c := newChecker(t, srv, dnsbl.Config{Resolver: r, Kind: dnsbl.DomainList}, "dbl.test")
	ctx := ctxTimeout(t, 5*time.Second)

	s := session(client)
	s.SetHelo("EHLO", "Spam.Example.")
	s.Mail = &smtpcheck.Mail{From: smtpcheck.ParseAddress("<a@spam.example>")}
	if res := c.HeloCheck()(ctx, s); res.Action != smtpcheck.Reject {
		t.Errorf("HeloCheck(Spam.Example.) = %v, want reject", res.Action)
	}
	if res := c.SenderCheck()(ctx, s); res.Action != smtpcheck.Reject ||
		res.Reply.Error() != "550 5.7.0 spam.example [192.0.2.99] black listed by dbl.test" {
		t.Errorf("SenderCheck(a@spam.example) = %v %q, want reject naming the domain", res.Action, res.Reply.Error())
	}
	// The PTR name mail.ptr.example is not listed itself; the list has
	// ptr.example, so the reverse-client check continues, as Postfix does.
	if res := c.ReverseClientNameCheck()(ctx, s); res.Action != smtpcheck.Continue {
		t.Errorf("ReverseClientNameCheck = %v, want continue", res.Action)
	}
	srv.ListDomain("dbl.test", "mail.ptr.example", "127.0.1.2")
	r.Flush()
	if res := c.ReverseClientNameCheck()(ctx, s); res.Action != smtpcheck.Reject {
		t.Errorf("ReverseClientNameCheck(mail.ptr.example) = %v, want reject", res.Action)
	}
	// Not forward-confirmed (A is 192.0.2.1, client 192.0.2.99): the
	// verified-name check has no name to look up.
	if res := c.ClientNameCheck()(ctx, s); res.Action != smtpcheck.Continue {
		t.Errorf("ClientNameCheck(unconfirmed) = %v, want continue", res.Action)
	}

	srv.ClearLog()
	for _, helo := range []string{"[192.0.2.1]", "192.0.2.1", "evil\x00.spam.example", "a..b", "localhost"} {
		s.SetHelo("HELO", helo)
		if res := c.HeloCheck()(ctx, s); res.Action != smtpcheck.Continue {
			t.Errorf("HeloCheck(%q) = %v, want continue", helo, res.Action)
		}
	}
	if q := srv.Queries(); len(q) != 0 {
		t.Errorf("invalid HELO names caused queries: %v", q)
	}
}

func TestHealthProbe(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListIP("good.test", "127.0.0.2", "127.0.0.2")
	srv.ListIP("good.test", client, "127.0.0.2")
	srv.Zone("dead.test", 60) // lists nothing, not even its test point
	srv.ListIP("dead.test", client, "127.0.0.2")
	srv.ListIP("wild.test", "127.0.0.2", "127.0.0.2")
	srv.ListIP("wild.test", "127.0.0.1", "127.0.0.2") // lists everything
	srv.ListIP("refusing.test", "127.0.0.2", "127.255.255.254")
	srv.ListIP("v6.test", "127.0.0.2", "127.0.0.2")
	srv.Add("2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.v6.test. A 127.0.0.2")
	srv.ListIP("v6broken.test", "127.0.0.2", "127.0.0.2")

	var logs bytes.Buffer
	lists, _ := dnsbl.ParseLists("good.test", "dead.test", "wild.test", "refusing.test", "v6.test", "v6broken.test")
	lists[4].IPv6, lists[5].IPv6 = true, true
	r := newResolver(t, srv)
	c := newChecker(t, srv, dnsbl.Config{Resolver: r, Lists: lists, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	st := c.Probe(ctxTimeout(t, 5*time.Second))
	want := map[string]bool{"good.test": true, "dead.test": false, "wild.test": false, "refusing.test": false, "v6.test": true, "v6broken.test": false}
	for _, z := range st {
		if z.Healthy != want[z.Zone] || (z.Reason == "") != want[z.Zone] {
			t.Errorf("Probe: %s healthy = %v (%s), want %v", z.Zone, z.Healthy, z.Reason, want[z.Zone])
		}
	}
	if n := strings.Count(logs.String(), "zone unhealthy"); n != 4 {
		t.Errorf("unhealthy log lines = %d, want 4:\n%s", n, logs.String())
	}
	// Unhealthy zones are skipped: dead.test is not asked about the client.
	srv.ClearLog()
	v := c.CheckIP(ctxTimeout(t, 5*time.Second), netip.MustParseAddr(client))
	if !v.Lists[1].Skipped || srv.Count("99.2.0.192.dead.test", dns.TypeA) != 0 {
		t.Errorf("CheckIP: dead.test skipped = %v, queried %d times; want skipped, 0", v.Lists[1].Skipped, srv.Count("99.2.0.192.dead.test", dns.TypeA))
	}
	if !v.Lists[0].Listed {
		t.Errorf("CheckIP: good.test did not list the client")
	}
	// The zone recovers: the next probe clears it and logs so.
	srv.ListIP("dead.test", "127.0.0.2", "127.0.0.2")
	r.Flush() // the failed probe's NXDOMAIN is cached for a minute
	if st := c.Probe(ctxTimeout(t, 5*time.Second)); !st[1].Healthy {
		t.Errorf("Probe after recovery: dead.test = %+v, want healthy", st[1])
	}
	if !strings.Contains(logs.String(), "healthy again") {
		t.Errorf("no recovery log line:\n%s", logs.String())
	}
}

// A domain list is probed with the RFC 5782 names TEST and INVALID, which
// DomainQueryName builds; a list that does not list TEST is unhealthy.
func TestHealthProbeDomainList(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListDomain("dbl.test", "test", "127.0.1.2")
	srv.ListDomain("dbl.test", "spam.example", "127.0.1.2")
	srv.Zone("dead.test", 60)
	srv.ListDomain("wild.test", "test", "127.0.1.2")
	srv.ListDomain("wild.test", "invalid", "127.0.1.2")
	c := newChecker(t, srv, dnsbl.Config{Kind: dnsbl.DomainList}, "dbl.test", "dead.test", "wild.test")
	st := c.Probe(ctxTimeout(t, 5*time.Second))
	if !st[0].Healthy || st[1].Healthy || st[2].Healthy {
		t.Errorf("Probe = %+v; want dbl.test healthy, dead.test and wild.test not", st)
	}
	if !strings.Contains(st[1].Reason, "test.dead.test. is not listed") || !strings.Contains(st[2].Reason, "invalid.wild.test. is listed") {
		t.Errorf("Probe reasons = %q, %q; want the test names", st[1].Reason, st[2].Reason)
	}
	for _, q := range []string{"test.dbl.test.", "invalid.dbl.test."} {
		if srv.Count(q, dns.TypeA) != 1 {
			t.Errorf("queries for %s = %d, want 1", q, srv.Count(q, dns.TypeA))
		}
		if want, err := dnsbl.DomainQueryName(strings.TrimSuffix(q, ".dbl.test."), "dbl.test"); err != nil || want != q {
			t.Errorf("DomainQueryName of the probe's %s = %q, %v", q, want, err)
		}
	}
	// A client calling itself TEST is not asked about.
	srv.ClearLog()
	s := session(client)
	s.SetHelo("HELO", "TEST")
	if res := c.HeloCheck()(ctxTimeout(t, 5*time.Second), s); res.Action != smtpcheck.Continue || len(srv.Queries()) != 0 {
		t.Errorf("HeloCheck(TEST) = %v with queries %v; want continue, none", res.Action, srv.Queries())
	}
}

func TestNewErrors(t *testing.T) {
	srv := dnstest.New(t)
	r := newResolver(t, srv)
	if _, err := dnsbl.New(dnsbl.Config{Lists: []dnsbl.List{{Zone: "zen.test"}}}); err == nil {
		t.Errorf("New without a resolver: no error")
	}
	if _, err := dnsbl.New(dnsbl.Config{Resolver: r}); err == nil {
		t.Errorf("New without lists: no error")
	}
	if _, err := dnsbl.New(dnsbl.Config{Resolver: r, Lists: []dnsbl.List{{Zone: "bad zone"}}}); !errors.Is(err, dnsbl.ErrBadZone) {
		t.Errorf("New with a bad zone: error %v, want ErrBadZone", err)
	}
}

func TestTemplate(t *testing.T) {
	tests := []struct {
		text string
		vars map[string]string
		want string
	}{
		{dnsbl.PostfixTemplate, map[string]string{"class": "Client host", "what": "192.0.2.1", "zone": "zen.test"},
			"Service unavailable; Client host [192.0.2.1] blocked using zen.test"},
		{dnsbl.PostfixTemplate, map[string]string{"class": "Client host", "what": "192.0.2.1", "zone": "zen.test", "text": "why"},
			"Service unavailable; Client host [192.0.2.1] blocked using zen.test; why"},
		{"$rbl_class [$client_address] ${rbl_reason:no reason} $$5", map[string]string{"class": "Helo command", "ip": "192.0.2.1"},
			"Helo command [192.0.2.1] no reason $5"},
	}
	for _, tt := range tests {
		tpl, err := dnsbl.NewTemplate(550, "5.7.1", tt.text)
		if err != nil {
			t.Fatalf("NewTemplate(%q): %v", tt.text, err)
		}
		if got := tpl.Expand(tt.vars); got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
	for _, bad := range []string{"$nosuch", "${zone", "${text?x", "${zone!x}"} {
		if _, err := dnsbl.NewTemplate(550, "5.7.1", bad); err == nil {
			t.Errorf("NewTemplate(%q): no error", bad)
		}
	}
	if _, err := dnsbl.NewTemplate(550, "4.7.1", "x"); err == nil {
		t.Errorf("NewTemplate(550, 4.7.1): no error for mismatched classes")
	}
}

func TestRunHealth(t *testing.T) {
	srv := dnstest.New(t)
	srv.Zone("gone.test", 60)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := newChecker(t, srv, dnsbl.Config{Now: func() time.Time { return at }}, "gone.test")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		c.RunHealth(ctx, time.Hour)
		close(done)
	}()
	// The first probe runs at once; wait for its result, then stop.
	deadline := time.Now().Add(10 * time.Second)
	for c.Status()[0].Checked.IsZero() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("RunHealth did not return after its context ended")
	}
	if st := c.Status()[0]; st.Healthy || !st.Checked.Equal(at) {
		t.Errorf("Status() after RunHealth = %+v, want unhealthy, checked at %v", st, at)
	}
}
