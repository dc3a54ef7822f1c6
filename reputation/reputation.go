// Package reputation remembers how each client behaved, as Haraka's karma
// and rspamd's reputation do: counts of good outcomes (messages accepted)
// and bad ones (refusals) per client address, per network (/24 for IPv4,
// /64 for IPv6) and per organisational domain of its verified reverse name
// or HELO name, on the shared store so every MX host of a cluster learns
// from the others. The counts decay with a half-life, so a reformed client
// recovers and an old burst fades.
//
// From the counts come a score other checks read (ScoreOf), an automatic
// temporary blocklist after repeated refusals (smtpf's four21 idea: a 421
// at connect until the block expires) and a tarpit (a delay before replies
// that grows with the bad count, bounded). Nothing is learnt from a trusted
// (mynetworks) or authenticated client.
package reputation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Counts are decayed counts of outcomes.
type Counts struct {
	Good, Bad float64
}

// Total is Good+Bad.
func (c Counts) Total() float64 { return c.Good + c.Bad }

// record is a stored Counts as of At, plus a block on the client.
type record struct {
	Counts
	At           time.Time
	BlockedUntil time.Time
}

// decayed returns the counts aged to now.
func (r record) decayed(now time.Time, halfLife time.Duration) Counts {
	if r.At.IsZero() || !now.After(r.At) || halfLife <= 0 {
		return r.Counts
	}
	f := math.Exp2(-float64(now.Sub(r.At)) / float64(halfLife))
	return Counts{Good: r.Good * f, Bad: r.Bad * f}
}

// marshal writes "good;bad;at;blocked_until" (seconds), readable with
// redis-cli.
func (r record) marshal() []byte {
	b := make([]byte, 0, 48)
	b = strconv.AppendFloat(b, r.Good, 'g', 6, 64)
	b = append(b, ';')
	b = strconv.AppendFloat(b, r.Bad, 'g', 6, 64)
	b = append(b, ';')
	b = strconv.AppendInt(b, r.At.Unix(), 10)
	b = append(b, ';')
	var bu int64
	if !r.BlockedUntil.IsZero() {
		bu = r.BlockedUntil.Unix()
	}
	return strconv.AppendInt(b, bu, 10)
}

// errBadRecord is a stored value that is no record.
var errBadRecord = errors.New("reputation: malformed record")

func unmarshal(b []byte) (record, error) {
	f := strings.Split(string(b), ";")
	if len(f) < 3 {
		return record{}, errBadRecord
	}
	var r record
	var err1, err2, err3 error
	r.Good, err1 = strconv.ParseFloat(f[0], 64)
	r.Bad, err2 = strconv.ParseFloat(f[1], 64)
	at, err3 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || r.Good < 0 || r.Bad < 0 || math.IsInf(r.Good+r.Bad, 0) || math.IsNaN(r.Good+r.Bad) {
		return record{}, errBadRecord
	}
	r.At = time.Unix(at, 0)
	if len(f) > 3 {
		if bu, err := strconv.ParseInt(f[3], 10, 64); err == nil && bu > 0 {
			r.BlockedUntil = time.Unix(bu, 0)
		}
	}
	return r, nil
}

// Config configures a Reputation.
type Config struct {
	Store store.Store
	// Prefix starts every key ("reputation:" when empty).
	Prefix string
	// HalfLife is how long until a count weighs half (default 24 hours).
	HalfLife time.Duration
	// BlockAfter, when above zero, blocks a client address whose decayed
	// bad count reaches it, for BlockFor (default 1 hour): it is answered
	// 421 at connect until then.
	BlockAfter float64
	BlockFor   time.Duration
	// TarpitStep, when set, delays each reply to a client by this much per
	// bad outcome of its address, up to TarpitMax (default 10 seconds, well
	// under the 5 minutes RFC 5321 lets a client wait).
	TarpitStep time.Duration
	TarpitMax  time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Reputation learns and reads client reputations.
type Reputation struct{ cfg Config }

// New returns a Reputation on cfg.Store.
func New(cfg Config) (*Reputation, error) {
	if cfg.Store == nil {
		return nil, errors.New("reputation: no store")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "reputation:"
	}
	if cfg.HalfLife == 0 {
		cfg.HalfLife = 24 * time.Hour
	}
	if cfg.HalfLife < 0 || cfg.BlockFor < 0 || cfg.TarpitStep < 0 || cfg.TarpitMax < 0 || cfg.BlockAfter < 0 {
		return nil, errors.New("reputation: negative setting")
	}
	if cfg.BlockFor == 0 {
		cfg.BlockFor = time.Hour
	}
	if cfg.TarpitMax == 0 {
		cfg.TarpitMax = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Reputation{cfg: cfg}, nil
}

// Client names what a client is known by: its address, and its
// organisational domain (from a forward-confirmed reverse name, else the
// HELO name; empty when neither is a domain name).
type Client struct {
	IP     netip.Addr
	Domain string
}

// OrgDomain returns the organisational domain (the registrable domain,
// one label under a public suffix) of name, or "" when it has none.
func OrgDomain(name string) string {
	name = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	if name == "" || strings.HasPrefix(name, "[") {
		return ""
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return ""
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(name)
	if err != nil {
		return ""
	}
	return d
}

// network is the client's /24 (IPv4) or /64 (IPv6).
func network(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.Prefix(bits)
	return p
}

func (r *Reputation) keys(c Client) []string {
	k := []string{r.cfg.Prefix + "ip:" + c.IP.Unmap().String(), r.cfg.Prefix + "net:" + network(c.IP).String()}
	if c.Domain != "" {
		k = append(k, r.cfg.Prefix+"dom:"+c.Domain)
	}
	return k
}

// Score is what is known of a client.
type Score struct {
	IP, Net, Domain Counts
	// BlockedUntil is set while the client's address is blocked.
	BlockedUntil time.Time
}

// Value sums the evidence into one number in (-1, 1): below zero the
// client did more harm than good. The address weighs most; its network
// and domain half as much each, so a new address in a bad network starts
// below zero.
func (s Score) Value() float64 {
	good := s.IP.Good + (s.Net.Good+s.Domain.Good)/2
	bad := s.IP.Bad + (s.Net.Bad+s.Domain.Bad)/2
	return (good - bad) / (good + bad + 1)
}

// String renders the score for a log line.
func (s Score) String() string {
	return fmt.Sprintf("%.2f (ip %.1f/%.1f net %.1f/%.1f domain %.1f/%.1f good/bad)", s.Value(), s.IP.Good, s.IP.Bad, s.Net.Good, s.Net.Bad, s.Domain.Good, s.Domain.Bad)
}

// Blocked reports whether the client is blocked at now.
func (s Score) Blocked(now time.Time) bool { return now.Before(s.BlockedUntil) }

// Lookup reads what is known of the client (one Get per key: address,
// network, domain).
func (r *Reputation) Lookup(ctx context.Context, c Client) (Score, error) {
	now := r.cfg.Now()
	var sc Score
	for i, k := range r.keys(c) {
		v, ok, err := r.cfg.Store.Get(ctx, k)
		if err != nil {
			return Score{}, err
		}
		if !ok {
			continue
		}
		rec, err := unmarshal(v)
		if err != nil {
			continue // a malformed record counts as nothing
		}
		counts := rec.decayed(now, r.cfg.HalfLife)
		switch i {
		case 0:
			sc.IP = counts
			if now.Before(rec.BlockedUntil) {
				sc.BlockedUntil = rec.BlockedUntil
			}
		case 1:
			sc.Net = counts
		case 2:
			sc.Domain = counts
		}
	}
	return sc, nil
}

// Learn adds a session's outcomes: good messages accepted and bad
// refusals. When the address's bad count reaches BlockAfter it is
// blocked for BlockFor.
func (r *Reputation) Learn(ctx context.Context, c Client, good, bad int) error {
	if good <= 0 && bad <= 0 {
		return nil
	}
	now := r.cfg.Now()
	// A record outlives its counts' relevance by a few half-lives: after
	// eight, a count weighs under 1/256.
	keep := 8 * r.cfg.HalfLife
	for i, k := range r.keys(c) {
		isIP := i == 0
		err := r.cfg.Store.Update(ctx, k, func(old []byte, ok bool) ([]byte, time.Duration, error) {
			var rec record
			if ok {
				rec, _ = unmarshal(old) // a malformed record starts again
			}
			counts := rec.decayed(now, r.cfg.HalfLife)
			counts.Good += float64(max(good, 0))
			counts.Bad += float64(max(bad, 0))
			nrec := record{Counts: counts, At: now, BlockedUntil: rec.BlockedUntil}
			if !now.Before(nrec.BlockedUntil) {
				nrec.BlockedUntil = time.Time{}
			}
			// Refusals seconds apart have decayed a hair: the count is
			// compared to a thousandth, so N refusals in a row trip a
			// threshold of N.
			if isIP && r.cfg.BlockAfter > 0 && math.Round(counts.Bad*1000)/1000 >= r.cfg.BlockAfter && nrec.BlockedUntil.IsZero() {
				nrec.BlockedUntil = now.Add(r.cfg.BlockFor)
			}
			ttl := keep
			if d := nrec.BlockedUntil.Sub(now); d > ttl {
				ttl = d
			}
			return nrec.marshal(), ttl, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Tarpit returns the delay before each reply for a client with this score:
// TarpitStep per bad outcome of its address, at most TarpitMax; zero when
// the tarpit is off or the client did more good than harm.
func (r *Reputation) Tarpit(s Score) time.Duration {
	if r.cfg.TarpitStep <= 0 || s.IP.Bad < 1 || s.IP.Good >= s.IP.Bad {
		return 0
	}
	d := time.Duration(s.IP.Bad * float64(r.cfg.TarpitStep))
	if d > r.cfg.TarpitMax || d < 0 {
		return r.cfg.TarpitMax
	}
	return d
}
