package resolver_test

import (
	"context"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// A caller without a deadline whose server answers too late gets a
// timeout after the resolver's own budget, not a new query every time
// the last one expires.
func TestNoDeadlineCallerTimesOut(t *testing.T) {
	ps, addr := startPortServer(t, 300*time.Millisecond)
	r, err := resolver.New(resolver.Config{Servers: []string{addr}, CacheSize: -1, Timeout: 100 * time.Millisecond, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.LookupA(context.Background(), "slow.test")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("LookupA(slow.test) answered before the server did")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("LookupA without a deadline still running after 5 s (budget 100 ms)")
	}
	if _, queries := ps.sources(); queries > 2 {
		t.Errorf("server saw %d queries for one lookup of one attempt, want 1", queries)
	}
}
