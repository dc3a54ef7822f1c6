package redisstore

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Pipelining. Every Update and Incr is one script call, and written alone
// each costs a socket write, a read and a wake-up of its own: under
// concurrent load (16 greylisting decisions at once) those system calls
// are most of what a decision costs. So calls queue, and one caller at a
// time, the leader, sends everything queued as one pipeline (one write,
// the replies read back in a row); calls made meanwhile queue for the
// next, which the first of their callers sends. At most one round trip
// is in flight; a lone call goes out at once, with no timer to wait for
// and no goroutine of the Store's own.
//
// Each call still gets its own reply and its own error, and each caller
// waits no longer than its own context: a pipeline runs under the
// earliest deadline of its calls, and a caller whose context ends while
// its call is queued returns and passes the lead on if it had it. A call
// whose caller has gone before its pipeline is written is dropped; one
// already written may still run.

// Messages on a scriptCall's done channel.
const (
	answered = iota + 1 // res and err hold the reply
	leading             // the caller is to send the queue
)

// scriptCall is one queued script call and where its reply goes.
type scriptCall struct {
	ctx    context.Context
	script *redis.Script
	keys   []string
	args   []any

	res  any
	err  error
	done chan uint8 // buffered: at most one message is ever pending
	gone atomic.Bool
}

// batcher sends the script calls of one Store, pipelining those that
// queue up behind a call in flight.
type batcher struct {
	c *redis.Client

	mu    sync.Mutex
	busy  bool // a leader is sending, or has been named
	queue []*scriptCall
	spare []*scriptCall // the last pipeline's slice, for the next queue
	calls sync.Pool     // of *scriptCall, reused only once answered
}

// run runs script with keys and args, alone or in a pipeline with other
// callers' calls, and returns its reply.
func (b *batcher) run(ctx context.Context, script *redis.Script, keys []string, args []any) (any, error) {
	c, _ := b.calls.Get().(*scriptCall)
	if c == nil {
		c = &scriptCall{done: make(chan uint8, 1)}
	}
	c.ctx, c.script, c.keys, c.args = ctx, script, keys, args
	b.mu.Lock()
	b.queue = append(b.queue, c)
	lead := !b.busy
	b.busy = true
	b.mu.Unlock()
	if lead {
		b.lead()
	}
	for {
		// A leader finds its own call answered when lead returns: take
		// the reply without asking ctx for Done, which arms a timer in
		// contexts that make theirs lazily.
		var m uint8
		select {
		case m = <-c.done:
		default:
		}
		if m == leading {
			b.lead()
			continue
		}
		if m == answered {
			return b.reply(c)
		}
		select {
		case m := <-c.done:
			if m == leading {
				b.lead()
				continue
			}
		case <-ctx.Done():
			b.mu.Lock()
			c.gone.Store(true) // under mu, so that handOff sees it or we see its message
			b.mu.Unlock()
			select {
			case m := <-c.done:
				if m == leading {
					b.mu.Lock()
					b.handOffLocked()
					b.mu.Unlock()
					return nil, ctx.Err()
				}
				// answered as we gave up: report the reply
			default:
				return nil, ctx.Err() // c is not reused: a pipeline may still answer it
			}
		}
		return b.reply(c)
	}
}

// reply returns c's answer and gives c back for reuse.
func (b *batcher) reply(c *scriptCall) (any, error) {
	res, err := c.res, c.err
	c.ctx, c.script, c.keys, c.args, c.res, c.err = nil, nil, nil, nil, nil, nil
	c.gone.Store(false)
	b.calls.Put(c)
	return res, err
}

// lead sends the queue, then names the next leader.
func (b *batcher) lead() {
	b.mu.Lock()
	if len(b.queue) == 1 {
		// A lone call first lets the goroutines already runnable run: in
		// a server on one thread (policyd's default) they are requests
		// already read whose calls would otherwise each wait for this
		// round trip to go out alone. Behind 16 connections this turned
		// 2100 lone round trips of 3200 into about 60 of 1200, for 10000
		// calls; with nothing else to run it costs one trip through the
		// scheduler.
		b.mu.Unlock()
		runtime.Gosched()
		b.mu.Lock()
	}
	batch := b.queue
	b.queue, b.spare = b.spare[:0], nil
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		clear(batch)
		b.spare = batch[:0]
		b.handOffLocked()
		b.mu.Unlock()
	}()
	b.send(batch)
}

// handOffLocked names the first queued call whose caller still waits the
// next leader, or, with none, leaves the batcher idle. b.mu is held.
func (b *batcher) handOffLocked() {
	for i, c := range b.queue {
		if !c.gone.Load() {
			b.queue = b.queue[:copy(b.queue, b.queue[i:])]
			c.done <- leading
			return
		}
	}
	clear(b.queue)
	b.queue = b.queue[:0]
	b.busy = false
}

// send runs the calls of batch whose callers still wait, in one pipeline
// under the earliest of their deadlines (a lone call under its own
// context), and answers each.
func (b *batcher) send(batch []*scriptCall) {
	live := batch[:0:0]
	var first *scriptCall // the call with the earliest deadline
	var firstDeadline time.Time
	for _, c := range batch {
		if c.gone.Load() {
			continue
		}
		if live == nil {
			live = make([]*scriptCall, 0, len(batch))
		}
		live = append(live, c)
		if d, ok := c.ctx.Deadline(); ok && (first == nil || d.Before(firstDeadline)) {
			first, firstDeadline = c, d
		}
	}
	pending := live
	defer func() {
		if r := recover(); r != nil {
			for _, c := range pending {
				c.res, c.err = nil, fmt.Errorf("redisstore: pipeline panicked: %v", r)
				c.done <- answered
			}
		}
	}()
	switch len(live) {
	case 0:
		return
	case 1:
		c := live[0]
		c.res, c.err = c.script.Run(c.ctx, b.c, c.keys, c.args...).Result()
		pending = nil
		c.done <- answered
		return
	}
	ctx := context.Background()
	if first != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, firstDeadline)
		defer cancel()
	}
	cmds := make([]*redis.Cmd, len(live))
	pipe := b.c.Pipeline()
	for i, c := range live {
		cmds[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for i, c := range live {
		c.res, c.err = cmds[i].Result()
		if c.err != nil && redis.HasErrorPrefix(c.err, "NOSCRIPT") {
			// A Redis restarted or flushed since the script was loaded:
			// Run sends the script itself.
			c.res, c.err = c.script.Run(ctx, b.c, c.keys, c.args...).Result()
		}
		pending = live[i+1:]
		c.done <- answered
	}
}
