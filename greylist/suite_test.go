package greylist

import (
	"github.com/smtppolicy/smtppolicy/internal/storekind"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

// clock is the manual clock shared by a Greylist and its store.
type clock = storetest.Clock

func newClock() *clock { return storetest.NewClock() }

// storeMaker makes a fresh store for one test, driven by clk where the
// store takes a clock, and the key prefix the Greylist should use.
type storeMaker func(t testing.TB, clk *clock) (store.Store, string)

const redisAddr = redistest.Addr

func redisClient(t testing.TB, addr string) *redis.Client { return redistest.Client(t, addr) }
func randomPrefix(t testing.TB, c *redis.Client) string   { return redistest.Prefix(t, c) }

// forEachStore runs fn against every store.
func forEachStore(t *testing.T, fn func(t *testing.T, mk storeMaker)) {
	for _, kind := range storekind.Names() {
		t.Run(kind, func(t *testing.T) {
			fn(t, func(t testing.TB, clk *clock) (store.Store, string) { return storekind.Open(t, kind, clk) })
		})
	}
}

func newTestGreylist(t *testing.T, cfg Config) *Greylist {
	t.Helper()
	if cfg.Store == nil {
		s := store.NewMemory(store.MemoryOptions{Now: cfg.Now})
		t.Cleanup(func() { s.Close() })
		cfg.Store = s
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

func suiteGreylist(t *testing.T, mk storeMaker, cfg Config) (*Greylist, *clock) {
	clk := newClock()
	s, prefix := mk(t, clk)
	cfg.Store, cfg.Now = s, clk.Now
	if prefix != "" {
		cfg.KeyPrefix = prefix
	}
	return newTestGreylist(t, cfg), clk
}

var tripA = Triplet{Client: netip.MustParsePrefix("192.0.2.0/24"), Sender: "a@example.org", Rcpt: "b@example.net"}

func attempt(t *testing.T, g *Greylist, tr Triplet, hash string) Decision {
	ctx := t.Context()
	t.Helper()
	d, err := g.Attempt(ctx, tr, hash)
	if err != nil {
		t.Fatalf("Attempt(%v) error: %v", tr, err)
	}
	return d
}

func wantOutcome(t *testing.T, d Decision, o Outcome, wait time.Duration) {
	t.Helper()
	if d.Outcome != o || (wait >= 0 && d.Wait != wait) {
		t.Errorf("Attempt = %v (wait %v), want %v (wait %v)", d.Outcome, d.Wait, o, wait)
	}
}

func TestTiming(t *testing.T) {
	forEachStore(t, func(t *testing.T, mk storeMaker) {
		t.Run("delay and early retry keeps the clock", func(t *testing.T) {
			g, clk := suiteGreylist(t, mk, Config{})
			wantOutcome(t, attempt(t, g, tripA, ""), FirstSeen, 5*time.Minute)
			clk.Advance(2 * time.Minute)
			wantOutcome(t, attempt(t, g, tripA, ""), EarlyRetry, 3*time.Minute)
			clk.Advance(2*time.Minute + 59*time.Second)
			wantOutcome(t, attempt(t, g, tripA, ""), EarlyRetry, time.Second)
			clk.Advance(time.Second)
			d := attempt(t, g, tripA, "")
			wantOutcome(t, d, Passed, 0)
			if d.Delayed != 5*time.Minute {
				t.Errorf("Delayed = %v, want 5m0s", d.Delayed)
			}
			clk.Advance(time.Hour)
			wantOutcome(t, attempt(t, g, tripA, ""), Known, 0)
		})
		t.Run("custom delay", func(t *testing.T) {
			g, clk := suiteGreylist(t, mk, Config{Delay: 30 * time.Second})
			wantOutcome(t, attempt(t, g, tripA, ""), FirstSeen, 30*time.Second)
			clk.Advance(30 * time.Second)
			wantOutcome(t, attempt(t, g, tripA, ""), Passed, 0)
		})
		t.Run("retry window forgets an unconfirmed record", func(t *testing.T) {
			g, clk := suiteGreylist(t, mk, Config{})
			wantOutcome(t, attempt(t, g, tripA, ""), FirstSeen, -1)
			clk.Advance(48*time.Hour + time.Second)
			wantOutcome(t, attempt(t, g, tripA, ""), FirstSeen, 5*time.Minute)
		})
		t.Run("retry just inside the window passes", func(t *testing.T) {
			g, clk := suiteGreylist(t, mk, Config{})
			wantOutcome(t, attempt(t, g, tripA, ""), FirstSeen, -1)
			clk.Advance(48 * time.Hour)
			wantOutcome(t, attempt(t, g, tripA, ""), Passed, 0)
		})
		t.Run("max age refreshed on each pass", func(t *testing.T) {
			g, clk := suiteGreylist(t, mk, Config{AutoAllow: -1})
			attempt(t, g, tripA, "")
			clk.Advance(5 * time.Minute)
			wantOutcome(t, attempt(t, g, tripA, ""), Passed, 0)
			clk.Advance(34 * 24 * time.Hour)
			wantOutcome(t, attempt(t, g, tripA, ""), Known, 0)
			clk.Advance(34 * 24 * time.Hour) // 68 days after the first pass
			wantOutcome(t, attempt(t, g, tripA, ""), Known, 0)
			clk.Advance(35*24*time.Hour + time.Second)
			wantOutcome(t, attempt(t, g, tripA, ""), FirstSeen, 5*time.Minute)
		})
		t.Run("first seen in the future restarts", func(t *testing.T) {
			ctx := t.Context()
			g, clk := suiteGreylist(t, mk, Config{})
			future := record{First: clk.Now().Add(time.Hour).Unix()}
			if err := g.cfg.Store.Set(ctx, g.Key(tripA), future.encode(), time.Hour); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, attempt(t, g, tripA, ""), FirstSeen, 5*time.Minute)
		})
		t.Run("damaged record is replaced", func(t *testing.T) {
			ctx := t.Context()
			g, _ := suiteGreylist(t, mk, Config{})
			if err := g.cfg.Store.Set(ctx, g.Key(tripA), []byte("garbage\x00"), time.Hour); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, attempt(t, g, tripA, ""), FirstSeen, 5*time.Minute)
		})
	})
}

// passTriplet greylists tr and passes it after the delay.
func passTriplet(t *testing.T, g *Greylist, clk *clock, tr Triplet) {
	t.Helper()
	attempt(t, g, tr, "")
	clk.Advance(5 * time.Minute)
	wantOutcome(t, attempt(t, g, tr, ""), Passed, 0)
}

func TestAutoAllow(t *testing.T) {
	forEachStore(t, func(t *testing.T, mk storeMaker) {
		rcpt := func(i int) Triplet {
			tr := tripA
			tr.Rcpt = "user" + string(rune('a'+i)) + "@example.net"
			return tr
		}
		t.Run("passes within an hour count once", func(t *testing.T) {
			g, clk := suiteGreylist(t, mk, Config{})
			for i := range 6 {
				passTriplet(t, g, clk, rcpt(i)) // 6 passes, 30 minutes
			}
			wantOutcome(t, attempt(t, g, rcpt(10), ""), FirstSeen, -1)
		})
		t.Run("after five hourly passes the client is allowed", func(t *testing.T) {
			g, clk := suiteGreylist(t, mk, Config{})
			for i := range 5 {
				passTriplet(t, g, clk, rcpt(i))
				if i < 4 {
					wantOutcome(t, attempt(t, g, rcpt(20+i), ""), FirstSeen, -1)
				}
				clk.Advance(time.Hour)
			}
			d := attempt(t, g, rcpt(10), "")
			if d.Outcome != Known || d.Allowed != "auto-allow" {
				t.Errorf("Attempt after 5 passes = %v (%q), want known (auto-allow)", d.Outcome, d.Allowed)
			}
			other := rcpt(11)
			other.Client = netip.MustParsePrefix("198.51.100.0/24")
			wantOutcome(t, attempt(t, g, other, ""), FirstSeen, -1)
		})
		t.Run("custom count", func(t *testing.T) {
			g, clk := suiteGreylist(t, mk, Config{AutoAllow: 1})
			passTriplet(t, g, clk, rcpt(0))
			if d := attempt(t, g, rcpt(1), ""); d.Allowed != "auto-allow" {
				t.Errorf("Attempt after 1 pass with AutoAllow 1 = %v, want auto-allow", d.Outcome)
			}
		})
	})
}

func TestContentGreylisting(t *testing.T) {
	forEachStore(t, func(t *testing.T, mk storeMaker) {
		t.Run("same content passes", func(t *testing.T) {
			g, clk := suiteGreylist(t, mk, Config{})
			wantOutcome(t, attempt(t, g, tripA, "aaaa"), FirstSeen, -1)
			clk.Advance(6 * time.Minute)
			wantOutcome(t, attempt(t, g, tripA, "aaaa"), Passed, 0)
		})
		t.Run("different content after the delay is greylisted again", func(t *testing.T) {
			g, clk := suiteGreylist(t, mk, Config{})
			wantOutcome(t, attempt(t, g, tripA, "aaaa"), FirstSeen, -1)
			clk.Advance(6 * time.Minute)
			wantOutcome(t, attempt(t, g, tripA, "bbbb"), ContentChanged, 5*time.Minute)
			clk.Advance(3 * time.Minute)
			wantOutcome(t, attempt(t, g, tripA, "bbbb"), EarlyRetry, 2*time.Minute)
			clk.Advance(2 * time.Minute)
			wantOutcome(t, attempt(t, g, tripA, "bbbb"), Passed, 0)
		})
	})
}

func TestRaceOneRecord(t *testing.T) {
	forEachStore(t, func(t *testing.T, mk storeMaker) {
		ctx := t.Context()
		g, _ := suiteGreylist(t, mk, Config{})
		const n = 8
		var wg sync.WaitGroup
		outcomes := make([]Outcome, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := g.Attempt(ctx, tripA, "")
				if err != nil {
					t.Errorf("Attempt: %v", err)
				}
				outcomes[i] = d.Outcome
			}()
		}
		wg.Wait()
		news := 0
		for _, o := range outcomes {
			if o == FirstSeen {
				news++
			} else if o != EarlyRetry {
				t.Errorf("racing Attempt = %v, want new or early-retry", o)
			}
		}
		if news != 1 {
			t.Errorf("racing Attempts gave %d new outcomes, want exactly 1 (%v)", news, outcomes)
		}
		records := 0
		g.cfg.Store.Scan(ctx, g.cfg.KeyPrefix+tripletSpace, func(string, []byte) error { records++; return nil })
		if records != 1 {
			t.Errorf("records after the race = %d, want 1", records)
		}
	})
}

func TestReleaseAndPending(t *testing.T) {
	forEachStore(t, func(t *testing.T, mk storeMaker) {
		ctx := t.Context()
		g, clk := suiteGreylist(t, mk, Config{})
		tripB := tripA
		tripB.Rcpt = "c@example.net"
		attempt(t, g, tripA, "")
		attempt(t, g, tripB, "")
		var waiting []Waiting
		if err := g.Pending(ctx, func(w Waiting) error { waiting = append(waiting, w); return nil }); err != nil {
			t.Fatalf("Pending: %v", err)
		}
		if len(waiting) != 2 {
			t.Fatalf("Pending listed %d triplets, want 2: %+v", len(waiting), waiting)
		}
		for _, w := range waiting {
			if w.Triplet != tripA && w.Triplet != tripB {
				t.Errorf("Pending listed %v, want %v or %v", w.Triplet, tripA, tripB)
			}
			if !w.Ready.Equal(clk.Now().Add(5 * time.Minute)) {
				t.Errorf("Ready = %v, want %v", w.Ready, clk.Now().Add(5*time.Minute))
			}
		}
		if err := g.ReleaseKey(ctx, g.Key(tripB)); err != nil {
			t.Fatalf("ReleaseKey: %v", err)
		}
		if err := g.Release(ctx, tripA); err != nil {
			t.Fatalf("Release: %v", err)
		}
		wantOutcome(t, attempt(t, g, tripA, ""), Known, 0)
		wantOutcome(t, attempt(t, g, tripB, ""), Known, 0)
		n := 0
		g.Pending(ctx, func(Waiting) error { n++; return nil })
		if n != 0 {
			t.Errorf("Pending after release listed %d, want 0", n)
		}
		if err := g.ReleaseKey(ctx, g.cfg.KeyPrefix+"t:nothing here"); err != ErrNotFound {
			t.Errorf("ReleaseKey(absent) = %v, want ErrNotFound", err)
		}
	})
}

func TestCheck(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	g := newTestGreylist(t, Config{Now: clk.Now, Hostname: "mx.example.net"})
	check := g.Check()
	sess := func() *smtpcheck.Session {
		return checktest.NewSession("192.0.2.10").Helo("client.example.org").From("a@example.org").To("b@example.net").Session()
	}
	r := check(ctx, sess())
	checktest.AssertVerdict(t, r, smtpcheck.DeferIfPermit, 451, "4.7.1", Name)
	checktest.AssertReplyContains(t, r, "try again in 300 seconds")
	checktest.AssertRule(t, r, "new", "192.0.2.0/24 <a@example.org> <b@example.net>")

	clk.Advance(100 * time.Second)
	r = check(ctx, sess())
	checktest.AssertReplyContains(t, r, "try again in 200 seconds")
	checktest.AssertRule(t, r, "early-retry", "")

	clk.Advance(200 * time.Second)
	s := sess()
	r = check(ctx, s)
	checktest.AssertVerdict(t, r, smtpcheck.Continue, 0, "", Name)
	if len(r.Headers) != 1 || r.Headers[0].Name != "X-Greylist" || !strings.HasPrefix(r.Headers[0].Value, "delayed 300 seconds by smtppolicy at mx.example.net; ") {
		t.Errorf("passing Check headers = %v, want X-Greylist: delayed 300 seconds ...", r.Headers)
	}
	// a second recipient of the same transaction: no second header
	s.Rcpt = smtpcheck.ParseAddress("b@example.net")
	if r := check(ctx, s); len(r.Headers) != 0 {
		t.Errorf("known triplet Check headers = %v, want none", r.Headers)
	}
}

func TestCheckOptions(t *testing.T) {
	t.Run("Exchange 4.2.0", func(t *testing.T) {
		ctx := t.Context()
		g := newTestGreylist(t, Config{Exchange: true})
		r := g.Check()(ctx, checktest.NewSession("192.0.2.10").From("a@example.org").To("b@example.net").Session())
		checktest.AssertVerdict(t, r, smtpcheck.DeferIfPermit, 451, "4.2.0", Name)
	})
	t.Run("TempFail", func(t *testing.T) {
		ctx := t.Context()
		g := newTestGreylist(t, Config{TempFail: true})
		r := g.Check()(ctx, checktest.NewSession("192.0.2.10").From("a@example.org").To("b@example.net").Session())
		checktest.AssertVerdict(t, r, smtpcheck.TempFail, 451, "4.7.1", Name)
	})
	t.Run("not at RCPT", func(t *testing.T) {
		ctx := t.Context()
		g := newTestGreylist(t, Config{})
		r := g.Check()(ctx, checktest.NewSession("192.0.2.10").From("a@example.org").Session())
		checktest.AssertVerdict(t, r, smtpcheck.Continue, 0, "", "")
	})
}

func TestStoreDown(t *testing.T) {
	s := store.NewMemory(store.MemoryOptions{})
	s.Close()
	sess := func() *smtpcheck.Session {
		return checktest.NewSession("192.0.2.10").From("a@example.org").To("b@example.net").Session()
	}
	t.Run("temp-fail", func(t *testing.T) {
		ctx := t.Context()
		g := newTestGreylist(t, Config{Store: s, OnError: smtpcheck.FailTemp})
		r := g.Check()(ctx, sess())
		checktest.AssertVerdict(t, r, smtpcheck.TempFail, 451, "4.3.0", Name)
		if r.Err == nil {
			t.Errorf("Check with the store down: Err = nil, want the store's error")
		}
	})
	t.Run("fail open by default", func(t *testing.T) {
		ctx := t.Context()
		g := newTestGreylist(t, Config{Store: s})
		r := g.Check()(ctx, sess())
		checktest.AssertVerdict(t, r, smtpcheck.Continue, 0, "", Name)
	})
	t.Run("fail closed", func(t *testing.T) {
		ctx := t.Context()
		g := newTestGreylist(t, Config{Store: s, OnError: smtpcheck.FailClosed})
		r := g.Check()(ctx, sess())
		checktest.AssertVerdict(t, r, smtpcheck.Reject, 554, "5.7.0", Name)
	})
}
