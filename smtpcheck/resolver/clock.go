package resolver

import (
	"sync/atomic"
	"time"
)

// coarseTick is how stale the default clock's reading may be. Reading the
// system clock costs more than the rest of a cache hit (50-100 ns on a
// virtual machine), and a cache of answers whose TTLs are whole seconds,
// clamped to a minute by default, gains nothing from a finer reading.
const coarseTick = time.Millisecond

// clock gives the time as nanoseconds since the Resolver was made, the unit
// of cache expiry. With Config.Now it reads that function every time (tests
// step a fake clock); otherwise it reads the monotonic clock at most about
// once per coarseTick and serves the reading in between.
type clock struct {
	base  time.Time
	now   func() time.Time // Config.Now, or nil for the coarse clock
	nanos atomic.Int64     // the last reading of the coarse clock
	fresh atomic.Bool      // nanos is younger than coarseTick
	timer *time.Timer      // clears fresh coarseTick after a reading
}

func newClock(now func() time.Time) *clock {
	c := &clock{now: now}
	if now != nil {
		c.base = now()
		return c
	}
	c.base = time.Now()
	// Armed only after a reading: an idle Resolver wakes nothing, and a
	// stopped timer holds no goroutine.
	c.timer = time.AfterFunc(time.Hour, func() { c.fresh.Store(false) })
	c.timer.Stop()
	return c
}

// Nanos returns the time since the clock's base.
func (c *clock) Nanos() int64 {
	if c.now != nil {
		return int64(c.now().Sub(c.base))
	}
	if c.fresh.Load() {
		return c.nanos.Load()
	}
	n := int64(time.Since(c.base)) // monotonic only: half the cost of time.Now
	c.nanos.Store(n)
	if c.fresh.CompareAndSwap(false, true) {
		c.timer.Reset(coarseTick)
	}
	return n
}
