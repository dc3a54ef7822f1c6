// Package greylist implements triplet greylisting, as postgrey, rspamd and
// Haraka do it, without the delays their users complain about.
//
// A first attempt from a client network, sender and recipient gets a
// temporary refusal with the wait in its text; a retry after the delay (5
// minutes by default) within the retry window (2 days) passes, and the
// triplet is then known for the max age (35 days), refreshed on each pass.
// A client whose triplets passed the delay often enough (5 times, counting
// at most one per hour) is allowed outright: each client address on its
// own, as postgrey's --auto-whitelist-clients counts, or its whole network
// with Config.AutoAllowByNetwork.
//
// Large senders that retry from other addresses (Office 365, Gmail, Amazon
// SES, Mimecast ...) are allowed by their forward-confirmed reverse DNS name,
// from a shipped list (LargeSenders); client networks and names, recipients
// and sender domains can be allowlisted too, and any smtpcheck.Condition
// (such as "listed on a DNS allowlist") can skip greylisting.
//
// Content greylisting (smtpf's grey-content) runs at the end of DATA: the
// hash of the first attempt's message is kept, and a retry with different
// content after the delay is greylisted again.
//
// State lives in a store.Store: store.NewMemory for tests and single
// processes, boltstore for an embedded file that survives restarts,
// redisstore for several MX hosts sharing one view. When the store cannot
// be reached the check reports an error and its error policy (Config.OnError,
// fail-open unless set) decides; the errors are logged at error level, one line per
// ErrorLogInterval with their count, so an outage does not flood the log.
package greylist

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Defaults, as postgrey has them.
const (
	DefaultDelay             = 5 * time.Minute
	DefaultRetryWindow       = 48 * time.Hour
	DefaultMaxAge            = 35 * 24 * time.Hour
	DefaultAutoAllow         = 5
	AutoAllowOff             = -1 // Config.AutoAllow: never allow a client outright
	DefaultAutoAllowInterval = time.Hour
	DefaultKeyPrefix         = "grey:"
)

// Name is the check's name in traces and reasons.
const Name = "greylist"

// Config configures a Greylist. Zero fields take the defaults above.
type Config struct {
	// Store holds the records. Required.
	Store store.Store
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives store errors (at error level) and decisions (debug);
	// nil logs nothing.
	Logger *slog.Logger
	// ErrorLogInterval: store errors of one kind are logged at most once
	// per interval, with the number since the previous line; zero means
	// store.DefaultErrorLogInterval (a minute).
	ErrorLogInterval time.Duration

	// Delay is how long a new triplet is refused.
	Delay time.Duration
	// Period, when set, overrides Delay for a session: the access map's
	// Grey-Connect: and Grey-To: tags (access.Access.GreyPeriod fits;
	// the smallest applies). A period of zero lets the session through
	// ungreylisted; ok false keeps Delay.
	Period func(ctx context.Context, s *smtpcheck.Session) (d time.Duration, ok bool)
	// RetryWindow is how long a triplet that has not passed is remembered.
	RetryWindow time.Duration
	// MaxAge is how long a triplet that passed is remembered after its last pass.
	MaxAge time.Duration
	// AutoAllow is the number of passes after which a client is no longer
	// greylisted. Zero means DefaultAutoAllow (5); AutoAllowOff (or any
	// negative number) turns auto-allowing off. (postgrey's
	// --auto-whitelist-clients=0, which means off, is AutoAllowOff here.)
	AutoAllow int
	// AutoAllowByNetwork counts passes per client network (IPv4Prefix,
	// IPv6Prefix: a /24 or /64), so that one host's passes allow its
	// neighbours too, as rspamd and Haraka do. By default each client
	// address counts on its own, as in postgrey, so that a shared hosting
	// network does not earn a spammer next door a free pass.
	AutoAllowByNetwork bool
	// AutoAllowInterval: passes closer together than this count once.
	AutoAllowInterval time.Duration

	// IPv4Prefix and IPv6Prefix size the client network of the key
	// (24 and 64 by default); ExactIP uses the whole address instead.
	IPv4Prefix, IPv6Prefix int
	ExactIP                bool

	// Privacy stores only hashes of triplets and client networks, never
	// addresses. Pending then cannot show who is waiting.
	Privacy bool
	// KeyPrefix starts every key this Greylist writes ("grey:"), so that
	// several users can share one Redis database.
	KeyPrefix string

	// AllowClients lists client networks that are never greylisted.
	AllowClients []netip.Prefix
	// AllowClientNames lists domains whose forward-confirmed client names
	// (the domain itself or any name under it) are never greylisted.
	AllowClientNames []string
	// AllowRecipients lists recipients that opt out: "user@example.org",
	// a domain "example.org", or a local part "postmaster@".
	AllowRecipients []string
	// AllowSenderDomains lists sender domains (and their subdomains) that
	// are never greylisted. The sender is not verified: prefer client names.
	AllowSenderDomains []string
	// NoLargeSenders turns off the shipped list of large senders
	// (LargeSenders), which is otherwise matched against the client's
	// forward-confirmed names.
	NoLargeSenders bool
	// Skip lists further conditions under which greylisting does not apply,
	// such as a client found on a DNS allowlist by an earlier check.
	// Authenticated and trusted clients are always skipped.
	Skip []smtpcheck.Condition

	// Exchange answers with enhanced code 4.2.0 instead of 4.7.1, for
	// Microsoft Exchange peers that give up on 4.7.1.
	Exchange bool
	// TempFail makes greylisted attempts a plain temporary failure; by
	// default they are defer-if-permit, so that a later check that rejects
	// the mail still rejects it.
	TempFail bool
	// NoHeader turns off the X-Greylist header on mail that was delayed.
	NoHeader bool
	// Hostname names this server in the X-Greylist header.
	Hostname string
	// OnError is what a store failure does, as in every check family:
	// FailOpen (the zero value) lets the attempt through ungreylisted and
	// logs, FailTemp answers with the catalog's 451 4.3.0 (as a
	// defer-if-permit in a restriction list, so a sure refusal by another
	// check still wins), FailClosed refuses. A panic temp-fails whatever
	// the policy.
	OnError smtpcheck.ErrorPolicy
}

// Greylist decides on triplets. It is safe for concurrent use.
type Greylist struct {
	cfg   Config
	tm    timing
	now   func() time.Time
	log   *slog.Logger
	errs  *store.ErrorLog
	allow *allowlist

	attempts sync.Pool // of *attemptState
}

// New checks cfg, fills in defaults and returns a Greylist.
func New(cfg Config) (*Greylist, error) {
	if cfg.Store == nil {
		return nil, errors.New("greylist: Config.Store is nil")
	}
	if cfg.Delay < 0 || cfg.RetryWindow < 0 || cfg.MaxAge < 0 || cfg.AutoAllowInterval < 0 {
		return nil, errors.New("greylist: negative duration in Config")
	}
	cfg.Delay = cmp.Or(cfg.Delay, DefaultDelay)
	cfg.RetryWindow = cmp.Or(cfg.RetryWindow, DefaultRetryWindow)
	cfg.MaxAge = cmp.Or(cfg.MaxAge, DefaultMaxAge)
	cfg.AutoAllowInterval = cmp.Or(cfg.AutoAllowInterval, DefaultAutoAllowInterval)
	if cfg.RetryWindow < cfg.Delay {
		return nil, fmt.Errorf("greylist: retry window %v is shorter than the delay %v", cfg.RetryWindow, cfg.Delay)
	}
	if cfg.AutoAllow == 0 {
		cfg.AutoAllow = DefaultAutoAllow
	}
	if cfg.IPv4Prefix == 0 {
		cfg.IPv4Prefix = DefaultIPv4Prefix
	}
	if cfg.IPv6Prefix == 0 {
		cfg.IPv6Prefix = DefaultIPv6Prefix
	}
	if cfg.IPv4Prefix < 0 || cfg.IPv4Prefix > 32 || cfg.IPv6Prefix < 0 || cfg.IPv6Prefix > 128 {
		return nil, fmt.Errorf("greylist: client prefix /%d or /%d out of range", cfg.IPv4Prefix, cfg.IPv6Prefix)
	}
	if cfg.ExactIP {
		cfg.IPv4Prefix, cfg.IPv6Prefix = 32, 128
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	g := &Greylist{
		cfg: cfg,
		tm:  timing{Delay: cfg.Delay, RetryWindow: cfg.RetryWindow, MaxAge: cfg.MaxAge},
		now: cfg.Now,
		log: cfg.Logger,
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.errs = store.NewErrorLog(g.log, cfg.ErrorLogInterval, g.now)
	var err error
	if g.allow, err = newAllowlist(cfg); err != nil {
		return nil, err
	}
	return g, nil
}

// Triplet returns the triplet of a client address, sender and recipient,
// normalised and masked as this Greylist keys them.
func (g *Greylist) Triplet(client netip.Addr, from, rcpt smtpcheck.Address) Triplet {
	return Triplet{
		Client: ClientNetwork(client, g.cfg.IPv4Prefix, g.cfg.IPv6Prefix),
		Sender: NormalizeSender(from),
		Rcpt:   NormalizeRecipient(rcpt),
		Addr:   client,
	}
}

// Key returns the store key of a triplet.
func (g *Greylist) Key(t Triplet) string { return g.tripletKey(t) }

// Decision is the outcome of one attempt.
type Decision struct {
	Outcome Outcome
	// Wait is, for a greylisted attempt, how long until a retry passes.
	Wait time.Duration
	// Delayed is, for the attempt that passes the delay, how long it was held.
	Delayed time.Duration
	// Allowed names the allowlist that let the attempt through without a
	// lookup ("client", "client-name", "large-sender", "recipient",
	// "sender-domain", "auto-allow"); Outcome is then Known.
	Allowed string
}

// Attempt records one delivery attempt for t (with the message's content
// hash, or "" when not greylisting by content) and returns the decision. It
// does not consult the allowlists, except the auto-allowed client networks.
func (g *Greylist) Attempt(ctx context.Context, t Triplet, hash string) (Decision, error) {
	k := keyed{Triplet: t, key: g.tripletKey(t), clientKey: g.clientKey(g.counted(t))}
	return g.attempt(ctx, &k, hash, g.tm)
}

// timingFor returns the timing for a session, with Config.Period's
// override; skip is true when the period is zero.
func (g *Greylist) timingFor(ctx context.Context, s *smtpcheck.Session) (tm timing, skip bool) {
	tm = g.tm
	if g.cfg.Period == nil {
		return tm, false
	}
	d, ok := g.cfg.Period(ctx, s)
	if !ok || d < 0 {
		return tm, false
	}
	if d == 0 {
		return tm, true
	}
	tm.Delay = d
	if tm.RetryWindow < d {
		tm.RetryWindow = d + g.tm.RetryWindow // the retry must still find its record
	}
	return tm, false
}

// attempt decides on one attempt in one store step (store.UpdateMany):
// the client's pass count and the triplet are read together, so that on
// Redis a decision is one round trip and on bbolt at most one commit.
func (g *Greylist) attempt(ctx context.Context, k *keyed, hash string, tm timing) (Decision, error) {
	a, _ := g.attempts.Get().(*attemptState)
	if a == nil {
		a = &attemptState{g: g}
		a.fn = a.update
	}
	a.now, a.tm, a.hash, a.auto, a.d = g.now(), tm, hash, g.cfg.AutoAllow > 0, Decision{}
	a.keys = [2]string{k.key, k.clientKey}
	n := 1
	if a.auto {
		n = 2
	}
	if err := store.UpdateMany(ctx, g.cfg.Store, a.keys[:n], a.fn); err != nil {
		// Not pooled: a store that gave up waiting for its context (a
		// group commit) may still run a.fn later.
		return Decision{}, err
	}
	d := a.d
	a.keys, a.hash = [2]string{}, ""
	g.attempts.Put(a)
	return d, nil
}

// attemptState is one decision's working memory: what its store step
// reads and writes. Greylist pools them with their bound update function,
// so that a decision allocates neither a closure nor its results.
type attemptState struct {
	g    *Greylist
	keys [2]string // the triplet's, then the client's
	tm   timing
	now  time.Time
	hash string
	auto bool
	d    Decision
	fn   store.UpdateManyFunc // update, bound once
}

// update is the decision's store.UpdateManyFunc over recs, the records
// at a.keys.
func (a *attemptState) update(recs []store.Record) error {
	g, now := a.g, a.now
	if a.auto && g.autoAllowed(&recs[1], now) {
		a.d = Decision{Outcome: Known, Allowed: "auto-allow"}
		return nil
	}
	tr := &recs[0]
	var rec record
	ok := tr.OK
	if ok {
		var err error
		if rec, err = decodeRecord(tr.Value); err != nil {
			ok = false // a damaged record is replaced, not fatal
		}
	}
	nrec, keep, st := a.tm.decide(rec, ok, now, a.hash)
	a.d = Decision{Outcome: st.Outcome, Wait: st.Wait, Delayed: st.Delayed}
	if !keep {
		tr.Value, tr.TTL, tr.Write = nrec.encode(), a.tm.ttl(nrec, now), true
	}
	if st.Outcome == Passed && a.auto {
		g.countPass(&recs[1], now)
	}
	return nil
}

// counted returns what a pass of t counts for: the client's address, or
// its network with Config.AutoAllowByNetwork or when t has no address.
func (g *Greylist) counted(t Triplet) netip.Prefix {
	if g.cfg.AutoAllowByNetwork || !t.Addr.IsValid() {
		return t.Client
	}
	return ClientNetwork(t.Addr, 32, 128)
}

// autoAllowed reports whether the client's pass count in r allows it
// outright, and marks r to be refreshed (at most once per interval) so it
// lives max age after its last use.
func (g *Greylist) autoAllowed(r *store.Record, now time.Time) bool {
	if !r.OK {
		return false
	}
	c, err := decodeClient(r.Value)
	if err != nil || c.Count < int64(g.cfg.AutoAllow) {
		return false
	}
	if now.Unix()-c.Last > secs(g.cfg.MaxAge) {
		return false
	}
	if now.Unix()-c.Last >= secs(g.cfg.AutoAllowInterval) {
		c.Last = now.Unix()
		r.Value, r.TTL, r.Write = c.encode(), g.cfg.MaxAge+time.Minute, true
	}
	return true
}

// countPass counts a pass in the client's record r, at most one per
// interval.
func (g *Greylist) countPass(r *store.Record, now time.Time) {
	t := now.Unix()
	var c clientRecord
	if r.OK {
		c, _ = decodeClient(r.Value)
		if t-c.Last > secs(g.cfg.MaxAge) {
			c = clientRecord{}
		}
	}
	if c.Count > 0 && t-c.Last < secs(g.cfg.AutoAllowInterval) && c.Last <= t {
		return
	}
	c.Count++
	c.Last = t
	r.Value, r.TTL, r.Write = c.encode(), g.cfg.MaxAge+time.Minute, true
}

// Check returns the RCPT-stage check: it greylists the session's client,
// sender and current recipient. Put it after the checks that reject
// outright (relay, unknown users), so that refused mail leaves no record.
func (g *Greylist) Check() smtpcheck.Check {
	return g.guard(func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Stage != smtpcheck.StageRcpt || s.Mail == nil {
			return smtpcheck.Result{}
		}
		if r, ok := g.allowed(s, s.Rcpt); ok {
			return r
		}
		tm, skip := g.timingFor(ctx, s)
		if skip {
			return smtpcheck.Pass(smtpcheck.Reason{Check: Name, Rule: "period", Evidence: "greylist period 0 for this session"})
		}
		k := g.keyedTriplet(s.Conn.ClientIP, s.Mail.From, s.Rcpt)
		d, err := g.attempt(ctx, &k, "", tm)
		if err != nil {
			return g.storeError(ctx, s, k.display, err)
		}
		return g.result(s, k.display, d)
	})
}

// ContentCheck returns the end-of-data check of content greylisting: every
// recipient's triplet is greylisted together with a hash of the message, and
// a retry after the delay whose message differs from the first attempt's is
// greylisted again (with the catalog's 450 4.4.5, smtpf#553). Use it
// instead of Check, not with it.
func (g *Greylist) ContentCheck() smtpcheck.Check {
	return g.guard(func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Stage != smtpcheck.StageEndOfData || s.Mail == nil {
			return smtpcheck.Result{}
		}
		hash, err := ContentHash(s.Header, s.Body)
		if err != nil {
			return smtpcheck.Result{Err: fmt.Errorf("greylist: reading the message: %w", err), Reason: smtpcheck.Reason{Check: Name}}
		}
		tm, skip := g.timingFor(ctx, s)
		if skip {
			return smtpcheck.Pass(smtpcheck.Reason{Check: Name, Rule: "period", Evidence: "greylist period 0 for this session"})
		}
		var worst, allowed smtpcheck.Result
		var worstD Decision
		checked := false
		seen := map[string]bool{}
		for _, rc := range s.Rcpts {
			if r, ok := g.allowed(s, rc); ok {
				allowed = r
				continue
			}
			k := g.keyedTriplet(s.Conn.ClientIP, s.Mail.From, rc)
			if seen[k.key] {
				continue
			}
			seen[k.key] = true
			d, err := g.attempt(ctx, &k, hash, tm)
			if err != nil {
				return g.storeError(ctx, s, k.display, err)
			}
			r := g.result(s, k.display, d)
			// Greylisted beats passed; of two greylisted, the longer wait.
			if !checked || (d.Outcome.Greylisted() && (!worstD.Outcome.Greylisted() || d.Wait > worstD.Wait)) {
				worst, worstD, checked = r, d, true
			} else if len(r.Headers) > 0 && !worstD.Outcome.Greylisted() {
				worst.Headers = r.Headers
			}
		}
		if !checked {
			return allowed
		}
		return worst
	})
}

func (g *Greylist) guard(c smtpcheck.Check) smtpcheck.Check {
	return smtpcheck.Guard(c, smtpcheck.Options{
		Name:    Name,
		OnError: g.cfg.OnError,
		Skip:    append([]smtpcheck.Condition{smtpcheck.Authenticated, smtpcheck.TrustedNetwork}, g.cfg.Skip...),
	})
}

// storeError logs a store failure for the triplet shown as display and
// returns the check's error result.
func (g *Greylist) storeError(ctx context.Context, s *smtpcheck.Session, display string, err error) smtpcheck.Result {
	g.errs.Error(ctx, "greylist: store failed; applying error policy", err,
		slog.String("session", s.Conn.ID), slog.String("triplet", display),
		slog.String("policy", g.cfg.OnError.String()))
	return smtpcheck.Result{Err: fmt.Errorf("greylist: %w", err), Reason: smtpcheck.Reason{Check: Name, Rule: "store"}}
}

// display is the triplet as logs may show it: hashed in privacy mode.
func (g *Greylist) display(t Triplet) string {
	if g.cfg.Privacy {
		return strings.TrimPrefix(g.tripletKey(t), g.cfg.KeyPrefix+tripletSpace)
	}
	return t.String()
}

// headerSeen marks a transaction that already got its X-Greylist header.
type headerSeen struct{}

// result turns a decision on the triplet shown as display into the
// check's result.
func (g *Greylist) result(s *smtpcheck.Session, display string, d Decision) smtpcheck.Result {
	reason := smtpcheck.Reason{Check: Name, Rule: d.Outcome.String(), Matched: display}
	if d.Allowed != "" {
		reason.Rule = d.Allowed
	}
	if d.Outcome.Greylisted() {
		wait := int((d.Wait + time.Second - 1) / time.Second)
		rep := g.Reply(wait)
		if d.Outcome == ContentChanged {
			if e := reply.ByRef("smtpf#553"); e != nil {
				rep = e.Reply()
			}
		}
		reason.Evidence = "wait=" + strconv.Itoa(wait) + "s"
		r := smtpcheck.Refuse(rep, reason)
		if r.Action == smtpcheck.TempFail && !g.cfg.TempFail {
			r.Action = smtpcheck.DeferIfPermit
		}
		return r
	}
	r := smtpcheck.Pass(reason)
	if d.Outcome == Passed && !g.cfg.NoHeader && s.Value(headerSeen{}) != s.Mail {
		s.SetValue(headerSeen{}, s.Mail)
		reason.Evidence = "delayed=" + d.Delayed.String()
		r = smtpcheck.Pass(reason)
		r.Headers = []smtpcheck.HeaderField{{Name: "X-Greylist", Value: g.Header(d.Delayed, g.now())}}
	}
	return r
}

// Reply returns the greylisting reply for a wait in seconds: the catalog's
// 451 4.7.1, or 451 4.2.0 with Config.Exchange.
func (g *Greylist) Reply(seconds int) reply.Reply {
	if g.cfg.Exchange {
		return reply.GreylistedExchange(seconds)
	}
	return reply.Greylisted(seconds)
}

// Header returns the X-Greylist header value for mail delayed by d, in
// postgrey's form: "delayed 312 seconds by smtppolicy at mx.example; <date>".
func (g *Greylist) Header(d time.Duration, now time.Time) string {
	return "delayed " + strconv.FormatInt(int64(d/time.Second), 10) + " seconds by smtppolicy at " +
		g.cfg.Hostname + "; " + now.Format(time.RFC1123Z)
}

// ContentHash returns the hash content greylisting compares: SHA-256 over
// the header fields (except the trace fields Received and Return-Path,
// which a relay may rewrite between attempts) and the body.
func ContentHash(h smtpcheck.Header, body smtpcheck.Body) (string, error) {
	sum := sha256.New()
	for _, f := range h {
		if strings.EqualFold(f.Name, "Received") || strings.EqualFold(f.Name, "Return-Path") {
			continue
		}
		io.WriteString(sum, strings.ToLower(f.Name))
		io.WriteString(sum, ":")
		io.WriteString(sum, f.Value)
		io.WriteString(sum, "\n")
	}
	sum.Write([]byte{0})
	if body != nil {
		rc, err := body.Open()
		if err != nil {
			return "", err
		}
		defer rc.Close()
		if _, err := io.Copy(sum, rc); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(sum.Sum(nil)[:16]), nil
}
