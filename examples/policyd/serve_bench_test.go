package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// streamConn is a connection that hands the server a fixed stream of
// requests and counts the answers, so a benchmark measures one request
// from socket read to socket write without the kernel in the figure.
type streamConn struct {
	reqs    [][]byte
	next    int
	left    int // requests still to send
	pending []byte
	answers int
}

func (c *streamConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		if c.left == 0 {
			return 0, io.EOF
		}
		c.left--
		c.pending = c.reqs[c.next%len(c.reqs)]
		c.next++
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *streamConn) Write(p []byte) (int, error) {
	for i := 0; i+1 < len(p); i++ {
		if p[i] == '\n' && p[i+1] == '\n' {
			c.answers++
		}
	}
	return len(p), nil
}

func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *streamConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

// loadRequest is request i of the stream examples/policyd/loadgen sends:
// triplet i mod triplets, so first sights then retries of known triplets.
func loadRequest(i, triplets int) []byte {
	k := i % triplets
	return fmt.Appendf(nil, "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"+
		"client_address=10.%d.%d.%d\nclient_name=unknown\nreverse_client_name=unknown\n"+
		"helo_name=mx%d.example.org\nsender=sender%d@example.org\nrecipient=user%d@example.net\n"+
		"recipient_count=0\nqueue_id=\ninstance=%x.%x\nsize=0\n\n",
		k>>16&255, k>>8&255, k&255, k, k, k%97, i, k)
}

// benchLogger is the logger policyd runs with for o's flags, writing to
// nowhere: every line is formatted as in production.
func benchLogger(b *testing.B, o options) *slog.Logger {
	logger, err := newLogger(o, io.Discard, nil)
	if err != nil {
		b.Fatal(err)
	}
	return logger
}

// benchServe runs the server's connection loop over b.N requests of the
// load generator's stream with the given flags, logging as policyd does to
// nowhere (the log lines are formatted as in production).
func benchServe(b *testing.B, triplets int, args ...string) {
	benchServeConc(b, 1, triplets, args...)
}

// benchServeConc is benchServe over conc connections served at once, as
// Postfix's smtpd processes hold them; b.N requests in all.
func benchServeConc(b *testing.B, conc, triplets int, args ...string) {
	o, err := parseFlags(args, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	logger := benchLogger(b, o)
	srv, _, closeStore, err := build(ctx, o, logger)
	if err != nil {
		b.Fatal(err)
	}
	defer closeStore()
	reqs := make([][]byte, 4*triplets)
	for i := range reqs {
		reqs[i] = loadRequest(i, triplets)
	}
	// Every triplet seen once, so the timed stream is the steady mix.
	warm := &streamConn{reqs: reqs, left: triplets}
	srv.handle(ctx, warm)
	conns := make([]*streamConn, conc)
	for i := range conns {
		// Each connection its own slice of the stream, all of them retries.
		conns[i] = &streamConn{reqs: reqs, next: triplets + i*len(reqs)/conc, left: b.N / conc}
	}
	conns[0].left += b.N % conc
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { srv.handle(ctx, c) })
	}
	wg.Wait()
	b.StopTimer()
	answers := 0
	for _, c := range conns {
		answers += c.answers
	}
	if answers != b.N {
		b.Fatalf("%d answers to %d requests", answers, b.N)
	}
}

// BenchmarkServeGreylistMemory is one RCPT request, socket read to socket
// write, through the default policy (greylisting on the memory store) on
// the load generator's stream: retries of triplets still in their delay,
// each answered DEFER and logged.
func BenchmarkServeGreylistMemory(b *testing.B) {
	benchServe(b, 5000, "-greylist", "memory:")
}

// BenchmarkServeGreylistMemoryPass is the same with a delay of 1 ns: every
// retry passes and is answered PREPEND X-Greylist.
func BenchmarkServeGreylistMemoryPass(b *testing.B) {
	benchServe(b, 5000, "-greylist", "memory:", "-greylist-delay", "1ns")
}

// BenchmarkServeGreylistBolt is BenchmarkServeGreylistMemory on a bbolt
// file (one commit and fdatasync per deferral, batched across concurrent
// requests only).
func BenchmarkServeGreylistBolt(b *testing.B) {
	benchServe(b, 5000, "-greylist", "bolt:"+b.TempDir()+"/grey.db")
}

// BenchmarkServeGreylistBolt16 is BenchmarkServeGreylistBolt over 16
// connections at once, whose deferrals share commits.
func BenchmarkServeGreylistBolt16(b *testing.B) {
	benchServeConc(b, 16, 5000, "-greylist", "bolt:"+b.TempDir()+"/grey.db")
}

// BenchmarkServeLoopbackBolt16 is the server as deployed: policyd's
// listener on loopback TCP and a bolt store, 16 client connections sending
// the load generator's stream (the clients' CPU is in the figure too; the
// load generator with -pid reports the server's alone).
func BenchmarkServeLoopbackBolt16(b *testing.B) {
	o, err := parseFlags([]string{"-greylist", "bolt:" + b.TempDir() + "/grey.db"}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	logger := benchLogger(b, o)
	srv, _, closeStore, err := build(ctx, o, logger)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
		closeStore()
	}()
	const conc, triplets = 16, 5000
	reqs := make([][]byte, 4*triplets)
	for i := range reqs {
		reqs[i] = loadRequest(i, triplets)
	}
	var next atomic.Int64
	run := func(n int64) {
		var wg sync.WaitGroup
		for range conc {
			wg.Go(func() {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					i := next.Add(1) - 1
					if i >= n {
						return
					}
					if _, err := c.Write(reqs[i%int64(len(reqs))]); err != nil {
						b.Error(err)
						return
					}
					if _, err := br.ReadString('\n'); err != nil {
						b.Error(err)
						return
					}
					if _, err := br.ReadString('\n'); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	run(triplets)
	next.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	run(int64(b.N))
}

// BenchmarkServeGreylistRedis16 is BenchmarkServeGreylistBolt16 on the
// Redis at 127.0.0.1:6379, database 13 (its grey:* keys deleted first),
// where the calls of concurrent requests share pipelines.
func BenchmarkServeGreylistRedis16(b *testing.B) {
	c := redis.NewClient(&redis.Options{Addr: redistest.Addr, DB: 13})
	defer c.Close()
	ctx := b.Context()
	if err := c.Ping(ctx).Err(); err != nil {
		b.Skipf("no Redis at %s: %v", redistest.Addr, err)
	}
	iter := c.Scan(ctx, 0, "grey:*", 1000).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	benchServeConc(b, 16, 5000, "-greylist", "redis://"+redistest.Addr+"/13")
}
