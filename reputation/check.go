package reputation

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Name is the checks' name in logs and metrics.
const Name = "reputation"

type scoreKey struct{}
type tallyKey struct{}

// tally counts one session's outcomes; checks may run in parallel.
type tally struct {
	mu        sync.Mutex
	good, bad int
}

// ScoreOf returns the client's score, read at connect by Check; ok is
// false when Check did not run (a trusted or authenticated client, no
// reputation configured, or the store was down).
func ScoreOf(s *smtpcheck.Session) (Score, bool) {
	sc, ok := s.Value(scoreKey{}).(Score)
	return sc, ok
}

// Note adds outcomes to the session's tally, for outcomes no check
// returns (a failed protocol test in the listener, say).
func Note(s *smtpcheck.Session, good, bad int) {
	t := tallyOf(s)
	t.mu.Lock()
	t.good += good
	t.bad += bad
	t.mu.Unlock()
}

// tallyOf returns the session's tally, making it on first use.
func tallyOf(s *smtpcheck.Session) *tally {
	return smtpcheck.ValueOf[tally](s, tallyKey{})
}

// ClientOf names the session's client: its address and the organisational
// domain of its first forward-confirmed reverse name, else of its HELO name.
func ClientOf(s *smtpcheck.Session) Client {
	c := Client{IP: s.Conn.ClientIP}
	if len(s.Conn.Confirmed) > 0 {
		c.Domain = OrgDomain(s.Conn.Confirmed[0])
	}
	if c.Domain == "" {
		c.Domain = OrgDomain(s.Helo.Name)
	}
	return c
}

func exempt(s *smtpcheck.Session) bool { return s.Conn.Trusted || s.Conn.Authenticated() }

// Check is the connect-stage check: it reads the client's score for later
// checks (ScoreOf) and refuses a blocked client with 421 4.7.1 naming why
// and until when, then closes. A store that cannot be read leaves the
// client unscored (the error goes to the enclosing Guard's policy).
func (r *Reputation) Check() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		tallyOf(s)
		if exempt(s) {
			return smtpcheck.Result{}
		}
		sc, err := r.Read(ctx, s)
		if err != nil {
			return smtpcheck.Result{Err: err, Reason: smtpcheck.Reason{Check: Name}}
		}
		now := r.cfg.Now()
		if !sc.Blocked(now) {
			return smtpcheck.Result{}
		}
		// A temporary block is a temporary refusal: 421, the reply of
		// smtpf's four21, so a real server queues and retries.
		text := fmt.Sprintf("client [%s] refused %.0f times recently; blocked for %s", s.Conn.ClientIP, sc.IP.Bad, sc.BlockedUntil.Sub(now).Round(time.Second))
		rep, _ := reply.TempRejected(text).WithCode(421)
		return smtpcheck.Result{
			Action:    smtpcheck.Disconnect,
			Reply:     rep,
			Immediate: true,
			Reason:    smtpcheck.Reason{Check: Name, Rule: "block", Matched: s.Conn.ClientIP.String(), Evidence: sc.String()},
		}
	}
}

// Observe wraps a stage's check so its results count toward the client's
// reputation: each refusal is a bad outcome, and at end of data an
// accepted message is a good one.
func Observe(c smtpcheck.Check) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		res := c(ctx, s)
		switch {
		case res.Action.Refuses():
			Note(s, 0, 1)
		case s.Stage == smtpcheck.StageEndOfData && res.Action != smtpcheck.Discard:
			Note(s, 1, 0)
		}
		return res
	}
}

// Done learns the session's outcomes, at its end: the good ones noted
// (Observe, Good, Note) and the bad ones, the larger of the refusals noted
// and the session's error replies (Session.Proto.Errors); nothing is learnt from a
// trusted or authenticated client. Blocked clients refused at connect add
// nothing more: their block must expire, not grow.
func (r *Reputation) Done(ctx context.Context, s *smtpcheck.Session) error {
	t, ok := s.Value(tallyKey{}).(*tally)
	if !ok || exempt(s) {
		return nil
	}
	if sc, ok := ScoreOf(s); ok && sc.Blocked(r.cfg.Now()) {
		return nil
	}
	t.mu.Lock()
	good, bad := t.good, t.bad
	t.mu.Unlock()
	// The error replies the server counted include refusals no check
	// returned (go-smtp's own); the larger count is taken, so a front-end
	// that both counts replies and wraps checks with Observe counts each
	// refusal once.
	bad = max(bad, s.Proto.Errors)
	return r.Learn(ctx, ClientOf(s), good, bad)
}

// Read returns the client's score, looked up once per session and kept
// for ScoreOf: the connect check and the tarpit share one lookup.
func (r *Reputation) Read(ctx context.Context, s *smtpcheck.Session) (Score, error) {
	if sc, ok := ScoreOf(s); ok {
		return sc, nil
	}
	sc, err := r.Lookup(ctx, ClientOf(s))
	if err != nil {
		return Score{}, err
	}
	s.SetValue(scoreKey{}, sc)
	return sc, nil
}

// TarpitFor is the delay before each reply to the session's client (see
// Tarpit); ok is false for a trusted or authenticated client, when the
// tarpit is off, or when the store cannot be read.
func (r *Reputation) TarpitFor(ctx context.Context, s *smtpcheck.Session) (time.Duration, bool) {
	if r.cfg.TarpitStep <= 0 || exempt(s) {
		return 0, false
	}
	sc, err := r.Read(ctx, s)
	if err != nil {
		return 0, false
	}
	d := r.Tarpit(sc)
	return d, d > 0
}

// Good is an end-of-data check that counts the message as a good outcome;
// placed last, it runs only for messages no earlier check refused. It
// gives no verdict.
func Good() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		Note(s, 1, 0)
		return smtpcheck.Result{}
	}
}
