// Package duplicate refuses a message received a second time (smtpf#340,
// "550 5.3.4 duplicate message rejected"): the same Message-ID, or the same
// body, for the same recipients within a time to live. What was seen is
// kept in the shared store (memory, bbolt or Redis), so a cluster of MX
// hosts refuses a copy that an other host already took.
//
// A key names the recipients as well as the message, so a list message
// that arrives in one transaction per recipient group is not a duplicate,
// and a client retrying after a temporary refusal of one of its recipients
// is not refused.
//
// The check only looks: a message is recorded (Record) once it has been
// accepted and delivered, never when the check lets it through, because a
// later refusal of the same transaction (another end-of-data check's 4xx,
// a held defer-if-permit, a failed delivery's 451) makes the client retry,
// and that retry must not be refused as a copy of a message never taken.
//
// Two hosts of a cluster cannot both take a copy: while a message is
// between the check and its Record, the check holds a claim on its keys
// in the store (Config.ClaimTTL), and a copy arriving meanwhile, on any
// host, gets a temporary refusal (451 4.7.0) rather than a pass; it is
// refused as a duplicate if the first copy is accepted, and taken if that
// copy failed and its claim was released (Release, at the end of the
// session) or ran out. The window left: a copy that passes its check
// after the first copy's claim ran out but before its Record (a delivery
// slower than ClaimTTL) is taken twice.
package duplicate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Name is the check's name in reasons and traces.
const Name = "duplicate"

// DefaultTTL is how long a message is remembered.
const DefaultTTL = 24 * time.Hour

// DefaultClaimTTL is how long a message's keys stay claimed between the
// check and its Record, when nothing releases them sooner.
const DefaultClaimTTL = 5 * time.Minute

// DefaultPrefix starts every key the check writes to the store.
const DefaultPrefix = "dup:"

// Config configures a Detector.
type Config struct {
	// Store keeps the keys of the messages seen. Required.
	Store store.Store
	// TTL is how long a message is remembered; 0 means DefaultTTL.
	TTL time.Duration
	// ClaimTTL bounds a claim on a message's keys held from the check
	// to its Record or Release (a program that dies in between leaves
	// it); 0 means DefaultClaimTTL. Keep it above the longest delivery.
	ClaimTTL time.Duration
	// NoMessageID and NoBody turn off one of the two keys.
	NoMessageID, NoBody bool
	// Prefix starts the store keys; "" means DefaultPrefix.
	Prefix string
	// OnError is what a store failure does. The zero value, FailOpen,
	// lets the message through: refusing good mail because the store is
	// down is worse than a duplicate.
	OnError smtpcheck.ErrorPolicy
	// Logger receives one line per duplicate; nil discards.
	Logger *slog.Logger
}

// Detector refuses duplicates by its Config.
type Detector struct {
	cfg Config
	log *slog.Logger
}

// New returns a Detector, or an error when cfg has no store or turns off
// both keys.
func New(cfg Config) (*Detector, error) {
	if cfg.Store == nil {
		return nil, errors.New("duplicate: no store")
	}
	if cfg.NoMessageID && cfg.NoBody {
		return nil, errors.New("duplicate: both keys turned off")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = DefaultClaimTTL
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	c := &Detector{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Keys returns the store keys of the session's message: "mid:" and "body:"
// followed by a SHA-256 over the recipients and the Message-ID (compared
// without case or angle brackets' surrounding space) or the body. A
// message without a Message-ID has no mid key.
func (c *Detector) Keys(s *smtpcheck.Session) ([]string, error) {
	rcpts := make([]string, 0, len(s.Rcpts))
	for _, r := range s.Rcpts {
		rcpts = append(rcpts, strings.ToLower(r.String()))
	}
	slices.Sort(rcpts)
	rcpts = slices.Compact(rcpts)
	start := func() io.Writer {
		h := sha256.New()
		for _, r := range rcpts {
			io.WriteString(h, r)
			h.Write([]byte{0})
		}
		h.Write([]byte{0})
		return h
	}
	sum := func(w io.Writer) string { return hex.EncodeToString(w.(interface{ Sum([]byte) []byte }).Sum(nil)) }
	var keys []string
	if !c.cfg.NoMessageID {
		if id, ok := s.Header.Get("Message-ID"); ok && strings.TrimSpace(id) != "" {
			h := start()
			io.WriteString(h, strings.ToLower(strings.Join(strings.Fields(id), "")))
			keys = append(keys, c.cfg.Prefix+"mid:"+sum(h))
		}
	}
	if !c.cfg.NoBody && s.Body != nil {
		rc, err := s.Body.Open()
		if err != nil {
			return nil, fmt.Errorf("duplicate: open body: %w", err)
		}
		defer rc.Close()
		h := start()
		if _, err := io.Copy(h, rc); err != nil {
			return nil, fmt.Errorf("duplicate: read body: %w", err)
		}
		keys = append(keys, c.cfg.Prefix+"body:"+sum(h))
	}
	return keys, nil
}

// claimPrefix starts the value of a claimed key; any other value (the
// session ID of the copy taken) marks a message accepted.
const claimPrefix = "claim:"

// claimsKey keys the session's claimed keys in its values.
type claimsKey struct{}

// claims are the keys a session claimed and has not recorded or
// released yet.
type claims struct {
	mu   sync.Mutex
	keys []string
}

func sessionClaims(s *smtpcheck.Session) *claims {
	return smtpcheck.ValueOf[claims](s, claimsKey{})
}

// Check returns the end-of-data check: a message one of whose keys is
// in the store as accepted is refused with smtpf#340's 550 5.3.4, and one
// whose keys another session holds a claim on (a copy being delivered,
// here or on another host) gets 451 4.7.0 to come back later. Otherwise
// the check claims the keys for ClaimTTL and lets the message through; it
// records nothing (see Record). Before end of data it has no opinion.
func (c *Detector) Check() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Stage != smtpcheck.StageEndOfData || s.Message == nil {
			return smtpcheck.Result{}
		}
		keys, err := c.Keys(s)
		if err != nil {
			return c.fail(err, "message")
		}
		mine := claimPrefix + s.Conn.ID
		var claimed []string
		for _, k := range keys {
			// Update makes look-and-claim one step, so two copies
			// arriving at once on two hosts cannot both pass.
			var seen, busy bool
			var holder string
			err := c.cfg.Store.Update(ctx, k, func(old []byte, ok bool) ([]byte, time.Duration, error) {
				// fn may run again after a race: no other effect.
				seen, busy, holder = false, false, string(old)
				switch {
				case !ok || string(old) == mine:
					return []byte(mine), c.cfg.ClaimTTL, nil
				case strings.HasPrefix(string(old), claimPrefix):
					busy = true
				default:
					seen = true
				}
				return nil, 0, store.ErrNoChange
			})
			if err != nil && !errors.Is(err, store.ErrNoChange) {
				c.release(ctx, s.Conn.ID, claimed)
				return c.fail(err, "store")
			}
			kind, _, _ := strings.Cut(strings.TrimPrefix(k, c.cfg.Prefix), ":")
			switch {
			case seen:
				c.release(ctx, s.Conn.ID, claimed)
				c.log.LogAttrs(ctx, slog.LevelInfo, "duplicate: message seen before",
					slog.String("session", s.Conn.ID), slog.String("key", kind))
				return smtpcheck.Refuse(reply.DuplicateMessage(), smtpcheck.Reason{Check: Name, Rule: kind,
					Matched: k, Evidence: "accepted within " + c.cfg.TTL.String()})
			case busy:
				c.release(ctx, s.Conn.ID, claimed)
				c.log.LogAttrs(ctx, slog.LevelInfo, "duplicate: a copy is being delivered",
					slog.String("session", s.Conn.ID), slog.String("key", kind), slog.String("holder", strings.TrimPrefix(holder, claimPrefix)))
				return smtpcheck.Result{Action: smtpcheck.TempFail, Reply: reply.TryAgainLater(), Reason: smtpcheck.Reason{
					Check: Name, Rule: kind + "-in-progress", Matched: k,
					Evidence: "a copy is being delivered by session " + strings.TrimPrefix(holder, claimPrefix)}}
			}
			claimed = append(claimed, k)
		}
		cl := sessionClaims(s)
		cl.mu.Lock()
		cl.keys = append(cl.keys, claimed...)
		cl.mu.Unlock()
		return smtpcheck.Result{}
	}
}

// Record remembers the session's message as accepted, for the TTL: a
// front-end calls it once the message has been accepted and delivered
// (gosmtp's and gomilter's Config.Accepted), so that only a message really
// taken makes its copies duplicates. The message must still be readable.
func (c *Detector) Record(ctx context.Context, s *smtpcheck.Session) error {
	keys, err := c.Keys(s)
	if err != nil {
		return err
	}
	for _, k := range keys {
		err := c.cfg.Store.Update(ctx, k, func(old []byte, ok bool) ([]byte, time.Duration, error) {
			if ok && !strings.HasPrefix(string(old), claimPrefix) {
				return nil, 0, store.ErrNoChange // taken already: keep the first
			}
			return []byte(s.Conn.ID), c.cfg.TTL, nil
		})
		if err != nil && !errors.Is(err, store.ErrNoChange) {
			return fmt.Errorf("duplicate: record: %w", err)
		}
	}
	cl := sessionClaims(s)
	cl.mu.Lock()
	cl.keys = slices.DeleteFunc(cl.keys, func(k string) bool { return slices.Contains(keys, k) })
	cl.mu.Unlock()
	return nil
}

// Release gives up the claims the session still holds (its messages
// that were refused after the check, or failed delivery), so that the
// client's retry is not kept waiting for ClaimTTL: a front-end calls it
// when the session ends.
func (c *Detector) Release(ctx context.Context, s *smtpcheck.Session) error {
	cl, ok := s.Value(claimsKey{}).(*claims)
	if !ok {
		return nil
	}
	cl.mu.Lock()
	keys := cl.keys
	cl.keys = nil
	cl.mu.Unlock()
	return c.release(ctx, s.Conn.ID, keys)
}

// release deletes the keys still claimed by session id.
func (c *Detector) release(ctx context.Context, id string, keys []string) error {
	var errs []error
	for _, k := range keys {
		err := c.cfg.Store.Update(ctx, k, func(old []byte, ok bool) ([]byte, time.Duration, error) {
			if ok && string(old) == claimPrefix+id {
				return nil, 0, nil // delete
			}
			return nil, 0, store.ErrNoChange
		})
		if err != nil && !errors.Is(err, store.ErrNoChange) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("duplicate: release: %w", err)
	}
	return nil
}

func (c *Detector) fail(err error, rule string) smtpcheck.Result {
	return c.cfg.OnError.Fail(err, smtpcheck.Reason{Check: Name, Rule: rule, Evidence: err.Error()})
}
