// Package storekind opens a fresh store of each kind the library ships
// (memory, bbolt, Redis) on a test clock, so a check's tests run the same
// cases against every store a deployment may choose.
package storekind

import (
	"path/filepath"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/boltstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

// Names returns the kinds Open knows, in the order tests run them.
func Names() []string { return []string{"memory", "bolt", "redis"} }

// Open returns a fresh, empty store of the named kind, closed when tb ends,
// and the key prefix the test should use in it. Memory and bbolt read the
// time from clk. Redis expires records on its own clock, so it suits checks
// that read the times inside each record; its prefix is unique to tb,
// because tests share one server, and tb skips (or fails in CI) when no
// server answers.
func Open(tb testing.TB, kind string, clk *storetest.Clock) (store.Store, string) {
	tb.Helper()
	switch kind {
	case "memory":
		s := store.NewMemory(store.MemoryOptions{Now: clk.Now})
		tb.Cleanup(func() { s.Close() })
		return s, ""
	case "bolt":
		s, err := boltstore.Open(filepath.Join(tb.TempDir(), "store.db"), boltstore.Options{Now: clk.Now})
		if err != nil {
			tb.Fatalf("boltstore.Open: %v", err)
		}
		tb.Cleanup(func() { s.Close() })
		return s, ""
	case "redis":
		c := redistest.Client(tb, redistest.Addr)
		return redisstore.New(c, redisstore.Options{}), redistest.Prefix(tb, c)
	}
	tb.Fatalf("storekind: unknown kind %q", kind)
	return nil, ""
}

// Each runs fn as one subtest per kind, each with a fresh clock and store.
func Each(t *testing.T, fn func(t *testing.T, s store.Store, prefix string, clk *storetest.Clock)) {
	for _, kind := range Names() {
		t.Run(kind, func(t *testing.T) {
			clk := storetest.NewClock()
			s, prefix := Open(t, kind, clk)
			fn(t, s, prefix, clk)
		})
	}
}
