package main

import (
	"io"
	"os"
	"sync"
	"time"
)

// Log lines to a file descriptor are gathered and written together: a
// write system call per verdict line costs a busy policy service about a
// tenth of its CPU, as much as the decision itself. A line is written at
// most logLinger after it was logged, or at once when logBatchMax bytes
// are waiting; each line is still written whole, in the order it was
// logged, and stopping the server writes what is waiting.
const (
	logLinger   = time.Millisecond
	logBatchMax = 32 << 10
)

// batchedLog returns w as the log's writer, with the lines written to a
// file gathered (see logLinger), and the function that writes what is
// waiting and makes later lines go out at once. A writer in memory (not
// a file) is returned as it is: it costs no system call per line.
func batchedLog(w io.Writer) (io.Writer, func()) {
	if _, ok := w.(*os.File); !ok {
		return w, func() {}
	}
	b := &lineBatcher{w: w}
	b.timer = time.AfterFunc(time.Hour, b.flush)
	b.timer.Stop()
	return b, b.close
}

// lineBatcher gathers writes to w and writes them in one call, logLinger
// after the first of them, or when logBatchMax bytes are waiting.
type lineBatcher struct {
	w io.Writer
	// writing is held while a batch is written, so that batches go out
	// in order; it is taken before mu.
	writing sync.Mutex

	mu     sync.Mutex
	buf    []byte // the lines waiting
	spare  []byte // the last batch's buffer, reused
	armed  bool   // timer runs for the lines in buf
	closed bool   // every write goes out at once
	timer  *time.Timer
}

// Write takes one line (or several whole ones) and returns; the bytes are
// written later. An error writing them is lost, as a log line's is when
// no one can be told.
func (b *lineBatcher) Write(p []byte) (int, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.writing.Lock()
		defer b.writing.Unlock()
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	full := len(b.buf) >= logBatchMax
	if !full && !b.armed {
		b.armed = true
		b.timer.Reset(logLinger)
	}
	b.mu.Unlock()
	if full {
		b.flush()
	}
	return len(p), nil
}

// flush writes the lines waiting.
func (b *lineBatcher) flush() {
	b.writing.Lock()
	defer b.writing.Unlock()
	b.mu.Lock()
	out := b.buf
	b.buf, b.spare = b.spare[:0], nil
	if b.armed {
		b.armed = false
		b.timer.Stop()
	}
	b.mu.Unlock()
	if len(out) == 0 {
		b.mu.Lock()
		b.spare = out
		b.mu.Unlock()
		return
	}
	_, _ = b.w.Write(out)
	if cap(out) > 4*logBatchMax {
		out = nil // a burst's buffer is not kept
	}
	b.mu.Lock()
	if b.spare == nil {
		b.spare = out[:0]
	}
	b.mu.Unlock()
}

// close writes what is waiting; later lines are written at once.
func (b *lineBatcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.flush()
}
