package access_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

func newAnvil(t testing.TB, cfg access.AnvilConfig) *access.Anvil {
	t.Helper()
	if cfg.Hostname == "" {
		cfg.Hostname = "mx.example.net"
	}
	a, err := access.NewAnvil(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func memStore(t testing.TB) (store.Store, *storetest.Clock) {
	c := storetest.NewClock()
	return store.NewMemory(store.MemoryOptions{Now: c.Now}), c
}

func wire(r smtpcheck.Result) string {
	b := r.DefaultReply().AppendTo(nil)
	return string(b)
}

func TestAnvilConnectionCount(t *testing.T) {
	st, _ := memStore(t)
	a := newAnvil(t, access.AnvilConfig{Store: st, ConnectionCountLimit: 2})
	check, ctx := a.Check(), t.Context()
	var open []*smtpcheck.Session
	for i := 1; i <= 2; i++ {
		s := checktest.NewSession("192.0.2.7").At(smtpcheck.StageConnect)
		if r := check(ctx, s); r.Action != smtpcheck.Continue {
			t.Fatalf("connection %d = %v, want continue", i, r.Action)
		}
		open = append(open, s)
	}
	third := checktest.NewSession("192.0.2.7").At(smtpcheck.StageConnect)
	r := check(ctx, third)
	checktest.AssertVerdict(t, r, smtpcheck.Disconnect, 421, "4.7.0", access.AnvilName)
	if got, want := wire(r), "421 4.7.0 mx.example.net Error: too many connections from 192.0.2.7\r\n"; got != want {
		t.Errorf("reply = %q, want %q", got, want)
	}
	checktest.AssertRule(t, r, "smtpd_client_connection_count_limit", "192.0.2.7")
	access.Release(ctx, third)
	// Another client has its own count.
	if r := check(ctx, checktest.NewSession("192.0.2.8").At(smtpcheck.StageConnect)); r.Action != smtpcheck.Continue {
		t.Errorf("another client = %v, want continue", r.Action)
	}
	// A connection that ends gives its place back.
	access.Release(ctx, open[0])
	access.Release(ctx, open[0]) // twice does nothing
	if r := check(ctx, checktest.NewSession("192.0.2.7").At(smtpcheck.StageConnect)); r.Action != smtpcheck.Continue {
		t.Errorf("after one closed = %v, want continue", r.Action)
	}
	if r := check(ctx, checktest.NewSession("192.0.2.7").At(smtpcheck.StageConnect)); r.Action != smtpcheck.Disconnect {
		t.Errorf("over the limit again = %v, want disconnect", r.Action)
	}
}

// TestAnvilDeadHostLapses: connections counted by a host that died (never
// released) stop counting after HoldFor.
func TestAnvilDeadHostLapses(t *testing.T) {
	st, clock := memStore(t)
	dead := newAnvil(t, access.AnvilConfig{Store: st, ConnectionCountLimit: 1, HoldFor: 10 * time.Minute})
	live := newAnvil(t, access.AnvilConfig{Store: st, ConnectionCountLimit: 1, HoldFor: 10 * time.Minute})
	ctx := t.Context()
	dead.Check()(ctx, checktest.NewSession("192.0.2.9").At(smtpcheck.StageConnect))
	if r := live.Check()(ctx, checktest.NewSession("192.0.2.9").At(smtpcheck.StageConnect)); r.Action != smtpcheck.Disconnect {
		t.Fatalf("second connection in the cluster = %v, want disconnect", r.Action)
	}
	clock.Advance(11 * time.Minute)
	if r := live.Check()(ctx, checktest.NewSession("192.0.2.9").At(smtpcheck.StageConnect)); r.Action != smtpcheck.Continue {
		t.Errorf("after the dead host's count lapsed = %v, want continue", r.Action)
	}
}

func TestAnvilRates(t *testing.T) {
	tests := []struct {
		name  string
		cfg   access.AnvilConfig
		stage smtpcheck.Stage
		want  string
		rule  string
	}{
		{"connection rate", access.AnvilConfig{ConnectionRateLimit: 3}, smtpcheck.StageConnect,
			"421 4.7.0 mx.example.net Error: too many connections from 2001:db8::25\r\n", "smtpd_client_connection_rate_limit"},
		{"message rate", access.AnvilConfig{MessageRateLimit: 3}, smtpcheck.StageMail,
			"450 4.7.1 Error: too much mail from 2001:db8::25\r\n", "smtpd_client_message_rate_limit"},
		{"recipient rate", access.AnvilConfig{RecipientRateLimit: 3}, smtpcheck.StageRcpt,
			"450 4.7.1 Error: too many recipients from 2001:db8::25\r\n", "smtpd_client_recipient_rate_limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, clock := memStore(t)
			tt.cfg.Store = st
			check, ctx := newAnvil(t, tt.cfg).Check(), t.Context()
			event := func() smtpcheck.Result {
				s := checktest.NewSession("2001:db8::25").From("a@example.org").To("b@example.com").At(tt.stage)
				r := check(ctx, s)
				access.Release(ctx, s)
				return r
			}
			for i := 1; i <= 3; i++ {
				if r := event(); r.Action != smtpcheck.Continue {
					t.Fatalf("event %d = %v, want continue", i, r.Action)
				}
			}
			r := event()
			if got := wire(r); got != tt.want {
				t.Errorf("event 4 = %q, want %q", got, tt.want)
			}
			checktest.AssertRule(t, r, tt.rule, "2001:db8::25")
			if tt.stage != smtpcheck.StageConnect && !r.Immediate {
				t.Error("rate refusal is held for a later stage; Postfix answers it at once")
			}
			clock.Advance(61 * time.Second)
			if r := event(); r.Action != smtpcheck.Continue {
				t.Errorf("next time unit = %v, want continue", r.Action)
			}
		})
	}
}

func TestAnvilExempt(t *testing.T) {
	st, _ := memStore(t)
	mynets := netip.MustParsePrefix("127.0.0.0/8")
	a := newAnvil(t, access.AnvilConfig{Store: st, ConnectionCountLimit: 1, MessageRateLimit: 1, RecipientRateLimit: 1,
		Exempt: func(s *smtpcheck.Session) bool { return mynets.Contains(s.Conn.ClientIP) }})
	check, ctx := a.Check(), t.Context()
	for i := range 3 {
		for _, stage := range []smtpcheck.Stage{smtpcheck.StageConnect, smtpcheck.StageMail, smtpcheck.StageRcpt} {
			if r := check(ctx, checktest.NewSession("127.0.0.1").From("a@b.example").To("c@d.example").At(stage)); r.Action != smtpcheck.Continue {
				t.Fatalf("exempt client, round %d, %v = %v", i, stage, r.Action)
			}
		}
	}
}

// failing is a store that cannot be reached.
type failing struct{ store.Store }

func (failing) Update(context.Context, string, store.UpdateFunc) error {
	return fmt.Errorf("%w: down", store.ErrUnavailable)
}

func TestAnvilStoreDownLetsThrough(t *testing.T) {
	a := newAnvil(t, access.AnvilConfig{Store: failing{store.NewMemory(store.MemoryOptions{})},
		ConnectionCountLimit: 1, ConnectionRateLimit: 1, MessageRateLimit: 1, RecipientRateLimit: 1})
	check, ctx := a.Check(), t.Context()
	for range 3 {
		for _, stage := range []smtpcheck.Stage{smtpcheck.StageConnect, smtpcheck.StageMail, smtpcheck.StageRcpt} {
			r := check(ctx, checktest.NewSession("192.0.2.1").From("a@b.example").To("c@d.example").At(stage))
			if r.Action != smtpcheck.Continue || r.Err != nil {
				t.Fatalf("%v with the store down = %v, %v; want continue", stage, r.Action, r.Err)
			}
		}
	}
	if n := a.StoreErrors(); n != 9 {
		t.Errorf("StoreErrors() = %d, want 9", n)
	}
}

// TestAnvilRedisCluster: two hosts with their own Anvil on one Redis count
// each client once.
func TestAnvilRedisCluster(t *testing.T) {
	c := redistest.Client(t, "")
	p := redistest.Prefix(t, c)
	cfg := access.AnvilConfig{ConnectionCountLimit: 2, MessageRateLimit: 3}
	cfg.Store = redisstore.New(c, redisstore.Options{Prefix: p})
	mx1 := newAnvil(t, cfg)
	cfg.Store = redisstore.New(redistest.Client(t, ""), redisstore.Options{Prefix: p})
	mx2 := newAnvil(t, cfg)
	ctx := t.Context()
	s1 := checktest.NewSession("198.51.100.4").At(smtpcheck.StageConnect)
	s2 := checktest.NewSession("198.51.100.4").At(smtpcheck.StageConnect)
	if r := mx1.Check()(ctx, s1); r.Action != smtpcheck.Continue {
		t.Fatal(r.Action)
	}
	if r := mx2.Check()(ctx, s2); r.Action != smtpcheck.Continue {
		t.Fatal(r.Action)
	}
	s3 := checktest.NewSession("198.51.100.4").At(smtpcheck.StageConnect)
	if r := mx1.Check()(ctx, s3); r.Action != smtpcheck.Disconnect {
		t.Errorf("third connection across the cluster = %v, want disconnect", r.Action)
	}
	access.Release(ctx, s2) // mx2's connection ends
	s4 := checktest.NewSession("198.51.100.4").At(smtpcheck.StageConnect)
	if r := mx1.Check()(ctx, s4); r.Action != smtpcheck.Continue {
		t.Errorf("after mx2's connection closed = %v, want continue", r.Action)
	}
	for i, mx := range []*access.Anvil{mx1, mx2, mx1, mx2} {
		r := mx.Check()(ctx, checktest.NewSession("198.51.100.4").From("a@example.org").At(smtpcheck.StageMail))
		if want := i < 3; (r.Action == smtpcheck.Continue) != want {
			t.Errorf("message %d (mx%d) = %v, want continue %v", i+1, i%2+1, r.Action, want)
		}
	}
}

func TestNewAnvilNeedsStore(t *testing.T) {
	if _, err := access.NewAnvil(access.AnvilConfig{}); err == nil {
		t.Error("NewAnvil without a store succeeded")
	}
}
