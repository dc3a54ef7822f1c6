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

// TestUpdateIsTwoRoundTrips checks that an Update that meets no other
// writer reads once and writes once.
func TestUpdateIsTwoRoundTrips(t *testing.T) {
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
	if got := calls.Load(); got != 20 {
		t.Errorf("10 Update calls sent %d commands, want 20", got)
	}
	if v, _, _ := s.Get(ctx, "k0"); string(v) != "xxxx" {
		t.Errorf("Get(%q) = %q, want %q", "k0", v, "xxxx")
	}
}
