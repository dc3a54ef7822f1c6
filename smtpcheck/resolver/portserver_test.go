package resolver_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// portServer answers A queries with 192.0.2.1, except slow.test, which it
// answers 192.0.2.99 after a delay, and records the source address of
// every query.
type portServer struct {
	mu    sync.Mutex
	from  map[string]int
	delay time.Duration
}

func startPortServer(t *testing.T, delay time.Duration) (*portServer, string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := &portServer{from: map[string]int{}, delay: delay}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) },
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
			ps.mu.Lock()
			ps.from[w.RemoteAddr().String()]++
			ps.mu.Unlock()
			m := new(dns.Msg)
			m.SetReply(q)
			ip := "192.0.2.1"
			if q.Question[0].Name == "slow.test." {
				time.Sleep(ps.delay)
				ip = "192.0.2.99"
			}
			rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN A " + ip)
			m.Answer = append(m.Answer, rr)
			w.WriteMsg(m)
		})}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return ps, pc.LocalAddr().String()
}

func (ps *portServer) sources() (ports, queries int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, n := range ps.from {
		queries += n
	}
	return len(ps.from), queries
}
