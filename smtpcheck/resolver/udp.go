package resolver

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// UDP transport. Queries to one server share a connected UDP socket, many
// in flight at once, told apart by their message ID. Opening a socket per
// query, as before, cost more CPU than the query itself.
//
// There is no reader goroutine: one of the queries waiting on a socket
// reads it, and hands each answer it reads to the query waiting for that
// ID, and only if the answer's question is that query's: a late answer to
// an abandoned query, or a forged one, never completes another query.
// When the reading query has its own answer (or gives up) it passes the
// turn to another waiting query. A lone query thus reads its own answer,
// with no goroutine switch between the socket and the caller, and a
// Resolver holds no goroutine while idle.
//
// A socket takes udpMaxUses queries and is then retired: it takes no new
// ones and closes once its last answer is in, so the source port still
// changes and an off-path forger must guess it as well as the ID. A query
// that times out or is abandoned retires its socket too.
const udpMaxUses = 64

// udpResult is what a query waiting on a socket is handed: its answer,
// the socket's failure, or (turn) the turn to read the socket.
type udpResult struct {
	msg  *dns.Msg
	err  error
	turn bool
}

// udpCall is one query waiting for its answer.
type udpCall struct {
	name  string // canonical question name
	qtype uint16
	ctx   context.Context // the query's, while it is in flight
	// ch takes at most one answer and one turn (a turn is sent only to
	// an empty ch), so a send never blocks.
	ch chan udpResult
	io sockIO // the query's own send, and its reads while it has the turn
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
	raw  syscall.RawConn
	wake func() // s.wakeReader, made once for every context.AfterFunc

	mu      sync.Mutex
	pending map[uint16]*udpCall
	reader  *udpCall  // the query reading the socket, nil if none
	rdl     time.Time // the read deadline last set on conn
	uses    int       // queries sent
	retired bool      // takes no new query; closes when pending empties
	closed  bool
}

func newUDPPool(server string, udpSize uint16) *udpPool {
	return &udpPool{server: server, udpSize: udpSize, socks: make(map[*udpSock]struct{})}
}

var callPool = sync.Pool{New: func() any {
	c := &udpCall{ch: make(chan udpResult, 2)}
	c.io.init()
	return c
}}

// queryBufs hold queries as packed.
var queryBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// readBufs hold answers as read; 64 KiB takes any datagram, whatever the
// server makes of our advertised size.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 65536); return &b }}

// exchange sends the question (name canonical) and waits for its answer
// until deadline, or until ctx ends. now is about the time of the call:
// the round trip time counts from it.
func (p *udpPool) exchange(ctx context.Context, now time.Time, name string, qtype uint16, deadline time.Time) (*dns.Msg, time.Duration, error) {
	call := callPool.Get().(*udpCall)
	call.name, call.qtype, call.ctx = name, qtype, ctx
	s, id, err := p.register(call)
	if err != nil {
		call.ctx = nil
		callPool.Put(call)
		return nil, 0, err
	}
	bp := queryBufs.Get().(*[]byte)
	q := appendQuery((*bp)[:0], id, name, qtype, p.udpSize)
	err = s.send(&call.io, q)
	*bp = q
	queryBufs.Put(bp)
	if err != nil {
		s.release(id, true)
		call.ctx = nil
		callPool.Put(call)
		return nil, 0, err
	}
	res, answered := s.await(ctx, call, now, deadline)
	if !answered {
		// The answer may come yet: retire the socket rather than keep a
		// port that a late answer is headed for. The call is not reused:
		// a reader may hold it.
		s.release(id, true)
		return nil, 0, res.err
	}
	// Out of pending before its answer was sent: nothing is sent to it
	// any more but perhaps a turn, which it did not need.
	for len(call.ch) > 0 {
		<-call.ch
	}
	call.ctx = nil
	callPool.Put(call)
	return res.msg, time.Since(now), res.err
}

// await waits for call's answer, reading the socket whenever no other
// query does. It reports false with the reason in err when the deadline
// passes or ctx ends first.
func (s *udpSock) await(ctx context.Context, call *udpCall, now, deadline time.Time) (udpResult, bool) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if s.takeTurn(call) {
			return s.read(ctx, call, now, deadline)
		}
		if timer == nil {
			timer = time.NewTimer(time.Until(deadline))
		}
		select {
		case res := <-call.ch:
			if !res.turn {
				return res, true
			}
		case <-timer.C:
			return udpResult{err: os.ErrDeadlineExceeded}, false
		case <-ctx.Done():
			return udpResult{err: ctx.Err()}, false
		}
	}
}

// takeTurn makes call the socket's reader if there is none.
func (s *udpSock) takeTurn(call *udpCall) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reader != nil || s.closed {
		return false
	}
	s.reader = call
	return true
}

// read reads the socket for call, handing other queries their answers,
// until call's answer comes (ok), or the deadline passes, ctx ends or
// the socket fails (not ok, err set). It passes the turn on as it
// returns. now is a recent clock reading.
//
// Moving a socket's deadline costs a runtime timer update and two clock
// readings, so the deadline an earlier query left is kept when it is no
// later than this query's and at least halfway to it: a read blocked
// past it wakes early, and only then is the deadline moved. Queries a
// few microseconds apart with the same timeout thus move it about once
// per half timeout, not once each.
func (s *udpSock) read(ctx context.Context, call *udpCall, now, deadline time.Time) (res udpResult, ok bool) {
	if ctx.Done() != nil {
		// Ends a Read blocked past ctx.
		stop := context.AfterFunc(ctx, s.wake)
		defer stop()
	}
	defer s.passTurnFrom(call)
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	s.mu.Lock()
	if cur := s.rdl; cur.After(deadline) || cur.Sub(now) < deadline.Sub(now)/2 {
		s.setReadDeadline(deadline)
	}
	s.mu.Unlock()
	for {
		// The answer may have been read by the reader before this one.
		for drained := false; !drained; {
			select {
			case res := <-call.ch:
				if !res.turn {
					return res, true
				}
			default:
				drained = true
			}
		}
		if ctx.Err() != nil {
			return udpResult{err: ctx.Err()}, false
		}
		n, err := s.recv(&call.io, buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if ctx.Err() != nil {
					return udpResult{err: ctx.Err()}, false
				}
				if time.Now().Before(deadline) {
					// An earlier query's deadline (see above): move it
					// to ours and read on.
					s.mu.Lock()
					s.setReadDeadline(deadline)
					s.mu.Unlock()
					continue
				}
				return udpResult{err: err}, false
			}
			s.fail(err) // also hands err to call: not reusable
			return udpResult{err: err}, false
		}
		if c, r := s.match(buf[:n]); c == call {
			return r, true
		} else if c != nil {
			c.ch <- r
		}
	}
}

// wakeReader ends the read of the query reading the socket if that
// query's context has ended. Run when any reader's context ends, it
// needs no word of which: a late run, after that reader's turn, finds
// the reader's context alive and does nothing.
func (s *udpSock) wakeReader() {
	s.mu.Lock()
	if c := s.reader; c != nil && c.ctx.Err() != nil {
		s.setReadDeadline(time.Unix(1, 0))
	}
	s.mu.Unlock()
}

// setReadDeadline sets the socket's read deadline to t; s.mu held.
func (s *udpSock) setReadDeadline(t time.Time) {
	s.conn.SetReadDeadline(t)
	s.rdl = t
}

// passTurnFrom ends call's turn at reading and passes it on.
func (s *udpSock) passTurnFrom(call *udpCall) {
	s.mu.Lock()
	if s.reader == call {
		s.reader = nil
	}
	s.mu.Unlock()
	s.passTurn()
}

// passTurn wakes a waiting query to read the socket if none does.
func (s *udpSock) passTurn() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reader != nil || s.closed {
		return
	}
	for _, c := range s.pending {
		if len(c.ch) == 0 {
			c.ch <- udpResult{turn: true}
		}
		return // a full ch wakes its query all the same
	}
}

// match finds the query that datagram b answers and takes it out of
// pending; nil if it answers none: no such ID in flight, or not the
// question asked (late, or forged).
func (s *udpSock) match(b []byte) (*udpCall, udpResult) {
	if len(b) < 12 {
		return nil, udpResult{}
	}
	id := uint16(b[0])<<8 | uint16(b[1])
	s.mu.Lock()
	call := s.pending[id]
	s.mu.Unlock()
	if call == nil {
		return nil, udpResult{}
	}
	m := new(dns.Msg)
	res := udpResult{msg: m}
	if err := m.Unpack(b); err != nil {
		res = udpResult{err: err}
	} else if !m.Response || len(m.Question) != 1 || m.Question[0].Qtype != call.qtype ||
		m.Question[0].Qclass != dns.ClassINET || !strings.EqualFold(m.Question[0].Name, call.name) {
		return nil, udpResult{} // the right ID on the wrong question: forged
	}
	s.mu.Lock()
	if s.pending[id] != call { // gave up meanwhile
		s.mu.Unlock()
		return nil, udpResult{}
	}
	delete(s.pending, id)
	s.mu.Unlock()
	s.closeIfDrained()
	return call, res
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

// open dials a socket; p.mu held.
func (p *udpPool) open() (*udpSock, error) {
	raddr, err := net.ResolveUDPAddr("udp", p.server)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, err
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	s := &udpSock{pool: p, conn: conn, raw: raw, pending: make(map[uint16]*udpCall)}
	s.wake = s.wakeReader
	p.socks[s] = struct{}{}
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
		s.fail(net.ErrClosed)
	}
}

// release forgets the query id (timed out, abandoned or failed), retiring
// the socket if retire, and passes the turn on if that query held it.
func (s *udpSock) release(id uint16, retire bool) {
	s.mu.Lock()
	delete(s.pending, id)
	if retire {
		s.retired = true
	}
	s.mu.Unlock()
	if !s.closeIfDrained() {
		s.passTurn()
	}
}

// closeIfDrained closes a retired socket with nothing in flight, and
// reports whether the socket is closed.
func (s *udpSock) closeIfDrained() bool {
	s.mu.Lock()
	shut := s.retired && len(s.pending) == 0 && !s.closed
	closed := s.closed || shut
	s.mu.Unlock()
	if shut {
		s.fail(net.ErrClosed)
	}
	return closed
}

// fail closes the socket: its queries in flight get err.
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
