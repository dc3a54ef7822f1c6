// Package four21 is smtpf's Four21 test (its four21-unknown-ip option,
// smtpf#363/#364), an RFC 5321 conformance test of clients never seen
// before: such a client is greeted with "421 4.4.0 client unknown [IP]
// unknown" and watched. A real mail server answers a 421 with a clean QUIT
// (RFC 5321 3.8) and retries later; then its address is known and it is
// served normally. Spam software that talks on (pipelining its commands),
// hangs up without QUIT, or says nothing is blocked: its next connections
// are refused with 554 5.4.0 "No soup for you!".
//
// The 421 and the watching happen before the SMTP server sees the
// connection, in a net.Listener wrapper (Tester.Listener); the refusal of
// blocked clients is a connect-stage check (Tester.Check), so it is
// logged and explained with the policy's other decisions. What is known
// and blocked lives in the shared store, so a cluster agrees.
//
// The test delays every new sender's first mail by its retry interval and
// blocks clients that hang up after a 421 without QUIT, which some real
// servers do: it is opt-in, as in smtpf, where it was experimental.
package four21

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Name is the check's name in reasons and traces.
const Name = "four21"

// Defaults.
const (
	DefaultKnownTTL = 30 * 24 * time.Hour // how long a client that passed is known
	DefaultBlockTTL = 24 * time.Hour      // how long a client that failed is refused
	DefaultWait     = 10 * time.Second    // how long to wait for QUIT after the 421
	DefaultPrefix   = "four21:"
	storeTimeout    = 2 * time.Second
)

const (
	known   = "pass"
	blocked = "fail"
)

// Config configures a Tester.
type Config struct {
	// Store keeps the known and blocked addresses. Required.
	Store store.Store
	// KnownTTL, BlockTTL, Wait and Prefix: zero means the defaults.
	KnownTTL, BlockTTL, Wait time.Duration
	Prefix                   string
	// Exempt, when set, names clients never tested (trusted networks).
	Exempt func(netip.Addr) bool
	// Logger receives one line per test; nil discards.
	Logger *slog.Logger
}

// Tester runs the test.
type Tester struct {
	cfg Config
	log *slog.Logger
}

// New returns a Tester, or an error without a store.
func New(cfg Config) (*Tester, error) {
	if cfg.Store == nil {
		return nil, errors.New("four21: no store")
	}
	if cfg.KnownTTL <= 0 {
		cfg.KnownTTL = DefaultKnownTTL
	}
	if cfg.BlockTTL <= 0 {
		cfg.BlockTTL = DefaultBlockTTL
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	t := &Tester{cfg: cfg, log: cfg.Logger}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	return t, nil
}

// State is what the store says of an address: "" (never seen), "pass" or
// "fail".
func (t *Tester) State(ctx context.Context, ip netip.Addr) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	v, ok, err := t.cfg.Store.Get(ctx, t.cfg.Prefix+ip.Unmap().String())
	if err != nil || !ok {
		return "", err
	}
	return string(v), nil
}

func (t *Tester) record(ip netip.Addr, state string) {
	ttl := t.cfg.KnownTTL
	if state == blocked {
		ttl = t.cfg.BlockTTL
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := t.cfg.Store.Set(ctx, t.cfg.Prefix+ip.Unmap().String(), []byte(state), ttl); err != nil {
		t.log.Warn("four21: cannot record a test result", "client", ip, "error", err)
	}
}

// Check returns the connect-stage check refusing a client that failed the
// test with smtpf#364's 554 5.4.0. A store failure is the check's error,
// for the guard's error policy.
func (t *Tester) Check() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if !s.Conn.ClientIP.IsValid() {
			return smtpcheck.Result{}
		}
		st, err := t.State(ctx, s.Conn.ClientIP)
		if err != nil {
			return smtpcheck.Result{Err: err, Reason: smtpcheck.Reason{Check: Name, Rule: "store", Evidence: err.Error()}}
		}
		if st != blocked {
			return smtpcheck.Result{}
		}
		ip := s.Conn.ClientIP.Unmap().String()
		return smtpcheck.Refuse(reply.FirstContactFailed(s.Conn.Name(), ip),
			smtpcheck.Reason{Check: Name, Rule: "four21-unknown-ip", Matched: ip, Evidence: "failed the 421 test: no clean QUIT"})
	}
}

// Listener wraps ln: a connection from an address never seen is answered
// with 421 and watched here, never reaching the server; the others are
// handed to the server. A store failure lets the connection through.
func (t *Tester) Listener(ln net.Listener) net.Listener {
	return &listener{Listener: ln, t: t, ready: make(chan net.Conn), done: make(chan struct{})}
}

type listener struct {
	net.Listener
	t     *Tester
	once  sync.Once
	ready chan net.Conn
	done  chan struct{}
	err   error // set before done closes
}

func (l *listener) Accept() (net.Conn, error) {
	l.once.Do(func() { go l.loop() })
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

// loop accepts and sorts connections without waiting for the store, so a
// slow store never holds up other clients.
func (l *listener) loop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			l.err = err
			close(l.done)
			return
		}
		go l.sort(c)
	}
}

func (l *listener) sort(c net.Conn) {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err == nil {
		exempt := l.t.cfg.Exempt != nil && l.t.cfg.Exempt(ap.Addr().Unmap())
		if st, err := l.t.State(context.Background(), ap.Addr()); err == nil && st == "" && !exempt {
			l.t.probe(c, ap.Addr().Unmap())
			return
		}
	}
	select {
	case l.ready <- c:
	case <-l.done:
		c.Close()
	}
}

// probe sends the 421 and watches the answer: a QUIT line alone passes
// (answered 221), anything else fails.
func (t *Tester) probe(c net.Conn, ip netip.Addr) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(t.cfg.Wait))
	if _, err := c.Write(reply.FirstContactDeferred("unknown", ip.String()).AppendTo(nil)); err != nil {
		return // nothing learnt: the client may try again
	}
	// ReadSlice bounds the line by the buffer: a client streaming bytes
	// without a newline fails with ErrBufferFull.
	line, err := bufio.NewReaderSize(c, 512).ReadSlice('\n')
	saw := strings.TrimRight(string(line), "\r\n")
	pass := err == nil && strings.EqualFold(strings.TrimSpace(saw), "QUIT")
	if pass {
		c.Write([]byte("221 2.0.0 closing connection\r\n"))
		t.record(ip, known)
	} else {
		t.record(ip, blocked)
	}
	if len(saw) > 64 {
		saw = saw[:64]
	}
	why := "sent " + strings.ToValidUTF8(saw, "?")
	if err != nil {
		why = "no line: " + err.Error()
	}
	t.log.Info("four21: unknown client tested", "client", ip, "passed", pass, "saw", why)
}
