package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Tallier is implemented by stores that apply a TallyOp natively, in one
// atomic step (Memory under its lock, Redis in one script and one round
// trip). Callers use the Tally function, which falls back on Update for
// stores without it.
type Tallier interface {
	Tally(ctx context.Context, key string, op TallyOp) (TallyResult, error)
}

// TallyOp is one event on a tally: a record of event counters that share
// one window, and a set of holders that each expire unless renewed. It is
// the shape of Postfix's anvil(8) record of one client: connections held
// open now, and connections, messages and recipients per time unit.
type TallyOp struct {
	// Counter names the counter to add one to; empty adds to none.
	Counter string
	// Window is the counters' time unit: once this long has passed since
	// the window opened, the next counted event finds every counter at
	// zero and opens a new window. It must be positive when Counter is
	// set.
	Window time.Duration
	// Holder is added (or renewed) for HoldFor, or dropped when Release is
	// set; empty leaves the holders alone. A holder that is neither renewed
	// nor dropped lapses after HoldFor, so a process that dies holding
	// some does not leave them counted for ever.
	Holder  string
	HoldFor time.Duration
	Release bool
}

// TallyResult is a tally after one event.
type TallyResult struct {
	Count int64 // the named counter's value; 0 when the op named none
	Held  int64 // the holders live now
}

// ErrBadTally is returned for a TallyOp that cannot be applied: a name
// with a space or '=', a counter without a window, a holder without a
// positive HoldFor.
var ErrBadTally = errors.New("store: bad tally operation")

// Tally applies op to the tally at key: in one step on a Tallier, through
// Update (with this process's clock) on any other store.
func Tally(ctx context.Context, st Store, key string, op TallyOp) (TallyResult, error) {
	if err := op.Validate(); err != nil {
		return TallyResult{}, err
	}
	if t, ok := st.(Tallier); ok {
		return t.Tally(ctx, key, op)
	}
	var res TallyResult
	err := st.Update(ctx, key, func(old []byte, ok bool) ([]byte, time.Duration, error) {
		var rec TallyRecord
		if ok {
			if err := rec.UnmarshalText(old); err != nil {
				return nil, 0, err
			}
		}
		now := time.Now().UnixMilli()
		var exp int64
		var changed bool
		res, exp, changed = rec.Apply(now, op)
		if !changed {
			return nil, 0, ErrNoChange
		}
		if exp <= now {
			return nil, 0, nil
		}
		b, _ := rec.MarshalText()
		return b, time.Duration(exp-now) * time.Millisecond, nil
	})
	return res, err
}

// Validate reports an operation no store can apply (ErrBadTally).
func (op TallyOp) Validate() error {
	for _, s := range []string{op.Counter, op.Holder} {
		if strings.ContainsAny(s, " =\r\n\t") {
			return fmt.Errorf("%w: name %q", ErrBadTally, s)
		}
	}
	if op.Counter != "" && op.Window <= 0 {
		return fmt.Errorf("%w: counter %q without a window", ErrBadTally, op.Counter)
	}
	if op.Holder != "" && !op.Release && op.HoldFor <= 0 {
		return fmt.Errorf("%w: holder %q without HoldFor", ErrBadTally, op.Holder)
	}
	return nil
}

// TallyRecord is a tally as stores without native support keep it, in
// milliseconds since the Unix epoch. Its text form (MarshalText) is what
// Get returns for a tally key.
type TallyRecord struct {
	Start    int64            // when the counters' window opened; 0: never
	Counters map[string]int64 // by name
	Holders  map[string]int64 // holder -> expiry
}

// Apply applies op at now and returns the result, the time after which
// the record is worthless (its window over and every holder lapsed), and
// whether the record changed.
func (r *TallyRecord) Apply(now int64, op TallyOp) (res TallyResult, expiry int64, changed bool) {
	for h, exp := range r.Holders {
		if exp <= now {
			delete(r.Holders, h)
			changed = true
		}
	}
	if op.Holder != "" {
		if op.Release {
			if _, ok := r.Holders[op.Holder]; ok {
				delete(r.Holders, op.Holder)
				changed = true
			}
		} else {
			if r.Holders == nil {
				r.Holders = map[string]int64{}
			}
			r.Holders[op.Holder] = now + op.HoldFor.Milliseconds()
			changed = true
		}
	}
	win := op.Window.Milliseconds()
	if op.Counter != "" {
		if r.Start == 0 || now-r.Start > win {
			clear(r.Counters)
			r.Start = now
		}
		if r.Counters == nil {
			r.Counters = map[string]int64{}
		}
		r.Counters[op.Counter]++
		res.Count = r.Counters[op.Counter]
		changed = true
	}
	res.Held = int64(len(r.Holders))
	for _, exp := range r.Holders {
		expiry = max(expiry, exp)
	}
	if r.Start != 0 && len(r.Counters) > 0 {
		// A window's end is only known to the op that names it; a
		// record kept for win past its start is never stale sooner.
		expiry = max(expiry, r.Start+max(win, 1))
	}
	return res, expiry, changed
}

// MarshalText writes the record as "tally start=MS c:NAME=N h:HOLDER=MS...".
func (r *TallyRecord) MarshalText() ([]byte, error) {
	b := append([]byte("tally start="), strconv.FormatInt(r.Start, 10)...)
	for k, v := range r.Counters {
		b = append(b, " c:"+k+"="...)
		b = strconv.AppendInt(b, v, 10)
	}
	for k, v := range r.Holders {
		b = append(b, " h:"+k+"="...)
		b = strconv.AppendInt(b, v, 10)
	}
	return b, nil
}

// UnmarshalText reads what MarshalText wrote.
func (r *TallyRecord) UnmarshalText(b []byte) error {
	fields := strings.Fields(string(b))
	if len(fields) == 0 || fields[0] != "tally" {
		return fmt.Errorf("%w: not a tally record", ErrBadTally)
	}
	*r = TallyRecord{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			return fmt.Errorf("%w: field %q", ErrBadTally, f)
		}
		switch {
		case k == "start":
			r.Start = n
		case strings.HasPrefix(k, "c:"):
			if r.Counters == nil {
				r.Counters = map[string]int64{}
			}
			r.Counters[k[2:]] = n
		case strings.HasPrefix(k, "h:"):
			if r.Holders == nil {
				r.Holders = map[string]int64{}
			}
			r.Holders[k[2:]] = n
		default:
			return fmt.Errorf("%w: field %q", ErrBadTally, f)
		}
	}
	return nil
}
