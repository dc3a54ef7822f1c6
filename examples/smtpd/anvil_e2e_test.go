package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf/postfixtest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// anvilCase is one of Postfix's client limits, the main.cf lines that set
// it, and what a client does to run into it.
type anvilCase struct {
	name   string
	main   string
	client string // the loopback address the client connects from
	run    func(t *testing.T, addr, local string) []string
}

// replyText is a reply as the comparison sees it: a refusal whole, byte
// for byte, an acceptance by its code (greetings and "Ok" texts are each
// server's own).
func replyText(r postfixtest.Reply) string {
	if r.Code >= 400 {
		return fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text)
	}
	return fmt.Sprint(r.Code)
}

func anvilDial(t *testing.T, addr, local string) (*postfixtest.Client, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, greet, err := postfixtest.Dial(ctx, addr, local)
	if err != nil && greet.Code == 0 {
		t.Fatalf("connect to %s from %s: %v", addr, local, err)
	}
	return c, replyText(greet)
}

func anvilCmd(t *testing.T, c *postfixtest.Client, line string) string {
	t.Helper()
	r, err := c.Cmd(line)
	if err != nil && r.Code == 0 {
		t.Fatalf("%s: %v", line, err)
	}
	return replyText(r)
}

func anvilCases() []anvilCase {
	return []anvilCase{
		{"connection count", "smtpd_client_connection_count_limit = 2\n", "127.0.0.21",
			func(t *testing.T, addr, local string) []string {
				c1, g1 := anvilDial(t, addr, local)
				c2, g2 := anvilDial(t, addr, local)
				c3, g3 := anvilDial(t, addr, local)
				for _, c := range []*postfixtest.Client{c1, c2, c3} {
					if c != nil {
						c.Close()
					}
				}
				return []string{g1, g2, g3}
			}},
		{"connection rate", "smtpd_client_connection_count_limit = 0\nsmtpd_client_connection_rate_limit = 2\n", "127.0.0.22",
			func(t *testing.T, addr, local string) []string {
				var out []string
				for range 3 {
					c, g := anvilDial(t, addr, local)
					out = append(out, g)
					if c != nil {
						c.Close()
					}
				}
				return out
			}},
		{"message rate", "smtpd_client_message_rate_limit = 2\n", "127.0.0.23",
			func(t *testing.T, addr, local string) []string {
				c, g := anvilDial(t, addr, local)
				defer c.Close()
				out := []string{g, anvilCmd(t, c, "EHLO client.example.net")}
				for range 3 {
					out = append(out, anvilCmd(t, c, "MAIL FROM:<alice@example.net>"), anvilCmd(t, c, "RSET"))
				}
				return out
			}},
		{"recipient rate", "smtpd_client_recipient_rate_limit = 2\n", "127.0.0.24",
			func(t *testing.T, addr, local string) []string {
				c, g := anvilDial(t, addr, local)
				defer c.Close()
				out := []string{g, anvilCmd(t, c, "EHLO client.example.net"), anvilCmd(t, c, "MAIL FROM:<alice@example.net>")}
				for range 3 {
					out = append(out, anvilCmd(t, c, "RCPT TO:<postmaster>"))
				}
				return out
			}},
		{"exceptions", "smtpd_client_message_rate_limit = 1\nsmtpd_client_event_limit_exceptions = 127.0.0.25\n", "127.0.0.25",
			func(t *testing.T, addr, local string) []string {
				c, g := anvilDial(t, addr, local)
				defer c.Close()
				out := []string{g, anvilCmd(t, c, "EHLO client.example.net")}
				for range 3 {
					out = append(out, anvilCmd(t, c, "MAIL FROM:<alice@example.net>"), anvilCmd(t, c, "RSET"))
				}
				return out
			}},
	}
}

// anvilMain is what both servers share: a name for the 421, and a
// mynetworks without the test clients (they would be exempt by default).
const anvilMain = "myhostname = mx.private.test\nmynetworks = 127.0.0.1/32\n"

func startAnvilServer(t *testing.T, main string, args ...string) *server {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(conf, []byte(anvilMain+main), 0o644); err != nil {
		t.Fatal(err)
	}
	return startServer(t, append([]string{"-config", conf}, args...)...)
}

// TestAnvilLimits runs each of Postfix's client limits through the
// program with -config main.cf.
func TestAnvilLimits(t *testing.T) {
	want := map[string][]string{
		"connection count": {"220", "220", "421 4.7.0 mx.private.test Error: too many connections from 127.0.0.21"},
		"connection rate":  {"220", "220", "421 4.7.0 mx.private.test Error: too many connections from 127.0.0.22"},
		"message rate":     {"220", "250", "250", "250", "250", "250", "450 4.7.1 Error: too much mail from 127.0.0.23", "250"},
		"recipient rate":   {"220", "250", "250", "250", "250", "450 4.7.1 Error: too many recipients from 127.0.0.24"},
		"exceptions":       {"220", "250", "250", "250", "250", "250", "250", "250"},
	}
	for _, tc := range anvilCases() {
		t.Run(tc.name, func(t *testing.T) {
			s := startAnvilServer(t, tc.main)
			got := tc.run(t, s.addr, tc.client)
			if strings.Join(got, "\n") != strings.Join(want[tc.name], "\n") {
				t.Errorf("replies = %q\nwant      %q", got, want[tc.name])
			}
		})
	}
}

// TestAnvilConnectionReleased: a connection that ends gives its count
// back, so the client is let in again.
func TestAnvilConnectionReleased(t *testing.T) {
	s := startAnvilServer(t, "smtpd_client_connection_count_limit = 1\n")
	c, g := anvilDial(t, s.addr, "127.0.0.26")
	if g != "220" {
		t.Fatalf("first connection: %s", g)
	}
	c2, g2 := anvilDial(t, s.addr, "127.0.0.26")
	if !strings.HasPrefix(g2, "421 4.7.0 ") {
		t.Errorf("second connection at once: %q, want 421", g2)
	}
	if c2 != nil {
		c2.Close()
	}
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c3, g3 := anvilDial(t, s.addr, "127.0.0.26")
		if c3 != nil {
			c3.Close()
		}
		if g3 == "220" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the first connection closed: %q, want 220", g3)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAnvilSameAsPostfix runs each limit through a private Postfix and
// through the program with the same main.cf lines: every refusal is the
// same, byte for byte, at the same step.
func TestAnvilSameAsPostfix(t *testing.T) {
	if postfixtest.Require(t) == "" {
		return
	}
	cases := anvilCases()
	var services []postfixtest.Service
	for _, tc := range cases {
		var o []postfixtest.Param
		for _, l := range strings.Split(strings.TrimSpace(tc.main), "\n") {
			n, v, _ := strings.Cut(l, "=")
			o = append(o, postfixtest.Param{Name: strings.TrimSpace(n), Value: strings.TrimSpace(v)})
		}
		services = append(services, postfixtest.Service{Addr: "127.0.0.1:0", Overrides: o})
	}
	services = postfixtest.Start(t, postfixtest.Options{Main: anvilMain, Services: services, XclientHosts: "127.0.0.1"}).Services
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pf := tc.run(t, services[i].Addr, tc.client)
			us := tc.run(t, startAnvilServer(t, tc.main).addr, tc.client)
			t.Logf("postfix: %q", pf)
			if strings.Join(pf, "\n") != strings.Join(us, "\n") {
				t.Errorf("\npostfix: %q\nsmtpd:   %q", pf, us)
			}
		})
	}
}

// TestAnvilClusterRedis runs two servers with one Redis as
// smtppolicy_anvil_store: a client's connections and messages count once
// across both, as on one host.
func TestAnvilClusterRedis(t *testing.T) {
	redistest.Client(t, "") // skips or fails without Redis
	var rnd [2]byte
	rand.Read(rnd[:])
	// A client address of this run's own: counts left by an earlier run
	// (a rate window lasts a minute) never meet it.
	client := fmt.Sprintf("127.%d.%d.9", 100+rnd[0]%100, rnd[1])
	main := "smtpd_client_connection_count_limit = 2\nsmtpd_client_message_rate_limit = 2\n"
	mx1 := startAnvilServer(t, main, "-anvil-store", "redis://127.0.0.1:6379/13")
	mx2 := startAnvilServer(t, main, "-anvil-store", "redis://127.0.0.1:6379/13")
	c1, g1 := anvilDial(t, mx1.addr, client)
	c2, g2 := anvilDial(t, mx2.addr, client)
	c3, g3 := anvilDial(t, mx1.addr, client)
	if c3 != nil {
		c3.Close()
	}
	want := "421 4.7.0 mx.private.test Error: too many connections from " + client
	if g1 != "220" || g2 != "220" || g3 != want {
		t.Errorf("connections mx1, mx2, mx1 = %q, %q, %q; want 220, 220, %q", g1, g2, g3, want)
	}
	anvilCmd(t, c1, "EHLO client.example.net")
	anvilCmd(t, c2, "EHLO client.example.net")
	var got []string
	for _, c := range []*postfixtest.Client{c1, c2, c1} {
		got = append(got, anvilCmd(t, c, "MAIL FROM:<alice@example.net>"), anvilCmd(t, c, "RSET"))
	}
	if w := []string{"250", "250", "250", "250", "450 4.7.1 Error: too much mail from " + client, "250"}; strings.Join(got, "\n") != strings.Join(w, "\n") {
		t.Errorf("MAIL on mx1, mx2, mx1 = %q, want %q", got, w)
	}
	c1.Close()
	c2.Close()
}
