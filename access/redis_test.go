package access

import (
	"bytes"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

const redisAddr = "127.0.0.1:6379"

func redisAccess(t testing.TB, text string) (*Access, *redis.Client, string) {
	c, p := redisFixture(t)
	st := redisstore.New(c, redisstore.Options{Prefix: p})
	return newAccess(t, text, Config{Store: st}), c, p
}

func TestRedisRateConnect(t *testing.T) {
	ctx := t.Context()
	a, c, p := redisAccess(t, "Rate-Connect: 3\n")
	lim := a.Limits()
	for i := 1; i <= 4; i++ {
		r := lim(ctx, checktest.NewSession("198.51.100.1").Session())
		if i <= 3 && (r.Action != smtpcheck.Continue || r.Err != nil) {
			t.Fatalf("connection %d = %v, %v; want continue", i, r.Action, r.Err)
		}
		if i == 4 {
			checktest.AssertVerdict(t, r, smtpcheck.Disconnect, 421, "4.4.5", LimitsName)
			checktest.AssertReplyContains(t, r, "connections 4 exceed 3/60s")
		}
	}
	if r := lim(ctx, checktest.NewSession("198.51.100.2").Session()); r.Action != smtpcheck.Continue {
		t.Errorf("another client = %v, want continue (counted per client IP)", r.Action)
	}
	// The window is Redis's own expiry: set once, at the first connection.
	ttl, err := c.PTTL(ctx, p+"access:rate:198.51.100.1").Result()
	if err != nil || ttl <= 0 || ttl > rateWindow {
		t.Errorf("PTTL(rate counter) = %v, %v; want within (0, %v]", ttl, err, rateWindow)
	}
}

func TestRedisMsgLimit(t *testing.T) {
	ctx := t.Context()
	a, _, _ := redisAccess(t, "Msg-Limit-From:example.org 2/1h\nMsg-Limit-To:busy@example.com 1/1d\n")
	lim := a.Limits()
	for i := 1; i <= 3; i++ {
		r := lim(ctx, checktest.NewSession("192.0.2.1").From("a+x@example.org").Session())
		if i == 3 {
			checktest.AssertVerdict(t, r, smtpcheck.TempFail, 451, "4.7.1", LimitsName)
			checktest.AssertReplyContains(t, r, "has exceeded 2 messages per 1 hour")
		} else if r.Action != smtpcheck.Continue || r.Err != nil {
			t.Fatalf("message %d = %v, %v; want continue", i, r.Action, r.Err)
		}
	}
	b := checktest.NewSession("192.0.2.1").From("x@example.net")
	lim(ctx, b.Session())
	if r := lim(ctx, b.To("busy@example.com").Session()); r.Action != smtpcheck.Continue || r.Err != nil {
		t.Fatalf("first message to busy@ = %v, %v; want continue", r.Action, r.Err)
	}
	checktest.AssertVerdict(t, lim(ctx, b.To("busy@example.com").Session()), smtpcheck.TempFail, 451, "", LimitsName)
}

func TestRedisConcurrentConnect(t *testing.T) {
	ctx := t.Context()
	a, c, p := redisAccess(t, "Concurrent-Connect:192.0.2 2\n")
	lim := a.Limits()
	var held []*smtpcheck.Session
	for i := range 2 {
		s := checktest.NewSession("192.0.2.5").Session()
		if r := lim(ctx, s); r.Action != smtpcheck.Continue || r.Err != nil {
			t.Fatalf("connection %d = %v, %v; want continue", i+1, r.Action, r.Err)
		}
		held = append(held, s)
	}
	third := checktest.NewSession("192.0.2.5").Session()
	checktest.AssertVerdict(t, lim(ctx, third), smtpcheck.Disconnect, 421, "4.7.1", LimitsName)
	Release(ctx, third) // took no slot
	Release(ctx, held[0])
	Release(ctx, held[0]) // twice is once
	if r := lim(ctx, checktest.NewSession("192.0.2.5").Session()); r.Action != smtpcheck.Continue {
		t.Errorf("after one release = %v, want continue", r.Action)
	}
	key := p + "access:conc:192.0.2.5"
	if v, err := c.Get(ctx, key).Result(); v != "2" || err != nil {
		t.Errorf("GET %s = %q, %v; want \"2\"", key, v, err)
	}
	if ttl, _ := c.PTTL(ctx, key).Result(); ttl <= 0 || ttl > ConcurrencyTTL {
		t.Errorf("PTTL %s = %v, want within (0, %v]", key, ttl, ConcurrencyTTL)
	}
}

// TestRedisConcurrentConnectRace opens and closes many connections at once
// from one client: the counter must end at zero (the key gone), never
// losing or inventing a slot.
func TestRedisConcurrentConnectRace(t *testing.T) {
	ctx := t.Context()
	a, c, p := redisAccess(t, "Concurrent-Connect: 1000\n")
	lim := a.Limits()
	done := make(chan error)
	const n = 40
	for range n {
		go func() {
			s := checktest.NewSession("192.0.2.9").Session()
			r := lim(ctx, s)
			Release(ctx, s)
			done <- r.Err
		}()
	}
	for range n {
		if err := <-done; err != nil {
			t.Errorf("connection = %v, want no error", err)
		}
	}
	if v, err := c.Get(ctx, p+"access:conc:192.0.2.9").Result(); err != redis.Nil {
		t.Errorf("after %d connections and releases the counter holds %q (%v), want no key", n, v, err)
	}
}

// BenchmarkRateLimitRedis is one Rate-Connect decision on Redis; it reports
// the commands sent per decision, which is one (the counter's Lua script).
func BenchmarkRateLimitRedis(b *testing.B) {
	c, p := redisFixture(b)
	st := redisstore.New(c, redisstore.Options{Prefix: p})
	var cmds redistest.Counter
	c.AddHook(&cmds)
	m, err := Parse(bytes.NewReader([]byte("Rate-Connect: 1000000000\n")), "rate.map")
	if err != nil {
		b.Fatal(err)
	}
	a, _ := New(Config{Store: st})
	a.Swap(m)
	ctx := b.Context()
	s := checktest.NewSession("192.0.2.1").Session()
	client := appendClientChain(nil, Client{IP: s.Conn.ClientIP})
	a.rate(ctx, s, m, client) // loads the script if the server lacks it
	cmds.Reset()
	b.ReportAllocs()
	for b.Loop() {
		if r := a.rate(ctx, s, m, client); r.Action != smtpcheck.Continue || r.Err != nil {
			b.Fatal(r.Action, r.Err)
		}
	}
	b.ReportMetric(float64(cmds.Load())/float64(b.N), "roundtrips/op")
}

// redisFixture returns a client of the real Redis on loopback and a fresh
// key prefix whose keys are deleted when t ends.
func redisFixture(t testing.TB) (*redis.Client, string) {
	c := redistest.Client(t, "")
	return c, redistest.Prefix(t, c)
}
