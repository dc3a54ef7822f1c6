package reputation

import (
	"context"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/storekind"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

// forEachStore runs fn on a Reputation over each kind of store. Redis
// expires records on its own clock; the decay and the block are computed
// from the times inside each record, so the test clock rules there too.
func forEachStore(t *testing.T, cfg Config, fn func(t *testing.T, r *Reputation, clk *storetest.Clock)) {
	for _, kind := range storekind.Names() {
		t.Run(kind, func(t *testing.T) {
			clk := storetest.NewClock()
			s, prefix := storekind.Open(t, kind, clk)
			prefix += "rep:"
			c := cfg
			c.Store, c.Prefix, c.Now = s, prefix, clk.Now
			r, err := New(c)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			fn(t, r, clk)
		})
	}
}

var bot = Client{IP: netip.MustParseAddr("192.0.2.7"), Domain: "example.net"}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-3 }

func TestLearnDecays(t *testing.T) {
	forEachStore(t, Config{HalfLife: time.Hour}, func(t *testing.T, r *Reputation, clk *storetest.Clock) {
		ctx := t.Context()
		if err := r.Learn(ctx, bot, 0, 8); err != nil {
			t.Fatalf("Learn: %v", err)
		}
		sc, err := r.Lookup(ctx, bot)
		if err != nil {
			t.Fatal(err)
		}
		if !near(sc.IP.Bad, 8) || !near(sc.Net.Bad, 8) || !near(sc.Domain.Bad, 8) {
			t.Fatalf("Lookup = %v, want 8 bad at address, network and domain", sc)
		}
		if sc.Value() >= 0 {
			t.Errorf("Value = %v, want below zero", sc.Value())
		}
		clk.Advance(2 * time.Hour) // two half-lives: a quarter
		sc, _ = r.Lookup(ctx, bot)
		if !near(sc.IP.Bad, 2) {
			t.Errorf("after two half-lives IP.Bad = %v, want 2", sc.IP.Bad)
		}
		// A neighbour in the same /24 inherits the network's record only.
		nb, _ := r.Lookup(ctx, Client{IP: netip.MustParseAddr("192.0.2.200")})
		if nb.IP.Total() != 0 || !near(nb.Net.Bad, 2) || nb.Value() >= 0 {
			t.Errorf("neighbour = %v, want no address record, network bad 2, value below zero", nb)
		}
		// Good outcomes bring the client back above zero.
		r.Learn(ctx, bot, 20, 0)
		sc, _ = r.Lookup(ctx, bot)
		if sc.Value() <= 0 {
			t.Errorf("after 20 good: Value = %v, want above zero", sc.Value())
		}
	})
}

func TestBlockAfterRepeatedRefusals(t *testing.T) {
	forEachStore(t, Config{BlockAfter: 5, BlockFor: 30 * time.Minute}, func(t *testing.T, r *Reputation, clk *storetest.Clock) {
		ctx := t.Context()
		for i := 0; i < 4; i++ {
			r.Learn(ctx, bot, 0, 1)
			clk.Advance(time.Second) // refusals seconds apart decay a hair
		}
		if sc, _ := r.Lookup(ctx, bot); sc.Blocked(clk.Now()) {
			t.Fatalf("blocked after 4 refusals, want 5")
		}
		r.Learn(ctx, bot, 0, 1)
		sc, _ := r.Lookup(ctx, bot)
		if !sc.Blocked(clk.Now()) {
			t.Fatalf("not blocked after 5 refusals: %v", sc)
		}
		// Only the address is blocked, not its network.
		if nb, _ := r.Lookup(ctx, Client{IP: netip.MustParseAddr("192.0.2.8")}); nb.Blocked(clk.Now()) {
			t.Errorf("neighbour blocked")
		}
		clk.Advance(31 * time.Minute)
		if sc, _ := r.Lookup(ctx, bot); sc.Blocked(clk.Now()) {
			t.Errorf("still blocked after BlockFor")
		}
	})
}

func TestTarpit(t *testing.T) {
	r, _ := New(Config{Store: store.NewMemory(store.MemoryOptions{}), TarpitStep: time.Second, TarpitMax: 5 * time.Second})
	for _, tc := range []struct {
		ip   Counts
		want time.Duration
	}{
		{Counts{}, 0},
		{Counts{Bad: 2}, 2 * time.Second},
		{Counts{Bad: 100}, 5 * time.Second},
		{Counts{Good: 10, Bad: 3}, 0}, // more good than bad
	} {
		if got := r.Tarpit(Score{IP: tc.ip}); got != tc.want {
			t.Errorf("Tarpit(%+v) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

func TestOrgDomain(t *testing.T) {
	for in, want := range map[string]string{
		"mail.example.com":        "example.com",
		"MX1.Mail.Example.CO.UK.": "example.co.uk",
		"example.com":             "example.com",
		"com":                     "",
		"[192.0.2.1]":             "",
		"192.0.2.1":               "",
		"":                        "",
	} {
		if got := OrgDomain(in); got != want {
			t.Errorf("OrgDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRecordText(t *testing.T) {
	for _, in := range []string{"", "1;2", "x;1;2", "1;-1;2", "NaN;1;2", "Inf;0;1"} {
		if _, err := unmarshal([]byte(in)); err == nil {
			t.Errorf("unmarshal(%q) = nil error, want one", in)
		}
	}
	r := record{Counts: Counts{Good: 1.5, Bad: 2}, At: time.Unix(100, 0), BlockedUntil: time.Unix(200, 0)}
	got, err := unmarshal(r.marshal())
	if err != nil || got != r {
		t.Errorf("round trip of %+v = %+v, %v", r, got, err)
	}
}

func FuzzRecord(f *testing.F) {
	f.Add([]byte("1.5;2;100;200"))
	f.Add([]byte("0;0;0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := unmarshal(b)
		if err != nil {
			return
		}
		if _, err := unmarshal(r.marshal()); err != nil {
			t.Fatalf("%q reads, but its rewrite %q does not: %v", b, r.marshal(), err)
		}
	})
}

// The whole session path: Check at connect, Observe around the stages,
// Done at the end; a blocked client gets 421 and is disconnected.
func TestSessionPath(t *testing.T) {
	forEachStore(t, Config{BlockAfter: 3}, func(t *testing.T, r *Reputation, clk *storetest.Clock) {
		ctx := t.Context()
		refuse := Observe(func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			return smtpcheck.Result{Action: smtpcheck.Reject}
		})
		session := func(trusted, auth bool) *smtpcheck.Session {
			s := &smtpcheck.Session{Conn: smtpcheck.Conn{ClientIP: bot.IP, Trusted: trusted}}
			if auth {
				s.Conn.AuthUser = "alice"
			}
			s.Stage = smtpcheck.StageConnect
			if res := r.Check()(ctx, s); res.Action != smtpcheck.Continue {
				t.Fatalf("connect = %v, want continue", res.Action)
			}
			s.Stage = smtpcheck.StageRcpt
			refuse(ctx, s)
			refuse(ctx, s)
			if err := r.Done(ctx, s); err != nil {
				t.Fatalf("Done: %v", err)
			}
			return s
		}
		session(true, false) // mynetworks: nothing learnt
		session(false, true) // authenticated: nothing learnt
		if sc, _ := r.Lookup(ctx, bot); sc.IP.Total() != 0 {
			t.Fatalf("learnt from trusted/authenticated: %v", sc)
		}
		session(false, false) // two refusals
		s := session(false, false)
		if sc, ok := ScoreOf(s); !ok || !near(sc.IP.Bad, 2) {
			t.Errorf("ScoreOf = %v, %v, want 2 bad read at connect", sc, ok)
		}
		// Four refusals: blocked.
		s = &smtpcheck.Session{Conn: smtpcheck.Conn{ClientIP: bot.IP}, Stage: smtpcheck.StageConnect}
		res := r.Check()(ctx, s)
		if res.Action != smtpcheck.Disconnect || res.Reply.Code() != 421 || !res.Reply.IsTransient() {
			t.Fatalf("blocked client: %v %v, want disconnect with 421", res.Action, res.Reply)
		}
		if !strings.Contains(res.Reply.String(), "192.0.2.7") || res.Reason.Check != Name {
			t.Errorf("block reply %q reason %v: want the address named and the check", res.Reply, res.Reason)
		}
	})
}
