package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
)

// ExampleNew shares rate-limit counters between MX hosts through Redis. It
// has no Output line because it needs a Redis server to run.
func ExampleNew() {
	c := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // stop socket I/O at the caller's deadline
	})
	defer c.Close()
	s := redisstore.New(c, redisstore.Options{Prefix: "smtppolicy:"})
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	n, err := s.Incr(ctx, "conn:192.0.2.1", 1, time.Minute)
	switch {
	case errors.Is(err, store.ErrUnavailable):
		fmt.Println("Redis down: apply the error policy (e.g. accept, or 451)")
	case err != nil:
		fmt.Println(err)
	case n > 30:
		fmt.Println("too many connections")
	}
}

// ExampleNew_unavailable shows what a caller sees when Redis is down.
func ExampleNew_unavailable() {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close() // nothing listens there now

	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer c.Close()
	s := redisstore.New(c, redisstore.Options{Prefix: "smtppolicy:"})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := s.Incr(ctx, "conn:192.0.2.1", 1, time.Minute)
	fmt.Println(errors.Is(err, store.ErrUnavailable))
	// Output: true
}
