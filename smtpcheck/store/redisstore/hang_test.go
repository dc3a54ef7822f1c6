package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// TestHungServerTimeout freezes a Redis of the test's own: every kind of
// call returns store.ErrUnavailable at the Store's Timeout, although the
// caller's context allows far longer and go-redis would retry.
func TestHungServerTimeout(t *testing.T) {
	srv := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	const timeout = 300 * time.Millisecond
	s := redisstore.New(c, redisstore.Options{Timeout: timeout})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := s.Set(ctx, "k", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	srv.Freeze(t)
	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, _, err := s.Get(ctx, "k"); return err }},
		{"Set", func() error { return s.Set(ctx, "k", []byte("w"), time.Hour) }},
		{"Update", func() error {
			return s.Update(ctx, "k", func([]byte, bool) ([]byte, time.Duration, error) { return []byte("u"), time.Hour, nil })
		}},
		{"Incr", func() error { _, err := s.Incr(ctx, "n", 1, time.Hour); return err }},
		{"Scan", func() error { return s.Scan(ctx, "", func(string, []byte) error { return nil }) }},
	}
	for _, tt := range calls {
		start := time.Now()
		err := tt.call()
		took := time.Since(start)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s on a hung Redis = %v, want ErrUnavailable", tt.name, err)
		}
		if took > timeout+time.Second {
			t.Errorf("%s on a hung Redis took %v, want about %v", tt.name, took, timeout)
		}
	}
	srv.Thaw(t)
	if v, ok, err := s.Get(ctx, "k"); err != nil || !ok {
		t.Errorf("Get after Redis is back = %q, %v, %v; want the record", v, ok, err)
	}
}
