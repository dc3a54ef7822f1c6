package boltstore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// Group commit. A bbolt commit with fsync costs about as much as the disk's
// flush (a quarter of a millisecond to several milliseconds), and bbolt has
// one writer at a time, so writes from concurrent callers (16 greylisting
// decisions at once) would wait for each other's fsync. Instead, writes
// that arrive while a commit is in progress queue up, and the next commit
// runs them all in one transaction with one fsync. A lone writer commits at
// once: unlike bbolt's DB.Batch there is no timer to wait for.
//
// Every caller returns only after the transaction holding its write has
// committed, so committed still means durable. An operation that fails
// before writing anything (its fn refused, a record is not a counter) is
// reported to its caller alone and the others in the transaction commit.
// One that fails after it may have written (bbolt refused a put) rolls the
// transaction back; it is then retried in a transaction of its own and the
// others in a new shared one, as bbolt's DB.Batch does, so it cannot fail
// them.

// maxGroup bounds the operations one transaction commits, so that one
// slow transaction does not hold many callers.
const maxGroup = 256

// opFunc is one write. It returns a *cleanError when it failed before
// changing anything in tx.
type opFunc func(tx *bolt.Tx) error

// cleanError is an operation's failure that left the transaction as it was.
type cleanError struct{ err error }

func (e *cleanError) Error() string { return e.err.Error() }

// op is one queued write and where its outcome goes.
type op struct {
	fn   opFunc
	done chan error // buffered; receives errLead or the outcome
}

// errLead tells a queued caller that it now runs the commits.
var errLead = errors.New("boltstore: lead the next commit")

// committer queues writes and commits them in groups.
type committer struct {
	db *bolt.DB

	mu      sync.Mutex
	queue   []*op
	running bool // a leader is committing

	commits atomic.Int64 // transactions run, for the benchmarks' ops/commit
}

var opPool = sync.Pool{New: func() any { return &op{done: make(chan error, 1)} }}

// write runs fn in a read-write transaction, possibly shared with other
// callers' writes, and returns once that transaction has committed. fn may
// run more than once.
func (c *committer) write(fn opFunc) error {
	o := opPool.Get().(*op)
	o.fn = fn
	c.mu.Lock()
	c.queue = append(c.queue, o)
	lead := !c.running
	c.running = true
	c.mu.Unlock()
	var err error
	if lead {
		err = c.lead(o)
	} else if err = <-o.done; err == errLead {
		err = c.lead(o)
	}
	o.fn = nil
	opPool.Put(o)
	var ce *cleanError
	if errors.As(err, &ce) {
		err = ce.err
	}
	return err
}

// lead commits the queued writes, from the front, until own's has been
// committed; then it hands the lead to the first caller still waiting, or
// marks the committer idle.
func (c *committer) lead(own *op) error {
	var ownErr error
	ownDone := false
	for !ownDone {
		c.mu.Lock()
		n := min(len(c.queue), maxGroup)
		group := make([]*op, n)
		copy(group, c.queue)
		c.queue = append(c.queue[:0], c.queue[n:]...)
		c.mu.Unlock()
		errs := c.commit(group)
		for i, o := range group {
			if o == own {
				ownErr, ownDone = errs[i], true
				continue
			}
			o.done <- errs[i]
		}
	}
	c.mu.Lock()
	if len(c.queue) > 0 {
		next := c.queue[0]
		c.mu.Unlock()
		next.done <- errLead
		return ownErr
	}
	c.running = false
	c.mu.Unlock()
	return ownErr
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
		err := c.db.Update(func(tx *bolt.Tx) error {
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
			return nil
		})
		if failed >= 0 {
			i := todo[failed]
			errs[i] = c.db.Update(func(tx *bolt.Tx) error { return call(group[i].fn, tx) })
			todo = append(todo[:failed], todo[failed+1:]...)
			continue
		}
		if err != nil {
			// The commit itself failed (disk full, file closed): every
			// write in it is lost.
			for _, i := range todo {
				if errs[i] == nil {
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
