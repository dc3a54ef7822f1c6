package postconf_test

import (
	"bytes"
	"context"
	"errors"
	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// Each restriction answers with Postfix 3.7's code, enhanced code and text
// (smtpd_check.c), and the *_reject_code parameters change the code as they
// do in Postfix. The cases without DNS were checked against a Postfix
// 3.7.11 smtpd; the others follow its smtpd_check.c.
func TestPostfixReplies(t *testing.T) {
	res := testDNS(t)
	env := postconf.Env{Resolver: res, Domains: []string{"example.org"}}
	dir := t.TempDir()
	table := filepath.Join(dir, "access")
	if err := os.WriteFile(table, []byte(`later.example    450 4.7.1 come back later
away.example     550 5.7.1 go away
plain.example    DEFER
text.example     DEFER text
rej.example      REJECT
bye.example      421 closing time
`), 0o644); err != nil {
		t.Fatal(err)
	}
	senderTable := "smtpd_sender_restrictions = check_sender_access hash:" + table + "\n"
	tests := []struct {
		name       string
		conf       string
		ip, helo   string
		from, rcpt string
		wantAction smtpcheck.Action
		wantReply  string // the whole first reply line
	}{
		{"table 450 kept", senderTable, "192.0.2.1", "mx.example.net", "a@later.example", "b@example.org", smtpcheck.TempFail,
			"450 4.7.1 <a@later.example>: Sender address rejected: come back later"},
		{"table 550 kept", senderTable, "192.0.2.1", "mx.example.net", "a@away.example", "b@example.org", smtpcheck.Reject,
			"550 5.7.1 <a@away.example>: Sender address rejected: go away"},
		{"table 421 hangs up", senderTable, "192.0.2.1", "mx.example.net", "a@bye.example", "b@example.org", smtpcheck.Disconnect,
			"421 4.7.1 <a@bye.example>: Sender address rejected: closing time"},
		{"table DEFER", senderTable, "192.0.2.1", "mx.example.net", "a@plain.example", "b@example.org", smtpcheck.TempFail,
			"450 4.7.1 <a@plain.example>: Sender address rejected: Access denied"},
		{"table DEFER text", senderTable, "192.0.2.1", "mx.example.net", "a@text.example", "b@example.org", smtpcheck.TempFail,
			"450 4.7.1 <a@text.example>: Sender address rejected: text"},
		{"table REJECT", senderTable, "192.0.2.1", "mx.example.net", "a@rej.example", "b@example.org", smtpcheck.Reject,
			"554 5.7.1 <a@rej.example>: Sender address rejected: Access denied"},
		{"access_map_defer_code", "access_map_defer_code = 451\n" + senderTable, "192.0.2.1", "mx.example.net", "a@plain.example", "b@example.org", smtpcheck.TempFail,
			"451 4.7.1 <a@plain.example>: Sender address rejected: Access denied"},
		{"access_map_reject_code", "access_map_reject_code = 550\n" + senderTable, "192.0.2.1", "mx.example.net", "a@rej.example", "b@example.org", smtpcheck.Reject,
			"550 5.7.1 <a@rej.example>: Sender address rejected: Access denied"},
		{"access_map_reject_code does not touch explicit codes", "access_map_reject_code = 550\n" + senderTable, "192.0.2.1", "mx.example.net", "a@later.example", "b@example.org", smtpcheck.TempFail,
			"450 4.7.1 <a@later.example>: Sender address rejected: come back later"},
		{"bad address literal under reject_non_fqdn_helo_hostname", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", "192.0.2.1", "[1.2.3]", "a@example.net", "b@example.org", smtpcheck.Reject,
			"501 5.5.2 <[1.2.3]>: Helo command rejected: invalid ip address"},
		{"non-FQDN HELO 192.0.2.1", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", "192.0.2.1", "192.0.2.1", "a@example.net", "b@example.org", smtpcheck.Reject, "504 5.5.2 <192.0.2.1>: Helo command rejected: need fully-qualified hostname"},
		{"non-FQDN HELO mx.example.net.", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", "192.0.2.1", "mx.example.net.", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"non-FQDN HELO a_b.example", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", "192.0.2.1", "a_b.example", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"non-FQDN HELO x..example", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", "192.0.2.1", "x..example", "a@example.net", "b@example.org", smtpcheck.Reject, "504 5.5.2 <x..example>: Helo command rejected: need fully-qualified hostname"},
		{"non-FQDN HELO [IPv6:::1]", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", "192.0.2.1", "[IPv6:::1]", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"non-FQDN HELO [::1]", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", "192.0.2.1", "[::1]", "a@example.net", "b@example.org", smtpcheck.Reject, "501 5.5.2 <[::1]>: Helo command rejected: invalid ip address"},
		{"non-FQDN HELO [1.2.3.4]", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", "192.0.2.1", "[1.2.3.4]", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"non-FQDN HELO mx", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname", "192.0.2.1", "mx", "a@example.net", "b@example.org", smtpcheck.Reject, "504 5.5.2 <mx>: Helo command rejected: need fully-qualified hostname"},
		{"bad address literal under reject_invalid_helo_hostname", "smtpd_helo_restrictions = reject_invalid_helo_hostname", "192.0.2.1", "[1.2.3]", "a@example.net", "b@example.org", smtpcheck.Reject,
			"501 5.5.2 <[1.2.3]>: Helo command rejected: invalid ip address"},
		{"bad address literal under reject_unknown_helo_hostname", "smtpd_helo_restrictions = reject_unknown_helo_hostname", "192.0.2.1", "[1.2.3]", "a@example.net", "b@example.org", smtpcheck.Reject,
			"501 5.5.2 <[1.2.3]>: Helo command rejected: invalid ip address"},
		{"invalid name", "smtpd_helo_restrictions = reject_invalid_helo_hostname", "192.0.2.1", "bad!name.example", "a@example.net", "b@example.org", smtpcheck.Reject,
			"501 5.5.2 <bad!name.example>: Helo command rejected: Invalid name"},
		{"underscore is a valid name", "smtpd_helo_restrictions = reject_invalid_helo_hostname", "192.0.2.1", "my_host.example", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"bare address is valid", "smtpd_helo_restrictions = reject_invalid_helo_hostname", "192.0.2.1", "192.0.2.1", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"invalid_hostname_reject_code", "invalid_hostname_reject_code = 550\nsmtpd_helo_restrictions = reject_invalid_helo_hostname", "192.0.2.1", "-bad.example", "a@example.net", "b@example.org", smtpcheck.Reject,
			"550 5.5.2 <-bad.example>: Helo command rejected: Invalid name"},
		{"non_fqdn_reject_code", "non_fqdn_reject_code = 550\nsmtpd_helo_restrictions = reject_non_fqdn_helo_hostname", "192.0.2.1", "localhost", "a@example.net", "b@example.org", smtpcheck.Reject,
			"550 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"},
		{"unknown_hostname_reject_code", "unknown_hostname_reject_code = 550\nsmtpd_helo_restrictions = reject_unknown_helo_hostname", "192.0.2.1", "nowhere.nxdomain.example", "a@example.net", "b@example.org", smtpcheck.Reject,
			"550 5.7.1 <nowhere.nxdomain.example>: Helo command rejected: Host not found"},
		{"null MX HELO name is known", "smtpd_helo_restrictions = reject_unknown_helo_hostname", "192.0.2.1", "nullmx.example", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"bare address HELO is looked up as a name", "smtpd_helo_restrictions = reject_unknown_helo_hostname", "192.0.2.1", "192.0.2.1", "a@example.net", "b@example.org", smtpcheck.TempFail,
			"450 4.7.1 <192.0.2.1>: Helo command rejected: Host not found"},
		{"unknown_client_reject_code", "unknown_client_reject_code = 550\nsmtpd_client_restrictions = reject_unknown_client_hostname", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Reject,
			"550 5.7.25 Client host rejected: cannot find your hostname, [192.0.2.1]"},
		{"reject_unknown_reverse_client_hostname", "smtpd_client_restrictions = reject_unknown_reverse_client_hostname", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.TempFail,
			"450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.1]"},
		{"unknown_address_reject_code", "unknown_address_reject_code = 554\nsmtpd_sender_restrictions = reject_unknown_sender_domain", "192.0.2.1", "mx.example.net", "a@nxdomain.example", "b@example.org", smtpcheck.Reject,
			"554 5.1.8 <a@nxdomain.example>: Sender address rejected: Domain not found"},
		{"sender null MX", "smtpd_sender_restrictions = reject_unknown_sender_domain", "192.0.2.1", "mx.example.net", "a@nullmx.example", "b@example.org", smtpcheck.Reject,
			"550 5.7.27 <a@nullmx.example>: Sender address rejected: Domain nullmx.example does not accept mail (nullMX)"},
		{"relay_domains_reject_code", "relay_domains_reject_code = 550\nsmtpd_recipient_restrictions = reject_unauth_destination", "192.0.2.1", "mx.example.net", "a@example.net", "b@elsewhere.example", smtpcheck.Reject,
			"550 5.7.1 <b@elsewhere.example>: Relay access denied"},
		{"defer_unauth_destination follows relay_domains_reject_code", "relay_domains_reject_code = 550\nsmtpd_recipient_restrictions = defer_unauth_destination", "192.0.2.1", "mx.example.net", "a@example.net", "b@elsewhere.example", smtpcheck.TempFail,
			"450 4.7.1 <b@elsewhere.example>: Relay access denied"},
		{"reject in the client list", "smtpd_client_restrictions = reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Reject,
			"554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied"},
		{"defer in the helo list", "smtpd_helo_restrictions = defer", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.TempFail,
			"450 4.3.2 <mx.example.net>: Helo command rejected: Try again later"},
		{"defer_if_permit", "smtpd_sender_restrictions = defer_if_permit", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.TempFail,
			"450 4.7.0 <a@example.net>: Sender address rejected: defer_if_permit requested"},
		{"defer_if_reject reaches the recipient list from the relay list", "compatibility_level = 3.6\nsmtpd_relay_restrictions = defer_if_reject, reject_unauth_destination\nsmtpd_recipient_restrictions = reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.TempFail,
			"450 4.7.0 <b@example.org>: Recipient address rejected: defer_if_reject requested"},
		{"defer_if_reject ends with its list", "smtpd_client_restrictions = defer_if_reject\nsmtpd_recipient_restrictions = reject", "192.0.2.1", "mx.example.net", "a@example.net", "b@example.org", smtpcheck.Reject,
			"554 5.7.1 <b@example.org>: Recipient address rejected: Access denied"},
		// An address without a domain is user@$myorigin to the
		// restrictions, as trivial-rewrite completes it for Postfix.
		{"bare recipient is relayed as user@$myorigin", "myhostname = mx.private.test\nsmtpd_recipient_restrictions = reject_unauth_destination", "192.0.2.1", "mx.example.net", "a@example.net", "bob", smtpcheck.Reject,
			"554 5.7.1 <bob>: Relay access denied"},
		{"bare recipient with a local $myorigin", "myorigin = example.org\nsmtpd_recipient_restrictions = reject_unauth_destination", "192.0.2.1", "mx.example.net", "a@example.net", "bob", smtpcheck.Continue, ""},
		{"append_at_myorigin = no keeps a bare recipient local", "append_at_myorigin = no\nsmtpd_recipient_restrictions = reject_unauth_destination", "192.0.2.1", "mx.example.net", "a@example.net", "bob", smtpcheck.Continue, ""},
		{"bare sender's domain is $myorigin", "myhostname = nowhere.nxdomain.example\nsmtpd_sender_restrictions = reject_unknown_sender_domain", "192.0.2.1", "mx.example.net", "alice", "b@example.org", smtpcheck.TempFail,
			"450 4.1.8 <alice>: Sender address rejected: Domain not found"},
		{"bare sender is looked up as user@$myorigin", "myorigin = spammer.example\nsmtpd_sender_restrictions = check_sender_access inline:{ spammer.example=REJECT }", "192.0.2.1", "mx.example.net", "alice", "b@example.org", smtpcheck.Reject,
			"554 5.7.1 <alice>: Sender address rejected: Access denied"},
		{"bare sender stays bare for reject_non_fqdn_sender", "myorigin = example.org\nsmtpd_sender_restrictions = reject_non_fqdn_sender", "192.0.2.1", "mx.example.net", "alice", "b@example.org", smtpcheck.Reject,
			"504 5.5.2 <alice>: Sender address rejected: need fully-qualified address"},
		// Postfix skips the HELO list whole for a client that sent no HELO.
		{"no HELO, no HELO list", "smtpd_helo_restrictions = reject", "192.0.2.1", "", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		{"no HELO, no HELO list without delay", "smtpd_delay_reject = no\nsmtpd_helo_restrictions = check_helo_access static:REJECT", "192.0.2.1", "", "a@example.net", "b@example.org", smtpcheck.Continue, ""},
		// A HELO name that is no DNS name is "not found" to Postfix, a
		// refusal that ends the list, not a lookup failure.
		{"malformed HELO name not found", "smtpd_helo_restrictions = reject_unknown_helo_hostname\nsmtpd_recipient_restrictions = reject", "192.0.2.1", "bad_host!.example", "a@example.net", "b@example.org", smtpcheck.TempFail,
			"450 4.7.1 <bad_host!.example>: Helo command rejected: Host not found"},
		{"non-FQDN recipient", "relay_domains = localhost\nsmtpd_recipient_restrictions = reject_non_fqdn_recipient", "192.0.2.1", "mx.example.net", "a@example.net", "b@localhost", smtpcheck.Reject,
			"504 5.5.2 <b@localhost>: Recipient address rejected: need fully-qualified address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := build(t, tt.conf, env)
			d := run(t, cfg.Policy, tt.ip, tt.helo, tt.from, tt.rcpt)
			if d.Result.Action != tt.wantAction {
				t.Fatalf("verdict = %v (%s: %s), want %v", d.Result.Action, d.Result.Reason, d.Result.DefaultReply().Error(), tt.wantAction)
			}
			if tt.wantReply != "" {
				if got := strings.SplitN(d.Result.DefaultReply().Error(), "\n", 2)[0]; got != tt.wantReply {
					t.Errorf("reply = %q, want %q", got, tt.wantReply)
				}
			}
		})
	}
}

// An allowlisted client is no permit to relay: permit_dnswl_client and
// permit_rhswl_client are skipped for a recipient this server does not
// take mail for, so reject_unauth_destination still answers.
func TestAllowlistNeverRelays(t *testing.T) {
	res := testDNS(t)
	env := postconf.Env{Resolver: res, Domains: []string{"example.org"}}
	tests := []struct {
		name, conf, ip, rcpt string
		wantAction           smtpcheck.Action
		wantReply            string
	}{
		{"dnswl, foreign recipient", "smtpd_recipient_restrictions = permit_dnswl_client wl.test, reject_unauth_destination",
			"192.0.2.66", "eve@elsewhere.example", smtpcheck.Reject, "554 5.7.1 <eve@elsewhere.example>: Relay access denied"},
		{"dnswl, local recipient", "smtpd_recipient_restrictions = permit_dnswl_client wl.test, reject_unauth_destination, reject",
			"192.0.2.66", "bob@example.org", smtpcheck.Continue, ""},
		{"dnswl, unlisted client", "smtpd_recipient_restrictions = permit_dnswl_client wl.test, reject",
			"192.0.2.1", "bob@example.org", smtpcheck.Reject, "554 5.7.1 <bob@example.org>: Recipient address rejected: Access denied"},
		{"rhswl, foreign recipient", "smtpd_recipient_restrictions = permit_rhswl_client dbl.test, reject_unauth_destination",
			"192.0.2.99", "eve@elsewhere.example", smtpcheck.Reject, "554 5.7.1 <eve@elsewhere.example>: Relay access denied"},
		{"rhswl, local recipient", "smtpd_recipient_restrictions = permit_rhswl_client dbl.test, reject",
			"192.0.2.99", "bob@example.org", smtpcheck.Continue, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := build(t, tt.conf, env)
			b := checktest.NewSession(tt.ip)
			if tt.ip == "192.0.2.99" {
				b = b.PTR("spammer.example")
			}
			ctx := t.Context()
			d := cfg.Policy.Evaluate(ctx, b.Helo("mx.example.net").From("a@example.net").To(tt.rcpt).Session())
			if d.Result.Action != tt.wantAction {
				t.Fatalf("verdict = %v (%s), want %v", d.Result.Action, d.Result.Reason, tt.wantAction)
			}
			if tt.wantReply != "" {
				if got := d.Result.DefaultReply().Error(); got != tt.wantReply {
					t.Errorf("reply = %q, want %q", got, tt.wantReply)
				}
			}
		})
	}
}

// Without any domain known (a policy service's file that names none), the
// allowlist still permits: the service never answers Postfix OK, so
// Postfix's own relay control stands.
func TestAllowlistWithoutDomains(t *testing.T) {
	cfg := build(t, "smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = permit_dnswl_client wl.test, reject", postconf.Env{Resolver: testDNS(t)})
	if d := run(t, cfg.Policy, "192.0.2.66", "mx.example.net", "a@example.net", "bob@example.org"); d.Result.Action != smtpcheck.Continue {
		t.Errorf("listed client = %v (%s), want permitted", d.Result.Action, d.Result.Reason)
	}
}

// RCPT TO:<postmaster> without a domain passes every list, as in Postfix;
// postmaster@ a foreign domain does not.
func TestBarePostmaster(t *testing.T) {
	env := postconf.Env{Domains: []string{"example.org"}}
	conf := "smtpd_client_restrictions = reject\nsmtpd_sender_restrictions = reject\n" +
		"smtpd_recipient_restrictions = reject_non_fqdn_recipient, reject_unauth_destination, reject\n"
	cfg := build(t, conf, env)
	for _, rcpt := range []string{"postmaster", "Postmaster", "POSTMASTER"} {
		if d := run(t, cfg.Policy, "192.0.2.1", "mx.example.net", "a@example.net", rcpt); d.Result.Action != smtpcheck.Continue {
			t.Errorf("RCPT TO:<%s> = %v (%s), want it accepted", rcpt, d.Result.Action, d.Result.Reason)
		}
	}
	for _, rcpt := range []string{"postmaster@elsewhere.example", "postmistress", "bob@example.org"} {
		if d := run(t, cfg.Policy, "192.0.2.1", "mx.example.net", "a@example.net", rcpt); d.Result.Action != smtpcheck.Reject {
			t.Errorf("RCPT TO:<%s> = %v, want Reject", rcpt, d.Result.Action)
		}
	}
}

// reject_unauth_pipelining answers Postfix's 503 5.5.0 with the subject of
// the list it sits in.
func TestUnauthPipeliningReply(t *testing.T) {
	tests := []struct{ conf, want string }{
		{"smtpd_helo_restrictions = reject_unauth_pipelining", "503 5.5.0 <mx.example.net>: Helo command rejected: Improper use of SMTP command pipelining"},
		{"smtpd_sender_restrictions = reject_unauth_pipelining", "503 5.5.0 <a@example.net>: Sender address rejected: Improper use of SMTP command pipelining"},
		{"smtpd_data_restrictions = reject_unauth_pipelining", "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining"},
	}
	for _, tt := range tests {
		cfg := build(t, tt.conf, postconf.Env{Domains: []string{"example.org"}})
		s := checktest.NewSession("192.0.2.1").Helo("mx.example.net").From("a@example.net").To("b@example.org").Session()
		s.Proto.Pipelined = true
		ctx := t.Context()
		d := cfg.Policy.Evaluate(ctx, s)
		if d.Result.Action == smtpcheck.Continue {
			s.Stage = smtpcheck.StageData
			d = cfg.Policy.Evaluate(ctx, s)
		}
		if got := d.Result.DefaultReply().Error(); got != tt.want {
			t.Errorf("%s: reply = %q, want %q", tt.conf, got, tt.want)
		}
		s.Proto.Pipelined, s.Stage = false, smtpcheck.StageRcpt
		if d := cfg.Policy.Evaluate(ctx, s); d.Result.Action != smtpcheck.Continue {
			t.Errorf("%s: a client that waits = %v, want no refusal", tt.conf, d.Result.Action)
		}
	}
}

// A list filter that names a "query refused" answer (127.255.255.x) asks
// for exactly that answer: it lists, and under warn_if_reject it warns,
// as in Postfix. Without such a filter the answer never lists.
func TestFilterNamesRefusedAnswer(t *testing.T) {
	res := testDNS(t)
	var logs bytes.Buffer
	env := postconf.Env{Resolver: res, Domains: []string{"example.org"}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	tests := []struct {
		conf string
		want smtpcheck.Action
	}{
		{"smtpd_client_restrictions = reject_rbl_client zen.test", smtpcheck.Continue},
		{"smtpd_client_restrictions = reject_rbl_client zen.test=127.255.255.254", smtpcheck.Reject},
		{"smtpd_client_restrictions = warn_if_reject reject_rbl_client zen.test=127.255.255.[1..255]", smtpcheck.Continue},
	}
	for _, tt := range tests {
		d := run(t, build(t, tt.conf, env).Policy, "192.0.2.69", "mx.example.net", "a@example.net", "b@example.org")
		if d.Result.Action != tt.want {
			t.Errorf("%s: verdict = %v, want %v", tt.conf, d.Result.Action, tt.want)
		}
	}
	if !strings.Contains(logs.String(), "reject_warning") || !strings.Contains(logs.String(), "blocked using zen.test") {
		t.Errorf("warn_if_reject with a filter naming 127.255.255.254 logged no warning:\n%s", logs.String())
	}
}

// reject_unverified_recipient answers as Postfix: "unverified address" at
// a 4xx code, "undeliverable address" at a 5xx one, with the reason the
// verifier gave or unverified_recipient_reject_reason.
func TestUnverifiedRecipientReplies(t *testing.T) {
	env := postconf.Env{Domains: []string{"example.org"}, VerifyRecipient: func(ctx context.Context, a smtpcheck.Address) error {
		switch a.Local {
		case "nobody":
			return postconf.ErrUndeliverable
		case "slow":
			return errors.New("verification timed out")
		}
		return nil
	}}
	const list = "smtpd_recipient_restrictions = reject_unverified_recipient\n"
	tests := []struct {
		conf, rcpt string
		want       smtpcheck.Action
		reply      string
	}{
		{list, "bob@example.org", smtpcheck.Continue, ""},
		{list, "nobody@example.org", smtpcheck.TempFail, `450 4.1.1 <nobody@example.org>: Recipient address rejected: unverified address: unknown user: "nobody@example.org"`},
		{"unverified_recipient_reject_code = 550\n" + list, "nobody@example.org", smtpcheck.Reject, `550 5.1.1 <nobody@example.org>: Recipient address rejected: undeliverable address: unknown user: "nobody@example.org"`},
		{"unverified_recipient_reject_code = 550\nunverified_recipient_reject_reason = no such mailbox\n" + list, "nobody@example.org", smtpcheck.Reject, `550 5.1.1 <nobody@example.org>: Recipient address rejected: undeliverable address: no such mailbox`},
		{list, "slow@example.org", smtpcheck.TempFail, `450 4.1.1 <slow@example.org>: Recipient address rejected: unverified address: verification timed out`},
	}
	for _, tt := range tests {
		d := run(t, build(t, tt.conf, env).Policy, "192.0.2.1", "mx.example.net", "a@example.net", tt.rcpt)
		if d.Result.Action != tt.want {
			t.Errorf("%q to %s: verdict = %v, want %v", tt.conf, tt.rcpt, d.Result.Action, tt.want)
			continue
		}
		if tt.reply != "" {
			if got := d.Result.DefaultReply().Error(); got != tt.reply {
				t.Errorf("%q to %s: reply = %q, want %q", tt.conf, tt.rcpt, got, tt.reply)
			}
		}
	}
}

// A DNS lookup that fails now is Postfix's 450 "not found" reply, as
// defer_if_permit (the default) or defer, per *_tempfail_action.
func TestTempfailActions(t *testing.T) {
	srv := dnstest.New(t)
	srv.Zone("example.net.", 60)
	srv.ServFail("broken.example.net.")
	res := srv.Resolver(resolver.Config{})
	env := postconf.Env{Resolver: res, Domains: []string{"example.org"}}
	tests := []struct {
		conf, helo, from string
		want             smtpcheck.Action // the last restriction permits: what is left of the failure
		reply            string
	}{
		{"smtpd_helo_restrictions = reject_unknown_helo_hostname, permit", "broken.example.net", "a@example.org", smtpcheck.TempFail,
			"450 4.7.1 <broken.example.net>: Helo command rejected: Host not found"},
		{"unknown_helo_hostname_tempfail_action = defer\nsmtpd_helo_restrictions = reject_unknown_helo_hostname, permit", "broken.example.net", "a@example.org", smtpcheck.TempFail,
			"450 4.7.1 <broken.example.net>: Helo command rejected: Host not found"},
		{"smtpd_sender_restrictions = reject_unknown_sender_domain, permit", "mx.example.org", "a@broken.example.net", smtpcheck.TempFail,
			"450 4.1.8 <a@broken.example.net>: Sender address rejected: Domain not found"},
		{"unknown_address_tempfail_action = defer\nsmtpd_sender_restrictions = reject_unknown_sender_domain, permit", "mx.example.org", "a@broken.example.net", smtpcheck.TempFail,
			"450 4.1.8 <a@broken.example.net>: Sender address rejected: Domain not found"},
	}
	for _, tt := range tests {
		cfg := build(t, tt.conf, env)
		d := run(t, cfg.Policy, "192.0.2.1", tt.helo, tt.from, "b@example.org")
		if d.Result.Action != tt.want {
			t.Errorf("%q: verdict = %v (%s), want %v", tt.conf, d.Result.Action, d.Result.Reason, tt.want)
			continue
		}
		if got := d.Result.DefaultReply().Error(); got != tt.reply {
			t.Errorf("%q: reply = %q, want %q", tt.conf, got, tt.reply)
		}
	}
	// defer answers at once; defer_if_permit waits for the lists' end, so a
	// later rejection in another list still wins.
	for conf, want := range map[string]smtpcheck.Action{
		"smtpd_sender_restrictions = reject_unknown_sender_domain\nsmtpd_recipient_restrictions = reject":                                          smtpcheck.Reject,
		"unknown_address_tempfail_action = defer\nsmtpd_sender_restrictions = reject_unknown_sender_domain\nsmtpd_recipient_restrictions = reject": smtpcheck.TempFail,
	} {
		if d := run(t, build(t, conf, env).Policy, "192.0.2.1", "mx.example.org", "a@broken.example.net", "b@example.org"); d.Result.Action != want {
			t.Errorf("%q: verdict = %v, want %v", conf, d.Result.Action, want)
		}
	}
}

// Access-table actions: HOLD, DISCARD and PREPEND are carried out; FILTER,
// REDIRECT, BCC and restriction classes, which only Postfix carries out,
// refuse the file at load with each table line, unless the front-end
// passes them to Postfix.
func TestTableActionsCarriedOut(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "sender_access")
	if err := os.WriteFile(table, []byte("held.example HOLD suspicious\ngone.example DISCARD\ntag.example PREPEND X-Tag: yes\n"+
		"# the rest only Postfix carries out\nfilt.example FILTER smtp:[127.0.0.1]:10025\nredir.example REDIRECT abuse@example.org\nbcc.example BCC archive@example.org\nclass.example my_class\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := "smtpd_sender_restrictions = check_sender_access hash:" + table + "\n"
	f, err := postconf.Parse(strings.NewReader(conf), "main.cf")
	if err != nil {
		t.Fatal(err)
	}
	_, err = postconf.Build(f, postconf.Env{Domains: []string{"example.org"}})
	for _, want := range []string{"main.cf:1", table + ":5", "FILTER smtp:[127.0.0.1]:10025", table + ":6", table + ":7", table + ":8", `"my_class"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Build with Postfix-only actions = %v, want an error naming %q", err, want)
		}
	}

	cfg := build(t, conf, postconf.Env{Domains: []string{"example.org"}, PassActions: true})
	tests := []struct {
		from   string
		action smtpcheck.Action
		passed string
	}{
		{"a@held.example", smtpcheck.Quarantine, ""},
		{"a@gone.example", smtpcheck.Discard, ""},
		{"a@tag.example", smtpcheck.Continue, ""},
		{"a@filt.example", smtpcheck.Continue, "FILTER smtp:[127.0.0.1]:10025"},
		{"a@redir.example", smtpcheck.Continue, "REDIRECT abuse@example.org"},
		{"a@class.example", smtpcheck.Continue, "my_class"},
	}
	for _, tt := range tests {
		s := checktest.NewSession("192.0.2.1").Helo("mx.example.net").From(tt.from).To("b@example.org").Session()
		d := cfg.Policy.Evaluate(t.Context(), s)
		if d.Result.Action != tt.action {
			t.Errorf("%s: verdict = %v, want %v", tt.from, d.Result.Action, tt.action)
		}
		var passed []string
		for _, a := range postfix.PassedOn(s) {
			passed = append(passed, a.String())
		}
		if got := strings.Join(passed, ","); got != tt.passed {
			t.Errorf("%s: passed on = %q, want %q", tt.from, got, tt.passed)
		}
		if tt.from == "a@tag.example" && (len(d.Result.Headers) != 1 || d.Result.Headers[0].Name != "X-Tag") {
			t.Errorf("PREPEND: headers = %+v, want X-Tag", d.Result.Headers)
		}
	}
}

// reject_rhsbl_client names the client host as Postfix's default_rbl_reply
// does: "Client host [name]".
func TestRHSBLClientReply(t *testing.T) {
	res := testDNS(t)
	cfg := build(t, "smtpd_client_restrictions = reject_rhsbl_client dbl.test", postconf.Env{Resolver: res, Domains: []string{"example.org"}})
	s := checktest.NewSession("192.0.2.99").PTR("spammer.example").Helo("mx.example.net").From("a@example.net").To("b@example.org").Session()
	d := cfg.Policy.Evaluate(t.Context(), s)
	if got, want := d.Result.DefaultReply().Error(), "554 5.7.1 Service unavailable; Client host [spammer.example] blocked using dbl.test"; got != want {
		t.Errorf("reply = %q, want %q", got, want)
	}
}

// An allowlist that cannot answer now turns a later rejection in its list
// into Postfix's 450 "Service unavailable", as Postfix's permit_dnswl_client
// does, and no more.
func TestDNSWLFailureDefersRejection(t *testing.T) {
	srv := dnstest.New(t)
	srv.Zone("wl.test.", 60)
	srv.ServFail("7.2.0.192.wl.test.")
	res := srv.Resolver(resolver.Config{})
	env := postconf.Env{Resolver: res, Domains: []string{"example.org"}}
	cfg := build(t, "smtpd_recipient_restrictions = permit_dnswl_client wl.test, reject", env)
	d := run(t, cfg.Policy, "192.0.2.7", "mx.example.net", "a@example.net", "b@example.org")
	if got, want := d.Result.DefaultReply().Error(), "450 4.7.1 <192.0.2.7>: Client host rejected: Service unavailable"; d.Result.Action != smtpcheck.TempFail || got != want {
		t.Errorf("allowlist down, then reject = %v %q, want TempFail %q", d.Result.Action, got, want)
	}
	d = run(t, cfg.Policy, "192.0.2.8", "mx.example.net", "a@example.net", "b@example.org")
	if d.Result.Action != smtpcheck.Reject {
		t.Errorf("allowlist answering, then reject = %v, want Reject", d.Result.Action)
	}
}

// A table entry naming restrictions is evaluated in place, for the
// table's subject, as Postfix does: its permit permits the list, its
// refusal refuses.
func TestTableRestrictionNames(t *testing.T) {
	table := filepath.Join(t.TempDir(), "sender_access")
	if err := os.WriteFile(table, []byte("ok.example permit\nno.example reject\nhelo.example reject_non_fqdn_helo_hostname\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := build(t, "smtpd_sender_restrictions = check_sender_access hash:"+table+", reject", postconf.Env{Domains: []string{"example.org"}})
	tests := []struct {
		helo, from string
		want       string // "" for no refusal
	}{
		{"mx.example.net", "a@ok.example", ""},
		{"mx.example.net", "a@no.example", "554 5.7.1 <a@no.example>: Sender address rejected: Access denied"},
		{"localhost", "a@helo.example", "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname"},
		{"mx.example.net", "a@helo.example", "554 5.7.1 <a@helo.example>: Sender address rejected: Access denied"},
	}
	for _, tt := range tests {
		d := run(t, cfg.Policy, "192.0.2.1", tt.helo, tt.from, "b@example.org")
		got := ""
		if d.Result.Action.Refuses() {
			got = d.Result.DefaultReply().Error()
		}
		if got != tt.want {
			t.Errorf("HELO %s MAIL FROM %s: %v %q, want %q", tt.helo, tt.from, d.Result.Action, got, tt.want)
		}
	}
}

// A restriction class named in an access table is evaluated in place also
// for a policy service (Env.PassActions) when the file defines it: the
// rest of the lists, smtpd_reject_unlisted_recipient's check included,
// sees its verdict, as in Postfix, and nothing is left for Postfix to
// evaluate again.
func TestTableClassEvaluatedInPlace(t *testing.T) {
	conf := "smtpd_restriction_classes = strict\nstrict = reject_non_fqdn_sender\n" +
		"relay_domains = relay.example\nrelay_recipient_maps = inline:{ bob@relay.example=x }\n" +
		"smtpd_recipient_restrictions = check_recipient_access inline:{ carol@relay.example=strict }\n"
	for _, pass := range []bool{false, true} {
		cfg := build(t, conf, postconf.Env{Domains: []string{"example.org"}, PassActions: pass})
		for _, tt := range []struct{ from, want string }{
			{"alice@workstation", "504 5.5.2 <alice@workstation>: Sender address rejected: need fully-qualified address"},
			{"alice@example.net", "550 5.1.1 <carol@relay.example>: Recipient address rejected: User unknown in relay recipient table"},
		} {
			s := checktest.NewSession("192.0.2.1").Helo("mx.example.net").From(tt.from).To("carol@relay.example").Session()
			d := cfg.Policy.Evaluate(t.Context(), s)
			if got := strings.SplitN(d.Result.DefaultReply().Error(), "\n", 2)[0]; got != tt.want {
				t.Errorf("PassActions %v, sender %s: reply = %q, want %q", pass, tt.from, got, tt.want)
			}
			if l := postfix.PassedOn(s); len(l) != 0 {
				t.Errorf("PassActions %v, sender %s: passed on %v, want nothing", pass, tt.from, l)
			}
		}
	}
}
