package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// requestFrom is a RCPT request from client to rcpt.
func requestFrom(client, rcpt string) string {
	return "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=" + client + "\n" +
		"client_name=unknown\nreverse_client_name=unknown\nhelo_name=mx.example.org\nsender=a@example.org\nrecipient=" + rcpt + "\n\n"
}

// TestAutoAllowOverPolicyProtocol: after a client's pass, the policy
// service allows that client address outright, as postgrey does, and not
// its neighbour; -greylist-auto-allow-by-network extends it to the /24,
// and -greylist-auto-allow 0 turns it off, as postgrey's
// --auto-whitelist-clients=0.
func TestAutoAllowOverPolicyProtocol(t *testing.T) {
	tests := []struct {
		name          string
		flags         []string
		same, another string // the answers' actions for a new triplet
	}{
		{"per address (default)", []string{"-greylist-auto-allow", "1"}, "DUNNO", "DEFER_IF_PERMIT"},
		{"per network", []string{"-greylist-auto-allow", "1", "-greylist-auto-allow-by-network"}, "DUNNO", "DUNNO"},
		{"off", []string{"-greylist-auto-allow", "0"}, "DEFER_IF_PERMIT", "DEFER_IF_PERMIT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := startPolicyd(t, append([]string{"-greylist", "memory:", "-greylist-delay", "1s"}, tt.flags...)...)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			action := func(client, rcpt string) string {
				a, _, _ := strings.Cut(strings.TrimPrefix(ask(t, c, br, requestFrom(client, rcpt)), "action="), " ")
				return a
			}
			if got := action("192.0.2.10", "first@example.net"); got != "DEFER_IF_PERMIT" {
				t.Fatalf("first attempt = %s, want DEFER_IF_PERMIT", got)
			}
			time.Sleep(1100 * time.Millisecond)
			if got := action("192.0.2.10", "first@example.net"); got != "PREPEND" {
				t.Fatalf("retry after the delay = %s, want PREPEND (a pass)", got)
			}
			if got := action("192.0.2.10", "second@example.net"); got != tt.same {
				t.Errorf("new triplet from the client that passed = %s, want %s", got, tt.same)
			}
			if got := action("192.0.2.11", "third@example.net"); got != tt.another {
				t.Errorf("new triplet from its neighbour in the /24 = %s, want %s", got, tt.another)
			}
		})
	}
}
