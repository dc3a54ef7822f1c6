package smtpcheck_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

var errLookup = errors.New("lookup failed")

func failing(context.Context, *smtpcheck.Session) smtpcheck.Result {
	return smtpcheck.Result{Err: errLookup}
}

func TestGuardErrorPolicy(t *testing.T) {
	tests := []struct {
		policy     smtpcheck.ErrorPolicy
		wantAction smtpcheck.Action
		wantCode   int
	}{
		{smtpcheck.FailOpen, smtpcheck.Continue, 0},
		{smtpcheck.FailTemp, smtpcheck.TempFail, 451},
		{smtpcheck.FailClosed, smtpcheck.Reject, 554},
	}
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			c := smtpcheck.Guard(failing, smtpcheck.Options{Name: "lookup", OnError: tt.policy})
			got := c(t.Context(), checktest.NewSession("192.0.2.1").Session())
			checktest.AssertVerdict(t, got, tt.wantAction, tt.wantCode, "", "lookup")
			if !errors.Is(got.Err, errLookup) {
				t.Errorf("Guard() err = %v, want the check's error kept for the trace", got.Err)
			}
		})
	}
}

func TestGuardCutsOffAtDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	hangs := func(context.Context, *smtpcheck.Session) smtpcheck.Result {
		<-release // ignores its context on purpose
		return smtpcheck.Result{}
	}
	c := smtpcheck.Guard(hangs, smtpcheck.Options{Name: "slow", Timeout: 20 * time.Millisecond, OnError: smtpcheck.FailTemp})
	done := make(chan smtpcheck.Result, 1)
	go func() { done <- c(context.Background(), checktest.NewSession("192.0.2.1").Session()) }()
	select {
	case got := <-done:
		checktest.AssertVerdict(t, got, smtpcheck.TempFail, 451, "4.3.0", "slow")
		if !errors.Is(got.Err, smtpcheck.ErrDeadline) {
			t.Errorf("Guard() err = %v, want ErrDeadline", got.Err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Guard() did not cut the check off at its deadline")
	}
}

func TestGuardContainsPanics(t *testing.T) {
	boom := func(context.Context, *smtpcheck.Session) smtpcheck.Result { panic("boom") }
	for _, timeout := range []time.Duration{0, time.Second} {
		c := smtpcheck.Guard(boom, smtpcheck.Options{Name: "boom", Timeout: timeout})
		got := c(t.Context(), checktest.NewSession("192.0.2.1").Session())
		// Even under the default fail-open policy a panic temp-fails.
		checktest.AssertVerdict(t, got, smtpcheck.TempFail, 451, "4.3.0", "boom")
		var pe *smtpcheck.PanicError
		if !errors.As(got.Err, &pe) {
			t.Errorf("Guard() err = %v, want *PanicError", got.Err)
		}
	}
}

func TestSkipConditions(t *testing.T) {
	c := smtpcheck.Guard(fixed("r", reject), smtpcheck.Options{Name: "r", Skip: []smtpcheck.Condition{
		smtpcheck.Authenticated, smtpcheck.TrustedNetwork, smtpcheck.RcptDomainIn("example.org"),
	}})
	tests := []struct {
		name string
		s    *smtpcheck.Session
		want smtpcheck.Action
	}{
		{"plain client", checktest.NewSession("192.0.2.1").To("a@example.net").Session(), smtpcheck.Reject},
		{"authenticated", checktest.NewSession("192.0.2.1").Auth("bob").To("a@example.net").Session(), smtpcheck.Continue},
		{"trusted", checktest.NewSession("192.0.2.1").Trusted().To("a@example.net").Session(), smtpcheck.Continue},
		{"exempt recipient domain", checktest.NewSession("192.0.2.1").To("a@EXAMPLE.org.").Session(), smtpcheck.Continue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c(t.Context(), tt.s); got.Action != tt.want {
				t.Errorf("guarded check = %v, want %v", got.Action, tt.want)
			}
		})
	}
}

func TestRelayControl(t *testing.T) {
	relay := smtpcheck.RelayControl("example.org", ".hosted.example")
	tests := []struct {
		name string
		b    *checktest.Builder
		want smtpcheck.Action
	}{
		{"our domain", checktest.NewSession("192.0.2.1").To("a@example.org"), smtpcheck.Continue},
		{"our domain, odd case and dot", checktest.NewSession("192.0.2.1").To("a@Example.ORG."), smtpcheck.Continue},
		{"subdomain of a dotted entry", checktest.NewSession("192.0.2.1").To("a@x.hosted.example"), smtpcheck.Continue},
		{"bare postmaster", checktest.NewSession("192.0.2.1").To("postmaster"), smtpcheck.Continue},
		{"foreign domain", checktest.NewSession("192.0.2.1").To("a@elsewhere.example"), smtpcheck.Reject},
		{"subdomain of an exact entry", checktest.NewSession("192.0.2.1").To("a@x.example.org"), smtpcheck.Reject},
		{"foreign, authenticated", checktest.NewSession("192.0.2.1").Auth("bob").To("a@elsewhere.example"), smtpcheck.Continue},
		{"foreign, trusted", checktest.NewSession("192.0.2.1").Trusted().To("a@elsewhere.example"), smtpcheck.Continue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := relay(t.Context(), tt.b.Session())
			if got.Action != tt.want {
				t.Fatalf("RelayControl() = %v, want %v", got.Action, tt.want)
			}
			if tt.want == smtpcheck.Reject {
				checktest.AssertVerdict(t, got, smtpcheck.Reject, 550, "5.7.1", "relay")
				checktest.AssertReplyContains(t, got, "relaying denied")
				if e := got.Reply.Entry(); e == nil || !e.HasRef("smtpf#288") {
					t.Errorf("RelayControl() reply entry = %v, want the smtpf#288 entry", e)
				}
			}
		})
	}
}
