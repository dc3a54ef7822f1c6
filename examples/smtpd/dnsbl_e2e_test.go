package main

import (
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// A client on a DNS list is refused at RCPT (delayed), postmaster@ aside;
// a client on a DNS allowlist skips greylisting.
func TestSwaksDNSLists(t *testing.T) {
	dns := dnstest.New(t)
	dns.ListIP("bl.test", "127.0.0.1", "127.0.0.2")
	dns.ListIP("wl.test", "127.0.0.1", "127.0.0.2")
	base := []string{"-resolver", dns.Addr(), "-hygiene=false", "-spf=false"}
	send := func(s *server, rcpt string) (string, error) {
		return swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", rcpt)
	}

	s := startServer(t, append(base, "-dnsbl", "bl.test=127.0.0.[2..11]")...)
	out, err := send(s, "bob@example.org")
	if err == nil || !strings.Contains(out, "<** 550 5.7.0 unknown [127.0.0.1] black listed by bl.test") {
		t.Errorf("listed client: want the black-listed reply at RCPT; err=%v\n%s", err, out)
	}
	if !strings.Contains(s.logText(t), "held=true") {
		t.Errorf("the connect-stage listing was not held for RCPT")
	}

	s = startServer(t, append(base, "-dnsbl", "wl.test*-5", "-greylist", "memory:", "-greylist-delay", "1h")...)
	if out, err := send(s, "bob@example.org"); err != nil {
		t.Errorf("allowlisted client was greylisted or refused: %v\n%s", err, out)
	}
}
