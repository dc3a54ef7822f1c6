package reputation

import (
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

func benchSession(b *testing.B, s store.Store) {
	r, _ := New(Config{Store: s, BlockAfter: 1e9})
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		sess := &smtpcheck.Session{Conn: smtpcheck.Conn{ClientIP: bot.IP, Confirmed: []string{"mx.example.net"}}}
		r.Check()(ctx, sess)
		Note(sess, 1, 0)
		if err := r.Done(ctx, sess); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionMemory is one session's read at connect and update at the end.
func BenchmarkSessionMemory(b *testing.B) {
	s := store.NewMemory(store.MemoryOptions{})
	defer s.Close()
	benchSession(b, s)
}

func BenchmarkSessionRedis(b *testing.B) {
	c := redistest.Client(b, redistest.Addr)
	benchSession(b, redisstore.New(c, redisstore.Options{Prefix: redistest.Prefix(b, c)}))
}

func BenchmarkLookupMemory(b *testing.B) {
	s := store.NewMemory(store.MemoryOptions{})
	defer s.Close()
	r, _ := New(Config{Store: s})
	ctx := b.Context()
	r.Learn(ctx, bot, 1, 1)
	b.ReportAllocs()
	for b.Loop() {
		r.Lookup(ctx, bot)
	}
}
