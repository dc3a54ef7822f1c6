package resolver

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// UDP transport. Queries to one server share a connected UDP socket, many
// in flight at once, told apart by their message ID; one reader goroutine
// per socket hands each answer to the query waiting for that ID, and only
// if the answer's question is that query's: a late answer to an abandoned
// query, or a forged one, never completes another query. Opening a socket
// per query, as before, cost more CPU than the query itself.
//
// A socket takes udpMaxUses queries and is then retired: it takes no new
// ones and closes once its last answer is in, so the source port still
// changes and an off-path forger must guess it as well as the ID. A query
// that times out or is abandoned retires its socket too. A socket with
// nothing in flight for udpIdle closes, and its reader ends with it.
const (
	udpMaxUses = 64
	udpIdle    = time.Second
)

// udpResult is what the reader hands a waiting query.
type udpResult struct {
	msg *dns.Msg
	err error
}

// udpCall is one query waiting for its answer.
type udpCall struct {
	name  string // canonical question name
	qtype uint16
	ch    chan udpResult // buffered: the reader never blocks on it
}

// udpPool holds the sockets to one server.
type udpPool struct {
	server  string
	udpSize uint16

	mu     sync.Mutex
	cur    *udpSock // takes new queries; nil or retired: open another
	socks  map[*udpSock]struct{}
	closed bool
}

// udpSock is one connected socket and the queries in flight on it.
type udpSock struct {
	pool *udpPool
	conn *net.UDPConn

	mu      sync.Mutex
	pending map[uint16]*udpCall
	uses    int  // queries sent
	seen    int  // uses at the last idle check
	retired bool // takes no new query; closes when pending empties
	closed  bool
}

func newUDPPool(server string, udpSize uint16) *udpPool {
	return &udpPool{server: server, udpSize: udpSize, socks: make(map[*udpSock]struct{})}
}

var callPool = sync.Pool{New: func() any { return &udpCall{ch: make(chan udpResult, 1)} }}

// exchange sends the question (name canonical) and waits for its answer,
// at most timeout and no longer than ctx allows.
func (p *udpPool) exchange(ctx context.Context, name string, qtype uint16, timeout time.Duration) (*dns.Msg, time.Duration, error) {
	call := callPool.Get().(*udpCall)
	call.name, call.qtype = name, qtype
	s, id, err := p.register(call)
	if err != nil {
		callPool.Put(call)
		return nil, 0, err
	}
	bp := queryBufs.Get().(*[]byte)
	q := appendQuery((*bp)[:0], id, name, qtype, p.udpSize)
	start := time.Now()
	_, err = s.conn.Write(q)
	*bp = q
	queryBufs.Put(bp)
	if err != nil {
		s.release(id, true)
		callPool.Put(call)
		return nil, 0, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case res := <-call.ch:
		// The reader removed the call before sending: nothing else
		// refers to it now.
		callPool.Put(call)
		return res.msg, time.Since(start), res.err
	case <-timer.C:
		err = os.ErrDeadlineExceeded
	case <-ctx.Done():
		err = ctx.Err()
	}
	// The answer may come yet: retire the socket rather than keep a port
	// that a late answer is headed for. The call is not reused: the reader
	// may hold it.
	s.release(id, true)
	return nil, 0, err
}

// register puts call on the current socket under a free random ID,
// opening a socket when there is none to take it.
func (p *udpPool) register(call *udpCall) (*udpSock, uint16, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, 0, net.ErrClosed
	}
	for {
		s := p.cur
		if s == nil {
			var err error
			if s, err = p.open(); err != nil {
				return nil, 0, err
			}
			p.cur = s
		}
		s.mu.Lock()
		if s.retired || s.closed {
			s.mu.Unlock()
			p.cur = nil
			continue
		}
		id := uint16(rand.Uint32())
		for s.pending[id] != nil {
			id = uint16(rand.Uint32())
		}
		s.pending[id] = call
		s.uses++
		if s.uses >= udpMaxUses {
			s.retired = true
			p.cur = nil
		}
		s.mu.Unlock()
		return s, id, nil
	}
}

// open dials a socket and starts its reader; p.mu held.
func (p *udpPool) open() (*udpSock, error) {
	raddr, err := net.ResolveUDPAddr("udp", p.server)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, err
	}
	s := &udpSock{pool: p, conn: conn, pending: make(map[uint16]*udpCall)}
	p.socks[s] = struct{}{}
	go s.read()
	return s, nil
}

// close closes every socket; queries in flight fail, later ones too.
func (p *udpPool) close() {
	p.mu.Lock()
	p.closed = true
	socks := make([]*udpSock, 0, len(p.socks))
	for s := range p.socks {
		socks = append(socks, s)
	}
	p.mu.Unlock()
	for _, s := range socks {
		s.conn.Close() // the reader fails what is pending and ends
	}
}

// release forgets the query id (answered elsewhere, timed out or failed),
// retiring the socket if retire, and closes a retired socket left with
// nothing in flight.
func (s *udpSock) release(id uint16, retire bool) {
	s.mu.Lock()
	delete(s.pending, id)
	if retire {
		s.retired = true
	}
	shut := s.retired && len(s.pending) == 0 && !s.closed
	if shut {
		s.closed = true
	}
	s.mu.Unlock()
	if shut {
		s.conn.Close()
	}
}

// readBufs hold answers as read; 64 KiB takes any datagram, whatever the
// server makes of our advertised size.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 65536); return &b }}

// queryBufs hold queries as packed.
var queryBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// read hands answers to their queries until the socket closes or fails.
func (s *udpSock) read() {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	s.conn.SetReadDeadline(time.Now().Add(udpIdle))
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && s.inUse() {
				s.conn.SetReadDeadline(time.Now().Add(udpIdle))
				continue
			}
			s.fail(err)
			return
		}
		if s.deliver(buf[:n]) {
			return
		}
	}
}

// inUse reports, at an idle deadline, whether the socket had queries
// since the last check or has some in flight; if not, it is closed.
func (s *udpSock) inUse() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) > 0 || s.uses != s.seen {
		s.seen = s.uses
		return true
	}
	s.closed = true
	return false
}

// fail ends the socket: its queries in flight get err.
func (s *udpSock) fail(err error) {
	s.mu.Lock()
	s.closed = true
	calls := s.pending
	s.pending = map[uint16]*udpCall{}
	s.mu.Unlock()
	s.conn.Close()
	for _, c := range calls {
		c.ch <- udpResult{err: err}
	}
	p := s.pool
	p.mu.Lock()
	delete(p.socks, s)
	if p.cur == s {
		p.cur = nil
	}
	p.mu.Unlock()
}

// deliver hands one datagram to the query it answers, and drops it if it
// answers none: no such ID in flight, or not the question asked. It
// reports whether the socket closed (retired and drained).
func (s *udpSock) deliver(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	id := uint16(b[0])<<8 | uint16(b[1])
	s.mu.Lock()
	call := s.pending[id]
	s.mu.Unlock()
	if call == nil {
		return false // late, or forged
	}
	m := new(dns.Msg)
	res := udpResult{msg: m}
	if err := m.Unpack(b); err != nil {
		res = udpResult{err: err}
	} else if !m.Response || len(m.Question) != 1 || m.Question[0].Qtype != call.qtype ||
		m.Question[0].Qclass != dns.ClassINET || !strings.EqualFold(m.Question[0].Name, call.name) {
		return false // the right ID on the wrong question: forged, keep waiting
	}
	s.mu.Lock()
	if s.pending[id] != call { // timed out meanwhile
		s.mu.Unlock()
		return false
	}
	delete(s.pending, id)
	shut := s.retired && len(s.pending) == 0
	if shut {
		s.closed = true
	}
	s.mu.Unlock()
	call.ch <- res
	if shut {
		s.fail(net.ErrClosed) // nothing pending: closes and forgets the socket
	}
	return shut
}

// appendQuery appends a recursive query for name (canonical, so every
// label is 1 to 63 bytes) and qtype with an EDNS0 OPT record advertising
// udpSize: what miekg/dns's SetQuestion and SetEdns0 make, without the
// allocations of a dns.Msg.
func appendQuery(b []byte, id uint16, name string, qtype, udpSize uint16) []byte {
	b = append(b, byte(id>>8), byte(id),
		0x01, 0x00, // RD
		0, 1, // QDCOUNT
		0, 0, 0, 0, // ANCOUNT, NSCOUNT
		0, 1) // ARCOUNT: the OPT record
	if name != "." {
		for len(name) > 0 {
			i := strings.IndexByte(name, '.')
			b = append(b, byte(i))
			b = append(b, name[:i]...)
			name = name[i+1:]
		}
	}
	b = append(b, 0, byte(qtype>>8), byte(qtype), 0, byte(dns.ClassINET))
	// OPT: root name, type 41, class = UDP size, TTL 0 (no DO bit), no data.
	return append(b, 0, 0, byte(dns.TypeOPT), byte(udpSize>>8), byte(udpSize), 0, 0, 0, 0, 0, 0)
}
