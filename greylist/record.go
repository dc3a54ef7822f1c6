package greylist

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// record is one triplet's state, stored as "1 FIRST PASSED HASH" (Unix
// seconds, version 1) so that it reads well in redis-cli and survives a
// change of Go version.
type record struct {
	First  int64  // when the current attempt cycle began
	Passed int64  // the last pass; 0 while the triplet waits
	Hash   string // content hash of the first attempt (content greylisting)
}

var errBadRecord = errors.New("greylist: malformed record")

func (r record) encode() []byte {
	b := make([]byte, 0, 48+len(r.Hash))
	b = append(b, "1 "...)
	b = strconv.AppendInt(b, r.First, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, r.Passed, 10)
	if r.Hash != "" {
		b = append(b, ' ')
		b = append(b, r.Hash...)
	}
	return b
}

func decodeRecord(b []byte) (record, error) {
	// Fields split on ASCII spaces, as strings.Fields did for the records
	// encode writes, without copying the record.
	var f [4][]byte
	n := 0
	for i := 0; i < len(b); {
		if asciiSpace(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && !asciiSpace(b[j]) {
			j++
		}
		if n == len(f) {
			return record{}, errBadRecord
		}
		f[n] = b[i:j]
		n++
		i = j
	}
	if n < 3 || string(f[0]) != "1" {
		return record{}, errBadRecord
	}
	first, ok1 := parseSecs(f[1])
	passed, ok2 := parseSecs(f[2])
	if !ok1 || !ok2 {
		return record{}, errBadRecord
	}
	r := record{First: first, Passed: passed}
	if n == 4 {
		r.Hash = string(f[3])
	}
	return r, nil
}

// asciiSpace is bytes.Fields's separator for ASCII text.
func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// parseSecs parses a non-negative decimal int64 as strconv.ParseInt would
// accept it (an optional sign, digits), without allocating on bad input.
func parseSecs(b []byte) (int64, bool) {
	if len(b) > 0 && b[0] == '+' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// clientRecord counts a client network's passes: "COUNT LAST".
type clientRecord struct {
	Count int64
	Last  int64
}

func (c clientRecord) encode() []byte {
	b := strconv.AppendInt(nil, c.Count, 10)
	b = append(b, ' ')
	return strconv.AppendInt(b, c.Last, 10)
}

func decodeClient(b []byte) (clientRecord, error) {
	a, l, ok := strings.Cut(string(b), " ")
	if !ok {
		return clientRecord{}, errBadRecord
	}
	n, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(l, 10, 64)
	if err1 != nil || err2 != nil || n < 0 {
		return clientRecord{}, errBadRecord
	}
	return clientRecord{Count: n, Last: last}, nil
}

// Outcome says what greylisting decided for one triplet.
type Outcome uint8

// Outcomes.
const (
	// FirstSeen: first sight of the triplet; greylisted.
	FirstSeen Outcome = iota + 1
	// EarlyRetry: a retry before the delay ran out; still greylisted, and the
	// clock was not restarted.
	EarlyRetry
	// ContentChanged: a retry after the delay with a different message
	// (content greylisting); greylisted again from now.
	ContentChanged
	// Passed: the delay is over; the triplet is now known.
	Passed
	// Known: a triplet that passed before and is within its max age.
	Known
)

var outcomeNames = [...]string{"", "new", "early-retry", "content-changed", "passed", "known"}

// String returns the outcome's name, as used in Reason.Rule.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && o != 0 {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Greylisted reports whether the outcome refuses the attempt.
func (o Outcome) Greylisted() bool { return o == FirstSeen || o == EarlyRetry || o == ContentChanged }

// step is the outcome of one attempt on one triplet, computed by decide.
type step struct {
	Outcome Outcome
	Wait    time.Duration // for greylisted outcomes: how long until a retry passes
	Delayed time.Duration // for Passed: how long the triplet was held
}

// timing holds the rules decide applies.
type timing struct {
	Delay, RetryWindow, MaxAge time.Duration
}

// decide applies the timing rules to one attempt at now: old is the stored
// record (ok false when absent), hash the message's content hash ("" when
// not greylisting by content). It returns the record to store (keep true
// when the stored one stays as it is) and the step.
func (tm timing) decide(old record, ok bool, now time.Time, hash string) (rec record, keep bool, st step) {
	t := now.Unix()
	if ok && old.Passed != 0 {
		if t-old.Passed <= secs(tm.MaxAge) && old.Passed <= t+60 {
			old.Passed = t
			return old, false, step{Outcome: Known}
		}
		ok = false // unused for longer than max age: forgotten
	}
	if ok {
		if old.First > t {
			// A first-seen time in the future (a clock step back, a
			// cluster member with a wrong clock) would hold mail for
			// too long: start again from now.
			ok = false
		} else if t-old.First > secs(tm.RetryWindow) {
			ok = false // the retry came too late: forgotten
		}
	}
	if !ok {
		return record{First: t, Hash: hash}, false, step{Outcome: FirstSeen, Wait: tm.Delay}
	}
	elapsed := time.Duration(t-old.First) * time.Second
	if elapsed < tm.Delay {
		if old.Hash == "" && hash != "" {
			old.Hash = hash
			return old, false, step{Outcome: EarlyRetry, Wait: tm.Delay - elapsed}
		}
		return old, true, step{Outcome: EarlyRetry, Wait: tm.Delay - elapsed}
	}
	if hash != "" && old.Hash != "" && hash != old.Hash {
		return record{First: t, Hash: hash}, false, step{Outcome: ContentChanged, Wait: tm.Delay}
	}
	old.Passed = t
	return old, false, step{Outcome: Passed, Delayed: elapsed}
}

// ttl is how long the store should keep rec, measured from now: to the end
// of the retry window while it waits, max age after its last pass. A
// minute of slack keeps a record a store expires on its own clock from
// vanishing just before the rule that forgets it.
func (tm timing) ttl(rec record, now time.Time) time.Duration {
	var until int64
	if rec.Passed != 0 {
		until = rec.Passed + secs(tm.MaxAge)
	} else {
		until = rec.First + secs(tm.RetryWindow)
	}
	d := time.Duration(until-now.Unix())*time.Second + time.Minute
	return max(d, time.Minute)
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }
