package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// postscreen's tests set by a main.cf, as Postfix reads it: the pregreet
// test with its banner and action, the DNS-list score with weights and
// the drop action, the deep tests, and the pass cache in Postfix's
// btree:$data_directory form.
func TestPostscreenFromMainCF(t *testing.T) {
	dns := dnstest.New(t)
	dns.ListIP("bl.test", "127.0.0.1", "127.0.0.2")
	dns.ListIP("b2.test", "127.0.0.1", "127.0.0.3")
	dns.Zone("bl.test", 60)
	dns.Zone("b2.test", 60)
	dir := t.TempDir()
	cf := filepath.Join(dir, "main.cf")
	mainCF := `myhostname = mx.example.org
mydestination = example.org
data_directory = ` + dir + `
postscreen_cache_map = btree:$data_directory/postscreen_cache
postscreen_greet_wait = ${stress?{1}:{1}}s
postscreen_greet_action = drop
postscreen_greet_banner = wait for it
postscreen_bare_newline_enable = yes
postscreen_bare_newline_action = enforce
postscreen_bare_newline_ttl = 1d
`
	dnsbl := filepath.Join(t.TempDir(), "main.cf")
	os.WriteFile(dnsbl, []byte(strings.ReplaceAll(mainCF, dir, t.TempDir())+`postscreen_dnsbl_sites = bl.test*2, b2.test
postscreen_dnsbl_threshold = 3
postscreen_dnsbl_action = drop
`), 0o644)
	os.WriteFile(cf, []byte(mainCF), 0o644)
	s := startServer(t, "-config", dnsbl, "-resolver", dns.Addr())
	// The client scores 3 on the lists: dropped after the greet wait.
	c := dialBot(t, s.addr, false)
	if r := c.reply(); r != "521 5.7.1 Service unavailable; client [127.0.0.1] blocked using bl.test" {
		t.Errorf("listed client: %q, want postscreen's 521 5.7.1 naming the heaviest list", r)
	}

	s = startServer(t, "-config", cf)
	// A client talking on seeing the banner's first line fails the
	// pregreet test under drop.
	c = dialBot(t, s.addr, false)
	first, _ := c.r.ReadString('\n')
	if first != "220-wait for it\r\n" {
		t.Fatalf("first greeting line %q, want the banner", first)
	}
	c.send("EHLO bot.example.net\r\n")
	if r := c.reply(); r != protocolDrop {
		t.Errorf("pregreet talker: %q, want %q", r, protocolDrop)
	}

	// A bare newline under enforce: the session goes on, every recipient
	// is refused with 550 5.5.1.
	c = dialBot(t, s.addr, true)
	c.send("EHLO mx.example.net\n")
	c.reply()
	c.send("MAIL FROM:<a@example.net>\r\n")
	c.reply()
	c.send("RCPT TO:<b@example.org>\r\n")
	if r := c.reply(); r != protocolEnforce {
		t.Errorf("bare newline under enforce: RCPT = %q, want %q", r, protocolEnforce)
	}
	c.send("QUIT\r\n")
	c.reply()

	// A real client passes every test; its passes are written to the cache
	// file the main.cf names.
	c = dialBot(t, s.addr, true)
	c.send("EHLO mx.example.net\r\n")
	c.reply()
	c.send("MAIL FROM:<a@example.net>\r\n")
	c.reply()
	c.send("RCPT TO:<b@example.org>\r\n")
	if r := c.reply(); !strings.HasPrefix(r, "250 ") {
		t.Errorf("real client's RCPT = %q, want 250", r)
	}
	c.send("QUIT\r\n")
	c.reply()
	if _, err := os.Stat(filepath.Join(dir, "postscreen_cache")); err != nil {
		t.Errorf("no pass cache at the btree: path: %v", err)
	}
}

// What postscreen accepts and this server cannot do stops the server at
// start, naming the file and line.
func TestPostscreenMainCFRefused(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "main.cf")
	os.WriteFile(cf, []byte("mydestination = example.org\npostscreen_upstream_proxy_protocol = haproxy\n"), 0o644)
	logf, _ := os.CreateTemp(t.TempDir(), "log")
	_, _, _, err := setup([]string{"-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-config", cf}, logf)
	if err == nil || !strings.Contains(err.Error(), "main.cf:2: postscreen_upstream_proxy_protocol") {
		t.Errorf("setup with postscreen_upstream_proxy_protocol = haproxy: %v, want an error at main.cf:2", err)
	}
}
