// Package redistest connects tests to a real Redis: a client that skips the
// test when no Redis answers (or fails it when SMTPPOLICY_REQUIRE_REDIS=1, as
// in CI), a key prefix that keeps one test's keys apart and deletes them at
// the end, a hook that counts round trips, and a redis-server of the test's
// own (StartServer) that a test can freeze to play a Redis that hangs.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr is the Redis the tests use by default: loopback, standard port.
const Addr = "127.0.0.1:6379"

// RequireEnv is the environment variable that turns a missing Redis from a
// skip into a failure.
const RequireEnv = "SMTPPOLICY_REQUIRE_REDIS"

// Client returns a client of the Redis at addr (Addr when empty), closed
// when tb ends. With no Redis answering within a second it skips tb with a
// one-line reason, or fails it when RequireEnv is "1".
func Client(tb testing.TB, addr string, hooks ...redis.Hook) *redis.Client {
	tb.Helper()
	if addr == "" {
		addr = Addr
	}
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, DialTimeout: time.Second})
	for _, h := range hooks {
		c.AddHook(h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("Redis at %s is required (%s=1) but unreachable: %v", addr, RequireEnv, err)
		}
		tb.Skipf("no Redis at %s: %v", addr, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// Prefix returns a fresh key prefix for tb and deletes every key under it
// when tb ends (before the client closes).
func Prefix(tb testing.TB, c *redis.Client) string {
	var b [8]byte
	rand.Read(b[:])
	p := "smtppolicy-test:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var keys []string
		for iter := c.Scan(ctx, 0, p+"*", 1000).Iterator(); iter.Next(ctx); {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return p
}

// Counter is a go-redis hook counting round trips: each command, and each
// pipeline, is one.
type Counter struct{ n atomic.Int64 }

// Load returns the round trips counted so far.
func (c *Counter) Load() int64 { return c.n.Load() }

// Reset sets the count back to zero.
func (c *Counter) Reset() { c.n.Store(0) }

// DialHook implements redis.Hook.
func (c *Counter) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (c *Counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook implements redis.Hook.
func (c *Counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}
