package postconf_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// testDNS serves the zones the restriction tests use.
func testDNS(t *testing.T) *resolver.Resolver {
	t.Helper()
	srv := dnstest.New(t)
	srv.Add(
		"example.org. 300 IN MX 10 mx.example.org.",
		"mx.example.org. 300 IN A 192.0.2.10",
		"example.net. 300 IN MX 10 mx.example.net.",
		"mx.example.net. 300 IN A 192.0.2.20",
		"nullmx.example. 300 IN MX 0 .",
		"20.2.0.192.in-addr.arpa. 300 IN PTR mx.example.net.",
		"spammer.example. 300 IN A 192.0.2.99",
	)
	srv.Zone("example.org.", 60)
	srv.Zone("example.net.", 60)
	srv.Zone("nxdomain.example.", 60)
	srv.Zone("2.0.192.in-addr.arpa.", 60)
	srv.ListIP("zen.test", "192.0.2.66", "127.0.0.2", "listed for testing")
	srv.ListIP("uce.test", "192.0.2.67", "127.0.0.2")
	srv.ListIP("0spam.test", "192.0.2.68", "127.0.0.5") // outside the [7..9] filter
	srv.ListIP("wl.test", "192.0.2.66", "127.0.0.2")
	srv.ListDomain("dbl.test", "spammer.example", "127.0.1.2")
	srv.ListIP("zen.test", "192.0.2.69", "127.255.255.254") // "refused": never a listing
	res := srv.Resolver(resolver.Config{})
	return res
}

func build(t *testing.T, src string, env postconf.Env) *postconf.Config {
	t.Helper()
	f, err := postconf.Parse(strings.NewReader(src), "main.cf")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	cfg, err := postconf.Build(f, env)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return cfg
}

// run walks a session through the stages and returns the first decision
// that is not "continue", or the RCPT decision.
func run(t *testing.T, p *smtpcheck.Policy, ip, helo, from, rcpt string) smtpcheck.Decision {
	t.Helper()
	ctx := t.Context()
	b := checktest.NewSession(ip)
	if d := p.Evaluate(ctx, b.Session()); d.Result.Action != smtpcheck.Continue {
		return d
	}
	if d := p.Evaluate(ctx, b.Helo(helo).Session()); d.Result.Action != smtpcheck.Continue {
		return d
	}
	if d := p.Evaluate(ctx, b.From(from).Session()); d.Result.Action != smtpcheck.Continue {
		return d
	}
	return p.Evaluate(ctx, b.To(rcpt).Session())
}

func TestRestrictions(t *testing.T) {
	res := testDNS(t)
	env := postconf.Env{Resolver: res, Domains: []string{"example.org"}}
	tests := []struct {
		name       string
		conf       string
		ip, helo   string
		from, rcpt string
		wantAction smtpcheck.Action
		wantReply  string // prefix of the first reply line
	}{
		{"permit", "smtpd_recipient_restrictions = permit, reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"reject", "smtpd_recipient_restrictions = reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Reject, "554 5.7.1 <b@example.org>: Recipient address rejected: Access denied"},
		{"reject_code", "reject_code = 550\nsmtpd_recipient_restrictions = reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Reject, "550 5.7.1 <b@example.org>"},
		{"defer", "smtpd_recipient_restrictions = defer", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.TempFail, "450 4.3.2 <b@example.org>: Recipient address rejected: Try again later"},
		{"dunno then reject", "smtpd_recipient_restrictions = dunno, reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Reject, "554"},
		{"defer_if_permit then permit", "smtpd_recipient_restrictions = defer_if_permit, permit", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.TempFail, "450"},
		{"defer_if_permit then reject", "smtpd_recipient_restrictions = defer_if_permit, reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Reject, "554"},
		{"defer_if_reject then reject", "smtpd_recipient_restrictions = defer_if_reject, reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.TempFail, "450 4.7.0 <b@example.org>: Recipient address rejected: defer_if_reject requested"},
		{"warn_if_reject passes", "smtpd_recipient_restrictions = warn_if_reject reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"permit_mynetworks", "mynetworks = 192.0.2.0/24\nsmtpd_recipient_restrictions = permit_mynetworks, reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@elsewhere.example", smtpcheck.Continue, ""},
		{"permit_mynetworks miss", "mynetworks = 198.51.100.0/24, [::1]/128\nsmtpd_recipient_restrictions = permit_mynetworks, reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Reject, "554"},
		{"reject_unauth_destination local", "smtpd_recipient_restrictions = reject_unauth_destination", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"reject_unauth_destination foreign", "smtpd_recipient_restrictions = reject_unauth_destination", "192.0.2.1", "mx.example.net", "a@example.net", "b@elsewhere.example", smtpcheck.Reject, "554 5.7.1 <b@elsewhere.example>: Relay access denied"},
		{"relay_domains subdomain", "relay_domains = example.com\nsmtpd_recipient_restrictions = reject_unauth_destination", "192.0.2.1", "mx.example.net", "a@example.net", "b@sub.example.com", smtpcheck.Continue, ""},
		{"default relay restrictions defer", "", "192.0.2.1", "mx.example.net", "a@example.net", "b@elsewhere.example", smtpcheck.TempFail, "454 4.7.1 <b@elsewhere.example>: Relay access denied"},
		{"reject_non_fqdn_helo_hostname", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", "192.0.2.1", "localhost", "a@example.net", "b@example.org", smtpcheck.Reject, "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"},
		{"reject_non_fqdn_hostname (old name)", "smtpd_helo_restrictions = reject_non_fqdn_hostname", "192.0.2.1", "localhost", "a@example.net", "b@example.org", smtpcheck.Reject, "504 5.5.2"},
		{"reject_invalid_helo_hostname literal", "smtpd_helo_restrictions = reject_invalid_helo_hostname", "192.0.2.1", "[.1.2.3.4]", "a@example.net", "b@example.org", smtpcheck.Reject, "501 5.5.2 <[.1.2.3.4]>: Helo command rejected: invalid ip address"},
		{"reject_invalid_helo_hostname chars", "smtpd_helo_restrictions = reject_invalid_helo_hostname", "192.0.2.1", "bad!name.example", "a@example.net", "b@example.org", smtpcheck.Reject, "501"},
		{"reject_invalid_helo_hostname ok literal", "smtpd_helo_restrictions = reject_invalid_helo_hostname", "192.0.2.1", "[IPv6:2001:db8::1]", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"reject_unknown_helo_hostname", "smtpd_helo_restrictions = reject_unknown_helo_hostname", "192.0.2.1", "nowhere.nxdomain.example", "a@example.net", "b@example.org", smtpcheck.TempFail, "450 4.7.1 <nowhere.nxdomain.example>: Helo command rejected: Host not found"},
		{"reject_non_fqdn_sender", "smtpd_sender_restrictions = reject_non_fqdn_sender", "192.0.2.1", "mx.example.net", "a@localhost", "b@example.org", smtpcheck.Reject, "504 5.5.2 <a@localhost>: Sender address rejected: need fully-qualified address"},
		{"reject_non_fqdn_recipient", "relay_domains = localhost\nsmtpd_recipient_restrictions = reject_non_fqdn_recipient", "192.0.2.1", "mx.example.net", "a@example.net", "b@localhost", smtpcheck.Reject, "504 5.5.2 <b@localhost>: Recipient address rejected"},
		{"reject_non_fqdn_recipient postmaster", "smtpd_recipient_restrictions = reject_non_fqdn_recipient", "192.0.2.1", "mx.example.net", "a@example.net", "postmaster", smtpcheck.Continue, ""},
		{"reject_unknown_sender_domain", "smtpd_sender_restrictions = reject_unknown_sender_domain", "192.0.2.1", "mx.example.net", "a@nxdomain.example", "b@example.org", smtpcheck.TempFail, "450 4.1.8 <a@nxdomain.example>: Sender address rejected: Domain not found"},
		{"reject_unknown_sender_domain ok", "smtpd_sender_restrictions = reject_unknown_sender_domain", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"reject_unknown_recipient_domain", "relay_domains = nxdomain.example\nsmtpd_recipient_restrictions = reject_unknown_recipient_domain", "192.0.2.1", "mx.example.net", "a@example.net", "b@nxdomain.example", smtpcheck.TempFail, "450 4.1.2 <b@nxdomain.example>: Recipient address rejected: Domain not found"},
		{"reject_unknown_recipient_domain null MX", "relay_domains = nullmx.example\nsmtpd_recipient_restrictions = reject_unknown_recipient_domain", "192.0.2.1", "mx.example.net", "a@example.net", "b@nullmx.example", smtpcheck.Reject, "556 5.1.10"},
		{"reject_unknown_client_hostname", "smtpd_client_restrictions = reject_unknown_client_hostname", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.TempFail, "450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.1]"},
		{"reject_unknown_client_hostname ok", "smtpd_client_restrictions = reject_unknown_client_hostname", "192.0.2.20", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"reject_rbl_client listed", "smtpd_client_restrictions = reject_rbl_client zen.test", "192.0.2.66", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Reject, "554 5.7.1 Service unavailable; Client host [192.0.2.66] blocked using zen.test; listed for testing"},
		{"reject_rbl_client filter miss", "smtpd_client_restrictions = reject_rbl_client 0spam.test=127.0.0.[7..9]", "192.0.2.68", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"reject_rbl_client refused answer", "smtpd_client_restrictions = reject_rbl_client zen.test", "192.0.2.69", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"maps_rbl_reject_code", "maps_rbl_reject_code = 550\nsmtpd_client_restrictions = reject_rbl_client zen.test", "192.0.2.66", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Reject, "550 5.7.1 Service unavailable"},
		{"default_rbl_reply", "default_rbl_reply = $rbl_code Go away, $client_address ($rbl_domain)\nsmtpd_client_restrictions = reject_rbl_client zen.test", "192.0.2.66", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Reject, "554 5.7.1 Go away, 192.0.2.66 (zen.test)"},
		{"permit_dnswl_client", "smtpd_client_restrictions = permit_dnswl_client wl.test, reject_rbl_client zen.test", "192.0.2.66", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"reject_rhsbl_sender", "smtpd_sender_restrictions = reject_rhsbl_sender dbl.test=127.0.1.[2..99]", "192.0.2.1", "mx.example.net", "a@spammer.example", "b@example.org", smtpcheck.Reject, "554 5.7.1 Service unavailable; Sender address [a@spammer.example] blocked using dbl.test"},
		{"reject_rhsbl_helo", "smtpd_helo_restrictions = reject_rhsbl_helo dbl.test", "192.0.2.1", "spammer.example", "a@example.net", "b@example.org", smtpcheck.Reject, "554 5.7.1 Service unavailable; Helo command [spammer.example] blocked using dbl.test"},
		{"smtpd_helo_required", "smtpd_helo_required = yes", "192.0.2.1", "", "a@example.net", "b@example.org", smtpcheck.Reject, "503 5.5.1 Error: send HELO/EHLO first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := build(t, tt.conf, env)
			d := run(t, cfg.Policy, tt.ip, tt.helo, tt.from, tt.rcpt)
			if d.Result.Action != tt.wantAction {
				t.Fatalf("verdict = %v (%s: %s), want %v", d.Result.Action, d.Result.Reason, d.Result.DefaultReply().Error(), tt.wantAction)
			}
			if tt.wantReply != "" {
				if got := d.Result.DefaultReply().Error(); !strings.HasPrefix(got, tt.wantReply) {
					t.Errorf("reply = %q, want prefix %q", got, tt.wantReply)
				}
			}
		})
	}
}

func TestDelayReject(t *testing.T) {
	conf := "smtpd_client_restrictions = reject\nsmtpd_recipient_restrictions = permit\n"
	ctx := t.Context()

	// smtpd_delay_reject = yes (the default): the client restriction is
	// evaluated at RCPT, and a recipient-list permit does not override it.
	cfg := build(t, conf, postconf.Env{Domains: []string{"example.org"}})
	if !cfg.DelayReject {
		t.Error("Config.DelayReject = false by default, want true (the front-ends hold their own checks' refusals)")
	}
	p := cfg.Policy
	b := checktest.NewSession("192.0.2.1")
	if d := p.Evaluate(ctx, b.Session()); d.Result.Action != smtpcheck.Continue {
		t.Errorf("connect with delay: %v, want continue", d.Result.Action)
	}
	if d := p.Evaluate(ctx, b.Helo("mx.example.net").From("a@example.net").Session()); d.Result.Action != smtpcheck.Continue {
		t.Errorf("mail with delay: %v, want continue", d.Result.Action)
	}
	d := p.Evaluate(ctx, b.To("b@example.org").Session())
	checktest.AssertVerdict(t, d.Result, smtpcheck.Reject, 554, "5.7.1", "reject")
	checktest.AssertReplyContains(t, d.Result, "Client host rejected: Access denied")

	// smtpd_delay_reject = no: refused at connect.
	cfg = build(t, "smtpd_delay_reject = no\n"+conf, postconf.Env{})
	if cfg.DelayReject {
		t.Error("Config.DelayReject = true with smtpd_delay_reject = no")
	}
	p = cfg.Policy
	d = p.Evaluate(ctx, checktest.NewSession("192.0.2.1").Session())
	checktest.AssertVerdict(t, d.Result, smtpcheck.Reject, 554, "5.7.1", "reject")
}

func TestWarnIfRejectLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	cfg := build(t, "smtpd_client_restrictions = warn_if_reject reject_rbl_client zen.test", postconf.Env{Resolver: testDNS(t), Logger: log, Domains: []string{"example.org"}})
	d := run(t, cfg.Policy, "192.0.2.66", "mx.example.net", "a@example.net", "b@example.org")
	if d.Result.Action != smtpcheck.Continue {
		t.Fatalf("warn_if_reject verdict = %v, want continue", d.Result.Action)
	}
	for _, want := range []string{"reject_warning", "reject_rbl_client", "554 5.7.1 Service unavailable; Client host [192.0.2.66] blocked using zen.test"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestDryRun(t *testing.T) {
	cfg := build(t, "smtppolicy_dry_run = yes\nsmtpd_recipient_restrictions = reject", postconf.Env{Domains: []string{"example.org"}})
	d := run(t, cfg.Policy, "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org")
	if d.Result.Action != smtpcheck.Continue || d.Would.Action != smtpcheck.Reject {
		t.Errorf("dry run: %v would %v, want continue would reject", d.Result.Action, d.Would.Action)
	}
}

func TestPostscreenScore(t *testing.T) {
	conf := "postscreen_dnsbl_sites = zen.test*2, uce.test*1, wl.test*-5\npostscreen_dnsbl_threshold = 2\npostscreen_dnsbl_allowlist_threshold = -1\n"
	cfg := build(t, conf, postconf.Env{Resolver: testDNS(t)})
	ctx := t.Context()
	// 192.0.2.67 scores 1 (uce.test): below the threshold.
	if d := cfg.Policy.Evaluate(ctx, checktest.NewSession("192.0.2.67").Session()); d.Result.Action.Refuses() {
		t.Errorf("score 1: %v, want no refusal", d.Result.Action)
	}
	// 192.0.2.66 is on zen.test (2) and on the allowlist (-5): allowed.
	if d := cfg.Policy.Evaluate(ctx, checktest.NewSession("192.0.2.66").Session()); d.Result.Action.Refuses() {
		t.Errorf("allowlisted: %v, want no refusal", d.Result.Action)
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.cidr")
	os.WriteFile(bad, []byte("192.0.2.0/33 REJECT\n"), 0o644)
	tests := []struct {
		name, conf string
		env        postconf.Env
		line       int
		want       string
	}{
		{"unknown parameter", "mynetworks = 127.0.0.0/8\nsmtpd_recipient_restriction = reject\n", postconf.Env{}, 2, `unknown parameter "smtpd_recipient_restriction"`},
		{"unknown restriction", "smtpd_recipient_restrictions = permit_mynetworks,\n  reject_everything\n", postconf.Env{}, 1, `unknown restriction "reject_everything"`},
		{"unimplemented restriction", "smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:10040\n", postconf.Env{}, 1, `"check_policy_service" is not implemented`},
		{"bad dnsbl filter", "smtpd_client_restrictions = reject_rbl_client zen.test=127.0.0.[2..\n", postconf.Env{Resolver: &resolver.Resolver{}}, 1, "zen.test"},
		{"dns without resolver", "smtpd_client_restrictions = reject_rbl_client zen.test\n", postconf.Env{}, 1, "needs a DNS resolver"},
		{"bad table", "smtpd_client_restrictions = check_client_access cidr:" + bad + "\n", postconf.Env{}, 1, "bad.cidr"},
		{"missing argument", "smtpd_client_restrictions = reject_rbl_client\n", postconf.Env{}, 1, "needs an argument"},
		{"bad code", "reject_code = 250\n", postconf.Env{}, 1, "not 4xx or 5xx"},
		{"bad network", "mynetworks = 192.0.2.0/40\n", postconf.Env{}, 1, "bad network"},
		{"bad yes/no", "smtpd_delay_reject = maybe\n", postconf.Env{}, 1, "expected yes or no"},
		{"dangling warn_if_reject", "smtpd_client_restrictions = permit_mynetworks warn_if_reject\n", postconf.Env{}, 1, "warn_if_reject must be followed"},
		{"unverified without verifier", "smtpd_recipient_restrictions = reject_unverified_recipient\n", postconf.Env{}, 1, "needs a recipient verifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := postconf.Parse(strings.NewReader(tt.conf), "main.cf")
			if err != nil {
				t.Fatal(err)
			}
			_, err = postconf.Build(f, tt.env)
			var pe *postconf.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Build() error = %v, want *postconf.Error", err)
			}
			if pe.File != "main.cf" || pe.Line != tt.line || !strings.Contains(pe.Error(), tt.want) {
				t.Errorf("Build() error = %q, want main.cf:%d with %q", pe.Error(), tt.line, tt.want)
			}
		})
	}
}

// verdictCase is one session walked through a policy and the verdict and
// reply (a prefix of the first line) it must meet.
type verdictCase struct {
	name, ip, helo, from, rcpt string
	want                       smtpcheck.Action
	reply                      string
}

func checkVerdicts(t *testing.T, p *smtpcheck.Policy, cases []verdictCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			d := run(t, p, tt.ip, tt.helo, tt.from, tt.rcpt)
			if d.Result.Action != tt.want {
				t.Fatalf("verdict = %v (%s), want %v", d.Result.Action, d.Result.DefaultReply().Error(), tt.want)
			}
			if got := d.Result.DefaultReply().Error(); tt.reply != "" && !strings.HasPrefix(got, tt.reply) {
				t.Errorf("reply = %q, want prefix %q", got, tt.reply)
			}
		})
	}
}

// The DNSBL tutorial's two restriction blocks (seed 002) load as written,
// with the list zones renamed to test zones, and behave as Postfix
// documents them.
func TestTutorialBlocks(t *testing.T) {
	srv := dnstest.New(t)
	srv.Add(
		"example.org. 300 IN MX 10 mx.example.org.",
		"mx.example.org. 300 IN A 192.0.2.10",
		"example.net. 300 IN MX 10 mx.example.net.",
		"mx.example.net. 300 IN A 192.0.2.20",
		"20.2.0.192.in-addr.arpa. 300 IN PTR mx.example.net.",
		"mx2.example.net. 300 IN A 192.0.2.21",
		"21.2.0.192.in-addr.arpa. 300 IN PTR mx2.example.net.",
		"spammer.example. 300 IN MX 10 mx.example.net.",
		"bounces.example. 300 IN MX 10 mx.example.net.",
	)
	srv.Zone("2.0.192.in-addr.arpa.", 60)
	srv.ListIP("zen.test", "192.0.2.66", "127.0.0.4", "XBL listing")
	srv.ListIP("sorbs.test", "192.0.2.21", "127.0.0.10")
	srv.ListDomain("dbl.test", "spammer.example", "127.0.1.2")
	srv.ListDomain("dsn.test", "bounces.example", "127.0.0.2")
	res := srv.Resolver(resolver.Config{})
	var log bytes.Buffer
	env := postconf.Env{
		Resolver: res,
		Logger:   slog.New(slog.NewTextHandler(&log, nil)),
		Domains:  []string{"example.org"},
		VerifyRecipient: func(ctx context.Context, a smtpcheck.Address) error {
			if a.Local == "nobody" {
				return postconf.ErrUndeliverable
			}
			return nil
		},
	}

	t.Run("recipient block", func(t *testing.T) {
		cfg, err := postconf.Load(filepath.Join("testdata", "tutorial_recipient.cf"), env)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		checkVerdicts(t, cfg.Policy, []verdictCase{
			{"clean", "192.0.2.20", "mx.example.net", "a@example.net", "bob@example.org", smtpcheck.Continue, ""},
			{"listed client", "192.0.2.66", "mx.example.net", "a@example.net", "bob@example.org", smtpcheck.Reject, "554 5.7.1 Service unavailable; Client host [192.0.2.66] blocked using zen.test; XBL listing"},
			{"listed sender domain", "192.0.2.20", "mx.example.net", "a@spammer.example", "bob@example.org", smtpcheck.Reject, "554 5.7.1 Service unavailable; Sender address [a@spammer.example] blocked using dbl.test"},
			{"relaying", "192.0.2.20", "mx.example.net", "a@example.net", "bob@example.net", smtpcheck.Reject, "554 5.7.1 <bob@example.net>: Relay access denied"},
			{"relaying to a domain without DNS", "192.0.2.20", "mx.example.net", "a@example.net", "bob@elsewhere.example", smtpcheck.TempFail, "450 4.1.2 <bob@elsewhere.example>: Recipient address rejected: Domain not found"},
			{"mynetworks may relay", "127.0.0.1", "mx.example.net", "a@example.net", "bob@elsewhere.example", smtpcheck.Continue, ""},
			{"non-fqdn recipient", "192.0.2.20", "mx.example.net", "a@example.net", "bob@localhost", smtpcheck.Reject, "504 5.5.2 <bob@localhost>"},
			{"invalid helo", "192.0.2.20", "[300.1.2.3]", "a@example.net", "bob@example.org", smtpcheck.Reject, "501 5.5.2"},
			{"unverified recipient", "192.0.2.20", "mx.example.net", "a@example.net", "nobody@example.org", smtpcheck.TempFail, "450 4.1.1 <nobody@example.org>"}, // unverified_recipient_reject_code = 450
		})
	})

	t.Run("client block", func(t *testing.T) {
		cfg, err := postconf.Load(filepath.Join("testdata", "tutorial_client.cf"), env)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if !cfg.HeloRequired {
			t.Errorf("smtpd_helo_required = yes not applied")
		}
		checkVerdicts(t, cfg.Policy, []verdictCase{
			{"clean", "192.0.2.20", "mx.example.net", "a@example.net", "bob@example.org", smtpcheck.Continue, ""},
			{"no HELO", "192.0.2.20", "", "a@example.net", "bob@example.org", smtpcheck.Reject, "503 5.5.1"},
			{"non-fqdn helo", "192.0.2.20", "mx", "a@example.net", "bob@example.org", smtpcheck.Reject, "504 5.5.2 <mx>: Helo command rejected"},
			{"unknown client", "192.0.2.30", "mx.example.net", "a@example.net", "bob@example.org", smtpcheck.TempFail, "450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.30]"},
			{"listed client", "192.0.2.21", "mx2.example.net", "a@example.net", "bob@example.org", smtpcheck.Reject, "554 5.7.1 Service unavailable; Client host [192.0.2.21] blocked using sorbs.test"},
			{"listed sender (dsn)", "192.0.2.20", "mx.example.net", "a@bounces.example", "bob@example.org", smtpcheck.Reject, "554 5.7.1 Service unavailable; Sender address [a@bounces.example] blocked using dsn.test"},
			{"mynetworks", "127.0.0.1", "localhost", "a@localhost", "bob@example.org", smtpcheck.Continue, ""},
		})
	})
}

// An access table's DEFER_IF_REJECT makes later rejections of the same list
// temporary; WARN logs and lets the request go on.
func TestAccessTableVerbs(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "client.cidr")
	os.WriteFile(table, []byte("192.0.2.0/24 DEFER_IF_REJECT\n198.51.100.0/24 WARN watch this one\n"), 0o644)
	var buf bytes.Buffer
	env := postconf.Env{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Domains: []string{"example.org"}}
	cfg := build(t, "smtpd_client_restrictions = check_client_access cidr:"+table+", reject\n", env)

	d := run(t, cfg.Policy, "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org")
	checktest.AssertVerdict(t, d.Result, smtpcheck.TempFail, 450, "4.7.1", "")
	d = run(t, cfg.Policy, "198.51.100.1", "mx.example.net", "a@example.net", "b@example.org")
	checktest.AssertVerdict(t, d.Result, smtpcheck.Reject, 554, "5.7.1", "")
	if !strings.Contains(buf.String(), "watch this one") {
		t.Errorf("WARN was not logged:\n%s", buf.String())
	}
}
