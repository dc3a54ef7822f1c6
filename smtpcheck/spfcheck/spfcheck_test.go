package spfcheck

import (
	"context"
	"strings"
	"testing"
	"time"

	"blitiri.com.ar/go/spf"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// rfc7208 serves the zone data of the RFC 7208 test suite's "Include
// mechanism semantics and syntax" group (testdata/rfc7208-tests.yml of
// blitiri.com.ar/go/spf), plus a domain without SPF and one with helo SPF.
func rfc7208(t *testing.T) *resolver.Resolver {
	t.Helper()
	srv := dnstest.New(t)
	srv.Zone("example.com", 60)
	srv.Add(
		"mail.example.com. A 1.2.3.4",
		`ip5.example.com. TXT "v=spf1 ip4:1.2.3.5 -all"`,
		`ip6.example.com. TXT "v=spf1 ip4:1.2.3.6 ~all"`,
		`ip7.example.com. TXT "v=spf1 ip4:1.2.3.7 ?all"`,
		`erehwon.example.com. TXT "v=spfl am not an SPF record"`,
		`e1.example.com. TXT "v=spf1 include:ip5.example.com ~all"`,
		`e2.example.com. TXT "v=spf1 include:ip6.example.com all"`,
		`e3.example.com. TXT "v=spf1 include:ip7.example.com -all"`,
		`e4.example.com. TXT "v=spf1 include:ip8.example.com -all"`,
		`e5.example.com. TXT "v=spf1 include:e6.example.com -all"`,
		`e6.example.com. TXT "v=spf1 include +all"`,
		`e7.example.com. TXT "v=spf1 include:erehwon.example.com -all"`,
		`nospf.example.com. A 1.2.3.9`,
		`helo.example.com. TXT "v=spf1 -all"`,
	)
	srv.Silence("ip8.example.com") // the suite's TIMEOUT
	r := srv.Resolver(resolver.Config{Timeout: 200 * time.Millisecond, Attempts: 1})
	return r
}

func TestRFC7208PolicyMapping(t *testing.T) {
	res := rfc7208(t)
	tests := []struct {
		name     string // the suite's test name
		from     string
		policy   ResultPolicy
		smtpf    bool
		result   spf.Result
		action   smtpcheck.Action
		code     int
		enhanced string
	}{
		{name: "include-softfail (pass)", from: "foo@e2.example.com", result: spf.Pass, action: smtpcheck.Continue},
		{name: "include-fail (softfail): marked", from: "foo@e1.example.com", result: spf.SoftFail, action: smtpcheck.Tag},
		{name: "include-neutral (fail): refused", from: "foo@e3.example.com", result: spf.Fail, action: smtpcheck.Reject, code: 550, enhanced: "5.7.23"},
		{name: "include-neutral (fail): smtpf form", from: "foo@e3.example.com", smtpf: true, result: spf.Fail, action: smtpcheck.Reject, code: 550, enhanced: "5.7.1"},
		{name: "include-neutral (fail): deferred", from: "foo@e3.example.com", policy: ResultPolicy{Fail: Defer}, result: spf.Fail, action: smtpcheck.TempFail, code: 451, enhanced: "4.7.1"},
		{name: "include-temperror: deferred", from: "foo@e4.example.com", result: spf.TempError, action: smtpcheck.TempFail, code: 451, enhanced: "4.7.24"},
		{name: "include-temperror: continue", from: "foo@e4.example.com", policy: ResultPolicy{TempError: Ignore}, result: spf.TempError, action: smtpcheck.Continue},
		{name: "include-permerror: not refused by default", from: "foo@e5.example.com", result: spf.PermError, action: smtpcheck.Continue},
		{name: "include-none (permerror): not refused by default", from: "foo@e7.example.com", result: spf.PermError, action: smtpcheck.Continue},
		{name: "include-permerror: refused when asked", from: "foo@e5.example.com", policy: ResultPolicy{PermError: Refuse}, result: spf.PermError, action: smtpcheck.Reject, code: 550, enhanced: "5.7.24"},
		{name: "ip7 neutral", from: "foo@ip7.example.com", result: spf.Neutral, action: smtpcheck.Continue},
		{name: "no record: none", from: "foo@nospf.example.com", result: spf.None, action: smtpcheck.Continue},
		{name: "softfail refused when asked", from: "foo@e1.example.com", policy: ResultPolicy{SoftFail: Refuse}, result: spf.SoftFail, action: smtpcheck.Reject, code: 550, enhanced: "5.7.23"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checktest.NewSession("1.2.3.4").Helo("mail.example.com").From(tt.from).Session()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			r := Mail(Config{Resolver: res, Policy: tt.policy, SmtpfReplies: tt.smtpf, Receiver: "mx.our.example"})(ctx, s)
			o, ok := ResultOf(s)
			if !ok || o.Result != tt.result {
				t.Fatalf("ResultOf(%s) = %v, %v, want %v", tt.from, o.Result, ok, tt.result)
			}
			if tt.action == smtpcheck.Continue || tt.action == smtpcheck.Tag {
				if r.Action != tt.action {
					t.Fatalf("Mail(%s) = %v (%s), want %v", tt.from, r.Action, r.Reply.Error(), tt.action)
				}
				if len(r.Headers) != 1 || r.Headers[0].Name != "Received-SPF" || !strings.HasPrefix(r.Headers[0].Value, string(tt.result)+" (mx.our.example: ") {
					t.Errorf("Mail(%s).Headers = %v, want a Received-SPF %s header", tt.from, r.Headers, tt.result)
				}
				if tt.action == smtpcheck.Tag && r.Score != 2 {
					t.Errorf("Mail(%s).Score = %v, want 2", tt.from, r.Score)
				}
				return
			}
			checktest.AssertVerdict(t, r, tt.action, tt.code, tt.enhanced, NameMail)
			if tt.smtpf {
				checktest.AssertReplyContains(t, r, "SPF result fail")
			}
		})
	}
}

func TestHeloIdentity(t *testing.T) {
	res := rfc7208(t)
	s := checktest.NewSession("1.2.3.4").Helo("helo.example.com").Session()
	r := Helo(Config{Resolver: res})(t.Context(), s)
	checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.7.23", NameHelo)
	if o, ok := HeloResultOf(s); !ok || o.Result != spf.Fail || o.Identity != IdentityHelo {
		t.Errorf("HeloResultOf = %+v, %v, want fail for helo", o, ok)
	}
	for _, name := range []string{"[1.2.3.4]", "localhost", "1.2.3.4"} {
		s := checktest.NewSession("1.2.3.4").Helo(name).Session()
		if r := Helo(Config{Resolver: res})(t.Context(), s); r.Action != smtpcheck.Continue {
			t.Errorf("Helo(%q) = %v, want continue (no SPF identity)", name, r.Action)
		}
	}
}

func TestNullSenderUsesHelo(t *testing.T) {
	res := rfc7208(t)
	s := checktest.NewSession("1.2.3.4").Helo("helo.example.com").From("").Session()
	r := Mail(Config{Resolver: res})(t.Context(), s)
	checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.7.23", NameMail)
}

func TestNoResolverNoOpinion(t *testing.T) {
	s := checktest.NewSession("1.2.3.4").Helo("helo.example.com").From("a@e3.example.com").Session()
	if r := Mail(Config{})(t.Context(), s); !r.IsZero() {
		t.Errorf("Mail(no resolver) = %v, want zero result", r.Action)
	}
}

func TestReceivedSPFCannotBeBroken(t *testing.T) {
	s := checktest.NewSession("1.2.3.4").Helo("evil\r\nX-Injected: 1").Session()
	h := receivedSPF("mx", s, Outcome{Identity: IdentityMailFrom, Domain: "d.example", Result: spf.Pass}, "a\"b\r\n@d.example")
	if strings.ContainsAny(h.Value, "\r\n") || strings.Contains(h.Value, `a"b`) {
		t.Errorf("receivedSPF = %q, want no CR, LF or stray quote", h.Value)
	}
}
