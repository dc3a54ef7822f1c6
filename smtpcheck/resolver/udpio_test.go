package resolver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// waitQueries waits until srv has received n queries for name.
func waitQueries(t *testing.T, srv *dnstest.Server, name string, n int) {
	t.Helper()
	for srv.Count(name, dns.TypeA) < n {
		if t.Context().Err() != nil {
			t.Fatalf("server never received %d queries for %s", n, name)
		}
		time.Sleep(time.Millisecond)
	}
}

// Cancelling the context of a query that is reading the socket ends it
// with context.Canceled, long before its timeout, and a query that waits
// on the same socket meanwhile still gets its answer.
func TestCancelEndsQueryReadingSocket(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add("quiet.test A 192.0.2.1", "slow.test A 192.0.2.2")
	srv.Silence("quiet.test")
	srv.Latency("slow.test", 100*time.Millisecond)
	r := newResolver(t, resolver.Config{CacheSize: -1, Timeout: time.Minute, Attempts: 1}, srv)
	defer r.Close()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	quiet := make(chan error, 1)
	go func() {
		_, err := r.Query(ctx, "quiet.test", dns.TypeA)
		quiet <- err
	}()
	waitQueries(t, srv, "quiet.test", 1)
	slow := make(chan error, 1)
	go func() {
		ips, err := r.LookupA(t.Context(), "slow.test")
		if err == nil && (len(ips) != 1 || ips[0].String() != "192.0.2.2") {
			err = fmt.Errorf("answer %v", ips)
		}
		slow <- err
	}()
	waitQueries(t, srv, "slow.test", 1)
	cancel()
	if err := <-quiet; !errors.Is(err, context.Canceled) || errors.Is(err, resolver.ErrTimeout) {
		t.Errorf("Query(quiet.test) after cancel error = %v, want context.Canceled", err)
	}
	if err := <-slow; err != nil {
		t.Errorf("LookupA(slow.test) beside a cancelled query = %v, want [192.0.2.2]", err)
	}
}

// A server whose port is closed gives ErrNetwork (the refusal the kernel
// reports on the socket), not a timeout.
func TestUnreachableServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	r, err := resolver.New(resolver.Config{Servers: []string{addr}, CacheSize: -1, Timeout: time.Minute, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.Query(t.Context(), "host.test", dns.TypeA)
	if !errors.Is(err, resolver.ErrNetwork) {
		t.Errorf("Query to a closed port error = %v, want ErrNetwork", err)
	}
}
