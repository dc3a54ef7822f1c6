package resolver_test

import (
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// Queries one after another share a UDP socket (one source port for many
// queries) instead of opening one each, and a socket is retired after a
// bounded number of queries so the source port still changes.
func TestUDPSocketsReused(t *testing.T) {
	ps, addr := startPortServer(t, 0)
	r, err := resolver.New(resolver.Config{Servers: []string{addr}, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const n = 200
	for range n {
		if _, err := r.LookupA(ctx, "host.test"); err != nil {
			t.Fatal(err)
		}
	}
	ports, queries := ps.sources()
	if queries != n {
		t.Fatalf("server saw %d queries, want %d", queries, n)
	}
	if ports > n/20 {
		t.Errorf("%d queries came from %d source ports, want sockets reused (at most %d ports)", n, ports, n/20)
	}
	if ports < 2 {
		t.Errorf("%d queries all came from one source port, want it changed now and then", n)
	}
}

// A query that timed out leaves its socket closed, so its late answer can
// never be read as the answer to the next query.
func TestTimedOutSocketNotReused(t *testing.T) {
	ps, addr := startPortServer(t, 300*time.Millisecond)
	r, err := resolver.New(resolver.Config{Servers: []string{addr}, CacheSize: -1, Timeout: 100 * time.Millisecond, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := r.LookupA(ctx, "host.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LookupA(ctx, "slow.test"); err == nil {
		t.Fatal("LookupA(slow.test) answered before the server did")
	}
	time.Sleep(400 * time.Millisecond) // the late answer is sent meanwhile
	for range 5 {
		ips, err := r.LookupA(ctx, "host.test")
		if err != nil || len(ips) != 1 || ips[0].String() != "192.0.2.1" {
			t.Fatalf("LookupA(host.test) after a timeout = %v, %v; want [192.0.2.1]", ips, err)
		}
	}
	if ports, _ := ps.sources(); ports < 2 {
		t.Errorf("the timed-out query's socket was used again (%d source ports)", ports)
	}
}

// A query on a socket whose read deadline an earlier query with a
// shorter deadline set still waits for its answer until its own
// deadline.
func TestQueryOutlivesEarlierQueryDeadline(t *testing.T) {
	_, addr := startPortServer(t, 1250*time.Millisecond)
	r, err := resolver.New(resolver.Config{Servers: []string{addr}, CacheSize: -1, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.LookupA(ctxTimeout(t, time.Second), "host.test"); err != nil {
		t.Fatal(err)
	}
	ips, err := r.LookupA(ctxTimeout(t, 1500*time.Millisecond), "slow.test")
	if err != nil || len(ips) != 1 || ips[0].String() != "192.0.2.99" {
		t.Errorf("LookupA(slow.test) after a query with a shorter deadline = %v, %v; want [192.0.2.99]", ips, err)
	}
}
