package main

import (
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// ptrRequest is a RCPT request whose client names are the given
// attributes (absent when empty), as Postfix sends them.
func ptrRequest(clientName, reverseName string) string {
	req := "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.10\n"
	if clientName != "" {
		req += "client_name=" + clientName + "\n"
	}
	if reverseName != "" {
		req += "reverse_client_name=" + reverseName + "\n"
	}
	return req + "helo_name=mx.example.net\nsender=alice@example.net\nrecipient=bob@example.org\n\n"
}

// Postfix's client_name and reverse_client_name mean what smtpcheck.Conn
// says, over the policy socket: "unknown" for both is a client without
// PTR, refused by the reverse-name check; a reverse name with
// client_name "unknown" has a PTR that does not lead back; a verified name
// passes both, also from a Postfix that sends no reverse_client_name. The
// checks use the attributes and ask DNS nothing.
func TestPTRAttributesOverPolicyProtocol(t *testing.T) {
	srv := dnstest.New(t)
	tests := []struct {
		restriction          string
		clientName, reverse  string
		wantPrefix, wantText string
	}{
		{"reject_unknown_reverse_client_hostname", "unknown", "unknown", "450 4.7.1 ", "cannot find your reverse hostname"},
		{"reject_unknown_reverse_client_hostname", "unknown", "mx.example.net", "DUNNO", ""},
		{"reject_unknown_reverse_client_hostname", "MX.Example.NET", "", "DUNNO", ""},
		{"reject_unknown_client_hostname", "unknown", "unknown", "450 4.7.25 ", "cannot find your hostname"},
		{"reject_unknown_client_hostname", "unknown", "mx.example.net", "450 4.7.25 ", "cannot find your hostname"},
		{"reject_unknown_client_hostname", "mx.example.net", "mx.example.net", "DUNNO", ""},
		{"reject_unknown_client_hostname", "mx.example.net", "", "DUNNO", ""},
	}
	addrs := map[string]string{}
	for _, tt := range tests {
		addr, ok := addrs[tt.restriction]
		if !ok {
			conf := writeFile(t, "main.cf", "smtpd_recipient_restrictions = reject_unauth_destination, "+tt.restriction+"\nrelay_domains = example.org\n")
			addr = startPolicyd(t, "-config", conf, "-resolver", srv.Addr(), "-greylist", "none")
			addrs[tt.restriction] = addr
		}
		got := askOnce(t, addr, ptrRequest(tt.clientName, tt.reverse))
		if !strings.HasPrefix(got, "action="+tt.wantPrefix) || !strings.Contains(got, tt.wantText) {
			t.Errorf("%s, client_name=%q reverse_client_name=%q: %q, want action=%s...%s", tt.restriction, tt.clientName, tt.reverse, got, tt.wantPrefix, tt.wantText)
		}
	}
	for _, q := range srv.Queries() {
		if q.Type == dns.TypePTR || q.Type == dns.TypeA {
			t.Errorf("policyd asked DNS %v: the request's attributes say it all", q)
		}
	}
}
