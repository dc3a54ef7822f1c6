package hygiene

import (
	"net/netip"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// verdict is one expected outcome: action Continue means "passes".
type verdict struct {
	action   smtpcheck.Action
	code     int
	enhanced string
}

var pass = verdict{action: smtpcheck.Continue}

func run(t *testing.T, c smtpcheck.Check, s *smtpcheck.Session) smtpcheck.Result {
	t.Helper()
	return c(t.Context(), s)
}

func expect(t *testing.T, what string, r smtpcheck.Result, want verdict, check string) {
	t.Helper()
	if want.action == smtpcheck.Continue {
		if r.Action != smtpcheck.Continue {
			t.Errorf("%s = %v (%s, %s), want continue", what, r.Action, r.Reply.Error(), r.Reason.String())
		}
		return
	}
	checktest.AssertVerdict(t, r, want.action, want.code, want.enhanced, check)
}

func TestHeloChecks(t *testing.T) {
	reject := func(code int, enh string) verdict { return verdict{smtpcheck.Reject, code, enh} }
	tests := []struct {
		name  string
		check smtpcheck.Check
		cname string
		ip    string
		helo  string
		want  verdict
	}{
		{"chars ok", HeloChars(HeloCharsConfig{}), NameHeloChars, "192.0.2.1", "mx.example.org", pass},
		{"chars underscore ok", HeloChars(HeloCharsConfig{}), NameHeloChars, "192.0.2.1", "win_pc.corp.example", pass},
		{"chars underscore strict", HeloChars(HeloCharsConfig{RejectUnderscore: true}), NameHeloChars, "192.0.2.1", "win_pc.corp.example", reject(501, "5.5.4")},
		{"chars ipv6 literal ok", HeloChars(HeloCharsConfig{}), NameHeloChars, "2001:db8::1", "[IPv6:2001:db8::1]", pass},
		{"chars space", HeloChars(HeloCharsConfig{}), NameHeloChars, "192.0.2.1", "my pc", reject(501, "5.5.4")},
		{"chars slash", HeloChars(HeloCharsConfig{}), NameHeloChars, "192.0.2.1", "a/b.example", reject(501, "5.5.4")},

		{"fqdn ok", HeloFQDN(HeloFQDNConfig{}), NameHeloFQDN, "192.0.2.1", "mx.example.org", pass},
		{"fqdn trailing dot ok", HeloFQDN(HeloFQDNConfig{}), NameHeloFQDN, "192.0.2.1", "mx.example.org.", pass},
		{"fqdn literal ok", HeloFQDN(HeloFQDNConfig{}), NameHeloFQDN, "192.0.2.1", "[192.0.2.1]", pass},
		{"fqdn ipv6 literal ok", HeloFQDN(HeloFQDNConfig{}), NameHeloFQDN, "2001:db8::1", "[IPv6:2001:db8::1]", pass},
		{"fqdn dotless", HeloFQDN(HeloFQDNConfig{}), NameHeloFQDN, "192.0.2.1", "WORKSTATION", reject(550, "5.7.0")},
		{"fqdn dotless allowed", HeloFQDN(HeloFQDNConfig{Allow: []string{"workstation"}}), NameHeloFQDN, "192.0.2.1", "WORKSTATION", pass},
		{"fqdn bare ip", HeloFQDN(HeloFQDNConfig{}), NameHeloFQDN, "192.0.2.1", "192.0.2.1", reject(550, "5.7.0")},
		{"fqdn bare ip allowed", HeloFQDN(HeloFQDNConfig{AllowBareIP: true}), NameHeloFQDN, "192.0.2.1", "192.0.2.1", pass},
		{"fqdn general literal", HeloFQDN(HeloFQDNConfig{}), NameHeloFQDN, "192.0.2.1", "[x-foo:bar]", reject(550, "5.7.0")},
		{"fqdn empty label", HeloFQDN(HeloFQDNConfig{}), NameHeloFQDN, "192.0.2.1", "mx..example.org", reject(550, "5.7.0")},

		{"literal matches", HeloIPMismatch(HeloIPMismatchConfig{}), NameHeloIPMismatch, "192.0.2.1", "[192.0.2.1]", pass},
		{"ipv6 literal matches", HeloIPMismatch(HeloIPMismatchConfig{}), NameHeloIPMismatch, "2001:db8::1", "[IPv6:2001:DB8::1]", pass},
		{"literal mismatch", HeloIPMismatch(HeloIPMismatchConfig{}), NameHeloIPMismatch, "192.0.2.1", "[198.51.100.7]", reject(550, "5.7.0")},
		{"bare ip mismatch", HeloIPMismatch(HeloIPMismatchConfig{}), NameHeloIPMismatch, "192.0.2.1", "198.51.100.7", reject(550, "5.7.0")},
		{"bare ip ignored", HeloIPMismatch(HeloIPMismatchConfig{IgnoreBareIP: true}), NameHeloIPMismatch, "192.0.2.1", "198.51.100.7", pass},
		{"nat literal allowed", HeloIPMismatch(HeloIPMismatchConfig{AllowPrivate: true}), NameHeloIPMismatch, "192.0.2.1", "[192.168.1.10]", pass},
		{"domain not a literal", HeloIPMismatch(HeloIPMismatchConfig{}), NameHeloIPMismatch, "192.0.2.1", "mx.example.org", pass},

		{"claims our name", HeloClaimsUs(HeloClaimsUsConfig{Names: []string{"MX.Our.Example"}}), NameHeloClaimsUs, "192.0.2.1", "mx.our.example.", reject(550, "5.7.0")},
		{"claims our address", HeloClaimsUs(HeloClaimsUsConfig{Addrs: []netip.Addr{netip.MustParseAddr("203.0.113.25")}}), NameHeloClaimsUs, "192.0.2.1", "[203.0.113.25]", reject(550, "5.7.0")},
		{"claims the address it reached", HeloClaimsUs(HeloClaimsUsConfig{}), NameHeloClaimsUs, "192.0.2.1", "[127.0.0.1]", reject(550, "5.7.0")},
		{"other name", HeloClaimsUs(HeloClaimsUsConfig{Names: []string{"mx.our.example"}}), NameHeloClaimsUs, "192.0.2.1", "mx.example.org", pass},

		{"reserved localhost", HeloReserved(ReservedConfig{}), NameHeloReserved, "192.0.2.1", "localhost", reject(550, "5.7.0")},
		{"reserved example.com", HeloReserved(ReservedConfig{}), NameHeloReserved, "192.0.2.1", "mail.Example.COM", reject(550, "5.7.0")},
		{"reserved .test", HeloReserved(ReservedConfig{}), NameHeloReserved, "192.0.2.1", "host.test", reject(550, "5.7.0")},
		{"not reserved lookalike", HeloReserved(ReservedConfig{}), NameHeloReserved, "192.0.2.1", "mx.myexample.com", pass},
		{"reserved allowed", HeloReserved(ReservedConfig{Allow: []string{"internal"}}), NameHeloReserved, "192.0.2.1", "gw.corp.internal", pass},
		{"reserved extra", HeloReserved(ReservedConfig{Extra: []string{"lan"}}), NameHeloReserved, "192.0.2.1", "gw.lan", reject(550, "5.7.0")},

		{"tld known", HeloUnknownTLD(TLDConfig{}), NameHeloUnknownTLD, "192.0.2.1", "mx.example.org", pass},
		{"tld known idn a-label", HeloUnknownTLD(TLDConfig{}), NameHeloUnknownTLD, "192.0.2.1", "mx.example.xn--p1ai", pass},
		{"tld new gtld", HeloUnknownTLD(TLDConfig{}), NameHeloUnknownTLD, "192.0.2.1", "mx.example.dev", pass},
		{"tld unknown", HeloUnknownTLD(TLDConfig{}), NameHeloUnknownTLD, "192.0.2.1", "mx.example.lan", reject(550, "5.7.0")},
		{"tld numeric", HeloUnknownTLD(TLDConfig{}), NameHeloUnknownTLD, "192.0.2.1", "10.0.0", reject(550, "5.7.0")},

		{"ip in helo dashes", HeloIsPTR(IPInNameConfig{}), NameHeloIsPTR, "192.0.2.1", "192-0-2-1.dsl.isp.example", reject(550, "5.7.0")},
		{"ip in helo reversed", HeloIsPTR(IPInNameConfig{}), NameHeloIsPTR, "192.0.2.1", "1.2.0.192.pool.isp.example", reject(550, "5.7.0")},
		{"ip in helo other ip", HeloIsPTR(IPInNameConfig{}), NameHeloIsPTR, "192.0.2.1", "10-1-2-3.dsl.isp.example", pass},
		{"helo without ip", HeloIsPTR(IPInNameConfig{}), NameHeloIsPTR, "192.0.2.1", "mail-wr1-f54.google.com", pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checktest.NewSession(tt.ip).Helo(tt.helo).Session()
			expect(t, "check(HELO "+tt.helo+")", run(t, tt.check, s), tt.want, tt.cname)
		})
	}
}

func TestHeloChanged(t *testing.T) {
	c := HeloChanged(HeloChangedConfig{})
	same := checktest.NewSession("192.0.2.1").Helo("mx.example.org").Helo("MX.example.org.").Session()
	expect(t, "HeloChanged(same name twice)", run(t, c, same), pass, "")
	changed := checktest.NewSession("192.0.2.1").Helo("mx.example.org").Helo("other.example.net").Session()
	expect(t, "HeloChanged(changed)", run(t, c, changed), verdict{smtpcheck.Reject, 550, "5.7.1"}, NameHeloChanged)
	lenient := HeloChanged(HeloChangedConfig{Max: 2})
	expect(t, "HeloChanged(Max 2, changed once)", run(t, lenient, changed), pass, "")
}

func TestIPInName(t *testing.T) {
	tests := []struct {
		name, ip string
		want     bool
	}{
		{"ec2-54-1-2-3.compute-1.amazonaws.example", "54.1.2.3", true},
		{"3.2.1.54.in-addr.isp.example", "54.1.2.3", true},
		{"host054001002003.isp.example", "54.1.2.3", true},
		{"c0000201.dyn.example", "192.0.2.1", true},
		{"dsl-2-1.isp.example", "192.0.2.1", true},
		{"mx-2-1.isp.example", "192.0.2.1", false},
		{"mail.example.org", "192.0.2.1", false},
		{"a48-93.smtp-out.amazonses.example", "54.240.48.93", false},
		{"mail-wr1-f54.google.example", "209.85.221.54", false},
		{"2001-db8--1.example", "2001:db8::1", false},
		{"host-00000000000000000001.example", "2001:db8::1", true},
	}
	for _, tt := range tests {
		if got := IPInName(tt.name, netip.MustParseAddr(tt.ip), nil); got != tt.want {
			t.Errorf("IPInName(%q, %s) = %v, want %v", tt.name, tt.ip, got, tt.want)
		}
	}
}
