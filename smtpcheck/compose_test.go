package smtpcheck_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// fixed returns a named check that always answers r.
func fixed(name string, r smtpcheck.Result) smtpcheck.Check {
	return smtpcheck.Named(name, func(context.Context, *smtpcheck.Session) smtpcheck.Result {
		if r.Reason.Check == "" && r.Action != smtpcheck.Continue {
			r.Reason.Check = name
		}
		return r
	})
}

var (
	cont     = smtpcheck.Result{}
	permit   = smtpcheck.Result{Action: smtpcheck.Accept}
	reject   = smtpcheck.Refuse(reply.HostBlacklisted("bad.example", "192.0.2.1"), smtpcheck.Reason{Rule: "blacklist"})
	tempfail = smtpcheck.Result{Action: smtpcheck.TempFail}
	deferIP  = smtpcheck.Result{Action: smtpcheck.DeferIfPermit}
	tag      = smtpcheck.Result{Action: smtpcheck.Tag, Headers: []smtpcheck.HeaderField{{Name: "X-Spam", Value: "yes"}}}
)

func TestFirstMatch(t *testing.T) {
	tests := []struct {
		name       string
		list       []smtpcheck.Result
		wantAction smtpcheck.Action
		wantCheck  string
	}{
		{"empty list continues", nil, smtpcheck.Continue, ""},
		{"all continue", []smtpcheck.Result{cont, cont}, smtpcheck.Continue, ""},
		{"first final wins", []smtpcheck.Result{cont, reject, permit}, smtpcheck.Reject, "c1"},
		{"permit stops the list", []smtpcheck.Result{permit, reject}, smtpcheck.Accept, "c0"},
		{"defer_if_permit then permit is a tempfail", []smtpcheck.Result{deferIP, permit}, smtpcheck.TempFail, "c0"},
		{"defer_if_permit then reject is a reject", []smtpcheck.Result{deferIP, cont, reject}, smtpcheck.Reject, "c2"},
		{"defer_if_permit at end stays for the caller", []smtpcheck.Result{cont, deferIP}, smtpcheck.DeferIfPermit, "c1"},
		{"tag then continue is a tag", []smtpcheck.Result{tag, cont}, smtpcheck.Tag, "c0"},
		{"tag then permit keeps the tag", []smtpcheck.Result{tag, permit}, smtpcheck.Tag, "c0"},
		{"tag then reject rejects", []smtpcheck.Result{tag, reject}, smtpcheck.Reject, "c1"},
		{"tempfail is final", []smtpcheck.Result{tempfail, reject}, smtpcheck.TempFail, "c0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := make([]smtpcheck.Check, len(tt.list))
			for i, r := range tt.list {
				checks[i] = fixed("c"+string(rune('0'+i)), r)
			}
			s := checktest.NewSession("192.0.2.1").To("a@example.org").Session()
			got := smtpcheck.FirstMatch(checks...)(t.Context(), s)
			if got.Action != tt.wantAction {
				t.Fatalf("FirstMatch() action = %v, want %v", got.Action, tt.wantAction)
			}
			if got.Reason.Check != tt.wantCheck {
				t.Errorf("FirstMatch() reason check = %q, want %q", got.Reason.Check, tt.wantCheck)
			}
		})
	}
}

func TestFirstMatchStopsEvaluating(t *testing.T) {
	var ran atomic.Int32
	counter := func(context.Context, *smtpcheck.Session) smtpcheck.Result { ran.Add(1); return smtpcheck.Result{} }
	list := smtpcheck.FirstMatch(counter, fixed("stop", permit), counter)
	list(t.Context(), checktest.NewSession("192.0.2.1").Session())
	if ran.Load() != 1 {
		t.Errorf("checks after a permit ran: %d calls, want 1", ran.Load())
	}
}

func TestFirstMatchAccumulatesHeadersAndScore(t *testing.T) {
	a := smtpcheck.Result{Score: 1.5, Headers: []smtpcheck.HeaderField{{Name: "X-A", Value: "1"}}}
	b := smtpcheck.Result{Score: 2, Headers: []smtpcheck.HeaderField{{Name: "X-B", Value: "2"}}}
	got := smtpcheck.FirstMatch(fixed("a", a), fixed("b", b))(t.Context(), checktest.NewSession("192.0.2.1").Session())
	if got.Score != 3.5 || len(got.Headers) != 2 {
		t.Errorf("FirstMatch() score=%v headers=%v, want 3.5 and two headers", got.Score, got.Headers)
	}
}

func TestParallelSharesOneDeadline(t *testing.T) {
	slow := func(d time.Duration, r smtpcheck.Result) smtpcheck.Check {
		return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			select {
			case <-time.After(d):
				return r
			case <-ctx.Done():
				return smtpcheck.Result{Err: ctx.Err()}
			}
		}
	}
	// Ten checks of 30 ms each finish together, well inside a 1 s deadline,
	// and the verdict is folded in list order: the first refusal in the list
	// wins even though the later check may have answered first.
	var checks []smtpcheck.Check
	for i := 0; i < 8; i++ {
		checks = append(checks, slow(30*time.Millisecond, cont))
	}
	checks = append(checks, slow(40*time.Millisecond, smtpcheck.Result{Action: smtpcheck.Reject, Reason: smtpcheck.Reason{Check: "first"}}))
	checks = append(checks, slow(1*time.Millisecond, smtpcheck.Result{Action: smtpcheck.Reject, Reason: smtpcheck.Reason{Check: "second"}}))
	s := checktest.NewSession("192.0.2.1").Session()
	got := smtpcheck.Parallel(time.Second, checks...)(t.Context(), s)
	if got.Action != smtpcheck.Reject || got.Reason.Check != "first" {
		t.Fatalf("Parallel() = %v by %q, want reject by %q", got.Action, got.Reason.Check, "first")
	}
}

func TestParallelCutsOffAtDeadline(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	ignoresCtx := func(context.Context, *smtpcheck.Session) smtpcheck.Result {
		<-block
		return reject
	}
	done := make(chan smtpcheck.Result, 1)
	go func() {
		done <- smtpcheck.Parallel(20*time.Millisecond, ignoresCtx, fixed("ok", cont))(context.Background(), checktest.NewSession("192.0.2.1").Session())
	}()
	select {
	case got := <-done:
		if got.Action != smtpcheck.Continue || !errors.Is(got.Err, smtpcheck.ErrDeadline) {
			t.Errorf("Parallel() = %v err %v, want continue with ErrDeadline (fail open)", got.Action, got.Err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Parallel() did not return at its deadline")
	}
}

func TestScore(t *testing.T) {
	th := smtpcheck.Thresholds{Tag: 2, Quarantine: 4, TempFail: 6, Reject: 8, Allow: -3}
	w := func(name string, score float64) smtpcheck.Check {
		return fixed(name, smtpcheck.Result{Score: score, Reason: smtpcheck.Reason{Check: name, Rule: name}})
	}
	tests := []struct {
		name   string
		scores []float64
		want   smtpcheck.Action
	}{
		{"nothing", nil, smtpcheck.Continue},
		{"below tag", []float64{1}, smtpcheck.Continue},
		{"tag", []float64{1, 1}, smtpcheck.Tag},
		{"quarantine", []float64{3, 1.5}, smtpcheck.Quarantine},
		{"tempfail", []float64{6}, smtpcheck.TempFail},
		{"reject", []float64{3, 3, 3}, smtpcheck.Reject},
		{"allowlist weight pulls below reject", []float64{3, 3, 3, -2}, smtpcheck.TempFail},
		{"allowlist short-circuit", []float64{-5}, smtpcheck.Accept},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var checks []smtpcheck.Check
			for i, sc := range tt.scores {
				checks = append(checks, w("w"+string(rune('a'+i)), sc))
			}
			got := smtpcheck.Score("dnsbl-score", th, checks...)(t.Context(), checktest.NewSession("192.0.2.1").Session())
			if got.Action != tt.want {
				t.Errorf("Score(%v) = %v, want %v (reason %s)", tt.scores, got.Action, tt.want, got.Reason)
			}
			if got.Reason.Check != "dnsbl-score" {
				t.Errorf("Score() reason check = %q, want dnsbl-score", got.Reason.Check)
			}
		})
	}
}

func TestScoreRejectUsesTopContributorsReply(t *testing.T) {
	listed := smtpcheck.Result{Score: 5, Reply: reply.HostBlacklisted("h", "192.0.2.9"), Reason: smtpcheck.Reason{Check: "list", Rule: "big.example"}}
	got := smtpcheck.Score("s", smtpcheck.Thresholds{Reject: 5}, fixed("list", listed))(t.Context(), checktest.NewSession("192.0.2.9").Session())
	checktest.AssertVerdict(t, got, smtpcheck.Reject, 550, "5.7.1", "s")
	checktest.AssertReplyContains(t, got, "192.0.2.9")
	if got.Reason.Evidence != "big.example=5" {
		t.Errorf("Score() evidence = %q, want %q", got.Reason.Evidence, "big.example=5")
	}
}

func TestThresholdsDecide(t *testing.T) {
	all := smtpcheck.Thresholds{Allow: -2, Tag: 1, Quarantine: 3, TempFail: 5, Reject: 7}
	tests := []struct {
		name  string
		th    smtpcheck.Thresholds
		total float64
		want  smtpcheck.Action
	}{
		{"zero decides nothing", smtpcheck.Thresholds{}, 100, smtpcheck.Continue},
		{"zero ignores a negative total", smtpcheck.Thresholds{}, -100, smtpcheck.Continue},
		{"allow at", all, -2, smtpcheck.Accept},
		{"allow under", all, -9, smtpcheck.Accept},
		{"above allow", all, -1, smtpcheck.Continue},
		{"below tag", all, 0.5, smtpcheck.Continue},
		{"tag at", all, 1, smtpcheck.Tag},
		{"quarantine", all, 4, smtpcheck.Quarantine},
		{"tempfail", all, 5, smtpcheck.TempFail},
		{"reject at", all, 7, smtpcheck.Reject},
		{"reject beats the rest", all, 70, smtpcheck.Reject},
		{"reject alone", smtpcheck.Thresholds{Reject: 1}, 1, smtpcheck.Reject},
		{"allow alone never refuses", smtpcheck.Thresholds{Allow: -1}, 1e12, smtpcheck.Continue},
		{"positive allow is off", smtpcheck.Thresholds{Allow: 1}, 0, smtpcheck.Continue},
		{"negative reject is off", smtpcheck.Thresholds{Reject: -1}, 5, smtpcheck.Continue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.th.Decide(tt.total); got != tt.want {
				t.Errorf("%+v.Decide(%v) = %v, want %v", tt.th, tt.total, got, tt.want)
			}
		})
	}
}
