package greylist

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

func TestAllowlists(t *testing.T) {
	g := newTestGreylist(t, Config{
		AllowClients:       []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		AllowClientNames:   []string{"partner.example"},
		AllowRecipients:    []string{"postmaster@", "abuse@example.net", "optout.example"},
		AllowSenderDomains: []string{"bank.example"},
		Skip:               []smtpcheck.Condition{func(s *smtpcheck.Session) bool { return s.Helo.Name == "dnswl-listed" }},
	})
	tests := []struct {
		name      string
		b         *checktest.Builder
		rule      string
		greylists bool
	}{
		{"client network", checktest.NewSession("203.0.113.5").From("a@x.example").To("u@example.net"), "allow-client", false},
		{"client name", checktest.NewSession("192.0.2.1").PTR("mx1.partner.example").From("a@x.example").To("u@example.net"), "allow-client-name", false},
		{"large sender: Office 365", checktest.NewSession("192.0.2.2").PTR("mail-db5eur01on2100.outbound.protection.outlook.com").From("a@x.example").To("u@example.net"), "allow-large-sender", false},
		{"large sender: Amazon SES", checktest.NewSession("192.0.2.3").PTR("a8-30.smtp-out.amazonses.com").From("a@x.example").To("u@example.net"), "allow-large-sender", false},
		{"unconfirmed name does not count", unconfirmed("192.0.2.4", "mail-x.google.com"), "new", true},
		{"look-alike domain does not count", checktest.NewSession("192.0.2.5").PTR("google.com.evil.example").From("a@x.example").To("v@example.net"), "new", true},
		{"recipient local part", checktest.NewSession("192.0.2.6").From("a@x.example").To("Postmaster@example.net"), "allow-recipient", false},
		{"recipient address", checktest.NewSession("192.0.2.7").From("a@x.example").To("abuse@example.net"), "allow-recipient", false},
		{"recipient domain", checktest.NewSession("192.0.2.8").From("a@x.example").To("u@sub.optout.example"), "allow-recipient", false},
		{"sender domain", checktest.NewSession("192.0.2.9").From("alerts@mail.bank.example").To("u@example.net"), "allow-sender-domain", false},
		{"skip condition (DNS allowlist)", checktest.NewSession("192.0.2.10").Helo("dnswl-listed").From("a@x.example").To("u@example.net"), "", false},
		{"authenticated", checktest.NewSession("192.0.2.11").Auth("u").From("a@x.example").To("u@example.net"), "", false},
		{"trusted", checktest.NewSession("192.0.2.12").Trusted().From("a@x.example").To("u@example.net"), "", false},
		{"nothing matches", checktest.NewSession("192.0.2.13").From("a@x.example").To("w@example.net"), "new", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			r := g.Check()(ctx, tt.b.Session())
			if got := r.Action == smtpcheck.DeferIfPermit; got != tt.greylists {
				t.Errorf("Check(%s) greylists = %v, want %v (%s)", tt.name, got, tt.greylists, r.Reason)
			}
			if r.Reason.Rule != tt.rule {
				t.Errorf("Check(%s) rule = %q, want %q", tt.name, r.Reason.Rule, tt.rule)
			}
		})
	}
	t.Run("NoLargeSenders", func(t *testing.T) {
		ctx := t.Context()
		g := newTestGreylist(t, Config{NoLargeSenders: true})
		r := g.Check()(ctx, checktest.NewSession("192.0.2.2").PTR("mail-x.google.com").From("a@x.example").To("u@example.net").Session())
		checktest.AssertVerdict(t, r, smtpcheck.DeferIfPermit, 451, "", Name)
	})
}

func unconfirmed(ip, ptr string) *checktest.Builder {
	b := checktest.NewSession(ip).From("a@x.example").To("u@example.net")
	s := b.Session()
	s.Conn.PTR, s.Conn.PTRLooked = []string{ptr}, true
	return b
}

func TestLargeSendersList(t *testing.T) {
	l := LargeSenders()
	for _, want := range []string{"outlook.com", "google.com", "amazonses.com", "mimecast.com"} {
		found := false
		for _, d := range l {
			found = found || d == want
		}
		if !found {
			t.Errorf("LargeSenders() lacks %q", want)
		}
	}
}

func TestParseDomainList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{"comments and blanks", "# c\n\nExample.ORG. # trailing\n  .sub.example.net\n", []string{"example.org", "sub.example.net"}, false},
		{"space inside", "bad domain\n", nil, true},
		{"NUL", "a\x00b\n", nil, true},
		{"address", "user@example.org\n", nil, true},
		{"long line", strings.Repeat("a", 5000) + "\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDomainList(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrBadList)) {
				t.Fatalf("ParseDomainList(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("ParseDomainList(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseDomainList(f *testing.F) {
	f.Add(largeSendersFile)
	f.Add([]byte("a.example\n#x\n\n b.example # c\n"))
	f.Add([]byte("\x00\xff\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseDomainList(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, d := range l {
			if !plausibleDomain(d) || d != foldDomain(d) {
				t.Errorf("ParseDomainList returned %q, which is not a folded domain", d)
			}
		}
	})
}

func TestContentCheck(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	g := newTestGreylist(t, Config{Now: clk.Now, AllowRecipients: []string{"postmaster@"}})
	check := g.ContentCheck()
	msg := func(body string, rcpts ...string) *smtpcheck.Session {
		b := checktest.NewSession("192.0.2.10").From("a@example.org")
		for _, r := range rcpts {
			b.To(r)
		}
		return b.Message("Subject: hi\nReceived: from x by y; " + clk.Now().String() + "\n\n" + body + "\n").Session()
	}
	r := check(ctx, msg("one", "b@example.net", "c@example.net"))
	checktest.AssertVerdict(t, r, smtpcheck.DeferIfPermit, 451, "4.7.1", Name)
	checktest.AssertReplyContains(t, r, "300 seconds")

	clk.Advance(6 * time.Minute)
	r = check(ctx, msg("two", "b@example.net", "c@example.net"))
	checktest.AssertVerdict(t, r, smtpcheck.DeferIfPermit, 450, "4.4.5", Name)
	checktest.AssertRule(t, r, "content-changed", "")

	clk.Advance(6 * time.Minute) // a new Received line: still the same content
	r = check(ctx, msg("two", "b@example.net", "c@example.net"))
	checktest.AssertVerdict(t, r, smtpcheck.Continue, 0, "", Name)
	if len(r.Headers) != 1 {
		t.Errorf("ContentCheck pass headers = %v, want one X-Greylist", r.Headers)
	}

	r = check(ctx, msg("three", "postmaster@example.net"))
	checktest.AssertRule(t, r, "allow-recipient", "")
	if r.Action != smtpcheck.Continue {
		t.Errorf("ContentCheck(postmaster) = %v, want continue", r.Action)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no store", Config{}},
		{"negative delay", Config{Delay: -time.Second}},
		{"window shorter than delay", Config{Delay: time.Hour, RetryWindow: time.Minute}},
		{"prefix out of range", Config{IPv4Prefix: 33}},
		{"invalid allow network", Config{AllowClients: []netip.Prefix{{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name != "no store" {
				tt.cfg.Store = newTestGreylist(t, Config{}).cfg.Store
			}
			if _, err := New(tt.cfg); err == nil {
				t.Errorf("New(%s) = nil error, want one", tt.name)
			}
		})
	}
}
