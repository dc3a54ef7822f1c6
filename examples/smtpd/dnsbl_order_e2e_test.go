package main

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// The DNS-list verdict of a client does not depend on which list answers
// first. A block list of weight 3 and an allowlist of weight -4 both list
// the client; the DNS server delays each answer at random, and a fresh
// server (with an empty DNS cache) judges the client each time. Every
// decision must log the same score, -1: the lists are combined in the
// order given, and the allowlist after the block list accepts.
func TestDNSListScoreIndependentOfArrivalOrder(t *testing.T) {
	dns := dnstest.New(t)
	dns.ListIP("bl.test", "127.0.0.1", "127.0.0.2")
	dns.ListIP("wl.test", "127.0.0.1", "127.0.0.2")
	rng := rand.New(rand.NewPCG(3, 4))
	score := regexp.MustCompile(`score=(-?\d+)`)
	seen := map[string]int{}
	for range 12 {
		dns.Latency("bl.test", time.Duration(rng.IntN(8000))*time.Microsecond)
		dns.Latency("wl.test", time.Duration(rng.IntN(8000))*time.Microsecond)
		s := startServer(t, "-resolver", dns.Addr(), "-hygiene=false", "-spf=false", "-dnsbl", "bl.test*3", "-dnsbl", "wl.test*-4")
		g := dialGrammar(t, s.addr)
		if code, msg := g.cmd("MAIL FROM:<alice@example.net>"); code != 250 {
			t.Fatalf("MAIL = %d %s, want 250", code, msg)
		}
		if code, msg := g.cmd("RCPT TO:<bob@example.org>"); code != 250 {
			t.Fatalf("RCPT = %d %s, want 250 (the allowlist accepts)", code, msg)
		}
		g.cmd("QUIT")
		for _, line := range strings.Split(s.logText(t), "\n") {
			if strings.Contains(line, "dnsbl-client") {
				if m := score.FindStringSubmatch(line); m != nil {
					seen[m[1]]++
				}
			}
		}
	}
	if len(seen) != 1 || seen["-1"] == 0 {
		t.Errorf("scores logged over 12 clients with random answer delays = %v, want only -1", seen)
	}
}
