package access

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/tick"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// SPFFunc reports whether the session's sender passed SPF. The access map
// calls it only for SPF-PASS entries, at MAIL and later.
type SPFFunc func(ctx context.Context, s *smtpcheck.Session) (pass bool, err error)

// Config configures an Access.
type Config struct {
	// Files are the smtpf map files, read in order (a later file's key
	// overrides an earlier one's).
	Files []string
	// LiteralPlus keeps "+detail" in addresses; by default it is stripped
	// before lookup, so user+list@example.org finds From:user@example.org.
	LiteralPlus bool
	// SPF answers SPF-PASS entries; nil makes SPF-PASS behave as SKIP.
	SPF SPFFunc
	// Store holds the limits' counters; nil turns the limits off. Share a
	// Redis store between MX hosts to share their counters.
	Store store.Store
	// KeyPrefix prefixes every store key; default "access:".
	KeyPrefix string
	// Logger receives reload and limit messages; nil discards them.
	Logger *slog.Logger
}

// Access serves one smtpf access map, swapped atomically on reload, with
// the checks and limits built on it. It is safe for concurrent use.
type Access struct {
	cfg    Config
	log    *slog.Logger
	m      atomic.Pointer[Map]
	mu     sync.Mutex // serialises reloads
	stamps []fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// New returns an Access and loads cfg.Files (an Access without files serves
// an empty map until Swap).
func New(cfg Config) (*Access, error) {
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "access:"
	}
	a := &Access{cfg: cfg, log: cfg.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.m.Store(&Map{})
	if len(cfg.Files) > 0 {
		if err := a.Reload(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Map returns the map being served.
func (a *Access) Map() *Map { return a.m.Load() }

// Swap replaces the map being served.
func (a *Access) Swap(m *Map) {
	if m == nil {
		m = &Map{}
	}
	a.m.Store(m)
}

// Reload reads the configured files again. On any error the previous map
// keeps serving: a map is swapped in whole or not at all.
func (a *Access) Reload() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	stamps := a.stat()
	m, err := ParseFiles(a.cfg.Files...)
	if err != nil {
		return err
	}
	a.m.Store(m)
	a.stamps = stamps
	a.log.Info("access map loaded", slog.Any("files", a.cfg.Files), slog.Int("keys", m.Len()))
	return nil
}

func (a *Access) stat() []fileStamp {
	st := make([]fileStamp, len(a.cfg.Files))
	for i, f := range a.cfg.Files {
		if fi, err := os.Stat(f); err == nil {
			st[i] = fileStamp{mod: fi.ModTime(), size: fi.Size()}
		}
	}
	return st
}

// ReloadIfChanged reloads when a file's modification time or size changed
// since the last successful load.
func (a *Access) ReloadIfChanged() (bool, error) {
	a.mu.Lock()
	st := a.stat()
	changed := len(st) != len(a.stamps)
	for i := 0; !changed && i < len(st); i++ {
		changed = !st[i].mod.Equal(a.stamps[i].mod) || st[i].size != a.stamps[i].size
	}
	a.mu.Unlock()
	if !changed {
		return false, nil
	}
	return true, a.Reload()
}

// Watch polls the files every interval and reloads them when they change,
// until ctx is done. A failed reload is logged and the old map keeps
// serving; the same broken files are not re-read until they change again.
func (a *Access) Watch(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return errors.New("access: watch interval must be positive")
	}
	return tick.Every(ctx, interval, func() error {
		if _, err := a.ReloadIfChanged(); err != nil {
			a.log.Error("access map reload failed; previous map kept", slog.Any("error", err))
			a.mu.Lock()
			a.stamps = a.stat()
			a.mu.Unlock()
		}
		return nil
	})
}

// Body looks up a message URI's host in the Body: tag of the current map:
// OK exempts it, REJECT (or IREJECT) lists it. It has the shape the uri
// package takes as its exemption/listing hook.
func (a *Access) Body(host string) (v MapValue, key string, found bool) {
	return a.Map().Body(host)
}
