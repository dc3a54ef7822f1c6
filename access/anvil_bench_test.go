package access_test

import (
	"testing"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// benchAnvil measures one event of each kind: a connection counted and
// released (two store operations: connect and disconnect), and a MAIL
// counted. Round trips are Redis commands per op (0 on memory).
func benchAnvil(b *testing.B, st store.Store, calls *redistest.Counter) {
	a, err := access.NewAnvil(access.AnvilConfig{Store: st, Hostname: "mx.example.net",
		ConnectionCountLimit: 1 << 30, ConnectionRateLimit: 1 << 30, MessageRateLimit: 1 << 30, RecipientRateLimit: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	check, ctx := a.Check(), b.Context()
	round := func(b *testing.B) {
		if calls != nil {
			b.ReportMetric(float64(calls.Load())/float64(b.N), "roundtrips/op")
		}
	}
	b.Run("connect+disconnect", func(b *testing.B) {
		s := checktest.NewSession("192.0.2.1").Session()
		check(ctx, s) // loads the script
		access.Release(ctx, s)
		if calls != nil {
			calls.Reset()
		}
		b.ReportAllocs()
		for b.Loop() {
			s := checktest.NewSession("192.0.2.1").At(smtpcheck.StageConnect)
			if r := check(ctx, s); r.Action != smtpcheck.Continue {
				b.Fatal(r.Action)
			}
			access.Release(ctx, s)
		}
		round(b)
	})
	b.Run("mail", func(b *testing.B) {
		s := checktest.NewSession("192.0.2.1").From("a@example.org").At(smtpcheck.StageMail)
		check(ctx, s)
		if calls != nil {
			calls.Reset()
		}
		b.ReportAllocs()
		for b.Loop() {
			if r := check(ctx, s); r.Action != smtpcheck.Continue {
				b.Fatal(r.Action)
			}
		}
		round(b)
	})
}

func BenchmarkAnvilMemory(b *testing.B) {
	benchAnvil(b, store.NewMemory(store.MemoryOptions{}), nil)
}

func BenchmarkAnvilRedis(b *testing.B) {
	var calls redistest.Counter
	c := redistest.Client(b, "", &calls)
	benchAnvil(b, redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(b, c)}), &calls)
}

// BenchmarkRedisIncrBaseline is the store's plainest one-round-trip
// operation (a fixed-window counter), beside which the anvil's event is
// read.
func BenchmarkRedisIncrBaseline(b *testing.B) {
	c := redistest.Client(b, "")
	st := redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(b, c)})
	ctx := b.Context()
	st.Incr(ctx, "k", 1, 60e9)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Incr(ctx, "k", 1, 60e9); err != nil {
			b.Fatal(err)
		}
	}
}
