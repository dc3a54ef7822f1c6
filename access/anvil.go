package access

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// AnvilName names the anvil limits in traces.
const AnvilName = "anvil"

// DefaultAnvilHoldFor is how long a connection stays counted without an
// event of its own (connect, MAIL, RCPT) unless AnvilConfig.HoldFor says
// otherwise: the most a host that died leaves its connections counted.
const DefaultAnvilHoldFor = 15 * time.Minute

// AnvilConfig configures an Anvil. The limits are Postfix's smtpd
// parameters of the same names; zero turns a limit off.
type AnvilConfig struct {
	// Store keeps the counts; a Store shared by several hosts (Redis)
	// makes their clients' limits one. Required.
	Store store.Store
	// KeyPrefix is put before every key (default "anvil:").
	KeyPrefix string
	// Service names the listener, as master.cf's service name does for
	// anvil: clients are counted per service (default "smtp").
	Service string
	// Hostname is myhostname, named in the 421 reply.
	Hostname string

	ConnectionCountLimit int64 // smtpd_client_connection_count_limit
	ConnectionRateLimit  int64 // smtpd_client_connection_rate_limit
	MessageRateLimit     int64 // smtpd_client_message_rate_limit
	RecipientRateLimit   int64 // smtpd_client_recipient_rate_limit
	// TimeUnit is anvil_rate_time_unit (default 60 s): a client's rates
	// are counted in one window that opens at its first counted event and
	// restarts after this long.
	TimeUnit time.Duration
	// Exempt reports the clients no limit applies to
	// (smtpd_client_event_limit_exceptions); nil exempts none.
	Exempt func(s *smtpcheck.Session) bool
	// HoldFor bounds how long a connection stays counted without an
	// event of its own (default DefaultAnvilHoldFor).
	HoldFor time.Duration
	// Logger receives store errors and limit warnings; nil discards them.
	Logger *slog.Logger
}

// Anvil enforces Postfix's anvil(8) client limits for an SMTP server:
// concurrent connections and connections, messages and recipients per
// time unit, per client address, with Postfix's replies. Every event is
// one store operation (store.Tally; one round trip on Redis), so the hosts
// of a cluster sharing a store count each client once.
//
// A store that cannot answer lets the client through: the error is logged
// and counted (StoreErrors), never turned into a refusal.
type Anvil struct {
	cfg    AnvilConfig
	log    *slog.Logger
	id     string // this process's part of holder names
	seq    atomic.Uint64
	errs   atomic.Int64
	conn   *reply.Entry
	mail   *reply.Entry
	rcpt   *reply.Entry
	prefix string
}

// NewAnvil returns the limits cfg describes.
func NewAnvil(cfg AnvilConfig) (*Anvil, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("access: anvil without a store")
	}
	if cfg.TimeUnit <= 0 {
		cfg.TimeUnit = 60 * time.Second
	}
	if cfg.HoldFor <= 0 {
		cfg.HoldFor = DefaultAnvilHoldFor
	}
	if cfg.Service == "" {
		cfg.Service = "smtp"
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "anvil:"
	}
	var b [6]byte
	rand.Read(b[:])
	a := &Anvil{cfg: cfg, log: cfg.Logger, id: hex.EncodeToString(b[:]),
		conn: reply.Lookup("TooManyConnectionsFrom"), mail: reply.Lookup("MessageRateFrom"), rcpt: reply.Lookup("RecipientRateFrom"),
		prefix: cfg.KeyPrefix + cfg.Service + ":"}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.conn == nil || a.mail == nil || a.rcpt == nil {
		return nil, fmt.Errorf("access: anvil replies missing from the catalog")
	}
	return a, nil
}

// StoreErrors returns how many events the store failed to count (each
// let the client through).
func (a *Anvil) StoreErrors() int64 { return a.errs.Load() }

// anvilKey is the session value of an Anvil's connection.
type anvilKey struct{}

// anvilConn is what a connection holds: the tally key and holder name of
// its count, released when it ends.
type anvilConn struct {
	mu     sync.Mutex
	st     store.Store
	key    string
	holder string
	held   bool
	window time.Duration
	log    *slog.Logger
}

// Check returns the limits as one check for the connect, MAIL and RCPT
// stages (other stages pass): at connect the connection count and rate
// (421 and Disconnect), at MAIL the message rate and at RCPT the
// recipient rate (450, never held for a later stage). A connection
// counted at connect must be released when it ends: the server adapter
// calls Release, as it does for the access map's limits.
func (a *Anvil) Check() smtpcheck.Check {
	return smtpcheck.Named(AnvilName, func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		switch s.Stage {
		case smtpcheck.StageConnect:
			return a.connect(ctx, s)
		case smtpcheck.StageMail:
			return a.rate(ctx, s, "mail", a.cfg.MessageRateLimit, "smtpd_client_message_rate_limit", a.mail)
		case smtpcheck.StageRcpt:
			return a.rate(ctx, s, "rcpt", a.cfg.RecipientRateLimit, "smtpd_client_recipient_rate_limit", a.rcpt)
		}
		return smtpcheck.Result{}
	})
}

func (a *Anvil) exempt(s *smtpcheck.Session) bool {
	return !s.Conn.ClientIP.IsValid() || a.cfg.Exempt != nil && a.cfg.Exempt(s)
}

func (a *Anvil) key(s *smtpcheck.Session) string { return a.prefix + s.Conn.ClientIP.Unmap().String() }

// tally applies op, counting and logging a store error.
func (a *Anvil) tally(ctx context.Context, key string, op store.TallyOp) (store.TallyResult, bool) {
	res, err := store.Tally(ctx, a.cfg.Store, key, op)
	if err != nil {
		a.errs.Add(1)
		a.log.Warn("anvil: client not counted; let through", "key", key, "event", op.Counter, "error", err)
		return res, false
	}
	return res, true
}

func (a *Anvil) connect(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
	// A connection that is connected again (XCLIENT names another
	// client) stops counting as the first.
	releaseAnvil(ctx, s)
	if a.exempt(s) || (a.cfg.ConnectionCountLimit <= 0 && a.cfg.ConnectionRateLimit <= 0) {
		return smtpcheck.Result{}
	}
	op := store.TallyOp{Window: a.cfg.TimeUnit}
	if a.cfg.ConnectionRateLimit > 0 {
		op.Counter = "conn"
	}
	c := &anvilConn{st: a.cfg.Store, key: a.key(s), window: a.cfg.TimeUnit, log: a.log}
	if a.cfg.ConnectionCountLimit > 0 {
		op.Holder, op.HoldFor = a.id+"."+strconv.FormatUint(a.seq.Add(1), 36), a.cfg.HoldFor
		c.holder = op.Holder
	}
	res, ok := a.tally(ctx, c.key, op)
	if !ok {
		return smtpcheck.Result{}
	}
	c.held = c.holder != ""
	s.SetValue(anvilKey{}, c)
	addr := s.Conn.ClientIP.Unmap().String()
	var param string
	var n, limit int64
	switch {
	case a.cfg.ConnectionCountLimit > 0 && res.Held > a.cfg.ConnectionCountLimit:
		param, n, limit = "smtpd_client_connection_count_limit", res.Held, a.cfg.ConnectionCountLimit
		a.log.Warn(fmt.Sprintf("Connection concurrency limit exceeded: %d from %s[%s] for service %s", n, s.Conn.Name(), addr, a.cfg.Service))
	case a.cfg.ConnectionRateLimit > 0 && res.Count > a.cfg.ConnectionRateLimit:
		param, n, limit = "smtpd_client_connection_rate_limit", res.Count, a.cfg.ConnectionRateLimit
		a.log.Warn(fmt.Sprintf("Connection rate limit exceeded: %d from %s[%s] for service %s", n, s.Conn.Name(), addr, a.cfg.Service))
	default:
		return smtpcheck.Result{}
	}
	// The refused connection stops counting now rather than when the
	// server gets round to closing it.
	releaseAnvil(ctx, s)
	// Postfix names itself before the catalog's text, as in every 421.
	rep := a.conn.Reply(addr)
	if a.cfg.Hostname != "" {
		if r, err := reply.New(421, "4.7.0", a.cfg.Hostname+" "+strings.Join(rep.Text(), " ")); err == nil {
			rep = r
		}
	}
	r := smtpcheck.Refuse(rep, smtpcheck.Reason{Check: AnvilName, Rule: param, Matched: addr,
		Evidence: fmt.Sprintf("%d > %d", n, limit)})
	r.Action = smtpcheck.Disconnect
	return r
}

func (a *Anvil) rate(ctx context.Context, s *smtpcheck.Session, counter string, limit int64, param string, e *reply.Entry) smtpcheck.Result {
	if limit <= 0 || a.exempt(s) {
		return smtpcheck.Result{}
	}
	op := store.TallyOp{Counter: counter, Window: a.cfg.TimeUnit}
	key := a.key(s)
	if c, ok := s.Value(anvilKey{}).(*anvilConn); ok {
		c.mu.Lock()
		if c.held && c.key == key {
			// Every event renews the connection's count.
			op.Holder, op.HoldFor = c.holder, a.cfg.HoldFor
		}
		c.mu.Unlock()
	}
	res, ok := a.tally(ctx, key, op)
	if !ok || res.Count <= limit {
		return smtpcheck.Result{}
	}
	addr := s.Conn.ClientIP.Unmap().String()
	what := "Message delivery request rate limit exceeded"
	if counter == "rcpt" {
		what = "Recipient address rate limit exceeded"
	}
	a.log.Warn(fmt.Sprintf("%s: %d from %s[%s] for service %s", what, res.Count, s.Conn.Name(), addr, a.cfg.Service))
	r := smtpcheck.Refuse(e.Reply(addr), smtpcheck.Reason{Check: AnvilName, Rule: param, Matched: addr,
		Evidence: fmt.Sprintf("%d > %d per %s", res.Count, limit, a.cfg.TimeUnit)})
	r.Immediate = true
	return r
}

// releaseAnvil gives back the connection count an Anvil took for s.
func releaseAnvil(ctx context.Context, s *smtpcheck.Session) {
	c, ok := s.Value(anvilKey{}).(*anvilConn)
	if !ok {
		return
	}
	c.mu.Lock()
	held := c.held
	c.held = false
	c.mu.Unlock()
	if !held {
		return
	}
	if _, err := store.Tally(ctx, c.st, c.key, store.TallyOp{Holder: c.holder, Release: true, Window: c.window}); err != nil {
		c.log.Warn("anvil: connection count not released; it lapses by itself", "key", c.key, "error", err)
	}
}
