package postconf_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// replyCase is one session through one configuration and the first reply
// line Postfix's smtpd_check.c gives it ("" when the session passes).
type replyCase struct {
	name       string
	conf       string
	ip, helo   string
	from, rcpt string
	want       smtpcheck.Action
	reply      string
}

func runReplyCases(t *testing.T, env postconf.Env, tests []replyCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip, helo := tt.ip, tt.helo
			if ip == "" {
				ip = "192.0.2.1"
			}
			if helo == "" {
				helo = "mx.example.net"
			}
			d := run(t, build(t, tt.conf, env).Policy, ip, helo, tt.from, tt.rcpt)
			got := ""
			if d.Result.Action != smtpcheck.Continue {
				got = d.Result.DefaultReply().Error()
			}
			if d.Result.Action != tt.want || got != tt.reply {
				t.Errorf("from <%s> to <%s>: %v %q (%s), want %v %q", tt.from, tt.rcpt, d.Result.Action, got, d.Result.Reason, tt.want, tt.reply)
			}
		})
	}
}

// reject_rhsbl_recipient, reject_unverified_sender, smtpd_null_access_lookup_key
// and proxy: tables answer as Postfix's smtpd_check.c does.
func TestRHSBLAndVerifyReplies(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "access")
	if err := os.WriteFile(table, []byte("spammer.example REJECT go away\n<null> 550 5.7.1 no bounces here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	verify := func(ctx context.Context, a smtpcheck.Address) error {
		switch a.Local {
		case "nobody":
			return postconf.ErrUndeliverable
		case "slow":
			return errors.New("verification timed out")
		}
		return nil
	}
	env := postconf.Env{Resolver: testDNS(t), Domains: []string{"example.org"}, VerifyRecipient: verify, VerifySender: verify}
	const rhsbl = "relay_domains = example.org, spammer.example, 1.example\nsmtpd_recipient_restrictions = reject_rhsbl_recipient dbl.test\n"
	const unv = "smtpd_sender_restrictions = reject_unverified_sender\n"
	runReplyCases(t, env, []replyCase{
		{name: "rhsbl recipient listed", conf: rhsbl, from: "a@example.net", rcpt: "bob@spammer.example", want: smtpcheck.Reject,
			reply: "554 5.7.1 Service unavailable; Recipient address [bob@spammer.example] blocked using dbl.test"},
		{name: "rhsbl recipient maps_rbl_reject_code", conf: "maps_rbl_reject_code = 550\n" + rhsbl, from: "a@example.net", rcpt: "bob@spammer.example", want: smtpcheck.Reject,
			reply: "550 5.7.1 Service unavailable; Recipient address [bob@spammer.example] blocked using dbl.test"},
		{name: "rhsbl recipient default_rbl_reply", conf: "default_rbl_reply = $rbl_code 5.7.9 $rbl_class $rbl_what is on $rbl_domain\n" + rhsbl, from: "a@example.net", rcpt: "bob@spammer.example", want: smtpcheck.Reject,
			reply: "554 5.7.9 Recipient address bob@spammer.example is on dbl.test"},
		{name: "rhsbl recipient not listed", conf: rhsbl, from: "a@example.net", rcpt: "bob@example.org", want: smtpcheck.Continue},
		{name: "rhsbl recipient numeric last label", conf: rhsbl, from: "a@example.net", rcpt: "bob@1.example.123", want: smtpcheck.TempFail,
			reply: "454 4.7.1 <bob@1.example.123>: Relay access denied"},
		{name: "rhsbl sender names the address", conf: "smtpd_sender_restrictions = reject_rhsbl_sender dbl.test\n", from: "a@spammer.example", rcpt: "bob@example.org", want: smtpcheck.Reject,
			reply: "554 5.7.1 Service unavailable; Sender address [a@spammer.example] blocked using dbl.test"},
		{name: "rhsbl sender null", conf: "smtpd_sender_restrictions = reject_rhsbl_sender dbl.test\n", from: "", rcpt: "bob@example.org", want: smtpcheck.Continue},

		{name: "unverified sender deliverable", conf: unv, from: "alice@example.net", rcpt: "bob@example.org", want: smtpcheck.Continue},
		{name: "unverified sender null", conf: unv, from: "", rcpt: "bob@example.org", want: smtpcheck.Continue},
		{name: "unverified sender bounces (450 default)", conf: unv, from: "nobody@example.net", rcpt: "bob@example.org", want: smtpcheck.TempFail,
			reply: `450 4.1.7 <nobody@example.net>: Sender address rejected: unverified address: unknown user: "nobody@example.net"`},
		{name: "unverified_sender_reject_code", conf: "unverified_sender_reject_code = 550\n" + unv, from: "nobody@example.net", rcpt: "bob@example.org", want: smtpcheck.Reject,
			reply: `550 5.1.7 <nobody@example.net>: Sender address rejected: undeliverable address: unknown user: "nobody@example.net"`},
		{name: "unverified_sender_reject_reason", conf: "unverified_sender_reject_code = 550\nunverified_sender_reject_reason = Address verification failed\n" + unv, from: "nobody@example.net", rcpt: "bob@example.org", want: smtpcheck.Reject,
			reply: `550 5.1.7 <nobody@example.net>: Sender address rejected: undeliverable address: Address verification failed`},
		{name: "unverified sender cannot tell", conf: "unverified_sender_defer_code = 451\n" + unv, from: "slow@example.net", rcpt: "bob@example.org", want: smtpcheck.TempFail,
			reply: `451 4.1.7 <slow@example.net>: Sender address rejected: unverified address: verification timed out`},
		{name: "unverified_sender_tempfail_action defer_if_permit then reject", conf: "smtpd_sender_restrictions = reject_unverified_sender, reject\n", from: "slow@example.net", rcpt: "bob@example.org", want: smtpcheck.Reject,
			reply: `554 5.7.1 <slow@example.net>: Sender address rejected: Access denied`},

		{name: "null sender under smtpd_null_access_lookup_key", conf: "smtpd_null_access_lookup_key = <null>\nsmtpd_sender_restrictions = check_sender_access hash:" + table, from: "", rcpt: "bob@example.org", want: smtpcheck.Reject,
			reply: "550 5.7.1 <>: Sender address rejected: no bounces here"},
		{name: "null sender under the default key", conf: "smtpd_sender_restrictions = check_sender_access hash:" + table, from: "", rcpt: "bob@example.org", want: smtpcheck.Continue},
		{name: "proxy: table", conf: "smtpd_sender_restrictions = check_sender_access proxy:hash:" + table, from: "a@spammer.example", rcpt: "bob@example.org", want: smtpcheck.Reject,
			reply: "554 5.7.1 <a@spammer.example>: Sender address rejected: go away"},
	})
}

func TestUnverifiedSenderNeedsVerifier(t *testing.T) {
	f, err := postconf.Parse(strings.NewReader("smtpd_sender_restrictions = reject_unverified_sender\n"), "main.cf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postconf.Build(f, postconf.Env{}); err == nil {
		t.Error("reject_unverified_sender without a sender verifier loaded")
	}
}

// reject_unlisted_recipient and reject_unlisted_sender, explicit and
// implicit (smtpd_reject_unlisted_*), answer per address class as
// Postfix's check_rcpt_maps does.
func TestUnlistedReplies(t *testing.T) {
	const maps = "mydestination = example.org\nrelay_domains = relay.example\nrecipient_delimiter = +\n" +
		"local_recipient_maps = inline:{ bob@example.org=x, carol=x }\n" +
		"relay_recipient_maps = inline:{ bob@relay.example=x }\n" +
		"virtual_alias_maps = inline:{ alias.example=x, info@alias.example=bob@example.org }\n" +
		"virtual_mailbox_domains = mbox.example\nvirtual_mailbox_maps = inline:{ bob@mbox.example=x }\n"
	env := postconf.Env{}
	ok := func(name, conf, from, rcpt string) replyCase {
		return replyCase{name: name, conf: maps + conf, from: from, rcpt: rcpt, want: smtpcheck.Continue}
	}
	no := func(name, conf, from, rcpt string, want smtpcheck.Action, reply string) replyCase {
		return replyCase{name: name, conf: maps + conf, from: from, rcpt: rcpt, want: want, reply: reply}
	}
	runReplyCases(t, env, []replyCase{
		ok("local listed", "", "a@example.net", "bob@example.org"),
		ok("local listed by local part", "", "a@example.net", "carol@example.org"),
		ok("local listed, extension", "", "a@example.net", "bob+news@example.org"),
		ok("local postmaster", "", "a@example.net", "postmaster@example.org"),
		ok("local MAILER-DAEMON", "", "a@example.net", "MAILER-DAEMON@example.org"),
		no("local unlisted", "", "a@example.net", "dave@example.org", smtpcheck.Reject,
			"550 5.1.1 <dave@example.org>: Recipient address rejected: User unknown in local recipient table"),
		no("unknown_local_recipient_reject_code", "unknown_local_recipient_reject_code = 450\n", "a@example.net", "dave@example.org", smtpcheck.TempFail,
			"450 4.1.1 <dave@example.org>: Recipient address rejected: User unknown in local recipient table"),
		no("show_user_unknown_table_name = no", "show_user_unknown_table_name = no\n", "a@example.net", "dave@example.org", smtpcheck.Reject,
			"550 5.1.1 <dave@example.org>: Recipient address rejected: User unknown"),
		ok("relay listed", "", "a@example.net", "bob@relay.example"),
		no("relay unlisted", "", "a@example.net", "dave@relay.example", smtpcheck.Reject,
			"550 5.1.1 <dave@relay.example>: Recipient address rejected: User unknown in relay recipient table"),
		ok("virtual alias listed", "", "a@example.net", "info@alias.example"),
		no("virtual alias unlisted", "", "a@example.net", "dave@alias.example", smtpcheck.Reject,
			"550 5.1.1 <dave@alias.example>: Recipient address rejected: User unknown in virtual alias table"),
		ok("virtual mailbox listed", "", "a@example.net", "bob@mbox.example"),
		no("virtual mailbox unlisted", "unknown_virtual_mailbox_reject_code = 554\n", "a@example.net", "dave@mbox.example", smtpcheck.Reject,
			"554 5.1.1 <dave@mbox.example>: Recipient address rejected: User unknown in virtual mailbox table"),
		no("other domains are not checked", "", "a@example.net", "dave@elsewhere.example", smtpcheck.TempFail,
			"454 4.7.1 <dave@elsewhere.example>: Relay access denied"),
		ok("canonical_maps knows it", "canonical_maps = inline:{ dave@example.org=bob@example.org }\n", "a@example.net", "dave@example.org"),
		ok("implicit check off", "smtpd_reject_unlisted_recipient = no\n", "a@example.net", "dave@example.org"),
		no("explicit check", "smtpd_reject_unlisted_recipient = no\nsmtpd_recipient_restrictions = reject_unlisted_recipient, permit\n", "a@example.net", "dave@example.org", smtpcheck.Reject,
			"550 5.1.1 <dave@example.org>: Recipient address rejected: User unknown in local recipient table"),
		no("implicit check after a permit", "smtpd_recipient_restrictions = permit\n", "a@example.net", "dave@example.org", smtpcheck.Reject,
			"550 5.1.1 <dave@example.org>: Recipient address rejected: User unknown in local recipient table"),
		no("implicit check after warn_if_reject", "smtpd_recipient_restrictions = warn_if_reject reject_unlisted_recipient\n", "a@example.net", "dave@example.org", smtpcheck.Reject,
			"550 5.1.1 <dave@example.org>: Recipient address rejected: User unknown in local recipient table"),
		no("an earlier refusal answers first", "smtpd_recipient_restrictions = reject\n", "a@example.net", "dave@example.org", smtpcheck.Reject,
			"554 5.7.1 <dave@example.org>: Recipient address rejected: Access denied"),

		ok("sender not checked by default", "", "dave@example.org", "bob@example.org"),
		no("smtpd_reject_unlisted_sender", "smtpd_reject_unlisted_sender = yes\n", "dave@example.org", "bob@example.org", smtpcheck.Reject,
			"550 5.1.0 <dave@example.org>: Sender address rejected: User unknown in local recipient table"),
		no("reject_unlisted_sender in a virtual alias domain", "smtpd_sender_restrictions = reject_unlisted_sender\n", "dave@alias.example", "bob@example.org", smtpcheck.Reject,
			"550 5.1.7 <dave@alias.example>: Sender address rejected: User unknown in virtual alias table"),
		ok("null sender not checked", "smtpd_reject_unlisted_sender = yes\n", "", "bob@example.org"),
		ok("sender_canonical_maps knows it", "smtpd_reject_unlisted_sender = yes\nsender_canonical_maps = inline:{ dave@example.org=bob@example.org }\n", "dave@example.org", "bob@example.org"),
	})
}

// A file naming the system's user table is refused with its line: the
// server cannot read it, and checking nothing would accept every address.
func TestUnlistedRefusesSystemTables(t *testing.T) {
	f, err := postconf.Parse(strings.NewReader("mydestination = example.org\nlocal_recipient_maps = proxy:unix:passwd.byname\n"), "main.cf")
	if err != nil {
		t.Fatal(err)
	}
	_, err = postconf.Build(f, postconf.Env{})
	var pe *postconf.Error
	if !errors.As(err, &pe) || pe.Line != 2 || !strings.Contains(pe.Msg, "cannot be read") {
		t.Errorf("Build() = %v, want main.cf:2: ... cannot be read", err)
	}
}

// smtpd_restriction_classes: a class is a restriction and an access
// table's result, evaluated in place for the list that used it.
func TestRestrictionClasses(t *testing.T) {
	const classes = "smtpd_restriction_classes = from_friends, strict\nfrom_friends = permit\nstrict = reject_non_fqdn_sender, reject\n"
	runReplyCases(t, postconf.Env{Domains: []string{"example.org"}}, []replyCase{
		{name: "class as a table result permits", conf: classes + "smtpd_sender_restrictions = check_sender_access inline:{ friend.example=from_friends }, reject\n",
			from: "a@friend.example", rcpt: "bob@example.org", want: smtpcheck.Continue},
		{name: "no class, the list goes on", conf: classes + "smtpd_sender_restrictions = check_sender_access inline:{ friend.example=from_friends }, reject\n",
			from: "a@other.example", rcpt: "bob@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <a@other.example>: Sender address rejected: Access denied"},
		{name: "class names the subject of the list using it", conf: classes + "smtpd_recipient_restrictions = check_recipient_access inline:{ bob@example.org=strict }\n",
			from: "a@example.net", rcpt: "bob@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <bob@example.org>: Recipient address rejected: Access denied"},
		{name: "restrictions in a class keep their own subject", conf: classes + "smtpd_recipient_restrictions = check_recipient_access inline:{ bob@example.org=strict }\n",
			from: "a@localhost", rcpt: "bob@example.org", want: smtpcheck.Reject, reply: "504 5.5.2 <a@localhost>: Sender address rejected: need fully-qualified address"},
		{name: "class as a restriction", conf: classes + "smtpd_client_restrictions = strict\n",
			from: "a@example.net", rcpt: "bob@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied"},
		{name: "a class's permit ends the list that used it", conf: classes + "smtpd_client_restrictions = from_friends, reject\n",
			from: "a@example.net", rcpt: "bob@example.org", want: smtpcheck.Continue},
	})
}

func TestRestrictionClassErrors(t *testing.T) {
	for _, tt := range []struct{ name, conf, want string }{
		{"no definition", "smtpd_restriction_classes = nothing\nsmtpd_client_restrictions = nothing\n", `restriction class "nothing" needs a definition`},
		{"uses itself", "smtpd_restriction_classes = loop\nloop = permit_mynetworks, loop\nsmtpd_client_restrictions = loop\n", `restriction class "loop" uses itself`},
		{"not declared", "my_class = reject\nsmtpd_client_restrictions = my_class\n", `unknown restriction "my_class"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := postconf.Parse(strings.NewReader(tt.conf), "main.cf")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := postconf.Build(f, postconf.Env{}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// serverDNS holds the hosts the check_*_{mx,ns,a}_access tests follow.
func serverDNS(t *testing.T) *resolver.Resolver {
	t.Helper()
	srv := dnstest.New(t)
	srv.Add(
		"mxhost.example. 300 IN MX 10 mx1.badhost.example.",
		"mx1.badhost.example. 300 IN A 192.0.2.50",
		"nomx.example. 300 IN A 192.0.2.51",
		"nullmx.example. 300 IN MX 0 .",
		"nsdomain.example. 300 IN NS ns1.badns.example.",
		"ns1.badns.example. 300 IN A 192.0.2.52",
		"mx.example.net. 300 IN A 192.0.2.20",
		"20.2.0.192.in-addr.arpa. 300 IN PTR mx.example.net.",
		"30.2.0.192.in-addr.arpa. 300 IN PTR forged.example.net.",
		"forged.example.net. 300 IN A 192.0.2.99",
	)
	for _, z := range []string{"mxhost.example.", "badhost.example.", "nomx.example.", "nullmx.example.", "nsdomain.example.", "badns.example.", "example.net.", "example.org.", "2.0.192.in-addr.arpa."} {
		srv.Zone(z, 60)
	}
	res := srv.Resolver(resolver.Config{})
	return res
}

// check_*_{mx,ns,a}_access and check_reverse_client_hostname_access look up
// what Postfix's check_server_access and check_namadr_access do, and
// answer with its replies.
func TestServerAccessReplies(t *testing.T) {
	env := postconf.Env{Resolver: serverDNS(t), Domains: []string{"example.org"}}
	const badMX = "{192.0.2.50 REJECT bad mail server}"
	runReplyCases(t, env, []replyCase{
		{name: "sender MX host address", conf: "smtpd_sender_restrictions = check_sender_mx_access cidr:{" + badMX + "}",
			from: "a@mxhost.example", rcpt: "b@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <a@mxhost.example>: Sender address rejected: bad mail server"},
		{name: "sender MX host name, by its parent domain", conf: "smtpd_sender_restrictions = check_sender_mx_access inline:{ badhost.example=REJECT }",
			from: "a@mxhost.example", rcpt: "b@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <a@mxhost.example>: Sender address rejected: Access denied"},
		{name: "sender MX entry DUNNO ends the lookup", conf: "smtpd_sender_restrictions = check_sender_mx_access inline:{ mx1.badhost.example=DUNNO, 192.0.2.50=REJECT }",
			from: "a@mxhost.example", rcpt: "b@example.org", want: smtpcheck.Continue},
		{name: "no MX: the domain is its own MX", conf: "smtpd_sender_restrictions = check_sender_mx_access cidr:{{192.0.2.51 REJECT}}",
			from: "a@nomx.example", rcpt: "b@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <a@nomx.example>: Sender address rejected: Access denied"},
		{name: "null MX: nothing to look up", conf: "smtpd_sender_restrictions = check_sender_mx_access static:REJECT",
			from: "a@nullmx.example", rcpt: "b@example.org", want: smtpcheck.Continue},
		{name: "OK is a configuration error", conf: "smtpd_sender_restrictions = check_sender_mx_access cidr:{{192.0.2.50 OK}}",
			from: "a@mxhost.example", rcpt: "b@example.org", want: smtpcheck.TempFail, reply: "451 4.3.5 Server configuration error"},
		{name: "a restriction as the result", conf: "smtpd_sender_restrictions = check_sender_mx_access cidr:{{192.0.2.50 permit_mynetworks, reject}}",
			from: "a@mxhost.example", rcpt: "b@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <a@mxhost.example>: Sender address rejected: Access denied"},
		{name: "sender NS of the parent domain", conf: "smtpd_sender_restrictions = check_sender_ns_access cidr:{{192.0.2.52 REJECT bad dns}}",
			from: "a@sub.nsdomain.example", rcpt: "b@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <a@sub.nsdomain.example>: Sender address rejected: bad dns"},
		{name: "recipient A", conf: "relay_domains = nomx.example\nsmtpd_recipient_restrictions = check_recipient_a_access cidr:{{192.0.2.51 550 5.7.1 no}}",
			from: "a@example.net", rcpt: "b@nomx.example", want: smtpcheck.Reject, reply: "550 5.7.1 <b@nomx.example>: Recipient address rejected: no"},
		{name: "recipient A looks up no name", conf: "relay_domains = nomx.example\nsmtpd_recipient_restrictions = check_recipient_a_access inline:{nomx.example=REJECT}",
			from: "a@example.net", rcpt: "b@nomx.example", want: smtpcheck.Continue},
		{name: "HELO address literal is its own A host", conf: "smtpd_helo_restrictions = check_helo_a_access cidr:{{192.0.2.51 REJECT}}",
			helo: "[192.0.2.51]", from: "a@example.net", rcpt: "b@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <[192.0.2.51]>: Helo command rejected: Access denied"},
		{name: "HELO address literal has no NS", conf: "smtpd_helo_restrictions = check_helo_ns_access static:REJECT",
			helo: "[192.0.2.51]", from: "a@example.net", rcpt: "b@example.org", want: smtpcheck.Continue},
		{name: "client MX", conf: "smtpd_client_restrictions = check_client_mx_access cidr:{{192.0.2.20 REJECT}}",
			ip: "192.0.2.20", from: "a@example.net", rcpt: "b@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <mx.example.net[192.0.2.20]>: Client host rejected: Access denied"},
		{name: "client without a verified name", conf: "smtpd_client_restrictions = check_client_a_access static:REJECT",
			ip: "192.0.2.30", from: "a@example.net", rcpt: "b@example.org", want: smtpcheck.Continue},
		{name: "reverse client name", conf: "smtpd_client_restrictions = check_reverse_client_hostname_access inline:{ { example.net = REJECT no PTR spoofing } }",
			ip: "192.0.2.30", from: "a@example.net", rcpt: "b@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <forged.example.net>: Unverified Client host rejected: no PTR spoofing"},
		{name: "reverse client address", conf: "smtpd_client_restrictions = check_reverse_client_hostname_access cidr:{{192.0.2.1 REJECT}}",
			ip: "192.0.2.1", from: "a@example.net", rcpt: "b@example.org", want: smtpcheck.Reject, reply: "554 5.7.1 <unknown>: Unverified Client host rejected: Access denied"},
		{name: "reverse client OK is a configuration error", conf: "smtpd_client_restrictions = check_reverse_client_hostname_access inline:{ example.net=OK }",
			ip: "192.0.2.30", from: "a@example.net", rcpt: "b@example.org", want: smtpcheck.TempFail, reply: "451 4.3.5 Server configuration error"},
	})
}

// A hash: table edited and rebuilt while the server runs is read again,
// and the restrictions its new entries name are evaluated in place; one
// that cannot be used answers 451 4.3.5 as Postfix's smtpd does.
func TestReloadedTableRestrictions(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "sender_access")
	write := func(text string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(table, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(table, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write("a@x.example DUNNO\n", t0)
	cfg := build(t, "smtpd_sender_restrictions = check_sender_access hash:"+table+"\n", postconf.Env{Domains: []string{"example.org"}})
	verdict := func() string {
		d := run(t, cfg.Policy, "192.0.2.1", "mx.example.net", "a@x.example", "b@example.org")
		if d.Result.Action == smtpcheck.Continue {
			return ""
		}
		return d.Result.DefaultReply().Error()
	}
	if got := verdict(); got != "" {
		t.Fatalf("before the edit: %q, want a pass", got)
	}
	wait := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for got := verdict(); got != want; got = verdict() {
			if time.Now().After(deadline) {
				t.Fatalf("reply = %q, want %q", got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	write("a@x.example permit_mynetworks, reject\n", t0.Add(time.Minute))
	wait("554 5.7.1 <a@x.example>: Sender address rejected: Access denied")
	write("a@x.example reject_everything\n", t0.Add(2*time.Minute))
	wait("451 4.3.5 Server configuration error")
}
