package boltstore

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Group commit. A bbolt commit with fsync costs about as much as the disk's
// flush (a quarter of a millisecond to several milliseconds), and bbolt has
// one writer at a time, so writes from concurrent callers (16 greylisting
// decisions at once) would wait for each other's fsync. Instead, writes
// queue up for one committing goroutine, which runs everything queued in
// one transaction with one fsync. A lone write is committed at once:
// unlike bbolt's DB.Batch there is no timer to wait for.
//
// Callers wait for their outcome, or for their context, whichever comes
// first: a commit that hangs (a stalled disk) or a committer that is
// stuck costs a caller its deadline, never more. A write whose caller has
// gone before its group started is dropped; one already in a group may
// still commit after its caller returned with the context's error.
//
// Every caller that gets nil has its write committed, so committed still
// means durable. An operation that fails before writing anything (its fn
// refused, a record is not a counter) is reported to its caller alone and
// the others in the transaction commit. One that fails after it may have
// written (bbolt refused a put) rolls the transaction back; it is then
// retried in a transaction of its own and the others in a new shared one,
// as bbolt's DB.Batch does, so it cannot fail them. A panic inside bbolt
// (a damaged page, a bug) fails the writes of that transaction with
// ErrPanicked and the committer goes on with the next group.

// maxGroup bounds the operations one transaction commits, so that one
// slow transaction does not hold many callers.
const maxGroup = 256

// maxLinger bounds how long the committer waits for more writes before a
// commit when the last commit was shared: each commit costs two fdatasync
// calls whatever it holds, so under concurrent load a short wait that lets
// the callers of the last commit join the next saves far more CPU than it
// adds latency. It waits until as many writes as the last commit held are
// queued, or for as long as that commit took, whichever comes first; a
// lone writer (the last commit held one write) never waits.
const maxLinger = time.Millisecond

// opFunc is one write. It returns a *cleanError when it failed before
// changing anything in tx.
type opFunc func(tx *bolt.Tx) error

// cleanError is an operation's failure that left the transaction as it was.
type cleanError struct{ err error }

func (e *cleanError) Error() string { return e.err.Error() }

// op is one queued write and where its outcome goes.
type op struct {
	fn   opFunc
	done chan error // buffered, so the committer never waits for a caller
	gone atomic.Bool
}

// committer queues writes and commits them in groups from one goroutine.
type committer struct {
	db    *bolt.DB
	cache *readCache // emptied when a commit fails

	mu     sync.Mutex
	more   sync.Cond // signalled when queue grows or closing is set
	queue  []*op
	closed bool
	exited chan struct{}

	// inTx, when set, runs inside every shared transaction after its
	// operations: tests make it panic to stand in for bbolt failing.
	inTx func(tx *bolt.Tx)

	commits atomic.Int64 // transactions run, for the benchmarks' ops/commit
}

func newCommitter(db *bolt.DB, cache *readCache) *committer {
	c := &committer{db: db, cache: cache, exited: make(chan struct{})}
	c.more.L = &c.mu
	go c.run()
	return c
}

// write runs fn in a read-write transaction, possibly shared with other
// callers' writes, and returns once that transaction has committed or ctx
// is done. fn may run more than once.
func (c *committer) write(ctx context.Context, fn opFunc) error {
	o := &op{fn: fn, done: make(chan error, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.queue = append(c.queue, o)
	c.more.Signal()
	c.mu.Unlock()
	var err error
	select {
	case err = <-o.done:
	case <-ctx.Done():
		o.gone.Store(true)
		select {
		case err = <-o.done: // it finished as we gave up: report the outcome
		default:
			return fmt.Errorf("%w: boltstore: write not committed in time: %w", store.ErrUnavailable, ctx.Err())
		}
	}
	var ce *cleanError
	if errors.As(err, &ce) {
		err = ce.err
	}
	return err
}

// close lets the committer finish what is queued, refuses later writes
// and waits for the committing goroutine to end.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.more.Broadcast()
	c.mu.Unlock()
	<-c.exited
}

func (c *committer) run() {
	defer close(c.exited)
	lastGroup, lastTook := 0, time.Duration(0)
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closed {
			c.more.Wait()
		}
		if lastGroup > 1 && len(c.queue) < lastGroup && !c.closed {
			// Writers are concurrent: wait, for at most what the last
			// commit took, until as many have come as it held.
			wait := min(lastTook, maxLinger)
			deadline := time.Now().Add(wait)
			t := time.AfterFunc(wait, func() {
				c.mu.Lock()
				c.more.Broadcast()
				c.mu.Unlock()
			})
			for len(c.queue) < lastGroup && !c.closed && time.Now().Before(deadline) {
				c.more.Wait()
			}
			t.Stop()
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		group := make([]*op, 0, min(len(c.queue), maxGroup))
		n := 0
		for _, o := range c.queue {
			if len(group) == maxGroup {
				break
			}
			n++
			if !o.gone.Load() {
				group = append(group, o)
			}
		}
		c.queue = append(c.queue[:0], c.queue[n:]...)
		c.mu.Unlock()
		if len(group) == 0 {
			continue
		}
		start := time.Now()
		errs := c.commit(group)
		lastGroup, lastTook = len(group), time.Since(start)
		for i, err := range errs {
			group[i].done <- err
		}
	}
}

// commit runs group in one transaction and returns each operation's error.
// An operation that fails leaving the transaction changed is taken out
// and run on its own, and the rest of the group is run again.
func (c *committer) commit(group []*op) []error {
	errs := make([]error, len(group))
	todo := make([]int, len(group))
	for i := range todo {
		todo[i] = i
	}
	for len(todo) > 0 {
		failed := -1
		c.commits.Add(1)
		err := guard("commit", func() error {
			return c.db.Update(func(tx *bolt.Tx) error {
				for j, i := range todo {
					err := call(group[i].fn, tx)
					var ce *cleanError
					switch {
					case err == nil:
						errs[i] = nil
					case errors.As(err, &ce):
						errs[i] = err
					default:
						failed = j
						return err
					}
				}
				if c.inTx != nil {
					c.inTx(tx)
				}
				return nil
			})
		})
		if failed >= 0 {
			i := todo[failed]
			errs[i] = guard("commit", func() error {
				return c.db.Update(func(tx *bolt.Tx) error { return call(group[i].fn, tx) })
			})
			if errs[i] != nil && c.cache != nil {
				c.cache.reset() // the file may hold either state
			}
			todo = append(todo[:failed], todo[failed+1:]...)
			continue
		}
		if err != nil {
			// The commit itself failed (disk full, file closed, bbolt
			// panicked): every write in it is lost, and the file may
			// hold either state.
			if c.cache != nil {
				c.cache.reset()
			}
			for _, i := range todo {
				var ce *cleanError
				if !errors.As(errs[i], &ce) {
					errs[i] = err
				}
			}
		}
		return errs
	}
	return errs
}

// call runs fn, turning a panic into an error so that one caller's
// faulty function cannot take down the goroutine committing for others.
func call(fn opFunc, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("boltstore: write function panicked: %v", r)
		}
	}()
	return fn(tx)
}

// guard runs fn, one use of bbolt, turning a panic inside bbolt (which it
// raises on a page it cannot make sense of) or a memory fault on the
// mapped file (a file truncated under it) into an error wrapping
// ErrPanicked and store.ErrUnavailable, so that neither a caller nor the
// process goes down with it.
func guard(what string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %w in %s: %v", store.ErrUnavailable, ErrPanicked, what, r)
		}
	}()
	return fn()
}
