// Package duplicate refuses a message received a second time (smtpf#340,
// "550 5.3.4 duplicate message rejected"): the same Message-ID, or the same
// body, for the same recipients within a time to live. What was seen is
// kept in the shared store (memory, bbolt or Redis), so a cluster of MX
// hosts refuses a copy that an other host already took.
//
// A key names the recipients as well as the message, so a list message
// that arrives in one transaction per recipient group is not a duplicate,
// and a client retrying after a temporary refusal of one of its recipients
// is not refused. The check records a message when it lets it through, so
// it belongs last in the end-of-data checks: a refusal before it must not
// leave a record that would refuse the client's retry.
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
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Name is the check's name in reasons and traces.
const Name = "duplicate"

// DefaultTTL is how long a message is remembered.
const DefaultTTL = 24 * time.Hour

// DefaultPrefix starts every key the check writes to the store.
const DefaultPrefix = "dup:"

// Config configures a Checker.
type Config struct {
	// Store keeps the keys of the messages seen. Required.
	Store store.Store
	// TTL is how long a message is remembered; 0 means DefaultTTL.
	TTL time.Duration
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

// Checker refuses duplicates by its Config.
type Checker struct {
	cfg Config
	log *slog.Logger
}

// New returns a Checker, or an error when cfg has no store or turns off
// both keys.
func New(cfg Config) (*Checker, error) {
	if cfg.Store == nil {
		return nil, errors.New("duplicate: no store")
	}
	if cfg.NoMessageID && cfg.NoBody {
		return nil, errors.New("duplicate: both keys turned off")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	c := &Checker{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Keys returns the store keys of the session's message: "mid:" and "body:"
// followed by a SHA-256 over the recipients and the Message-ID (compared
// without case or angle brackets' surrounding space) or the body. A
// message without a Message-ID has no mid key.
func (c *Checker) Keys(s *smtpcheck.Session) ([]string, error) {
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

// Check returns the end-of-data check: a message one of whose keys is
// in the store is refused with smtpf#340's 550 5.3.4; otherwise its keys
// are stored for the TTL. Before end of data it has no opinion.
func (c *Checker) Check() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Stage != smtpcheck.StageEndOfData || s.Message == nil {
			return smtpcheck.Result{}
		}
		keys, err := c.Keys(s)
		if err != nil {
			return c.fail(err, "message")
		}
		for _, k := range keys {
			// Update makes check-and-record one step, so two copies
			// arriving at once on two hosts cannot both pass.
			seen := false
			err := c.cfg.Store.Update(ctx, k, func(old []byte, ok bool) ([]byte, time.Duration, error) {
				seen = ok // fn may run again after a race: no other effect
				if ok {
					return nil, 0, store.ErrNoChange
				}
				return []byte(s.Conn.ID), c.cfg.TTL, nil
			})
			if err != nil && !errors.Is(err, store.ErrNoChange) {
				return c.fail(err, "store")
			}
			if seen {
				kind, _, _ := strings.Cut(strings.TrimPrefix(k, c.cfg.Prefix), ":")
				c.log.LogAttrs(ctx, slog.LevelInfo, "duplicate: message seen before",
					slog.String("session", s.Conn.ID), slog.String("key", kind))
				return smtpcheck.Refuse(reply.DuplicateMessage(), smtpcheck.Reason{Check: Name, Rule: kind,
					Matched: k, Evidence: "seen within " + c.cfg.TTL.String()})
			}
		}
		return smtpcheck.Result{}
	}
}

func (c *Checker) fail(err error, rule string) smtpcheck.Result {
	return c.cfg.OnError.Fail(err, smtpcheck.Reason{Check: Name, Rule: rule, Evidence: err.Error()})
}
