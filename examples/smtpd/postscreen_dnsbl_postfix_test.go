package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf/postfixtest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// The DNS-list score of postscreen, from one main.cf text, against a real
// postscreen resolving through the same DNS server: the same replies for
// a client over the threshold (under drop and under enforce), one under
// it, and one whose allowlist weight takes it below zero.
func TestPostscreenDNSBLSameAsPostfix(t *testing.T) {
	if postfixtest.Require(t) == "" {
		return
	}
	dns := dnstest.New(t)
	for _, z := range []string{"bl.test", "b2.test", "wl.test"} {
		dns.Zone(z, 60)
	}
	// 127.0.0.2 scores 2+1 = 3, 127.0.0.3 scores 1, 127.0.0.4 scores
	// 2+1-5 = -2, 127.0.0.5 is on no list.
	dns.ListIP("bl.test", "127.0.0.2", "127.0.0.2")
	dns.ListIP("b2.test", "127.0.0.2", "127.0.0.2")
	dns.ListIP("b2.test", "127.0.0.3", "127.0.0.2")
	dns.ListIP("bl.test", "127.0.0.4", "127.0.0.2")
	dns.ListIP("b2.test", "127.0.0.4", "127.0.0.2")
	dns.ListIP("wl.test", "127.0.0.4", "127.0.0.2")
	ns, err := postfixtest.NewNetNS(t, dns.Addr())
	if errors.Is(err, postfixtest.ErrNoNetNS) {
		postfixtest.Unavailable(t, err.Error())
		return
	}
	if err != nil {
		t.Fatal(err)
	}

	const shared = `postscreen_access_list =
postscreen_greet_wait = 2s
postscreen_dnsbl_sites = bl.test*2, b2.test, wl.test*-5
postscreen_dnsbl_threshold = 3
postscreen_dnsbl_allowlist_threshold = -1
`
	for i, action := range []string{"drop", "enforce"} {
		settings := shared + "postscreen_dnsbl_action = " + action + "\n"
		pfAddr := startPostscreenIn(t, ns, fmt.Sprintf("127.0.0.1:%d", 2525+i), settings)
		if pfAddr == "" {
			return
		}
		cf := filepath.Join(t.TempDir(), "main.cf")
		if err := os.WriteFile(cf, []byte("mydestination = example.org\npostscreen_cache_map = memory:\n"+settings), 0o644); err != nil {
			t.Fatal(err)
		}
		ours := startServer(t, "-config", cf, "-resolver", dns.Addr()).addr

		// Each client's session waits out the greet wait: all of them at
		// once, on both servers.
		clients := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
		pf, us := make([][]string, len(clients)), make([][]string, len(clients))
		var wg sync.WaitGroup
		for j, client := range clients {
			wg.Add(2)
			go func() {
				defer wg.Done()
				pf[j] = dnsblSession(t, func(ctx context.Context) (*postfixtest.Client, postfixtest.Reply, error) {
					return ns.Dial(ctx, pfAddr, client)
				})
			}()
			go func() {
				defer wg.Done()
				us[j] = dnsblSession(t, func(ctx context.Context) (*postfixtest.Client, postfixtest.Reply, error) {
					return postfixtest.Dial(ctx, ours, client)
				})
			}()
		}
		wg.Wait()
		for j, client := range clients {
			t.Logf("%s, client %s: postscreen %q", action, client, pf[j])
			if strings.Join(pf[j], "\n") != strings.Join(us[j], "\n") {
				t.Errorf("%s, client %s:\npostscreen: %q\nsmtpd:      %q", action, client, pf[j], us[j])
			}
		}
	}
}

// dnsblSession greets, sends EHLO, MAIL and RCPT, and returns the replies
// up to the first refusal or hang-up. A 2xx reply is cut to its code, as
// the servers name themselves differently; of a refusal the last line is
// kept whole (postscreen sends the first line of its banner, "220-", on
// connecting, so a drop is that line and the 521 on one reply).
func dnsblSession(t *testing.T, dial func(context.Context) (*postfixtest.Client, postfixtest.Reply, error)) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	show := func(r postfixtest.Reply) string {
		if r.Code < 400 {
			return r.String()[:3]
		}
		lines := strings.Split(r.Text, "\n")
		last := lines[len(lines)-1]
		if len(lines) == 1 && r.Enhanced != "" {
			last = r.Enhanced + " " + last
		}
		return fmt.Sprintf("%d %s", r.Code, last)
	}
	c, greet, err := dial(ctx)
	got := []string{show(greet)}
	if err != nil || greet.Code >= 400 {
		if err != nil && greet.Code == 0 {
			t.Errorf("connect: %v", err)
		}
		return got
	}
	defer c.Close()
	for _, cmd := range []string{"EHLO mx.example.net", "MAIL FROM:<a@example.net>", "RCPT TO:<b@example.org>"} {
		r, err := c.Cmd(cmd)
		if err != nil {
			return append(got, "EOF")
		}
		got = append(got, show(r))
		if r.Code >= 400 {
			break
		}
	}
	return got
}
