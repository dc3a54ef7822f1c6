package store

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultErrorLogInterval is how often an ErrorLog writes a line for one
// kind of error that keeps happening.
const DefaultErrorLogInterval = time.Minute

// ErrorLog logs errors that repeat, such as every RCPT failing while a
// store is down, as one line per interval with a count, instead of one
// line per failure: the first error of a kind is logged at once, the ones
// that follow within the interval are only counted, and the first after
// the interval logs the latest error with the number of errors since the
// previous line ("count"). A kind is the message passed to Error.
//
// An ErrorLog is safe for concurrent use; its zero value logs nothing.
type ErrorLog struct {
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time

	mu    sync.Mutex
	kinds map[string]*errorKind
}

type errorKind struct {
	last  time.Time // when a line was last written
	count int       // errors since then, not yet logged
}

// NewErrorLog returns an ErrorLog writing to logger at error level, at
// most one line per interval for each kind (zero interval:
// DefaultErrorLogInterval). now is the clock (nil: time.Now); tests
// inject one.
func NewErrorLog(logger *slog.Logger, interval time.Duration, now func() time.Time) *ErrorLog {
	if interval <= 0 {
		interval = DefaultErrorLogInterval
	}
	if now == nil {
		now = time.Now
	}
	return &ErrorLog{log: logger, interval: interval, now: now, kinds: map[string]*errorKind{}}
}

// Error counts one error of the kind msg and logs it, with attrs and the
// count of errors since the previous line of that kind, when no line of
// that kind was written within the interval. It reports whether it wrote
// a line.
func (l *ErrorLog) Error(ctx context.Context, msg string, err error, attrs ...slog.Attr) bool {
	if l == nil || l.log == nil {
		return false
	}
	now := l.now()
	l.mu.Lock()
	k := l.kinds[msg]
	if k == nil {
		k = &errorKind{}
		l.kinds[msg] = k
	}
	k.count++
	if !k.last.IsZero() && now.Sub(k.last) < l.interval && now.Sub(k.last) >= 0 {
		l.mu.Unlock()
		return false
	}
	n := k.count
	k.last, k.count = now, 0
	l.mu.Unlock()
	attrs = append(attrs, slog.Any("error", err), slog.Int("count", n), slog.Duration("interval", l.interval))
	l.log.LogAttrs(ctx, slog.LevelError, msg, attrs...)
	return true
}
