// Package postscreen is the state of Postfix's postscreen(8) tests in a
// library: a pass cache with postscreen_cache_map's semantics (one expiry
// time per test, so a client that passed the tests recently pays none of
// them again, and no DNS query either), the access list that lets a
// client skip the tests (postscreen_access_list), and the actions a failed
// test takes (ignore, enforce, drop).
//
// The cache lives on a store.Store, so every MX host of a cluster that
// shares a Redis store shares what any of them learnt. Reading a client's
// entry is one Get: one round trip on Redis.
//
// The tests themselves watch the protocol, so they run in a server
// adapter's listener (examples/gosmtp runs them all); a policy service or a
// milter sees too little of the connection to run the pregreet, pipelining,
// bare-newline and non-SMTP tests, and can use the cache only for the
// DNS-list test.
package postscreen

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Test is one of postscreen's tests.
type Test uint8

// The tests, in the order of the fields of a cache record (the order of
// Postfix's postscreen_cache_map values).
const (
	Pregreet    Test = iota // talk before the greeting (postscreen_greet_action)
	DNSBL                   // the DNS-list score (postscreen_dnsbl_action)
	Pipelining              // commands sent without waiting (postscreen_pipelining_action)
	NonSMTP                 // HTTP and other non-SMTP commands (postscreen_non_smtp_command_action)
	BareNewline             // lines ended by LF alone (postscreen_bare_newline_action)
	numTests
)

var testNames = [numTests]string{"pregreet", "dnsbl", "pipelining", "non_smtp_command", "bare_newline"}

// String returns the test's name as postscreen's parameters spell it.
func (t Test) String() string {
	if t < numTests {
		return testNames[t]
	}
	return "test(" + strconv.Itoa(int(t)) + ")"
}

// Tests is a set of tests.
type Tests uint8

// With returns the set with t added.
func (ts Tests) With(t Test) Tests { return ts | 1<<t }

// Has reports whether t is in the set.
func (ts Tests) Has(t Test) bool { return ts&(1<<t) != 0 }

// String lists the set's tests, comma-separated.
func (ts Tests) String() string {
	var names []string
	for t := Test(0); t < numTests; t++ {
		if ts.Has(t) {
			names = append(names, t.String())
		}
	}
	return strings.Join(names, ",")
}

// Deep is the set of the tests that run after the greeting: a client that
// passes them has already talked to the real server (see
// Config.ReconnectAfterDeep).
const Deep = Tests(1<<Pipelining | 1<<NonSMTP | 1<<BareNewline)

// TTLs are how long a pass of each test is remembered: Postfix's
// postscreen_*_ttl parameters.
type TTLs struct {
	Greet       time.Duration // postscreen_greet_ttl
	DNSBLMin    time.Duration // postscreen_dnsbl_min_ttl
	DNSBLMax    time.Duration // postscreen_dnsbl_max_ttl
	Pipelining  time.Duration // postscreen_pipelining_ttl
	NonSMTP     time.Duration // postscreen_non_smtp_command_ttl
	BareNewline time.Duration // postscreen_bare_newline_ttl
	// Retention keeps a record this long after its last pass expired, so
	// a returning client's history is still there
	// (postscreen_cache_retention_time).
	Retention time.Duration
}

// DefaultTTLs are Postfix's defaults.
func DefaultTTLs() TTLs {
	return TTLs{
		Greet:       24 * time.Hour,
		DNSBLMin:    time.Minute,
		DNSBLMax:    time.Hour,
		Pipelining:  30 * 24 * time.Hour,
		NonSMTP:     30 * 24 * time.Hour,
		BareNewline: 30 * 24 * time.Hour,
		Retention:   7 * 24 * time.Hour,
	}
}

// For returns how long a pass of t is kept. For the DNS-list test,
// dnsTTL is the smallest TTL of the lists' answers, clamped to
// [DNSBLMin, DNSBLMax] as postscreen does; zero (not known) keeps the pass
// DNSBLMax, as postscreen's single postscreen_dnsbl_ttl did before 3.1.
func (tt TTLs) For(t Test, dnsTTL time.Duration) time.Duration {
	switch t {
	case Pregreet:
		return tt.Greet
	case DNSBL:
		if dnsTTL <= 0 {
			return tt.DNSBLMax
		}
		return min(max(dnsTTL, tt.DNSBLMin), tt.DNSBLMax)
	case Pipelining:
		return tt.Pipelining
	case NonSMTP:
		return tt.NonSMTP
	case BareNewline:
		return tt.BareNewline
	}
	return 0
}

// Entry is one client's cache record: when the pass of each test expires.
// A zero time means the test was never passed (or was failed since).
type Entry struct {
	Expires [numTests]time.Time
}

// Passed reports whether the client's pass of t is still good at now.
func (e Entry) Passed(t Test, now time.Time) bool {
	return t < numTests && now.Before(e.Expires[t])
}

// Todo returns the tests of enabled that the client must take again at
// now: those never passed or whose pass expired.
func (e Entry) Todo(enabled Tests, now time.Time) Tests {
	var todo Tests
	for t := Test(0); t < numTests; t++ {
		if enabled.Has(t) && !e.Passed(t, now) {
			todo = todo.With(t)
		}
	}
	return todo
}

// Pass records a pass of t at now, kept ttl.
func (e *Entry) Pass(t Test, now time.Time, ttl time.Duration) {
	if t < numTests {
		e.Expires[t] = now.Add(ttl)
	}
}

// Fail forgets the client's pass of t: it takes the test again next time.
func (e *Entry) Fail(t Test) {
	if t < numTests {
		e.Expires[t] = time.Time{}
	}
}

// latest is the last of the expiry times.
func (e Entry) latest() time.Time {
	var l time.Time
	for _, x := range e.Expires {
		if x.After(l) {
			l = x
		}
	}
	return l
}

// MarshalText writes the record as postscreen_cache_map does: the expiry
// times in Unix seconds, separated by ';' (0 for never passed), readable
// with redis-cli.
func (e Entry) MarshalText() ([]byte, error) {
	b := make([]byte, 0, 64)
	for i, x := range e.Expires {
		if i > 0 {
			b = append(b, ';')
		}
		var s int64
		if !x.IsZero() {
			s = x.Unix()
		}
		b = strconv.AppendInt(b, s, 10)
	}
	return b, nil
}

// ErrBadEntry is returned for a record that is not a cache entry.
var ErrBadEntry = errors.New("postscreen: malformed cache entry")

// UnmarshalText reads a record written by MarshalText. A record with fewer
// fields (written before a test was added) leaves the rest never passed;
// extra fields are ignored, so an older reader shares a store with a newer
// writer.
func (e *Entry) UnmarshalText(b []byte) error {
	*e = Entry{}
	for i := 0; len(b) > 0 || i == 0; i++ {
		f := b
		if j := indexSemi(b); j >= 0 {
			f, b = b[:j], b[j+1:]
		} else {
			b = nil
		}
		n, ok := parseUint(f)
		if !ok {
			return fmt.Errorf("%w: field %d is %q", ErrBadEntry, i+1, f)
		}
		if i < int(numTests) && n != 0 {
			e.Expires[i] = time.Unix(n, 0)
		}
	}
	return nil
}

func indexSemi(b []byte) int {
	for i, c := range b {
		if c == ';' {
			return i
		}
	}
	return -1
}

// parseUint reads a decimal of at most 18 digits without allocating.
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Cache is the pass cache on a shared store.
type Cache struct {
	store  store.Store
	prefix string
	ttls   TTLs
	now    func() time.Time
}

// CacheConfig configures a Cache.
type CacheConfig struct {
	Store store.Store
	// Prefix starts every key ("postscreen:" when empty), so the cache can
	// share a store with greylisting and limits.
	Prefix string
	// TTLs default to Postfix's (DefaultTTLs) field by field.
	TTLs TTLs
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// NewCache returns a pass cache on cfg.Store.
func NewCache(cfg CacheConfig) (*Cache, error) {
	if cfg.Store == nil {
		return nil, errors.New("postscreen: no store")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "postscreen:"
	}
	d := DefaultTTLs()
	fill := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&cfg.TTLs.Greet, d.Greet)
	fill(&cfg.TTLs.DNSBLMin, d.DNSBLMin)
	fill(&cfg.TTLs.DNSBLMax, d.DNSBLMax)
	fill(&cfg.TTLs.Pipelining, d.Pipelining)
	fill(&cfg.TTLs.NonSMTP, d.NonSMTP)
	fill(&cfg.TTLs.BareNewline, d.BareNewline)
	fill(&cfg.TTLs.Retention, d.Retention)
	if cfg.TTLs.DNSBLMin > cfg.TTLs.DNSBLMax {
		return nil, fmt.Errorf("postscreen: dnsbl min ttl %v above max ttl %v", cfg.TTLs.DNSBLMin, cfg.TTLs.DNSBLMax)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{store: cfg.Store, prefix: cfg.Prefix, ttls: cfg.TTLs, now: cfg.Now}, nil
}

// TTLs returns the cache's pass lifetimes.
func (c *Cache) TTLs() TTLs { return c.ttls }

// Now returns the cache's clock reading.
func (c *Cache) Now() time.Time { return c.now() }

func (c *Cache) key(ip netip.Addr) string {
	// One allocation: the key is built in a stack buffer.
	var buf [96]byte
	return string(ip.Unmap().AppendTo(append(buf[:0], c.prefix...)))
}

// Lookup returns the client's entry (the zero Entry for a client never
// seen): one Get on the store. A malformed record reads as never seen.
func (c *Cache) Lookup(ctx context.Context, ip netip.Addr) (Entry, error) {
	v, ok, err := c.store.Get(ctx, c.key(ip))
	if err != nil || !ok {
		return Entry{}, err
	}
	var e Entry
	if e.UnmarshalText(v) != nil {
		return Entry{}, nil
	}
	return e, nil
}

// Update changes the client's entry atomically: fn gets the current entry
// (zero for a new client) and the time. The record is kept until its last
// pass expires plus the retention time. fn may run more than once.
func (c *Cache) Update(ctx context.Context, ip netip.Addr, fn func(e *Entry, now time.Time)) error {
	now := c.now()
	return c.store.Update(ctx, c.key(ip), func(old []byte, ok bool) ([]byte, time.Duration, error) {
		var e Entry
		if ok {
			e.UnmarshalText(old) // a malformed record is replaced
		}
		fn(&e, now)
		ttl := c.ttls.Retention
		if l := e.latest(); l.After(now) {
			ttl += l.Sub(now)
		}
		v, _ := e.MarshalText()
		return v, ttl, nil
	})
}

// Record stores the outcome of tests taken in one connection: passed tests
// get a fresh expiry (the DNS-list test's from dnsTTL, see TTLs.For),
// failed ones are forgotten.
func (c *Cache) Record(ctx context.Context, ip netip.Addr, passed, failed Tests, dnsTTL time.Duration) error {
	if passed == 0 && failed == 0 {
		return nil
	}
	return c.Update(ctx, ip, func(e *Entry, now time.Time) {
		for t := Test(0); t < numTests; t++ {
			switch {
			case failed.Has(t):
				e.Fail(t)
			case passed.Has(t):
				e.Pass(t, now, c.ttls.For(t, dnsTTL))
			}
		}
	})
}

// PassAll records a pass of each test in tests kept at least ttl, a pass
// that would last longer being kept: postscreen's
// postscreen_dnsbl_allowlist_threshold, where a client the DNS allowlists
// vouch for skips the other tests for as long as the lists' answer holds.
func (c *Cache) PassAll(ctx context.Context, ip netip.Addr, tests Tests, ttl time.Duration) error {
	if tests == 0 {
		return nil
	}
	return c.Update(ctx, ip, func(e *Entry, now time.Time) {
		for t := Test(0); t < numTests; t++ {
			if tests.Has(t) && e.Expires[t].Before(now.Add(ttl)) {
				e.Pass(t, now, ttl)
			}
		}
	})
}
