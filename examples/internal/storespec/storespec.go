// Package storespec opens a store.Store from a one-word spec, as command-line
// programs take it:
//
//	memory:                      in process memory (lost on exit)
//	bolt:/var/lib/smtpd/grey.db  an embedded bbolt file that survives restarts
//	redis://127.0.0.1:6379/0     Redis, shared by several MX hosts
//
// Each store comes with its package's defaults: a Redis or bbolt call that
// hangs fails after 2 s (so the caller's error policy answers, rather than
// the SMTP command's deadline), and a bbolt file is swept of expired records
// every 10 minutes.
//
// It links the memory, bbolt and Redis stores all three, which is why it
// sits with the programs rather than in the library: a library user who
// wants one store imports that store's package alone.
package storespec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/boltstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
)

// ErrSpec is wrapped by every error about the spec itself.
var ErrSpec = errors.New("storespec: bad store spec")

// Open opens the store spec names. For Redis it checks that the server
// answers within ctx, so that a wrong address fails at start-up; the
// returned store owns its Redis client and closes it on Close.
func Open(ctx context.Context, spec string) (store.Store, error) {
	switch {
	case spec == "memory:" || spec == "memory":
		return store.NewMemory(store.MemoryOptions{MaxEntries: 1 << 22}), nil
	case strings.HasPrefix(spec, "bolt:"):
		path := strings.TrimPrefix(spec, "bolt:")
		if path == "" {
			return nil, fmt.Errorf("%w: %q: bolt: needs a file path", ErrSpec, spec)
		}
		return boltstore.Open(path, boltstore.Options{})
	case strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://"):
		opts, err := redis.ParseURL(spec)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrSpec, spec, err)
		}
		opts.ContextTimeoutEnabled = true
		if opts.Protocol == 0 {
			// The store has no use for RESP3's push notifications, and
			// with RESP3 the client looks for pending ones around every
			// command: RESP2 unless the URL asks.
			opts.Protocol = 2
		}
		if opts.DialTimeout == 0 || opts.DialTimeout > 2*time.Second {
			opts.DialTimeout = 2 * time.Second
		}
		c := redis.NewClient(opts)
		s := &owned{Store: redisstore.New(c, redisstore.Options{}), c: c}
		if err := s.Ping(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("storespec: %s: %w", spec, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("%w: %q (want memory:, bolt:PATH or redis://HOST:PORT/DB)", ErrSpec, spec)
}

// owned is a Redis store that closes its client.
type owned struct {
	*redisstore.Store
	c *redis.Client
}

func (o *owned) Close() error {
	err := o.Store.Close()
	if cerr := o.c.Close(); err == nil {
		err = cerr
	}
	return err
}
