package access

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

func limitsFixture(t testing.TB, text string) (*Access, *storetest.Clock, store.Store) {
	c := storetest.NewClock()
	st := store.NewMemory(store.MemoryOptions{Now: c.Now})
	return newAccess(t, text, Config{Store: st}), c, st
}

func TestConcurrentConnect(t *testing.T) {
	ctx := t.Context()
	a, _, _ := limitsFixture(t, "Concurrent-Connect:192.0.2 2\n")
	lim := a.Limits()
	var sessions []*smtpcheck.Session
	for i := 0; i < 2; i++ {
		s := checktest.NewSession("192.0.2.5").Session()
		if r := lim(ctx, s); r.Action != smtpcheck.Continue {
			t.Fatalf("connection %d = %v, want continue", i+1, r.Action)
		}
		sessions = append(sessions, s)
	}
	third := checktest.NewSession("192.0.2.5").Session()
	r := lim(ctx, third)
	checktest.AssertVerdict(t, r, smtpcheck.Disconnect, 421, "4.7.1", LimitsName)
	checktest.AssertReplyContains(t, r, "too many concurrent connections, max=2")
	Release(ctx, third) // took no slot: must not free one
	if r := lim(ctx, checktest.NewSession("192.0.2.5").Session()); r.Action != smtpcheck.Disconnect {
		t.Fatalf("after releasing a refused session = %v, want still disconnect", r.Action)
	}
	Release(ctx, sessions[0])
	Release(ctx, sessions[0]) // twice is once
	if r := lim(ctx, checktest.NewSession("192.0.2.5").Session()); r.Action != smtpcheck.Continue {
		t.Errorf("after one release = %v, want continue", r.Action)
	}
	if r := lim(ctx, checktest.NewSession("192.0.2.6").Session()); r.Action != smtpcheck.Continue {
		t.Errorf("another IP = %v, want continue (counted per client IP)", r.Action)
	}
}

func TestRateConnect(t *testing.T) {
	ctx := t.Context()
	a, c, _ := limitsFixture(t, "Rate-Connect: 3\nRate-Connect:192.0.2.1 0\n")
	lim := a.Limits()
	for i := 1; i <= 4; i++ {
		r := lim(ctx, checktest.NewSession("198.51.100.1").Session())
		if i <= 3 && r.Action != smtpcheck.Continue {
			t.Fatalf("connection %d = %v, want continue", i, r.Action)
		}
		if i == 4 {
			checktest.AssertVerdict(t, r, smtpcheck.Disconnect, 421, "4.4.5", LimitsName)
			checktest.AssertReplyContains(t, r, "connections 4 exceed 3/60s")
		}
	}
	c.Advance(61 * time.Second)
	if r := lim(ctx, checktest.NewSession("198.51.100.1").Session()); r.Action != smtpcheck.Continue {
		t.Errorf("after the window = %v, want continue", r.Action)
	}
	for i := 0; i < 10; i++ {
		if r := lim(ctx, checktest.NewSession("192.0.2.1").Session()); r.Action != smtpcheck.Continue {
			t.Fatalf("unlimited client connection %d = %v, want continue", i, r.Action)
		}
	}
}

func TestMsgLimitAndNullRate(t *testing.T) {
	ctx := t.Context()
	a, _, _ := limitsFixture(t, "Msg-Limit-From:example.org 2/1h\nMsg-Limit-To:busy@example.com 1/1d\nNull-Rate-To: 1\n")
	lim := a.Limits()
	for i := 1; i <= 3; i++ {
		r := lim(ctx, checktest.NewSession("192.0.2.1").From("a+x@example.org").Session())
		if i == 3 {
			checktest.AssertVerdict(t, r, smtpcheck.TempFail, 451, "4.7.1", LimitsName)
			checktest.AssertReplyContains(t, r, "has exceeded 2 messages per 1 hour")
		} else if r.Action != smtpcheck.Continue {
			t.Fatalf("message %d = %v, want continue", i, r.Action)
		}
	}
	b := checktest.NewSession("192.0.2.1").From("x@example.net")
	lim(ctx, b.Session())
	if r := lim(ctx, b.To("busy@example.com").Session()); r.Action != smtpcheck.Continue {
		t.Fatalf("first message to busy@ = %v, want continue", r.Action)
	}
	checktest.AssertVerdict(t, lim(ctx, b.To("busy@example.com").Session()), smtpcheck.TempFail, 451, "", LimitsName)

	nb := checktest.NewSession("192.0.2.1").From("")
	lim(ctx, nb.Session())
	if r := lim(ctx, nb.To("victim@example.com").Session()); r.Action != smtpcheck.Continue {
		t.Fatalf("first bounce = %v, want continue", r.Action)
	}
	r := lim(ctx, nb.To("victim@example.com").Session())
	checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.7.1", LimitsName)
	checktest.AssertReplyContains(t, r, "null-sender messages 2 for <victim@example.com> exceed 1/60s")
}

func TestLength(t *testing.T) {
	ctx := t.Context()
	a, _, _ := limitsFixture(t, "Length-Connect: 10M\nLength-To:small@example.com 1K\n")
	lim := a.Limits()
	b := checktest.NewSession("192.0.2.1").From("a@example.net")
	b.Session().Mail.Size = 20 << 20
	r := lim(ctx, b.Session())
	checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.3.4", LimitsName)
	checktest.AssertReplyContains(t, r, "(20971520 bytes) exceeded max. message size of 10485760 bytes")

	b = checktest.NewSession("192.0.2.1").From("a@example.net").To("small@example.com").To("big@example.com")
	r = lim(ctx, b.Message("Subject: x\n\n"+string(make([]byte, 2048))).Session())
	checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.3.4", LimitsName)
	checktest.AssertRule(t, r, "length-to:small@example.com", "")
}

type downStore struct{ store.Store }

func (downStore) Incr(context.Context, string, int64, time.Duration) (int64, error) {
	return 0, store.ErrUnavailable
}
func (downStore) Update(context.Context, string, store.UpdateFunc) error { return store.ErrUnavailable }

func TestStoreDownFollowsErrorPolicy(t *testing.T) {
	ctx := t.Context()
	a := newAccess(t, "Rate-Connect: 3\nConcurrent-Connect: 5\n", Config{Store: downStore{}})
	s := checktest.NewSession("192.0.2.1").Session()
	r := a.Limits()(ctx, s)
	if r.Action != smtpcheck.Continue || !errors.Is(r.Err, store.ErrUnavailable) {
		t.Fatalf("Limits with the store down = %v, %v, want continue with ErrUnavailable", r.Action, r.Err)
	}
	g := smtpcheck.Guard(a.Limits(), smtpcheck.Options{Name: LimitsName, OnError: smtpcheck.FailTemp})
	checktest.AssertVerdict(t, g(ctx, checktest.NewSession("192.0.2.1").Session()), smtpcheck.TempFail, 451, "4.3.0", LimitsName)
	Release(ctx, s) // nothing taken, nothing panics
}

func TestGreyPeriod(t *testing.T) {
	ctx := t.Context()
	a := newAccess(t, "Grey-Connect:192.0.2 10m\nGrey-To:example.com 1h\nGrey-To:fast@example.com 1m\n", Config{})
	tests := []struct {
		ip, rcpt string
		want     time.Duration
		ok       bool
	}{
		{"192.0.2.1", "x@example.com", 10 * time.Minute, true},
		{"192.0.2.1", "fast@example.com", time.Minute, true},
		{"198.51.100.1", "x@example.com", time.Hour, true},
		{"198.51.100.1", "x@example.net", 0, false},
	}
	for _, tt := range tests {
		s := checktest.NewSession(tt.ip).From("a@example.org").To(tt.rcpt).Session()
		if got, ok := a.GreyPeriod(ctx, s); got != tt.want || ok != tt.ok {
			t.Errorf("GreyPeriod(%s, %s) = %v, %v, want %v, %v", tt.ip, tt.rcpt, got, ok, tt.want, tt.ok)
		}
	}
}
