package main

import (
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// A policy service sees no protocol, so postscreen's protocol tests are not
// its to run; it runs what a request shows: postscreen_access_list and the
// DNS-list score of postscreen_dnsbl_sites with its threshold, allowlist
// threshold and action, from the same main.cf the SMTP server reads.
func TestPostscreenDNSBLFromMainCF(t *testing.T) {
	dns := dnstest.New(t)
	dns.ListIP("bl.test", "192.0.2.30", "127.0.0.2")
	dns.ListIP("bl.test", "192.0.2.31", "127.0.0.2")
	dns.ListIP("b2.test", "192.0.2.31", "127.0.0.2")
	dns.ListIP("wl.test", "192.0.2.32", "127.0.0.2")
	for _, z := range []string{"bl.test", "b2.test", "wl.test"} {
		dns.Zone(z, 60)
	}
	acl := writeFile(t, "acl.cidr", "192.0.2.33 reject\n")
	names := writeFile(t, "dnsbl_reply", "b2.test second-list\nbl.test first-list\n")
	cf := writeFile(t, "main.cf", `postscreen_dnsbl_sites = bl.test*2 b2.test wl.test*-3
postscreen_dnsbl_threshold = 3
postscreen_dnsbl_action = enforce
postscreen_dnsbl_allowlist_threshold = -1
postscreen_access_list = permit_mynetworks, cidr:`+acl+`
postscreen_denylist_action = enforce
postscreen_dnsbl_reply_map = texthash:`+names+`
`)
	addr := startPolicyd(t, "-greylist", "none", "-resolver", dns.Addr(), "-config", cf)
	for _, tc := range []struct{ client, want string }{
		{"192.0.2.30", "action=DUNNO"}, // weight 2, under the threshold
		{"192.0.2.31", "action=550 5.7.1 Service unavailable; client [192.0.2.31] blocked using first-list"},
		{"192.0.2.32", "action=DUNNO"},
		{"192.0.2.33", "action=550 5.3.2 Service currently unavailable"},
	} {
		if got := askOnce(t, addr, requestAt("RCPT", tc.client, "bob@example.org")); got != tc.want {
			t.Errorf("client %s: %q, want %q", tc.client, got, tc.want)
		}
	}
}

// The reputation learns from policyd's own answers, as they are given: a
// client refused twice is blocked with 421 at its next request.
func TestReputationLearnsFromAnswers(t *testing.T) {
	dns := dnstest.New(t)
	dns.ListIP("bl.test", "192.0.2.40", "127.0.0.2")
	dns.Zone("bl.test", 60)
	addr := startPolicyd(t, "-greylist", "none", "-resolver", dns.Addr(), "-reputation", "memory:", "-reputation-block-after", "2",
		"-postscreen-dnsbl-sites", "bl.test", "-postscreen-dnsbl-action", "enforce")
	for i := 0; i < 2; i++ {
		if got := askOnce(t, addr, requestAt("RCPT", "192.0.2.40", "bob@example.org")); !strings.HasPrefix(got, "action=550 5.7.1") {
			t.Fatalf("listed client, request %d: %q, want the DNS-list refusal", i+1, got)
		}
	}
	if got := askOnce(t, addr, requestAt("RCPT", "192.0.2.40", "bob@example.org")); !strings.HasPrefix(got, "action=421 ") {
		t.Errorf("after two refusals: %q, want the reputation's 421 block", got)
	}
	if got := askOnce(t, addr, requestAt("RCPT", "192.0.2.41", "bob@example.org")); got != "action=DUNNO" {
		t.Errorf("another client: %q, want action=DUNNO", got)
	}
}
