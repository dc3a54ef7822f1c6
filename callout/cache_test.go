package callout_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/callout"
	"github.com/smtppolicy/smtppolicy/internal/storekind"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

// The verify cache answers a second verification without a probe, keeps
// each kind of verdict for its own time, and probes again after the
// refresh time (Postfix's verify(8) on the shared store).
func TestVerifyCache(t *testing.T) {
	storekind.Each(t, func(t *testing.T, s store.Store, prefix string, clk *storetest.Clock) {
		m := startMailServer(t)
		_, r := newDNS(t, "ok.test. 300 IN MX 10 mx.ok.test.", "mx.ok.test. 300 IN A 127.0.0.1")
		v := newVerifier(t, callout.Config{Resolver: r, Store: s, KeyPrefix: prefix + "verify:", Now: clk.Now}, m.port)
		probes := func(rcpt string) int { return strings.Count(m.commands(), "RCPT <"+rcpt+">") }
		check := func(a string, want callout.Status, cached bool, wantProbes int) {
			t.Helper()
			vd := v.Verify(t.Context(), addr(a))
			if vd.Status != want || vd.Cached != cached {
				t.Errorf("Verify(%q) = %v cached=%v (%s), want %v cached=%v", a, vd.Status, vd.Cached, vd, want, cached)
			}
			if n := probes(a); n != wantProbes {
				t.Errorf("%q probed %d times, want %d", a, n, wantProbes)
			}
		}
		check("ok@ok.test", callout.Deliverable, false, 1)
		check("ok@ok.test", callout.Deliverable, true, 1)
		check("nobody@ok.test", callout.Undeliverable, false, 1)
		check("nobody@ok.test", callout.Undeliverable, true, 1)
		check("busy@ok.test", callout.Undetermined, false, 1)
		check("busy@ok.test", callout.Undetermined, true, 1)
		// The domain is folded; the cached verdict says what it saw.
		vd := v.Verify(t.Context(), addr("nobody@OK.test"))
		if !vd.Cached || vd.Said != "550 5.1.1 no such user" || vd.Code != 550 || vd.Step != callout.StepRcpt {
			t.Errorf("cached verdict = %+v, want the 550 at RCPT", vd)
		}

		// A temporary verdict is kept one minute only.
		clk.Advance(callout.DefaultTempTTL + time.Second)
		check("busy@ok.test", callout.Undetermined, false, 2)
		// An undeliverable one is probed again after 3 hours.
		clk.Advance(callout.DefaultNegativeRefresh)
		check("nobody@ok.test", callout.Undeliverable, false, 2)
		check("ok@ok.test", callout.Deliverable, true, 1)
		// A deliverable one after 7 days; a refresh that cannot decide
		// keeps the old verdict.
		clk.Advance(callout.DefaultPositiveRefresh)
		m2 := startRaw(t, hang)
		hv := newVerifier(t, callout.Config{Resolver: r, Store: s, KeyPrefix: prefix + "verify:", Now: clk.Now, CommandTimeout: 100 * time.Millisecond, Timeout: 300 * time.Millisecond}, m2)
		if vd := hv.Verify(t.Context(), addr("ok@ok.test")); vd.Status != callout.Deliverable || !vd.Cached {
			t.Errorf("refresh against a hanging host = %v cached=%v, want the cached deliverable", vd.Status, vd.Cached)
		}
		check("ok@ok.test", callout.Deliverable, false, 2)
	})
}

// brokenStore is a verify cache that cannot be reached.
type brokenStore struct{ store.Store }

func (brokenStore) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, store.ErrUnavailable
}
func (brokenStore) Set(context.Context, string, []byte, time.Duration) error {
	return store.ErrUnavailable
}

// A verify cache that is down costs the cache, not the verdict: every
// verification probes and gets the server's answer.
func TestVerifyCacheDown(t *testing.T) {
	m := startMailServer(t)
	_, r := newDNS(t, "ok.test. 300 IN MX 10 mx.ok.test.", "mx.ok.test. 300 IN A 127.0.0.1")
	v := newVerifier(t, callout.Config{Resolver: r, Store: brokenStore{}}, m.port)
	for range 2 {
		if vd := v.Verify(t.Context(), addr("nobody@ok.test")); vd.Status != callout.Undeliverable || vd.Cached {
			t.Errorf("Verify with the cache down = %v cached=%v, want a probed undeliverable", vd.Status, vd.Cached)
		}
	}
	if n := strings.Count(m.commands(), "RCPT <nobody@ok.test>"); n != 2 {
		t.Errorf("probed %d times, want 2", n)
	}
}
