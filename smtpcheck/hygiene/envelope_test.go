package hygiene

import (
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/envelope"
)

func TestMailSyntax(t *testing.T) {
	tests := []struct {
		name string
		cfg  SyntaxConfig
		raw  string // MAIL command line; "" to check From alone
		from string
		utf8 bool
		want verdict
		rule string
	}{
		{name: "plain", raw: "MAIL FROM:<a@example.org>", from: "a@example.org", want: pass},
		{name: "null sender", raw: "MAIL FROM:<>", from: "", want: pass},
		{name: "quoted local part", raw: `MAIL FROM:<"john smith"@example.org>`, from: `"john smith"@example.org`, want: pass},
		{name: "ipv6 literal", raw: "MAIL FROM:<a@[IPv6:2001:db8::1]>", from: "a@[IPv6:2001:db8::1]", want: pass},
		{name: "idn with smtputf8", raw: "MAIL FROM:<jörg@bücher.example> SMTPUTF8", from: "jörg@bücher.example", utf8: true, want: pass},
		{name: "idn without smtputf8", raw: "MAIL FROM:<jörg@bücher.example>", from: "jörg@bücher.example", want: verdict{smtpcheck.Reject, 553, "5.5.2"}, rule: "rfc2821-8bit"},
		{name: "extra spaces tolerated", raw: "MAIL FROM: <a@example.org>", from: "a@example.org", want: pass},
		{name: "extra spaces refused", cfg: SyntaxConfig{RejectExtraSpaces: true}, raw: "MAIL FROM: <a@example.org>", from: "a@example.org", want: verdict{smtpcheck.Reject, 501, "5.5.2"}, rule: "rfc2821-extra-spaces"},
		{name: "local 65", raw: "MAIL FROM:<" + strings.Repeat("x", 65) + "@example.org>", from: strings.Repeat("x", 65) + "@example.org", want: verdict{smtpcheck.Reject, 553, "5.5.2"}, rule: "rfc2821-local-length"},
		{name: "local limit raised", cfg: SyntaxConfig{Options: envelope.Options{MaxLocal: 128}}, raw: "MAIL FROM:<" + strings.Repeat("x", 65) + "@example.org>", from: strings.Repeat("x", 65) + "@example.org", want: pass},
		{name: "label 64", from: "a@" + strings.Repeat("b", 64) + ".org", want: verdict{smtpcheck.Reject, 553, "5.5.2"}, rule: "rfc2821-label-length"},
		{name: "double dot lenient", from: "first..last@example.jp", want: pass},
		{name: "double dot strict", cfg: SyntaxConfig{Options: envelope.Options{StrictDots: true}}, from: "first..last@example.jp", want: verdict{smtpcheck.Reject, 553, "5.5.2"}, rule: "rfc2821-strict-dot"},
		{name: "no domain", from: "alice", want: verdict{smtpcheck.Reject, 553, "5.5.2"}, rule: "rfc2821-no-domain"},
		{name: "postmaster sender", raw: "MAIL FROM:<postmaster>", from: "postmaster", want: verdict{smtpcheck.Reject, 553, "5.5.2"}, rule: "rfc2821-no-domain"},
		{name: "postmaster sender without raw", from: "Postmaster", want: verdict{smtpcheck.Reject, 553, "5.5.2"}, rule: "rfc2821-no-domain"},
		{name: "path 259", raw: "MAIL FROM:<" + strings.Repeat("x", 64) + "@" + strings.Repeat(strings.Repeat("d", 62)+".", 3) + "org>", from: strings.Repeat("x", 64) + "@" + strings.Repeat(strings.Repeat("d", 62)+".", 3) + "org", want: verdict{smtpcheck.Reject, 553, "5.5.2"}, rule: "rfc2821-path-length"},
		{name: "path 259 without raw", from: strings.Repeat("x", 64) + "@" + strings.Repeat(strings.Repeat("d", 62)+".", 3) + "org", want: verdict{smtpcheck.Reject, 553, "5.5.2"}, rule: "rfc2821-path-length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checktest.NewSession("192.0.2.1").Helo("mx.example.org").From(tt.from).Session()
			s.Mail.Raw = tt.raw
			s.Mail.SMTPUTF8 = tt.utf8
			r := run(t, MailSyntax(tt.cfg), s)
			expect(t, "MailSyntax("+tt.from+")", r, tt.want, NameMailSyntax)
			if tt.rule != "" && r.Reason.Rule != tt.rule {
				t.Errorf("MailSyntax(%q) rule = %q, want %q", tt.from, r.Reason.Rule, tt.rule)
			}
		})
	}
}

func TestRcptSyntax(t *testing.T) {
	tests := []struct {
		name string
		cfg  SyntaxConfig
		to   string
		want verdict
		text string
	}{
		{name: "plain", to: "b@example.net", want: pass},
		{name: "postmaster without domain", to: "postmaster", want: pass},
		{name: "quoted legal", to: `"b c"@example.net`, want: pass},
		{name: "literal", to: "b@[192.0.2.7]", want: pass},
		{name: "null recipient", to: "", want: verdict{smtpcheck.Reject, 550, "5.7.1"}, text: "null recipient"},
		{name: "percent hack", to: "b%other.example@example.net", want: verdict{smtpcheck.Reject, 550, "5.7.1"}, text: "routed address"},
		{name: "percent allowed", cfg: SyntaxConfig{AllowPercent: true}, to: "b%other.example@example.net", want: pass},
		{name: "bang path", to: "host!b@example.net", want: verdict{smtpcheck.Reject, 550, "5.7.1"}, text: "UUCP"},
		{name: "quoted at sign", to: `"b@other.example"@example.net`, want: verdict{smtpcheck.Reject, 550, "5.7.1"}, text: "at-sign"},
		{name: "grammar", to: "b c@example.net", want: verdict{smtpcheck.Reject, 553, "5.5.2"}, text: "rejected recipient"},
		{name: "path 259", to: strings.Repeat("x", 64) + "@" + strings.Repeat(strings.Repeat("d", 62)+".", 3) + "org", want: verdict{smtpcheck.Reject, 553, "5.5.2"}, text: "path exceeds 256 octets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checktest.NewSession("192.0.2.1").Helo("mx.example.org").From("a@example.org").To(tt.to).Session()
			r := run(t, RcptSyntax(tt.cfg), s)
			expect(t, "RcptSyntax("+tt.to+")", r, tt.want, NameRcptSyntax)
			if tt.text != "" {
				checktest.AssertReplyContains(t, r, tt.text)
			}
		})
	}
}

func TestDomainChecks(t *testing.T) {
	rej := verdict{smtpcheck.Reject, 550, "5.7.1"}
	tests := []struct {
		name     string
		check    smtpcheck.Check
		cname    string
		from, to string
		want     verdict
	}{
		{"sender reserved", SenderReserved(ReservedConfig{}), NameSenderReserved, "a@example.com", "b@example.net", rej},
		{"sender reserved invalid", SenderReserved(ReservedConfig{}), NameSenderReserved, "a@foo.invalid", "b@example.net", rej},
		{"sender fine", SenderReserved(ReservedConfig{}), NameSenderReserved, "a@mail.org", "b@example.net", pass},
		{"sender null", SenderReserved(ReservedConfig{}), NameSenderReserved, "", "b@example.net", pass},
		{"rcpt reserved", RcptReserved(ReservedConfig{}), NameRcptReserved, "a@mail.org", "b@x.test", rej},
		{"rcpt postmaster", RcptReserved(ReservedConfig{}), NameRcptReserved, "a@mail.org", "postmaster", pass},
		{"sender unknown tld", SenderUnknownTLD(TLDConfig{}), NameSenderUnknownTLD, "a@mail.lan", "b@x.org", rej},
		{"sender idn tld", SenderUnknownTLD(TLDConfig{}), NameSenderUnknownTLD, "a@пример.рф", "b@x.org", pass},
		{"sender literal", SenderUnknownTLD(TLDConfig{}), NameSenderUnknownTLD, "a@[192.0.2.1]", "b@x.org", pass},
		{"rcpt unknown tld", RcptUnknownTLD(TLDConfig{}), NameRcptUnknownTLD, "a@mail.org", "b@x.corp", rej},
		{"rcpt known tld", RcptUnknownTLD(TLDConfig{}), NameRcptUnknownTLD, "a@mail.org", "b@x.COM.", pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checktest.NewSession("192.0.2.1").Helo("mx.example.org").From(tt.from).To(tt.to).Session()
			expect(t, tt.cname+"("+tt.from+", "+tt.to+")", run(t, tt.check, s), tt.want, tt.cname)
		})
	}
}

func TestCustomTLDList(t *testing.T) {
	list, err := ParseTLDs(strings.NewReader("# Version 2099\nCOM\nLAN\n"))
	if err != nil {
		t.Fatalf("ParseTLDs = %v", err)
	}
	if !list.Known("mx.example.lan") || list.Known("mx.example.org") {
		t.Errorf("custom list Known(lan, org) = %v, %v, want true, false", list.Known("mx.example.lan"), list.Known("mx.example.org"))
	}
	for _, bad := range []string{"", "# only comments\n", "COM\n<html>\n", strings.Repeat("A", 64)} {
		if _, err := ParseTLDs(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseTLDs(%q) = nil error, want ErrTLDList", bad)
		}
	}
	if n := DefaultTLDs().Len(); n < 1000 {
		t.Errorf("DefaultTLDs().Len() = %d, want the root zone's 1000+", n)
	}
}

func TestRecipientCounts(t *testing.T) {
	b := checktest.NewSession("192.0.2.1").Helo("mx.example.org").From("").To("a@example.net")
	c := NullSenderRcpts(NullSenderConfig{})
	expect(t, "NullSenderRcpts(first)", run(t, c, b.Session()), pass, "")
	b.To("b@example.net")
	expect(t, "NullSenderRcpts(second)", run(t, c, b.Session()), verdict{smtpcheck.Reject, 550, "5.7.1"}, NameNullSenderRcpts)

	normal := checktest.NewSession("192.0.2.1").Helo("mx.example.org").From("a@example.org").To("a@example.net").To("b@example.net")
	expect(t, "NullSenderRcpts(normal sender)", run(t, c, normal.Session()), pass, "")

	m := MaxRecipients(MaxRecipientsConfig{Max: 2})
	expect(t, "MaxRecipients(2 of 2)", run(t, m, normal.Session()), pass, "")
	normal.To("c@example.net")
	r := run(t, m, normal.Session())
	expect(t, "MaxRecipients(3 of 2)", r, verdict{smtpcheck.TempFail, 452, "4.5.3"}, NameMaxRecipients)
	if !r.Immediate {
		t.Errorf("MaxRecipients refusal Immediate = false, want true (a 452 must not be held)")
	}
}
