package main

import (
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// requestFull is a policy request at RCPT with every envelope field given.
func requestFull(client, helo, sender, rcpt string) string {
	return "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=" + client + "\n" +
		"client_name=unknown\nreverse_client_name=unknown\nhelo_name=" + helo + "\nsender=" + sender + "\nrecipient=" + rcpt + "\n\n"
}

// Over the policy socket, a policy in Postfix's words answers with
// Postfix's codes and enhanced codes in the "NNN X.Y.Z text" form Postfix
// keeps, with no second "<x>: ... rejected:" head, and logs what it sent
// once at INFO.
func TestPostfixAnswersOverPolicyProtocol(t *testing.T) {
	dns := dnstest.New(t)
	dns.ListIP("wl.test", "192.0.2.66", "127.0.0.2")
	table := writeFile(t, "access", "bob@example.org 450 4.7.1 come back later\nrej@example.org REJECT\nsoft@example.org DEFER\n")
	conf := writeFile(t, "main.cf", "relay_domains = example.org\n"+
		"smtpd_helo_restrictions = reject_non_fqdn_helo_hostname\n"+
		"smtpd_sender_restrictions = reject_non_fqdn_sender\n"+
		"smtpd_recipient_restrictions = permit_dnswl_client wl.test, reject_unauth_destination, check_recipient_access hash:"+table+"\n")
	addr, logs := startPolicydLog(t, "-greylist", "none", "-resolver", dns.Addr(), "-config", conf)
	tests := []struct {
		name, req, want string
	}{
		{"HELO address literal", requestFull("192.0.2.1", "[1.2.3]", "a@example.net", "carol@example.org"),
			"action=501 5.5.2 Helo command <[1.2.3]>: invalid ip address"},
		{"non-FQDN sender", requestFull("192.0.2.1", "mx.example.net", "alice@localhost", "carol@example.org"),
			"action=504 5.5.2 Sender address <alice@localhost>: need fully-qualified address"},
		{"table 450 kept", requestFull("192.0.2.1", "mx.example.net", "a@example.net", "bob@example.org"),
			"action=450 4.7.1 come back later"},
		{"table REJECT", requestFull("192.0.2.1", "mx.example.net", "a@example.net", "rej@example.org"),
			"action=554 5.7.1 Access denied"},
		{"table DEFER", requestFull("192.0.2.1", "mx.example.net", "a@example.net", "soft@example.org"),
			"action=450 4.7.1 Access denied"},
		{"allowlisted client to a local recipient", requestFull("192.0.2.66", "mx.example.net", "a@example.net", "rej@example.org"),
			"action=DUNNO"},
		{"allowlisted client may not relay", requestFull("192.0.2.66", "mx.example.net", "a@example.net", "eve@elsewhere.example"),
			"action=554 5.7.1 Relay access denied"},
		{"bare postmaster passes every list", requestFull("192.0.2.1", "[1.2.3]", "alice@localhost", "postmaster"),
			"action=DUNNO"},
		{"postmaster with a domain does not", requestFull("192.0.2.1", "mx.example.net", "a@example.net", "postmaster@elsewhere.example"),
			"action=554 5.7.1 Relay access denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := askOnce(t, addr, tt.req); got != tt.want {
				t.Errorf("answer = %q, want %q", got, tt.want)
			}
		})
	}
	// Each refusal was logged once, at INFO, with what was sent.
	for _, want := range []string{`action="501 5.5.2 Helo command <[1.2.3]>: invalid ip address"`, `action="450 4.7.1 come back later"`} {
		var n int
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `msg="policy answer"`) && strings.Contains(line, want) {
				n++
				if !strings.Contains(line, "level=INFO") {
					t.Errorf("answer logged below INFO: %s", line)
				}
			}
		}
		if n != 1 {
			t.Errorf("answer %s logged %d times, want once", want, n)
		}
	}
}

// policyd hands an access table's actions to Postfix as written: HOLD,
// DISCARD, PREPEND, WARN, FILTER, REDIRECT, BCC and the restriction names
// or classes its own file cannot evaluate (Postfix evaluates them).
func TestTableActionsPassedToPostfix(t *testing.T) {
	table := writeFile(t, "sender_access", "held.example HOLD suspicious\ngone.example DISCARD\ntag.example PREPEND X-Tag: yes\n"+
		"warn.example WARN odd sender\nfilt.example FILTER smtp:[127.0.0.1]:10025\nredir.example REDIRECT abuse@example.org\n"+
		"bcc.example BCC archive@example.org\nclass.example reject_unverified_sender\n")
	conf := writeFile(t, "main.cf", "smtpd_sender_restrictions = check_sender_access hash:"+table+"\n")
	addr := startPolicyd(t, "-greylist", "none", "-config", conf)
	tests := []struct{ from, want string }{
		{"a@held.example", "action=HOLD suspicious"},
		{"a@gone.example", "action=DISCARD"},
		{"a@tag.example", "action=PREPEND X-Tag: yes"},
		{"a@warn.example", "action=WARN odd sender"},
		{"a@filt.example", "action=FILTER smtp:[127.0.0.1]:10025"},
		{"a@redir.example", "action=REDIRECT abuse@example.org"},
		{"a@bcc.example", "action=BCC archive@example.org"},
		{"a@class.example", "action=reject_unverified_sender"},
		{"a@other.example", "action=DUNNO"},
	}
	for _, tt := range tests {
		if got := askOnce(t, addr, requestFull("192.0.2.1", "mx.example.net", tt.from, "bob@example.org")); got != tt.want {
			t.Errorf("sender %s: answer = %q, want %q", tt.from, got, tt.want)
		}
	}
}

// A restriction class the file defines is evaluated by policyd in place,
// as Postfix would: its refusal is the answer, and one that lets the
// request go on leaves the rest of the lists to answer.
func TestTableClassEvaluatedByPolicyd(t *testing.T) {
	table := writeFile(t, "sender_access", "strict.example strict\nlax.example lax\n")
	conf := writeFile(t, "main.cf", "smtpd_restriction_classes = strict, lax\nstrict = reject\nlax = dunno\n"+
		"smtpd_sender_restrictions = check_sender_access hash:"+table+"\nsmtpd_recipient_restrictions = reject_non_fqdn_recipient\n")
	addr := startPolicyd(t, "-greylist", "none", "-config", conf)
	tests := []struct{ from, rcpt, want string }{
		{"a@strict.example", "bob@example.org", "action=554 5.7.1 "},
		{"a@lax.example", "bob@example.org", "action=DUNNO"},
		{"a@lax.example", "bob@localhost", "action=504 5.5.2 "},
	}
	for _, tt := range tests {
		if got := askOnce(t, addr, requestFull("192.0.2.1", "mx.example.net", tt.from, tt.rcpt)); !strings.HasPrefix(got, tt.want) {
			t.Errorf("sender %s, recipient %s: answer = %q, want %q...", tt.from, tt.rcpt, got, tt.want)
		}
	}
}

// A request is walked through the stages before its own, but a stage
// without a check decides nothing: only the stages with checks are
// evaluated (and logged), and a refusal held from one of them still
// reaches the RCPT answer.
func TestWalkSkipsStagesWithoutChecks(t *testing.T) {
	decisions := func(logs *logBuffer) []string {
		var stages []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "msg=decision") {
				_, st, _ := strings.Cut(l, "decision.stage=")
				st, _, _ = strings.Cut(st, " ")
				stages = append(stages, st)
			}
		}
		return stages
	}
	t.Run("greylisting only", func(t *testing.T) {
		addr, logs := startPolicydLog(t)
		if got := askOnce(t, addr, requestFull("192.0.2.1", "mx.example.net", "a@example.net", "b@example.org")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT") {
			t.Fatalf("answer %q, want DEFER_IF_PERMIT", got)
		}
		if got := decisions(logs); len(got) != 1 || got[0] != "rcpt" {
			t.Errorf("decisions logged at stages %q, want only rcpt", got)
		}
	})
	t.Run("a HELO-stage check", func(t *testing.T) {
		// Without smtpd_delay_reject the HELO restrictions run at HELO.
		conf := writeFile(t, "main.cf", "smtpd_delay_reject = no\nsmtpd_helo_restrictions = reject_non_fqdn_helo_hostname\n")
		addr, logs := startPolicydLog(t, "-greylist", "none", "-config", conf)
		want := "action=504 5.5.2 Helo command <nodots>: need fully-qualified hostname"
		if got := askOnce(t, addr, requestFull("192.0.2.1", "nodots", "a@example.net", "b@example.org")); got != want {
			t.Fatalf("answer %q, want %q", got, want)
		}
		if got := decisions(logs); len(got) != 2 || got[0] != "helo" || got[1] != "rcpt" {
			t.Errorf("decisions logged at stages %q, want helo then rcpt", got)
		}
	})
}
