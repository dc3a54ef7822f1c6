package main

import (
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/batv"
)

// Bounce address tag validation over the policy socket: a bounce (empty
// sender) to an untagged address of one of -domain's domains is refused
// with smtpf#358's reply, one to a valid tag passes, and a bounce to a
// domain that is not ours (Postfix relaying for mynetworks, say) is left
// alone; without -domain every recipient is checked.
func TestBATVOverPolicyProtocol(t *testing.T) {
	key := batv.Key{ID: '1', Secret: []byte("a secret long enough, 24")}
	sg, err := batv.NewSigner(0, key)
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{"-greylist", "none", "-batv-key", "1:" + string(key.Secret)}
	bounce := func(rcpt string) string {
		return requestFull("192.0.2.10", "mx.example.net", "", rcpt)
	}
	const refused = "action=550 5.7.1 DSN or MDN for message that did not originate here"

	t.Run("with -domain", func(t *testing.T) {
		addr := startPolicyd(t, append(flags, "-domain", "example.org")...)
		if got := askOnce(t, addr, bounce("alice@example.org")); !strings.HasPrefix(got, refused) {
			t.Errorf("bounce to an untagged address of ours = %q, want %q", got, refused)
		}
		if got := askOnce(t, addr, bounce(sg.Sign("alice@example.org", time.Now()))); got != "action=DUNNO" {
			t.Errorf("bounce to a valid tag = %q, want action=DUNNO", got)
		}
		if got := askOnce(t, addr, bounce("eve@elsewhere.example")); got != "action=DUNNO" {
			t.Errorf("bounce to a domain not ours = %q, want action=DUNNO", got)
		}
		if got := askOnce(t, addr, requestFull("192.0.2.10", "mx.example.net", "carol@example.net", "alice@example.org")); got != "action=DUNNO" {
			t.Errorf("mail with a sender = %q, want action=DUNNO", got)
		}
	})
	t.Run("without -domain", func(t *testing.T) {
		addr := startPolicyd(t, flags...)
		if got := askOnce(t, addr, bounce("eve@elsewhere.example")); !strings.HasPrefix(got, refused) {
			t.Errorf("bounce to any untagged address = %q, want %q", got, refused)
		}
	})
}
