package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/policyd/policy"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// requestAt is a policy request at protocol state state from client.
func requestAt(state, client, rcpt string) string {
	return "request=smtpd_access_policy\nprotocol_state=" + state + "\nprotocol_name=ESMTP\nclient_address=" + client + "\n" +
		"client_name=unknown\nreverse_client_name=unknown\nhelo_name=mx.example.net\nsender=alice@example.net\nrecipient=" + rcpt + "\n\n"
}

// askOnce sends one request on a new connection and returns the action line.
func askOnce(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return ask(t, c, bufio.NewReader(c), req)
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A client listed in a DNS list is refused with the list's text, whether
// the list comes from -dnsbl or from a -config file's reject_rbl_client,
// and an unlisted client is let through.
func TestDNSListOverPolicyProtocol(t *testing.T) {
	dns := dnstest.New(t)
	dns.ListIP("zen.test", "192.0.2.10", "127.0.0.2", "test listing")
	dns.Zone("zen.test", 60)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "-dnsbl",
			args: []string{"-dnsbl", "zen.test"},
			want: "action=550 5.7.0 unknown [192.0.2.10] black listed by zen.test",
		},
		{
			name: "-config reject_rbl_client",
			args: []string{"-config", writeFile(t, "main.cf", "smtpd_recipient_restrictions = reject_rbl_client zen.test\n")},
			want: "action=554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.test; test listing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startPolicyd(t, append([]string{"-greylist", "none", "-resolver", dns.Addr()}, tt.args...)...)
			got := askOnce(t, addr, requestAt("RCPT", "192.0.2.10", "bob@example.org"))
			if !strings.HasPrefix(got, tt.want) || !strings.Contains(got, "zen.test") {
				t.Errorf("listed client = %q, want prefix %q naming zen.test", got, tt.want)
			}
			if got := askOnce(t, addr, requestAt("RCPT", "192.0.2.11", "bob@example.org")); got != "action=DUNNO" {
				t.Errorf("unlisted client = %q, want action=DUNNO", got)
			}
		})
	}
}

// An access map's connect-stage REJECT is held for RCPT, where a
// recipient's OK still lets postmaster@ through; at a CONNECT-state
// request it is answered at once.
func TestAccessMapOverPolicyProtocol(t *testing.T) {
	m := writeFile(t, "access.cf", "Connect:192.0.2.10 REJECT\nTo:postmaster@example.org OK\n")
	addr := startPolicyd(t, "-greylist", "none", "-access", m)
	tests := []struct {
		name, req, want string
	}{
		{"RCPT request", requestAt("RCPT", "192.0.2.10", "bob@example.org"), "action=550 5.7.1 host unknown [192.0.2.10] black listed"},
		{"CONNECT request", requestAt("CONNECT", "192.0.2.10", ""), "action=550 5.7.1 host unknown [192.0.2.10] black listed"},
		{"postmaster@ allowlisted", requestAt("RCPT", "192.0.2.10", "postmaster@example.org"), "action=DUNNO"},
		{"other client", requestAt("RCPT", "192.0.2.11", "bob@example.org"), "action=DUNNO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := askOnce(t, addr, tt.req); !strings.HasPrefix(got, tt.want) {
				t.Errorf("answer = %q, want prefix %q", got, tt.want)
			}
		})
	}
}

// Postfix must receive a defer-if-permit as DEFER_IF_PERMIT, whether the
// restriction is evaluated at RCPT, held from the client stage for RCPT,
// or answered at a CONNECT-state request; a plain defer stays DEFER.
func TestDeferIfPermitReachesPostfix(t *testing.T) {
	tests := []struct {
		name, conf, req, want string
	}{
		{
			name: "client list at RCPT (smtpd_delay_reject)",
			conf: "smtpd_client_restrictions = defer_if_permit\n",
			req:  requestAt("RCPT", "192.0.2.10", "bob@example.org"),
			want: "action=DEFER_IF_PERMIT 4.7.0 Client host <unknown[192.0.2.10]>: defer_if_permit requested",
		},
		{
			name: "client list at a CONNECT request",
			conf: "smtpd_delay_reject = no\nsmtpd_client_restrictions = defer_if_permit\n",
			req:  requestAt("CONNECT", "192.0.2.10", ""),
			want: "action=DEFER_IF_PERMIT 4.7.0 defer_if_permit requested",
		},
		{
			name: "client list held from connect for RCPT",
			conf: "smtpd_delay_reject = no\nsmtpd_client_restrictions = defer_if_permit\n",
			req:  requestAt("RCPT", "192.0.2.10", "bob@example.org"),
			want: "action=DEFER_IF_PERMIT 4.7.0 Client host <unknown[192.0.2.10]>: defer_if_permit requested",
		},
		{
			name: "defer stays a final temporary refusal, with its own code",
			conf: "smtpd_client_restrictions = defer\n",
			req:  requestAt("RCPT", "192.0.2.10", "bob@example.org"),
			want: "action=450 4.3.2 Client host <unknown[192.0.2.10]>: Try again later",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startPolicyd(t, "-greylist", "none", "-config", writeFile(t, "main.cf", tt.conf))
			if got := askOnce(t, addr, tt.req); !strings.HasPrefix(got, tt.want) {
				t.Errorf("answer = %q, want prefix %q", got, tt.want)
			}
		})
	}
}

// A dry run answers DUNNO and logs the verdict it would have given.
func TestDryRunAnswersDunno(t *testing.T) {
	dns := dnstest.New(t)
	dns.ListIP("zen.test", "192.0.2.10", "127.0.0.2", "test listing")
	addr, logs := startPolicydLog(t, "-greylist", "memory:", "-resolver", dns.Addr(), "-dnsbl", "zen.test", "-dry-run")
	if got := askOnce(t, addr, requestAt("RCPT", "192.0.2.10", "bob@example.org")); got != "action=DUNNO" {
		t.Errorf("listed client in a dry run = %q, want action=DUNNO", got)
	}
	if got := askOnce(t, addr, requestAt("RCPT", "198.51.100.7", "bob@example.org")); got != "action=DUNNO" {
		t.Errorf("new greylist triplet in a dry run = %q, want action=DUNNO", got)
	}
	log := logs.String()
	for _, want := range []string{`would_answer="550 5.7.0 unknown [192.0.2.10] black listed by zen.test"`, `would_answer="DEFER_IF_PERMIT 4.7.1 greylisted`, "dry_run_would"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// A policy whose DNS list cannot answer under temp-fail answers Postfix
// the file's smtpd_policy_service_default_action, or DEFER_IF_PERMIT with
// the catalog's 451 4.3.0 text when the file sets none.
func TestFailedPolicyDefaultAction(t *testing.T) {
	dns := dnstest.New(t)
	dns.Zone("broken.test", 60)
	dns.ServFail("broken.test")
	base := "smtppolicy_dns_error_policy = temp-fail\nsmtpd_recipient_restrictions = reject_rbl_client broken.test\n"
	tests := []struct {
		name, conf, want string
	}{
		{"no default action in the file", base, "action=DEFER_IF_PERMIT 4.3.0 internal server error"},
		{"the file's default action", base + "smtpd_policy_service_default_action = DEFER 4.3.5 policy unavailable\n", "action=DEFER 4.3.5 policy unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startPolicyd(t, "-greylist", "none", "-resolver", dns.Addr(), "-config", writeFile(t, "main.cf", tt.conf))
			if got := askOnce(t, addr, requestAt("RCPT", "192.0.2.10", "bob@example.org")); got != tt.want {
				t.Errorf("answer = %q, want %q", got, tt.want)
			}
		})
	}
}

// testServer is a server around a hand-made policy.
func testServer(p *smtpcheck.Policy) *server {
	imm := *p
	imm.DelayReject = false
	return &server{
		policy: p, immediate: &imm,
		failAction: policy.Action(smtpcheck.Result{Action: smtpcheck.DeferIfPermit, Reply: reply.InternalError()}),
		log:        slog.New(slog.DiscardHandler), timeout: 5 * time.Second,
	}
}

func parseRequest(t *testing.T, s string) policy.Request {
	t.Helper()
	req, err := policy.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// Checks see each stage with only the facts that stage has, and a panic
// anywhere answers the failure action.
func TestDecideWalksStages(t *testing.T) {
	var seen []string
	look := func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		seen = append(seen, s.Stage.String()+":"+s.Helo.Name+":"+boolString(s.Mail != nil)+":"+s.Rcpt.String())
		return smtpcheck.Result{}
	}
	p := &smtpcheck.Policy{Connect: recordRaw(look), Helo: recordRaw(look), Mail: recordRaw(look), Rcpt: recordRaw(look), Data: recordRaw(look), DelayReject: true}
	srv := testServer(p)
	if got := srv.decide(t.Context(), parseRequest(t, requestAt("DATA", "192.0.2.10", "bob@example.org"))); got != "DUNNO" {
		t.Errorf("decide(DATA) = %q, want DUNNO", got)
	}
	want := "connect::no: helo:mx.example.net:no: mail:mx.example.net:yes: rcpt:mx.example.net:yes:bob@example.org data:mx.example.net:yes:bob@example.org"
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("stages walked = %q, want %q", got, want)
	}

	boom := func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result { panic("boom") }
	for _, st := range []string{"connect", "rcpt"} {
		p := &smtpcheck.Policy{DelayReject: true}
		if st == "connect" {
			p.Connect = recordRaw(boom)
		} else {
			p.Rcpt = recordRaw(boom)
		}
		got := testServer(p).decide(t.Context(), parseRequest(t, requestAt("RCPT", "192.0.2.10", "bob@example.org")))
		if want := "DEFER_IF_PERMIT 4.3.0 internal server error"; got != want {
			t.Errorf("decide with a panic at %s = %q, want %q", st, got, want)
		}
	}
}

func boolString(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// A DATA request without a recipient (several recipients) skips RCPT and
// answers a connect-stage refusal at once rather than losing it.
func TestDataRequestWithoutRecipient(t *testing.T) {
	m := writeFile(t, "access.cf", "Connect:192.0.2.10 REJECT\n")
	addr := startPolicyd(t, "-greylist", "memory:", "-access", m)
	if got := askOnce(t, addr, requestAt("DATA", "192.0.2.10", "")); !strings.HasPrefix(got, "action=550 5.7.1 ") {
		t.Errorf("DATA request from a black-listed client = %q, want 550 5.7.1", got)
	}
	if got := askOnce(t, addr, requestAt("DATA", "192.0.2.11", "")); got != "action=DUNNO" {
		t.Errorf("DATA request without a recipient = %q, want DUNNO (no greylisting outside RCPT)", got)
	}
}

// BenchmarkDecide measures one RCPT request walked through every stage of
// a policy with an access map and greylisting (a known triplet).
func BenchmarkDecide(b *testing.B) {
	m := filepath.Join(b.TempDir(), "access.cf")
	if err := os.WriteFile(m, []byte("Connect:192.0.2.99 REJECT\nTo:postmaster@example.org OK\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	o, err := parseFlags([]string{"-greylist", "memory:", "-greylist-delay", "1ns", "-access", m}, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	srv, _, closeStore, err := build(ctx, o, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer closeStore()
	req, err := policy.NewReader(strings.NewReader(requestAt("RCPT", "192.0.2.10", "bob@example.org"))).Read()
	if err != nil {
		b.Fatal(err)
	}
	srv.decide(ctx, req)
	time.Sleep(time.Millisecond)
	srv.decide(ctx, req)
	b.ReportAllocs()
	for b.Loop() {
		srv.decide(ctx, req)
	}
}
