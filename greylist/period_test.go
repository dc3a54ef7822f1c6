package greylist

import (
	"context"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Config.Period (the access map's Grey-Connect:/Grey-To:) overrides the
// delay per session; a period of zero lets the session through.
func TestPeriodOverride(t *testing.T) {
	clk := newClock()
	periods := map[string]time.Duration{"198.51.100.1": 30 * time.Second, "198.51.100.2": 0}
	g := newTestGreylist(t, Config{Now: clk.Now, Delay: time.Hour, Period: func(ctx context.Context, s *smtpcheck.Session) (time.Duration, bool) {
		d, ok := periods[s.Conn.ClientIP.String()]
		return d, ok
	}})
	check := g.Check()
	ctx := t.Context()
	session := func(ip string) *smtpcheck.Session {
		return checktest.NewSession(ip).Helo("mx.example.net").From("a@example.net").To("b@example.org").Session()
	}

	r := check(ctx, session("198.51.100.1"))
	checktest.AssertVerdict(t, r, smtpcheck.DeferIfPermit, 451, "4.7.1", Name)
	checktest.AssertReplyContains(t, r, "30 seconds")
	clk.Advance(31 * time.Second)
	if r := check(ctx, session("198.51.100.1")); r.Action.Refuses() || r.Action == smtpcheck.DeferIfPermit {
		t.Errorf("after the 30 s override: %v, want the retry to pass", r.Action)
	}

	if r := check(ctx, session("198.51.100.2")); r.Action != smtpcheck.Continue || r.Reason.Rule != "period" {
		t.Errorf("period 0: %v (%s), want a pass without greylisting", r.Action, r.Reason)
	}

	r = check(ctx, session("203.0.113.3")) // no override (and another /24): the hour
	checktest.AssertReplyContains(t, r, "3600 seconds")
}

// A per-session period of zero (the access map's "Grey-To: 0") turns
// greylisting off for that session at RCPT and at the end of DATA: the
// mail passes at once, nothing is stored, and other sessions are still
// greylisted.
func TestPeriodZeroIsOff(t *testing.T) {
	clk := newClock()
	st := store.NewMemory(store.MemoryOptions{Now: clk.Now})
	t.Cleanup(func() { st.Close() })
	off := func(ctx context.Context, s *smtpcheck.Session) (time.Duration, bool) {
		return 0, s.Conn.ClientIP.String() == "198.51.100.2"
	}
	g := newTestGreylist(t, Config{Store: st, Now: clk.Now, Period: off})
	ctx := t.Context()
	rcpt := func(ip string) *smtpcheck.Session {
		return checktest.NewSession(ip).Helo("mx.example.net").From("a@example.net").To("b@example.org").Session()
	}
	eod := func(ip string) *smtpcheck.Session {
		return checktest.NewSession(ip).Helo("mx.example.net").From("a@example.net").To("b@example.org").
			Message("Subject: hi\r\n\r\nhello\r\n").Session()
	}
	for _, tt := range []struct {
		name  string
		check smtpcheck.Check
		s     *smtpcheck.Session
	}{
		{"RCPT", g.Check(), rcpt("198.51.100.2")},
		{"end of data", g.ContentCheck(), eod("198.51.100.2")},
	} {
		r := tt.check(ctx, tt.s)
		if r.Action != smtpcheck.Continue || r.Reason.Rule != "period" || r.Err != nil {
			t.Errorf("%s with period 0: %v (%s, %v), want a pass by rule period", tt.name, r.Action, r.Reason, r.Err)
		}
	}
	n := 0
	st.Scan(ctx, "", func(string, []byte) error { n++; return nil })
	if n != 0 {
		t.Errorf("records after sessions with period 0 = %d, want none", n)
	}
	r := g.Check()(ctx, rcpt("198.51.100.3"))
	checktest.AssertVerdict(t, r, smtpcheck.DeferIfPermit, 451, "4.7.1", Name)
}
