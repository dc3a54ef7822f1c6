package access

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

func newAccess(t testing.TB, text string, cfg Config) *Access {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.Swap(mustParse(t, text))
	return a
}

func TestCheckStages(t *testing.T) {
	ctx := t.Context()
	a := newAccess(t, testMap, Config{})
	check := a.Check()
	tests := []struct {
		name    string
		ip, ptr string
		from    string
		to      string
		stage   smtpcheck.Stage
		action  smtpcheck.Action
		code    int
		rule    string
		contain string
	}{
		{name: "connect reject", ip: "192.0.2.9", stage: smtpcheck.StageConnect, action: smtpcheck.Reject, code: 550, rule: "connect:192.0.2", contain: "host unknown [192.0.2.9] black listed"},
		{name: "connect OK", ip: "192.0.2.1", stage: smtpcheck.StageConnect, action: smtpcheck.Accept, rule: "connect:192.0.2.1"},
		{name: "a bare From: default is a hit and replaces the connect OK", ip: "192.0.2.1", from: "x@example.com", stage: smtpcheck.StageMail, action: smtpcheck.Continue, rule: "from:"},
		{name: "combo wins over plain tags", ip: "192.0.2.1", from: "spam@example.org", stage: smtpcheck.StageMail, action: smtpcheck.Reject, code: 550, rule: "connect:192.0.2.1:from:spam@example.org", contain: "sender <spam@example.org> black listed"},
		{name: "from reject with own text", ip: "203.0.113.50", from: "bob@example.org", stage: smtpcheck.StageMail, action: smtpcheck.Reject, code: 550, rule: "from:example.org", contain: "550 5.7.1 no mail from example.org"},
		{name: "from OK overrides nothing at connect", ip: "203.0.113.50", from: "friend@example.org", stage: smtpcheck.StageMail, action: smtpcheck.Accept, rule: "from:friend@example.org"},
		{name: "rcpt ireject is immediate", ip: "203.0.113.50", from: "a@example.com", to: "closed@example.com", stage: smtpcheck.StageRcpt, action: smtpcheck.Reject, code: 550, rule: "to:closed@example.com", contain: "recipient <closed@example.com> black listed"},
		{name: "rcpt tempfail", ip: "203.0.113.50", from: "a@example.com", to: "x@example.com", stage: smtpcheck.StageRcpt, action: smtpcheck.TempFail, code: 451, rule: "to:example.com"},
		{name: "connect:to combo OK beats To: IREJECT", ip: "203.0.113.50", ptr: "mail.example.com", from: "a@example.com", to: "closed@example.com", stage: smtpcheck.StageRcpt, action: smtpcheck.Accept, rule: "connect:mail.example.com:to:closed@example.com"},
		{name: "from:to combo discard", ip: "203.0.113.50", from: "friend@example.org", to: "x@a.example.com", stage: smtpcheck.StageRcpt, action: smtpcheck.Discard, rule: "from:friend@example.org:to:example.com"},
		{name: "trap quarantines", ip: "203.0.113.50", from: "a@example.com", to: "spamtrap@example.com", stage: smtpcheck.StageRcpt, action: smtpcheck.Quarantine, rule: "to:spamtrap@example.com"},
		{name: "tag at connect", ip: "203.0.113.7", stage: smtpcheck.StageConnect, action: smtpcheck.Tag, rule: "connect:[203.0.113.7]"},
		{name: "helo reject", ip: "203.0.113.50", stage: smtpcheck.StageHelo, action: smtpcheck.Reject, code: 554, rule: "helo:localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := checktest.NewSession(tt.ip)
			if tt.ptr != "" {
				b.PTR(tt.ptr)
			}
			check(ctx, b.Session())
			if tt.stage == smtpcheck.StageHelo {
				b.Helo("localhost")
			}
			if tt.from != "" {
				check(ctx, b.From(tt.from).Session())
			}
			if tt.to != "" {
				b.To(tt.to)
			}
			s := b.At(tt.stage)
			r := check(ctx, s)
			checktest.AssertVerdict(t, r, tt.action, tt.code, "", CheckName)
			checktest.AssertRule(t, r, tt.rule, "")
			if tt.contain != "" {
				checktest.AssertReplyContains(t, r, tt.contain)
			}
			if tt.name == "rcpt ireject is immediate" && !r.Immediate {
				t.Errorf("IREJECT result Immediate = false, want true")
			}
		})
	}
}

// TestPolicyDelayedPostmaster runs a whole Policy with delayed rejection: a
// client refused at connect can still write to postmaster@, whose To: OK
// wins over the held REJECT, while other recipients get the held refusal.
func TestPolicyDelayedPostmaster(t *testing.T) {
	ctx := t.Context()
	a := newAccess(t, "Connect:192.0.2 REJECT\nTo:postmaster@ OK\n", Config{})
	p := &smtpcheck.Policy{Connect: a.Check(), Mail: a.Check(), Rcpt: a.Check(), Data: a.Check(), DelayReject: true}
	b := checktest.NewSession("192.0.2.10")
	if d := p.Evaluate(ctx, b.Session()); !d.Held || d.Result.Action != smtpcheck.Continue {
		t.Fatalf("connect decision = %+v, want a held refusal", d)
	}
	p.Evaluate(ctx, b.From("someone@example.net").Session())
	d := p.Evaluate(ctx, b.To("postmaster@example.com").Session())
	checktest.AssertVerdict(t, d.Result, smtpcheck.Accept, 0, "", CheckName)
	d = p.Evaluate(ctx, b.To("user@example.com").Session())
	checktest.AssertVerdict(t, d.Result, smtpcheck.Reject, 550, "5.7.1", CheckName)
	if !d.FromHeld {
		t.Errorf("RCPT user@ decision FromHeld = false, want the held connect refusal")
	}
}

func TestStateCarried(t *testing.T) {
	ctx := t.Context()
	a := newAccess(t, "Connect:192.0.2.1 OK\nConnect:192.0.2.2 CONTENT\nFrom:tagged.example TAG\n", Config{})
	check := a.Check()
	tests := []struct {
		ip, from string
		stage    smtpcheck.Stage
		want     smtpcheck.Action
		rule     string
	}{
		{"192.0.2.1", "a@example.net", smtpcheck.StageMail, smtpcheck.Accept, "connect:192.0.2.1"},
		{"192.0.2.1", "a@example.net", smtpcheck.StageRcpt, smtpcheck.Accept, "connect:192.0.2.1"},
		{"192.0.2.1", "a@example.net", smtpcheck.StageEndOfData, smtpcheck.Accept, "connect:192.0.2.1"},
		{"192.0.2.2", "a@example.net", smtpcheck.StageData, smtpcheck.Accept, "connect:192.0.2.2"},
		{"192.0.2.2", "a@example.net", smtpcheck.StageEndOfData, smtpcheck.Continue, ""},
		{"192.0.2.1", "a@tagged.example", smtpcheck.StageRcpt, smtpcheck.Tag, "from:tagged.example"},
	}
	for _, tt := range tests {
		t.Run(tt.ip+"/"+tt.from+"/"+tt.stage.String(), func(t *testing.T) {
			b := checktest.NewSession(tt.ip)
			check(ctx, b.Session())
			check(ctx, b.From(tt.from).Session())
			if tt.stage >= smtpcheck.StageRcpt {
				check(ctx, b.To("u@example.com").Session())
			}
			r := check(ctx, b.At(tt.stage))
			if r.Action != tt.want || r.Reason.Rule != tt.rule && tt.rule != "" {
				t.Errorf("Check at %v = %v (%s), want %v by %q", tt.stage, r.Action, r.Reason, tt.want, tt.rule)
			}
		})
	}
}

func TestIRejectNotHeld(t *testing.T) {
	ctx := t.Context()
	a := newAccess(t, `From:bad.example IREJECT:"go away"`, Config{})
	p := &smtpcheck.Policy{Mail: a.Check(), DelayReject: true}
	b := checktest.NewSession("192.0.2.10").From("x@bad.example")
	d := p.Evaluate(ctx, b.Session())
	if d.Held || d.Result.Action != smtpcheck.Reject {
		t.Fatalf("MAIL decision = held %v action %v, want an immediate reject", d.Held, d.Result.Action)
	}
	checktest.AssertReplyContains(t, d.Result, "550 5.7.1 go away")
}

func TestDataAllowlistedRecipient(t *testing.T) {
	ctx := t.Context()
	a := newAccess(t, "To:vip@example.com OK\nTo:content@example.com CONTENT\n", Config{})
	check := a.Check()
	b := checktest.NewSession("198.51.100.1").From("a@example.net")
	check(ctx, b.Session())
	check(ctx, b.To("plain@example.com").Session())
	check(ctx, b.To("vip@example.com").Session())
	checktest.AssertVerdict(t, check(ctx, b.At(smtpcheck.StageData)), smtpcheck.Accept, 0, "", CheckName)
	checktest.AssertVerdict(t, check(ctx, b.At(smtpcheck.StageEndOfData)), smtpcheck.Accept, 0, "", CheckName)

	// a new transaction forgets the allowlisted recipient
	b.From("b@example.net")
	check(ctx, b.Session())
	check(ctx, b.To("content@example.com").Session())
	checktest.AssertVerdict(t, check(ctx, b.At(smtpcheck.StageData)), smtpcheck.Accept, 0, "", CheckName)
	if r := check(ctx, b.At(smtpcheck.StageEndOfData)); r.Action != smtpcheck.Continue {
		t.Errorf("CONTENT recipient at end of data = %v, want continue (content checks run)", r.Action)
	}
}

func TestSPFPass(t *testing.T) {
	ctx := t.Context()
	for _, pass := range []bool{true, false} {
		a := newAccess(t, "From:example.org SPF-PASS\n", Config{SPF: func(context.Context, *smtpcheck.Session) (bool, error) { return pass, nil }})
		r := a.Check()(ctx, checktest.NewSession("192.0.2.1").From("a@example.org").Session())
		want := smtpcheck.Continue
		if pass {
			want = smtpcheck.Accept
		}
		if r.Action != want {
			t.Errorf("SPF-PASS with pass=%v = %v, want %v", pass, r.Action, want)
		}
	}
}

func TestReloadKeepsOldMap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.map")
	if err := os.WriteFile(path, []byte("From:a.example REJECT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("From:b.example REJECT\nFrom:c.example FROB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = a.Reload()
	if err == nil || !strings.Contains(err.Error(), "access.map:2") {
		t.Fatalf("Reload() = %v, want an error at access.map:2", err)
	}
	if _, ok := a.Map().Get("from:a.example"); !ok {
		t.Errorf("after a failed reload the old map is gone")
	}
	if _, ok := a.Map().Get("from:b.example"); ok {
		t.Errorf("after a failed reload half the new map is served")
	}
	if err := os.WriteFile(path, []byte("From:b.example REJECT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if changed, err := a.ReloadIfChanged(); !changed || err != nil {
		t.Fatalf("ReloadIfChanged() = %v, %v, want true, nil", changed, err)
	}
	if _, ok := a.Map().Get("from:b.example"); !ok {
		t.Errorf("after a good reload the new map is not served")
	}
}

// Watch reloads a file that changed and returns when its context ends.
func TestWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.map")
	if err := os.WriteFile(path, []byte("From:a.example REJECT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Files: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Watch(t.Context(), 0); err == nil {
		t.Errorf("Watch(ctx, 0) = nil, want an error")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Watch(ctx, time.Millisecond) }()
	if err := os.WriteFile(path, []byte("From:b.example REJECT\nFrom:c.example REJECT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, ok := a.Map().Get("from:c.example"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Watch did not reload the changed file")
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch after its context ended = %v, want %v", err, context.Canceled)
	}
}

func TestCatalogRefs(t *testing.T) {
	for _, ref := range []string{refConnectReject, refConnectFromReject, refFromReject, refConnectToReject, refFromToReject,
		refToReject, refGenericReject, refTempFail, refConcurrent, refRateConnect, refMsgLimit, refLength, refNullRate} {
		if r := catalogReply(ref); r.Entry() == nil || !r.Entry().HasRef(ref) {
			t.Errorf("catalogReply(%q) = %v, want the catalog entry", ref, r)
		}
	}
}
