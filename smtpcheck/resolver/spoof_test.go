package resolver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// startForger starts a UDP server that answers every query first with
// forgeries, 192.0.2.66 under another message ID and then under the right
// ID for another question, and then, if honest, with the true answer
// 192.0.2.1.
func startForger(t *testing.T, honest bool) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	answer := func(q *dns.Msg, id uint16, name, ip string) []byte {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Id = id
		m.Question[0].Name = name
		rr, _ := dns.NewRR(name + " 60 IN A " + ip)
		m.Answer = append(m.Answer, rr)
		b, _ := m.Pack()
		return b
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil || len(q.Question) != 1 {
				continue
			}
			name := q.Question[0].Name
			pc.WriteTo(answer(q, q.Id+1, name, "192.0.2.66"), from)
			pc.WriteTo(answer(q, q.Id, "other."+name, "192.0.2.66"), from)
			if honest {
				time.Sleep(5 * time.Millisecond)
				pc.WriteTo(answer(q, q.Id, name, "192.0.2.1"), from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// Answers under another ID or for another question are dropped, and the
// query still takes the true answer that follows them.
func TestForgedAnswersIgnored(t *testing.T) {
	addr := startForger(t, true)
	r, err := resolver.New(resolver.Config{Servers: []string{addr}, CacheSize: -1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 3 {
		ips, err := r.LookupA(ctxTimeout(t, 2*time.Second), "host.test")
		if err != nil || len(ips) != 1 || ips[0].String() != "192.0.2.1" {
			t.Fatalf("LookupA = %v, %v; want [192.0.2.1], the forgeries ignored", ips, err)
		}
	}
}

// A server that sends only forgeries is a silent one: the query times out
// at the caller's deadline and accepts none of them.
func TestOnlyForgedAnswersTimeOut(t *testing.T) {
	addr := startForger(t, false)
	r, err := resolver.New(resolver.Config{Servers: []string{addr}, CacheSize: -1, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Now()
	ips, err := r.LookupA(ctxTimeout(t, 150*time.Millisecond), "host.test")
	if !errors.Is(err, resolver.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("LookupA = %v, %v; want ErrTimeout at the caller's deadline", ips, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("LookupA returned after %v, past the 150ms deadline", d)
	}
}

// Close ends the sockets: a query after it fails rather than hangs, and
// Close may be called again.
func TestClose(t *testing.T) {
	addr := startForger(t, true)
	r, err := resolver.New(resolver.Config{Servers: []string{addr}, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LookupA(ctxTimeout(t, 2*time.Second), "host.test"); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r.Close()
	if _, err := r.LookupA(ctxTimeout(t, 2*time.Second), "host.test"); !errors.Is(err, resolver.ErrNetwork) {
		t.Errorf("LookupA after Close error = %v, want ErrNetwork", err)
	}
}

// Many queries in flight at once on shared sockets each get their own
// answer, whichever of them reads the socket.
func TestConcurrentQueriesGetTheirOwnAnswers(t *testing.T) {
	srv := dnstest.New(t)
	const n = 500
	for i := range n {
		srv.Add(fmt.Sprintf("h%d.test A 192.0.%d.%d", i, i/256, i%256))
		if i%7 == 0 {
			srv.Latency(fmt.Sprintf("h%d.test", i), time.Duration(i%5)*time.Millisecond)
		}
	}
	r := newResolver(t, resolver.Config{CacheSize: -1, Timeout: 2 * time.Second}, srv)
	defer r.Close()
	ctx := ctxTimeout(t, 10*time.Second)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ips, err := r.LookupA(ctx, fmt.Sprintf("h%d.test", i))
			if want := fmt.Sprintf("192.0.%d.%d", i/256, i%256); err != nil || len(ips) != 1 || ips[0].String() != want {
				t.Errorf("LookupA(h%d.test) = %v, %v; want [%s]", i, ips, err, want)
			}
		})
	}
	wg.Wait()
}
