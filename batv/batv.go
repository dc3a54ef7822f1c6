// Package batv tags envelope senders so that bounces can be told from
// backscatter (Bounce Address Tag Validation, the prvs= form postgrey
// normalises; smtpf calls it EMEW). Outgoing mail's sender local@domain
// becomes prvs=KDDDSSSSSS=local@domain: K names the secret that signed
// (so secrets rotate: mail signed with the previous one still verifies),
// DDD is the day the tag was made (days since the Unix epoch, mod 1000),
// and SSSSSS the first three octets of an HMAC-SHA-256 over K, DDD and the
// address. A bounce (null sender) to an untagged address, or one whose tag
// does not verify, is refused with smtpf#358's reply; one whose tag is
// older than the TTL with smtpf#357's.
package batv

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Name is the check's name in reasons and traces.
const Name = "batv"

// DefaultTTL is how long a tag is honoured (smtpf's emew-ttl).
const DefaultTTL = 7 * 24 * time.Hour

// Errors of Verify.
var (
	ErrUntagged     = errors.New("batv: address carries no prvs= tag")
	ErrBadSignature = errors.New("batv: tag does not verify")
	ErrExpired      = errors.New("batv: tag expired")
)

// Key is one signing secret and the digit that names it in tags.
type Key struct {
	ID     byte // '0' to '9'
	Secret []byte
}

// Signer signs and verifies tagged addresses.
type Signer struct {
	keys []Key
	ttl  time.Duration
}

// NewSigner returns a Signer that signs with keys[0] and verifies with
// any of keys: rotate by putting a new key first and keeping the previous
// one until the TTL has passed. ttl 0 means DefaultTTL; at most 999 days.
func NewSigner(ttl time.Duration, keys ...Key) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("batv: no key")
	}
	seen := map[byte]bool{}
	for _, k := range keys {
		if k.ID < '0' || k.ID > '9' || len(k.Secret) < 16 {
			return nil, fmt.Errorf("batv: key %q: want an ID 0-9 and a secret of at least 16 octets", k.ID)
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("batv: key ID %c twice", k.ID)
		}
		seen[k.ID] = true
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if ttl > 999*24*time.Hour {
		return nil, errors.New("batv: ttl over 999 days")
	}
	return &Signer{keys: keys, ttl: ttl}, nil
}

func day(t time.Time) int { return int(t.Unix()/86400) % 1000 }

func mac(k Key, ddd, addr string) string {
	h := hmac.New(sha256.New, k.Secret)
	h.Write([]byte{k.ID})
	h.Write([]byte(ddd))
	h.Write([]byte(strings.ToLower(addr)))
	return hex.EncodeToString(h.Sum(nil)[:3])
}

// Sign returns addr (local@domain) tagged at now with the current key.
// The null sender and an address already tagged are returned unchanged.
func (s *Signer) Sign(addr string, now time.Time) string {
	if addr == "" || isTagged(addr) {
		return addr
	}
	k := s.keys[0]
	ddd := fmt.Sprintf("%03d", day(now))
	return "prvs=" + string(k.ID) + ddd + mac(k, ddd, addr) + "=" + addr
}

func isTagged(addr string) bool {
	return len(addr) > 5 && strings.EqualFold(addr[:5], "prvs=")
}

// Verify checks a tagged address at now and returns the address without
// its tag. The error is ErrUntagged, ErrBadSignature (a malformed tag, an
// unknown key or a wrong signature) or ErrExpired.
func (s *Signer) Verify(addr string, now time.Time) (string, error) {
	if !isTagged(addr) {
		return addr, ErrUntagged
	}
	tag, orig, ok := strings.Cut(addr[5:], "=")
	if !ok || len(tag) != 10 || orig == "" || !strings.Contains(orig, "@") {
		return addr, ErrBadSignature
	}
	ddd := tag[1:4]
	n, err := strconv.Atoi(ddd)
	if err != nil || n < 0 {
		return addr, ErrBadSignature
	}
	for _, k := range s.keys {
		if k.ID != tag[0] {
			continue
		}
		if !hmac.Equal([]byte(strings.ToLower(tag[4:])), []byte(mac(k, ddd, orig))) {
			return orig, ErrBadSignature
		}
		age := (day(now) - n + 1000) % 1000
		if time.Duration(age)*24*time.Hour > s.ttl {
			return orig, ErrExpired
		}
		return orig, nil
	}
	return orig, ErrBadSignature
}

// Outgoing reports whether s's message leaves for other domains on behalf
// of a client allowed to send it: a trusted (mynetworks) or authenticated
// client, a sender that is not null, and a recipient in none of ours
// (case and a trailing dot aside). Its sender is the one a relay tags
// with Sign, so that the bounces coming back pass Check.
func Outgoing(s *smtpcheck.Session, ours []string) bool {
	if s == nil || s.Mail == nil || s.Mail.From.IsNull() || !(s.Conn.Trusted || s.Conn.Authenticated()) {
		return false
	}
	for _, r := range s.Rcpts {
		d := r.DomainFold()
		mine := false
		for _, o := range ours {
			if strings.EqualFold(strings.TrimSuffix(o, "."), d) {
				mine = true
				break
			}
		}
		if !mine {
			return true
		}
	}
	return false
}

// Config configures the bounce check.
type Config struct {
	Signer *Signer
	// Domains limits the check to recipients in these domains (the ones
	// whose outgoing mail is tagged); empty means every recipient.
	Domains []string
	// Action is what a bounce to an untagged, forged or expired address
	// gets (smtpf's emew-dsn-policy): Reject (the zero value means Reject),
	// Tag or Quarantine to only mark it.
	Action smtpcheck.Action
	// Now returns the current time; nil means the session's Now, or
	// time.Now.
	Now func() time.Time
}

// Check returns the RCPT check refusing bounces (the null sender: DSNs
// and MDNs) to addresses without a valid tag of ours. Mail with a sender
// passes untouched.
func Check(cfg Config) smtpcheck.Check {
	domains := map[string]bool{}
	for _, d := range cfg.Domains {
		domains[strings.TrimSuffix(strings.ToLower(d), ".")] = true
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if cfg.Signer == nil || s.Stage != smtpcheck.StageRcpt || s.Mail == nil || !s.Mail.From.IsNull() {
			return smtpcheck.Result{}
		}
		if len(domains) > 0 && !domains[s.Rcpt.DomainFold()] {
			return smtpcheck.Result{}
		}
		now := s.Now
		if cfg.Now != nil {
			now = cfg.Now()
		} else if now.IsZero() {
			now = time.Now()
		}
		_, err := cfg.Signer.Verify(s.Rcpt.String(), now)
		if err == nil {
			return smtpcheck.Pass(smtpcheck.Reason{Check: Name, Rule: "tag", Matched: s.Rcpt.String(), Evidence: "valid"})
		}
		rule, rp := "not-ours", reply.DSNNotOurs()
		if errors.Is(err, ErrExpired) {
			rule, rp = "expired", reply.DSNTooOld()
		}
		reason := smtpcheck.Reason{Check: Name, Rule: rule, Matched: s.Rcpt.String(), Evidence: err.Error()}
		if cfg.Action == smtpcheck.Tag || cfg.Action == smtpcheck.Quarantine {
			return smtpcheck.Result{Action: cfg.Action, Reason: reason}
		}
		return smtpcheck.Refuse(rp, reason)
	}
}
