package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

const redisAddr = "127.0.0.1:6379"

func TestContract(t *testing.T) {
	c := client(t)
	storetest.Run(t, func(t *testing.T) (store.Store, *storetest.Clock) {
		s := redisstore.New(c, redisstore.Options{Prefix: prefix(t, c)})
		return s, nil // Redis expires keys on its own clock
	})
}

func TestPrefixIsolation(t *testing.T) {
	c := client(t)
	ctx := t.Context()
	p := prefix(t, c)
	// "x*" would match "xy" if the prefix reached SCAN as a glob.
	a := redisstore.New(c, redisstore.Options{Prefix: p + "x*"})
	b := redisstore.New(c, redisstore.Options{Prefix: p + "xy"})
	a.Set(ctx, "k", []byte("a"), 0)
	b.Set(ctx, "k", []byte("b"), 0)
	b.Set(ctx, "other", []byte("b"), 0)

	if v, _, _ := a.Get(ctx, "k"); string(v) != "a" {
		t.Errorf("a.Get(%q) = %q, want %q", "k", v, "a")
	}
	var keys []string
	a.Scan(ctx, "", func(k string, _ []byte) error { keys = append(keys, k); return nil })
	if !slices.Equal(keys, []string{"k"}) {
		t.Errorf("a.Scan(\"\") keys = %q, want [k]", keys)
	}
	// The key in Redis is the prefix followed by the key, for operators.
	if v, err := c.Get(ctx, p+"xyother").Result(); v != "b" || err != nil {
		t.Errorf("GET %q = %q, %v; want \"b\"", p+"xyother", v, err)
	}
}

func TestIncrIsOneRoundTrip(t *testing.T) {
	c := client(t)
	ctx := t.Context()
	s := redisstore.New(c, redisstore.Options{Prefix: prefix(t, c)})
	s.Incr(ctx, "warm", 1, time.Minute) // loads the script if the server lacks it
	var calls redistest.Counter
	c.AddHook(&calls)
	for i := range 10 {
		if _, err := s.Incr(ctx, fmt.Sprint("k", i%3), 1, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.Load(); got != 10 {
		t.Errorf("10 Incr calls sent %d commands, want 10", got)
	}
}

// client and prefix are the shared Redis test fixtures.
func client(t testing.TB) *redis.Client           { return redistest.Client(t, "") }
func prefix(t testing.TB, c *redis.Client) string { return redistest.Prefix(t, c) }

func TestUpdateGivesUpUnderContention(t *testing.T) {
	c := client(t)
	ctx := t.Context()
	p := prefix(t, c)
	s := redisstore.New(c, redisstore.Options{Prefix: p, UpdateRetries: 3})
	tries := 0
	err := s.Update(ctx, "k", func(old []byte, ok bool) ([]byte, time.Duration, error) {
		tries++
		// Another writer changes the key between our read and our write.
		c.Set(ctx, p+"k", fmt.Sprint("other", tries), 0)
		return []byte("mine"), 0, nil
	})
	if !errors.Is(err, store.ErrContention) || tries != 3 {
		t.Errorf("Update losing every race = %v after %d tries, want ErrContention after 3", err, tries)
	}
}

// closedPort returns a loopback address with nothing listening.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentServer accepts connections and never answers, like a hung Redis.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestUnavailable(t *testing.T) {
	ops := []struct {
		name string
		call func(ctx context.Context, s *redisstore.Store) error
	}{
		{"Get", func(ctx context.Context, s *redisstore.Store) error { _, _, err := s.Get(ctx, "k"); return err }},
		{"Set", func(ctx context.Context, s *redisstore.Store) error { return s.Set(ctx, "k", []byte("v"), time.Minute) }},
		{"Delete", func(ctx context.Context, s *redisstore.Store) error { return s.Delete(ctx, "k") }},
		{"Incr", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.Incr(ctx, "k", 1, time.Minute)
			return err
		}},
		{"Update", func(ctx context.Context, s *redisstore.Store) error {
			return s.Update(ctx, "k", func([]byte, bool) ([]byte, time.Duration, error) { return []byte("v"), 0, nil })
		}},
		{"Scan", func(ctx context.Context, s *redisstore.Store) error {
			return s.Scan(ctx, "", func(string, []byte) error { return nil })
		}},
		{"Ping", func(ctx context.Context, s *redisstore.Store) error { return s.Ping(ctx) }},
	}
	servers := []struct {
		name string
		opts func(t *testing.T) *redis.Options
	}{
		{"refused", func(t *testing.T) *redis.Options {
			return &redis.Options{Addr: closedPort(t), ContextTimeoutEnabled: true}
		}},
		{"silent", func(t *testing.T) *redis.Options {
			return &redis.Options{Addr: silentServer(t), ContextTimeoutEnabled: true}
		}},
		// A client that ignores deadlines (the go-redis default) still
		// returns at the caller's deadline: the Store enforces it.
		{"silent, client ignores deadlines", func(t *testing.T) *redis.Options {
			return &redis.Options{Addr: silentServer(t), ReadTimeout: time.Minute, WriteTimeout: time.Minute}
		}},
	}
	const deadline = 300 * time.Millisecond
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			t.Parallel()
			c := redis.NewClient(srv.opts(t))
			t.Cleanup(func() { c.Close() })
			s := redisstore.New(c, redisstore.Options{Prefix: "t:"})
			for _, op := range ops {
				t.Run(op.name, func(t *testing.T) {
					t.Parallel()
					ctx, cancel := context.WithTimeout(t.Context(), deadline)
					defer cancel()
					start := time.Now()
					err := op.call(ctx, s)
					elapsed := time.Since(start)
					if !errors.Is(err, store.ErrUnavailable) {
						t.Errorf("%s = %v, want ErrUnavailable", op.name, err)
					}
					// Behaviour, not speed: the call must not outlive its
					// caller's deadline by more than scheduling slack.
					if elapsed > deadline+2*time.Second {
						t.Errorf("%s returned after %v, past its %v deadline", op.name, elapsed, deadline)
					}
				})
			}
		})
	}
}

func TestRecoversAfterConnectionLoss(t *testing.T) {
	admin := client(t)
	ctx := t.Context()
	c := redis.NewClient(&redis.Options{Addr: redisAddr, ContextTimeoutEnabled: true, PoolSize: 1})
	t.Cleanup(func() { c.Close() })
	s := redisstore.New(c, redisstore.Options{Prefix: prefix(t, admin)})
	if _, err := s.Incr(ctx, "k", 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	id, err := c.ClientID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The server drops our connection, as it would on a restart.
	if err := admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
		t.Fatal(err)
	}
	var n int64
	for range 3 { // the first call may see the dead connection
		if n, err = s.Incr(ctx, "k", 1, time.Minute); err == nil {
			break
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Incr after connection loss = %v, want nil or ErrUnavailable", err)
		}
	}
	if err != nil || n != 2 {
		t.Errorf("Incr after reconnect = %d, %v; want 2, nil", n, err)
	}
}

func TestServerErrorsAreNotUnavailable(t *testing.T) {
	c := client(t)
	ctx := t.Context()
	p := prefix(t, c)
	s := redisstore.New(c, redisstore.Options{Prefix: p})
	c.HSet(ctx, p+"hash", "f", "v") // another program's hash under our prefix
	_, _, err := s.Get(ctx, "hash")
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get of a hash = %v, want a WRONGTYPE error that is not ErrUnavailable", err)
	}
}

// TestUpdateIsOneRoundTrip checks that an Update that meets no other
// writer is one round trip: the compare-and-set carries the value the
// Store expects.
func TestUpdateIsOneRoundTrip(t *testing.T) {
	c := client(t)
	ctx := t.Context()
	s := redisstore.New(c, redisstore.Options{Prefix: prefix(t, c)})
	inc := func(old []byte, ok bool) ([]byte, time.Duration, error) {
		return append(old, 'x'), time.Minute, nil
	}
	s.Update(ctx, "warm", inc) // loads the script if the server lacks it
	var calls redistest.Counter
	c.AddHook(&calls)
	for i := range 10 {
		if err := s.Update(ctx, fmt.Sprint("k", i%3), inc); err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.Load(); got != 10 {
		t.Errorf("10 Update calls sent %d commands, want 10", got)
	}
	if v, _, _ := s.Get(ctx, "k0"); string(v) != "xxxx" {
		t.Errorf("Get(%q) = %q, want %q", "k0", v, "xxxx")
	}
}

// TestUpdateAfterAnotherWriter checks that a Store whose idea of a record
// is stale (another MX host wrote it) still computes from the current
// value, in two round trips, and is back to one afterwards.
func TestUpdateAfterAnotherWriter(t *testing.T) {
	c := client(t)
	ctx := t.Context()
	p := prefix(t, c)
	a := redisstore.New(c, redisstore.Options{Prefix: p})
	b := redisstore.New(c, redisstore.Options{Prefix: p})
	inc := func(old []byte, ok bool) ([]byte, time.Duration, error) {
		return append(old, 'x'), time.Minute, nil
	}
	a.Update(ctx, "warm", inc)
	var calls redistest.Counter
	c.AddHook(&calls)
	steps := []struct {
		s     *redisstore.Store
		trips int64
	}{
		{a, 1}, // absent, as a guesses
		{b, 2}, // b knows nothing of a's write
		{a, 2}, // a's idea is one write behind
		{a, 1},
		{b, 2},
	}
	for i, st := range steps {
		calls.Reset()
		if err := st.s.Update(ctx, "k", inc); err != nil {
			t.Fatal(err)
		}
		if got := calls.Load(); got != st.trips {
			t.Errorf("step %d: Update sent %d commands, want %d", i, got, st.trips)
		}
	}
	if v, _, _ := a.Get(ctx, "k"); string(v) != "xxxxx" {
		t.Errorf("Get(%q) = %q, want %q (no write lost)", "k", v, "xxxxx")
	}
	// A stale idea of a record that fn leaves alone costs no write.
	c.Set(ctx, p+"k", "other", 0)
	calls.Reset()
	var saw string
	err := a.Update(ctx, "k", func(old []byte, ok bool) ([]byte, time.Duration, error) {
		saw = string(old)
		return nil, 0, store.ErrNoChange
	})
	if err != nil || saw != "other" {
		t.Errorf("Update on a changed record saw %q, %v; want \"other\"", saw, err)
	}
	if v, _ := c.Get(ctx, p+"k").Result(); v != "other" {
		t.Errorf("after ErrNoChange the record is %q, want \"other\"", v)
	}
}

// TestUpdateMany checks that several records change together in one round
// trip, and that a stale record makes the script write none of them.
func TestUpdateMany(t *testing.T) {
	c := client(t)
	ctx := t.Context()
	p := prefix(t, c)
	s := redisstore.New(c, redisstore.Options{Prefix: p})
	both := func(recs []store.Record) error {
		for i := range recs {
			recs[i].Value = append(recs[i].Value, 'x')
			recs[i].TTL, recs[i].Write = time.Minute, true
		}
		return nil
	}
	s.UpdateMany(ctx, []string{"warm"}, both)
	var calls redistest.Counter
	c.AddHook(&calls)
	if err := s.UpdateMany(ctx, []string{"a", "b"}, both); err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("UpdateMany sent %d commands, want 1", got)
	}
	c.Set(ctx, p+"b", "y", 0)
	calls.Reset()
	calls0 := 0
	err := s.UpdateMany(ctx, []string{"a", "b"}, func(recs []store.Record) error {
		calls0++
		if calls0 == 1 && string(recs[1].Value) != "x" {
			t.Errorf("first try saw b = %q, want the Store's guess \"x\"", recs[1].Value)
		}
		return both(recs)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := calls.Load(); got != 2 || calls0 != 2 {
		t.Errorf("stale guess: %d commands, fn ran %d times; want 2 and 2", got, calls0)
	}
	for k, want := range map[string]string{"a": "xx", "b": "yx"} {
		if v, _ := c.Get(ctx, p+k).Result(); v != want {
			t.Errorf("after a stale guess of b, %s = %q, want %q", k, v, want)
		}
	}
	if ttl := c.PTTL(ctx, p+"a").Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("PTTL(a) = %v, want within a minute", ttl)
	}
}
