package hygiene

import (
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// TestPostfixHostSyntax is Postfix's valid_hostname and valid_hostaddr as
// smtpd applies them to a HELO argument.
func TestPostfixHostSyntax(t *testing.T) {
	tests := []struct {
		in         string
		name, addr bool
	}{
		{"mx.example.org", true, false},
		{"mx_1.example.org", true, false},
		{"a-b.example", true, false},
		{"-ab.example", false, false},
		{"ab-.example", false, false},
		{"ab.-example", false, false},
		{"1.2.3", false, false}, // all digits: not a name, and three octets are no address
		{"1.2.3.4", false, true},
		{"1.2.3.256", false, false},
		{"0.0.0.0", false, true},
		{"0.1.2.3", false, false}, // only 0.0.0.0 may start with 0
		{"01.2.3.4", false, true}, // a leading zero is no octal in Postfix
		{"::1", false, true},
		{"fe80::1%eth0", false, false},
		{"a..b", false, false},
		{"a.b.", false, false},
		{"", false, false},
		{"mx\x00.example", false, false},
	}
	for _, tt := range tests {
		if got := validHostname(tt.in); got != tt.name {
			t.Errorf("validHostname(%q) = %v, want %v", tt.in, got, tt.name)
		}
		if got := validHostaddr(tt.in); got != tt.addr {
			t.Errorf("validHostaddr(%q) = %v, want %v", tt.in, got, tt.addr)
		}
	}
	long := ""
	for range 64 {
		long += "a"
	}
	if validHostname(long + ".example") {
		t.Errorf("a 64-octet label passed")
	}
	if !validHostname(long[:63] + ".example") {
		t.Errorf("a 63-octet label failed")
	}
	if got := trimOneDot("mx.example."); got != "mx.example" {
		t.Errorf("trimOneDot one dot = %q", got)
	}
	if got := trimOneDot("mx.example.."); got != "mx.example.." {
		t.Errorf("trimOneDot two dots = %q", got)
	}
}

// TestPostfixHelo is the HELO restrictions with Postfix's replies and the
// *_reject_code parameters applied.
func TestPostfixHelo(t *testing.T) {
	res := testDNS(t)
	cfg := PostfixConfig{Resolver: res}
	reject := func(code int, enh string) verdict { return verdict{smtpcheck.Reject, code, enh} }
	temp := func(code int, enh string) verdict { return verdict{smtpcheck.TempFail, code, enh} }
	tests := []struct {
		name  string
		check smtpcheck.Check
		helo  string
		want  verdict
		rule  string
	}{
		{"invalid name ok", PostfixInvalidHelo(cfg), "mx.example.org", pass, ""},
		{"invalid name dotless ok", PostfixInvalidHelo(cfg), "localhost", pass, ""},
		{"invalid name bare address ok", PostfixInvalidHelo(cfg), "192.0.2.1", pass, ""},
		{"invalid name", PostfixInvalidHelo(cfg), "my pc", reject(501, "5.5.2"), "reject_invalid_helo_hostname"},
		{"invalid address literal", PostfixInvalidHelo(cfg), "[1.2.3]", reject(501, "5.5.2"), "reject_invalid_hostaddr"},
		{"valid address literal", PostfixInvalidHelo(cfg), "[192.0.2.1]", pass, ""},
		{"valid ipv6 literal", PostfixInvalidHelo(cfg), "[IPv6:2001:db8::1]", pass, ""},
		{"invalid name code 550", PostfixInvalidHelo(PostfixConfig{InvalidHostnameCode: 550}), "a..b", reject(550, "5.5.2"), "reject_invalid_helo_hostname"},
		{"invalid name code 450", PostfixInvalidHelo(PostfixConfig{InvalidHostnameCode: 450}), "a..b", temp(450, "4.5.2"), "reject_invalid_helo_hostname"},

		{"non-fqdn ok", PostfixNonFQDNHelo(cfg), "mx.example.org.", pass, ""},
		{"non-fqdn dotless", PostfixNonFQDNHelo(cfg), "localhost", reject(504, "5.5.2"), "reject_non_fqdn_helo_hostname"},
		{"non-fqdn invalid literal", PostfixNonFQDNHelo(cfg), "[1.2.3]", reject(501, "5.5.2"), "reject_invalid_hostaddr"},
		{"non-fqdn literal ok", PostfixNonFQDNHelo(cfg), "[192.0.2.1]", pass, ""},

		{"unknown helo found", PostfixUnknownHelo(cfg), "helo.mail.test", pass, ""},
		{"unknown helo mx only", PostfixUnknownHelo(cfg), "good.mail.test", pass, ""},
		{"unknown helo", PostfixUnknownHelo(cfg), "nowhere.mail.test", temp(450, "4.7.1"), "reject_unknown_helo_hostname"},
		{"unknown helo code 550", PostfixUnknownHelo(PostfixConfig{Resolver: res, UnknownHostnameCode: 550}), "nowhere.mail.test", reject(550, "5.7.1"), "reject_unknown_helo_hostname"},
		{"unknown helo literal skips dns", PostfixUnknownHelo(cfg), "[192.0.2.1]", pass, ""},
		// Postfix's dns_lookup answers "not found" for a name that is no
		// DNS name: a refusal with unknown_hostname_reject_code, not a
		// lookup that failed.
		{"unknown helo malformed name", PostfixUnknownHelo(cfg), "bad_host!.example", temp(450, "4.7.1"), "reject_unknown_helo_hostname"},
		{"unknown helo malformed name code 550", PostfixUnknownHelo(PostfixConfig{Resolver: res, UnknownHostnameCode: 550}), "bad_host!.example", reject(550, "5.7.1"), "reject_unknown_helo_hostname"},
		{"unknown helo invalid literal", PostfixUnknownHelo(cfg), "[1.2.3]", reject(501, "5.5.2"), "reject_invalid_hostaddr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checktest.NewSession("192.0.2.1").Helo(tt.helo).At(smtpcheck.StageHelo)
			r := run(t, tt.check, s)
			expect(t, tt.helo, r, tt.want, "")
			if tt.rule != "" && r.Reason.Rule != tt.rule {
				t.Errorf("rule = %q, want %q", r.Reason.Rule, tt.rule)
			}
		})
	}
}

// TestPostfixUnknownHeloDNSFailure: a lookup that fails now is a
// defer-if-permit by default, never a permanent refusal.
func TestPostfixUnknownHeloDNSFailure(t *testing.T) {
	res := testDNS(t)
	s := checktest.NewSession("192.0.2.1").Helo("x.broken.mail.test").At(smtpcheck.StageHelo)
	r := run(t, PostfixUnknownHelo(PostfixConfig{Resolver: res}), s)
	if r.Action != smtpcheck.DeferIfPermit || r.Reply.Code() != 450 {
		t.Fatalf("got %v %s, want defer-if-permit 450", r.Action, r.Reply.Error())
	}
	r = run(t, PostfixUnknownHelo(PostfixConfig{Resolver: res, HeloTempFail: smtpcheck.TempFail}), s)
	if r.Action != smtpcheck.TempFail {
		t.Fatalf("got %v, want temp-fail with unknown_helo_hostname_tempfail_action=defer", r.Action)
	}
}

// TestPostfixAddresses is reject_non_fqdn_* and reject_unknown_*_domain.
func TestPostfixAddresses(t *testing.T) {
	res := testDNS(t)
	cfg := PostfixConfig{Resolver: res}
	reject := func(code int, enh string) verdict { return verdict{smtpcheck.Reject, code, enh} }
	temp := func(code int, enh string) verdict { return verdict{smtpcheck.TempFail, code, enh} }
	dip := verdict{smtpcheck.DeferIfPermit, 450, ""}
	tests := []struct {
		name     string
		check    smtpcheck.Check
		from, to string
		want     verdict
	}{
		{"sender fqdn ok", PostfixNonFQDNAddress(cfg, false), "a@good.mail.test", "", pass},
		{"sender null ok", PostfixNonFQDNAddress(cfg, false), "", "", pass},
		{"sender dotless", PostfixNonFQDNAddress(cfg, false), "a@localhost", "", reject(504, "5.5.2")},
		{"sender bare", PostfixNonFQDNAddress(cfg, false), "a", "", reject(504, "5.5.2")},
		{"sender literal ok", PostfixNonFQDNAddress(cfg, false), "a@[192.0.2.1]", "", pass},
		{"recipient dotless", PostfixNonFQDNAddress(cfg, true), "a@good.mail.test", "b@localhost", reject(504, "5.5.2")},
		{"recipient bare postmaster ok", PostfixNonFQDNAddress(cfg, true), "a@good.mail.test", "postmaster", pass},
		{"recipient code 550", PostfixNonFQDNAddress(PostfixConfig{NonFQDNCode: 550}, true), "a@good.mail.test", "b@localhost", reject(550, "5.5.2")},

		{"sender domain mx ok", PostfixUnknownDomain(cfg, false), "a@good.mail.test", "", pass},
		{"sender domain a ok", PostfixUnknownDomain(cfg, false), "a@aonly.mail.test", "", pass},
		{"sender domain missing", PostfixUnknownDomain(cfg, false), "a@nowhere.mail.test", "", temp(450, "4.1.8")},
		{"sender domain missing 550", PostfixUnknownDomain(PostfixConfig{Resolver: res, UnknownAddressCode: 550}, false), "a@nowhere.mail.test", "", reject(550, "5.1.8")},
		{"sender null mx keeps 550", PostfixUnknownDomain(PostfixConfig{Resolver: res, UnknownAddressCode: 450}, false), "a@nullmx.mail.test", "", reject(550, "5.7.27")},
		{"recipient null mx keeps 556", PostfixUnknownDomain(cfg, true), "a@good.mail.test", "b@nullmx.mail.test", reject(556, "5.1.10")},
		{"sender domain servfail", PostfixUnknownDomain(cfg, false), "a@broken.mail.test", "", dip},
		{"bare sender takes Origin's domain", PostfixUnknownDomain(PostfixConfig{Resolver: res, Origin: "nowhere.mail.test"}, false), "a", "", temp(450, "4.1.8")},
		{"bare sender without Origin is local", PostfixUnknownDomain(cfg, false), "a", "", pass},
		{"final destination not looked up", PostfixUnknownDomain(PostfixConfig{Resolver: res, Final: func(d string) bool { return d == "nowhere.mail.test" }}, false), "a@nowhere.mail.test", "", pass},
		{"sender domain malformed", PostfixUnknownDomain(PostfixConfig{Resolver: res, UnknownAddressCode: 550}, false), "a@bad_host!.mail.test", "", reject(550, "5.1.8")},
		{"null sender skipped", PostfixUnknownDomain(cfg, false), "", "", pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := checktest.NewSession("192.0.2.1").Helo("mx.example.org").From(tt.from)
			st := smtpcheck.StageMail
			if tt.to != "" {
				b.To(tt.to)
				st = smtpcheck.StageRcpt
			}
			r := run(t, tt.check, b.At(st))
			if tt.want.action == smtpcheck.DeferIfPermit {
				if r.Action != smtpcheck.DeferIfPermit || r.Reply.Code() != 450 {
					t.Fatalf("got %v %s, want defer-if-permit 450", r.Action, r.Reply.Error())
				}
				return
			}
			expect(t, tt.from+" "+tt.to, r, tt.want, "")
		})
	}
}

func TestHeloRequired(t *testing.T) {
	c := HeloRequired()
	r := run(t, c, checktest.NewSession("192.0.2.1").From("a@good.mail.test").At(smtpcheck.StageMail))
	expect(t, "no helo", r, verdict{smtpcheck.Reject, 503, "5.5.1"}, "smtpd_helo_required")
	r = run(t, c, checktest.NewSession("192.0.2.1").Helo("mx.example.org").From("a@good.mail.test").At(smtpcheck.StageMail))
	expect(t, "helo", r, pass, "")
}
