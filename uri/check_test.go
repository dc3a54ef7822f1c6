package uri

import (
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

func testResolver(t *testing.T, srv *dnstest.Server) *resolver.Resolver {
	t.Helper()
	r := srv.Resolver(resolver.Config{Timeout: 300 * time.Millisecond, Attempts: 1})
	return r
}

func mustList(t *testing.T, spec string) List {
	t.Helper()
	l, err := ParseList(spec)
	if err != nil {
		t.Fatalf("ParseList(%q): %v", spec, err)
	}
	return l
}

func message(body string) *smtpcheck.Session {
	return checktest.NewSession("192.0.2.1").Helo("mx.client.example").From("a@sender.example").To("b@rcpt.example").
		Message("Subject: test\n\n" + body).Session()
}

func newChecker(t *testing.T, cfg Config) *LinkLists {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestCheckLists(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListDomain("dbl.test", "spam.example", "127.0.1.2")
	srv.ListDomain("multi.test", "multi.example", "127.0.0.4")
	srv.ListDomain("multi.test", "notbit.example", "127.0.0.8")
	srv.ListIP("multi.test", "192.0.2.66", "127.0.0.4")
	srv.ListIP("zen.test", "192.0.2.77", "127.0.0.2")
	res := testResolver(t, srv)
	c := newChecker(t, Config{Resolver: res, Lists: []List{
		mustList(t, "dbl.test=127.0.1.[2..99]"),
		mustList(t, "any:multi.test&0.0.0.4"),
		mustList(t, "ip:zen.test"),
	}, Exclude: []string{"good.example"}})
	tests := []struct {
		name, body, rule, reply string
		action                  smtpcheck.Action
	}{
		{"clean", "see http://clean.example/ and www.good.example", "", "", smtpcheck.Continue},
		{"domain listed via subdomain", "click http://www.shop.spam.example/x", "uri-bl dbl.test", "black listed URL domain spam.example by dbl.test", smtpcheck.Reject},
		{"bitmask match", "http://multi.example/", "uri-bl multi.test", "black listed URL domain multi.example by multi.test", smtpcheck.Reject},
		{"bitmask miss", "http://notbit.example/", "", "", smtpcheck.Continue},
		{"ip on any list", "http://192.0.2.66/", "uri-dns-bl multi.test", "black listed URL host 192.0.2.66 by multi.test", smtpcheck.Reject},
		{"ip on ip list, obfuscated", "http://3221226061/", "uri-dns-bl zen.test", "black listed URL host 192.0.2.77 by zen.test", smtpcheck.Reject},
		{"excluded", "http://spam.example.good.example/", "", "", smtpcheck.Continue},
		{"first host wins", "http://192.0.2.77/ then http://spam.example/", "uri-dns-bl zen.test", "192.0.2.77", smtpcheck.Reject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Check()(t.Context(), message(tt.body))
			checktest.AssertVerdict(t, r, tt.action, 0, "", "")
			if tt.action == smtpcheck.Reject {
				checktest.AssertVerdict(t, r, tt.action, 550, "5.7.1", "uri")
				checktest.AssertRule(t, r, tt.rule, "")
				checktest.AssertReplyContains(t, r, tt.reply)
			}
		})
	}
	// A domain-only list never sees an IP, an IP-only list never a domain.
	srv.ClearLog()
	c.Check()(t.Context(), message("http://192.0.2.9/ http://plain.example/"))
	for _, q := range srv.Queries() {
		if strings.HasSuffix(q.Name, ".dbl.test.") && strings.HasPrefix(q.Name, "9.2.0.192") {
			t.Errorf("IP sent to domain-only list: %s", q)
		}
		if strings.HasSuffix(q.Name, ".zen.test.") && strings.Contains(q.Name, "plain.example") {
			t.Errorf("domain sent to IP-only list: %s", q)
		}
	}
	if srv.Count("9.2.0.192.zen.test", dns.TypeA) != 1 || srv.Count("plain.example.dbl.test", dns.TypeA) != 1 {
		t.Errorf("queries = %v, want the IP asked of zen.test and the domain of dbl.test", srv.Queries())
	}
}

func TestCheckLookupCap(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListDomain("dbl.test", "late.example", "127.0.1.2")
	c := newChecker(t, Config{Resolver: testResolver(t, srv), Lists: []List{mustList(t, "dbl.test")}, MaxLookups: 5})
	var b strings.Builder
	for _, d := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		b.WriteString("http://" + d + ".example/\n")
	}
	b.WriteString("http://late.example/\n")
	r := c.Check()(t.Context(), message(b.String()))
	checktest.AssertVerdict(t, r, smtpcheck.Continue, 0, "", "")
	n := 0
	for _, q := range srv.Queries() {
		if strings.HasSuffix(q.Name, ".dbl.test.") {
			n++
		}
	}
	if n != 5 {
		t.Errorf("list queries = %d, want 5 (MaxLookups)", n)
	}
}

func TestCheckNoDNS(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		body string
		want smtpcheck.Action
		text string
	}{
		{"require domain", Config{RequireDomain: true}, "http://0x7f.1/x", smtpcheck.Reject, "host is an IP in URL http://0x7f.1/x"},
		{"require domain passes names", Config{RequireDomain: true}, "http://fine.example/", smtpcheck.Continue, ""},
		{"max uris", Config{MaxURIs: 2}, "a.example.com b.example.com c.example.com", smtpcheck.Reject, "max. URI per message limit exceeded"},
		{"max uris at limit", Config{MaxURIs: 3}, "a.example.com b.example.com c.example.com", smtpcheck.Continue, ""},
		{"broken link rejected", Config{Links: LinksReject}, "http://999.1.1.1/", smtpcheck.Reject, `broken URL "http://999.1.1.1/": invalid IP address`},
		{"broken link tagged", Config{Links: LinksTag}, "http://999.1.1.1/", smtpcheck.Tag, ""},
		{"broken link ignored", Config{}, "http://999.1.1.1/", smtpcheck.Continue, ""},
		{"body reject", Config{Body: bodyList("www.bad.example", BodyReject)},
			"www.bad.example", smtpcheck.Reject, "rejected URL host www.bad.example"},
		{"body ok exempts", Config{RequireDomain: true, Body: bodyList("192.0.2.5", BodyExempt)}, "http://192.0.2.5/", smtpcheck.Continue, ""},
		{"excluded ip", Config{RequireDomain: true, Exclude: []string{"192.0.2.5"}}, "http://192.0.2.5/", smtpcheck.Continue, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newChecker(t, tt.cfg).Check()(t.Context(), message(tt.body))
			checktest.AssertVerdict(t, r, tt.want, 0, "", "")
			if tt.text != "" {
				checktest.AssertReplyContains(t, r, tt.text)
			}
		})
	}
}

func TestCheckDNSRules(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(
		"dyn.example. NS ns1.good.example.",
		"192-0-2-9.dyn.example. A 192.0.2.9",
		"9.2.0.192.in-addr.arpa. PTR 192-0-2-9.dyn.example.",
		"noptr.example. NS ns1.good.example.",
		"noptr.example. A 192.0.2.10",
		"ns1.good.example. A 192.0.2.53",
		"lame.example. NS ns.nowhere.example.",
		"lame.example. A 192.0.2.11",
		"ipns.example. NS ns-192-0-2-54.host.example.",
		"ns-192-0-2-54.host.example. A 192.0.2.54",
		"ipns.example. A 192.0.2.12",
		"nsbl.example. NS ns.badns.example.",
		"ns.badns.example. A 192.0.2.55",
	)
	srv.ListDomain("dbl.test", "badns.example", "127.0.1.2")
	res := testResolver(t, srv)
	tests := []struct {
		name string
		cfg  Config
		body string
		want smtpcheck.Action
		text string
	}{
		{"ip in name", Config{IPInName: true}, "http://192-0-2-9.dyn.example/", smtpcheck.Reject, "URI host 192-0-2-9.dyn.example contains IP 192.0.2.9 in name"},
		{"ip in name off", Config{}, "http://192-0-2-9.dyn.example/", smtpcheck.Continue, ""},
		{"require ptr", Config{RequirePTR: true}, "http://noptr.example/", smtpcheck.Reject, "URL host noptr.example is missing a PTR"},
		{"require ptr with ptr", Config{RequirePTR: true}, "http://192-0-2-9.dyn.example/", smtpcheck.Continue, ""},
		{"require ptr on ip host", Config{RequirePTR: true}, "http://192.0.2.10/", smtpcheck.Reject, "URL host 192.0.2.10 is missing a PTR"},
		{"ns nxdomain", Config{NSNXDomain: true}, "http://www.lame.example/", smtpcheck.Reject, "URI domain lame.example where NS ns.nowhere.example in non-existant domain"},
		{"ns fine", Config{NSNXDomain: true, IPInNS: true}, "http://noptr.example/", smtpcheck.Continue, ""},
		{"ip in ns", Config{IPInNS: true}, "http://ipns.example/", smtpcheck.Reject, "URI domain ipns.example where NS ns-192-0-2-54.host.example contains IP 192.0.2.54 in name"},
		{"ns on list", Config{CheckNS: true, Lists: []List{mustList(t, "dbl.test")}}, "http://nsbl.example/", smtpcheck.Reject, "rejected NS ns.badns.example, black listed URL domain badns.example by dbl.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Resolver = res
			r := newChecker(t, tt.cfg).Check()(t.Context(), message(tt.body))
			checktest.AssertVerdict(t, r, tt.want, 0, "", "")
			if tt.text != "" {
				checktest.AssertReplyContains(t, r, tt.text)
			}
		})
	}
}

func TestCheckDNSFailure(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListDomain("dbl.test", "x.example", "127.0.1.2")
	srv.Silence("dbl.test")
	c := newChecker(t, Config{Resolver: testResolver(t, srv), Lists: []List{mustList(t, "dbl.test")}, Timeout: time.Second})
	start := time.Now()
	r := c.Check()(t.Context(), message("http://slow.example/"))
	if r.Err == nil || r.Action != smtpcheck.Continue {
		t.Errorf("Check with a silent list = %v, err %v; want continue with an error for the error policy", r.Action, r.Err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Check with a silent list took %v, want about the 1s timeout", d)
	}
	// Guarded with temp-fail, the error becomes the catalog's 451.
	g := smtpcheck.Guard(c.Check(), smtpcheck.Options{Name: "uri", OnError: smtpcheck.FailTemp})
	checktest.AssertVerdict(t, g(t.Context(), message("http://slow.example/")), smtpcheck.TempFail, 451, "", "")
}

func TestSubjectChecks(t *testing.T) {
	srv := dnstest.New(t)
	srv.ListDomain("dbl.test", "bad.example", "127.0.1.2")
	c := newChecker(t, Config{Resolver: testResolver(t, srv), Lists: []List{mustList(t, "dbl.test")}})
	ctx := t.Context()

	s := checktest.NewSession("192.0.2.1").PTR("host.bad.example").Helo("mail.bad.example").From("x@sub.bad.example").Session()
	checktest.AssertReplyContains(t, c.HeloCheck()(ctx, s), "rejected HELO, black listed URL domain bad.example by dbl.test")
	checktest.AssertReplyContains(t, c.SenderCheck()(ctx, s), "rejected MAIL FROM, black listed URL domain bad.example by dbl.test")
	checktest.AssertReplyContains(t, c.ClientPTRCheck()(ctx, s), "rejected client host.bad.example [192.0.2.1], black listed URL domain bad.example by dbl.test")

	good := checktest.NewSession("192.0.2.1").PTR("host.good.example").Helo("[192.0.2.1]").From("").Session()
	for name, check := range map[string]smtpcheck.Check{"helo": c.HeloCheck(), "mail": c.SenderCheck(), "ptr": c.ClientPTRCheck()} {
		if r := check(ctx, good); r.Action != smtpcheck.Continue || r.Err != nil {
			t.Errorf("%s check on a clean session = %v, %v; want continue", name, r.Action, r.Err)
		}
	}
}

func TestIPInName(t *testing.T) {
	tests := []struct {
		name, ip string
		want     bool
	}{
		{"192-0-2-7.dyn.example", "192.0.2.7", true},
		{"7.2.0.192.pool.example", "192.0.2.7", true},
		{"host_192_0_2_7.example", "192.0.2.7", true},
		{"c0000207.cable.example", "192.0.2.7", true},
		{"h192000002007.example", "192.0.2.7", true},
		{"mail.example", "192.0.2.7", false},
		{"1927.example", "192.0.2.7", false},
		{"v6.example", "2001:db8::1", false},
	}
	for _, tt := range tests {
		if got := IPInName(tt.name, netipMust(tt.ip)); got != tt.want {
			t.Errorf("IPInName(%q, %s) = %v, want %v", tt.name, tt.ip, got, tt.want)
		}
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		spec string
		zone string
		kind ListKind
		err  bool
	}{
		{"dbl.test=127.0.1.[2..99]", "dbl.test", ListDomains, false},
		{"ip:zen.test*2", "zen.test", ListIPs, false},
		{"any:multi.test&0.0.0.4", "multi.test", ListBoth, false},
		{"ip:", "", 0, true},
		{"bad zone!", "", 0, true},
	}
	for _, tt := range tests {
		l, err := ParseList(tt.spec)
		if (err != nil) != tt.err || err == nil && (l.Zone != tt.zone || l.Kind != tt.kind) {
			t.Errorf("ParseList(%q) = %q kind %d, %v; want %q kind %d, error %v", tt.spec, l.Zone, l.Kind, err, tt.zone, tt.kind, tt.err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{Lists: []List{{List: mustList(t, "dbl.test").List}}}); err == nil {
		t.Error("New with lists and no resolver = nil error, want one")
	}
	if _, err := New(Config{RequirePTR: true}); err == nil {
		t.Error("New with a DNS rule and no resolver = nil error, want one")
	}
}

func netipMust(s string) netip.Addr { return netip.MustParseAddr(s) }

// Each message of a session is read afresh: the second message's links are
// judged, not the first one's.
func TestCheckEachMessageOfSession(t *testing.T) {
	c := newChecker(t, Config{Body: bodyList("www.bad.example", BodyReject)}).Check()
	b := checktest.NewSession("192.0.2.1").Helo("mx.client.example").From("a@sender.example").To("b@rcpt.example")
	s := b.Message("Subject: one\n\nhttp://www.fine.example/").Session()
	checktest.AssertVerdict(t, c(t.Context(), s), smtpcheck.Continue, 0, "", "")
	s.ResetTransaction()
	b.From("a@sender.example").To("b@rcpt.example").Message("Subject: two\n\nhttp://www.bad.example/")
	checktest.AssertVerdict(t, c(t.Context(), s), smtpcheck.Reject, 550, "5.7.1", "uri")
}

// Through checktest, which splits a message as the servers do, a link in a
// single-part base64 HTML body is found.
func TestCheckSinglePartBase64(t *testing.T) {
	c := newChecker(t, Config{Body: bodyList("www.bad.example", BodyReject)}).Check()
	html := base64.StdEncoding.EncodeToString([]byte(`<a href="http://www.bad.example/x">x</a>`))
	s := checktest.NewSession("192.0.2.1").Helo("mx.client.example").From("a@sender.example").To("b@rcpt.example").
		Message("Subject: b64\nContent-Type: text/html\nContent-Transfer-Encoding: base64\n\n" + html + "\n").Session()
	checktest.AssertVerdict(t, c(t.Context(), s), smtpcheck.Reject, 550, "5.7.1", "uri")
}

// bodyList is a Config.Body that knows one host.
func bodyList(host string, v BodyVerdict) func(string) (BodyVerdict, string) {
	return func(h string) (BodyVerdict, string) {
		if h != host {
			return BodyNone, ""
		}
		return v, "list:" + host
	}
}

// A Body verdict of BodyRejectNow refuses at once even under delayed
// rejection; BodyReject leaves the refusal to the policy's holding.
func TestCheckBodyRejectNow(t *testing.T) {
	for _, tt := range []struct {
		v    BodyVerdict
		want bool
	}{{BodyReject, false}, {BodyRejectNow, true}} {
		r := newChecker(t, Config{Body: bodyList("www.bad.example", tt.v)}).Check()(t.Context(), message("http://www.bad.example/"))
		checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.7.1", "uri")
		if r.Immediate != tt.want {
			t.Errorf("Body verdict %d: Immediate = %v, want %v", tt.v, r.Immediate, tt.want)
		}
		if r.Reason.Rule != "list:www.bad.example" {
			t.Errorf("Body verdict %d: Reason.Rule = %q, want the list's key", tt.v, r.Reason.Rule)
		}
	}
}
