package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// The client of these tests is 127.0.0.1; its reverse name lives here.
const loopbackPTR = "1.0.0.127.in-addr.arpa"

// lineClient speaks SMTP line by line over loopback, as a mail server
// would, so that every reply of a session can be checked.
type lineClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

// dialLines connects and reads the greeting, which must be 220.
func dialLines(t *testing.T, addr string) *lineClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &lineClient{t: t, c: c, br: bufio.NewReader(c)}
	if g := rc.reply(); !strings.HasPrefix(g, "220 ") {
		t.Fatalf("greeting = %q, want 220", g)
	}
	return rc
}

// reply reads one reply and returns its last line ("" once the server has
// closed the connection).
func (rc *lineClient) reply() string {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		line, err := rc.br.ReadString('\n')
		if err != nil {
			return ""
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 4 || line[3] != '-' {
			return line
		}
	}
}

// cmd sends one command line and returns the reply's last line.
func (rc *lineClient) cmd(line string) string {
	rc.t.Helper()
	if _, err := rc.c.Write([]byte(line + "\r\n")); err != nil {
		return ""
	}
	return rc.reply()
}

// expect sends a command and fails unless the reply starts with want.
func (rc *lineClient) expect(line, want string) string {
	rc.t.Helper()
	got := rc.cmd(line)
	if !strings.HasPrefix(got, want) {
		rc.t.Errorf("%s -> %q, want %q", line, got, want)
	}
	return got
}

// sendMessage sends DATA and a short message and wants 250.
func (rc *lineClient) sendMessage() {
	rc.t.Helper()
	rc.expect("DATA", "354")
	// testMessage is already dot-stuffed.
	rc.expect(strings.TrimSuffix(testMessage, "\r\n")+"\r\n.", "250")
}

// closed reports whether the server has closed the connection.
func (rc *lineClient) closed() bool {
	rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := rc.br.ReadByte()
	return err != nil
}

// reverseDNS is an in-process DNS server for the tests' client: the
// sender's domain example.net has an MX elsewhere, so the client is not its
// sender's MX, and 127.0.0.1 has no PTR record unless a test adds one.
func reverseDNS(t *testing.T) *dnstest.Server {
	dns := dnstest.New(t)
	dns.Zone("example.net", 60)
	dns.Zone("in-addr.arpa", 60)
	dns.Add("example.net. 300 IN MX 10 mx.example.net.", "mx.example.net. 300 IN A 192.0.2.25")
	return dns
}

func writeMainCF(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A client without reverse DNS gets the documented refusal, not a
// temporary failure, and postmaster still gets its mail; a PTR lookup that
// fails (SERVFAIL) gets a temporary one.
func TestNoPTRIsRefusedNotDeferred(t *testing.T) {
	dns := reverseDNS(t)
	s := startServer(t, "-resolver", dns.Addr(), "-spf=false")

	c := dialLines(t, s.addr)
	c.expect("EHLO mx.example.net", "250")
	c.expect("MAIL FROM:<alice@example.net>", "250")
	got := c.expect("RCPT TO:<bob@example.org>", "550 5.7.1")
	if !strings.Contains(got, "127.0.0.1") {
		t.Errorf("refusal %q does not name the client", got)
	}
	c.expect("RCPT TO:<postmaster@example.org>", "250")
	c.expect("RCPT TO:<Postmaster>", "250")
	c.sendMessage()
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("stored %d messages for the postmaster, want 1", n)
	}
	if log := s.logText(t); !strings.Contains(log, "client-ptr") {
		t.Errorf("log does not name the client-ptr check:\n%s", log)
	}

	dns.ServFail(loopbackPTR)
	s = startServer(t, "-resolver", dns.Addr(), "-spf=false")
	c = dialLines(t, s.addr)
	c.expect("EHLO mx.example.net", "250")
	c.expect("MAIL FROM:<alice@example.net>", "250")
	c.expect("RCPT TO:<Postmaster>", "250")
	c.expect("RCPT TO:<bob@example.org>", "421 4.4.3")
	if !c.closed() {
		t.Errorf("the connection stayed open after 421")
	}
}

// The same through Postfix's words: reject_unknown_client_hostname answers
// unknown_client_reject_code for a client without PTR, and 450 (never
// 451 4.3.0, never 5xx) when the lookup failed.
func TestNoPTRUnderPostfixConfig(t *testing.T) {
	dns := reverseDNS(t)
	conf := writeMainCF(t, "unknown_client_reject_code = 550\n"+
		"smtpd_recipient_restrictions = reject_unauth_destination, reject_unknown_client_hostname\n")
	start := func() *server {
		return startServer(t, "-config", conf, "-resolver", dns.Addr(), "-hygiene=false", "-spf=false")
	}
	session := func(s *server, want string) {
		t.Helper()
		c := dialLines(t, s.addr)
		c.expect("EHLO mx.example.net", "250")
		c.expect("MAIL FROM:<alice@example.net>", "250")
		got := c.expect("RCPT TO:<bob@example.org>", want)
		if !strings.Contains(got, "cannot find your hostname") {
			t.Errorf("reply %q is not Postfix's reject_unknown_client_hostname text", got)
		}
	}
	session(start(), "550 5.7.")
	// Postfix's default unknown_client_reject_code is 450.
	conf = writeMainCF(t, "smtpd_recipient_restrictions = reject_unauth_destination, reject_unknown_client_hostname\n")
	session(start(), "450 4.7.")
	dns.ServFail(loopbackPTR)
	session(start(), "450 4.7.")
}

func TestSwaksNoPTRIsRefused(t *testing.T) {
	dns := reverseDNS(t)
	s := startServer(t, "-resolver", dns.Addr(), "-spf=false")
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	// " 421 " is a reply code; a bare "421" may be the server's port.
	if err == nil || !strings.Contains(out, "<** 550 5.7.1") || strings.Contains(out, " 421 ") {
		t.Errorf("client without PTR: want 550 5.7.1 at RCPT; err=%v\n%s", err, out)
	}
	out, err = swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "postmaster@example.org")
	if err != nil {
		t.Errorf("postmaster@ refused for a client without PTR: %v\n%s", err, out)
	}
}

// A listed client whose PTR lookup times out gets the list's 5xx: the
// lookup failure defers only when nothing rejects.
func TestListedClientWithTimedOutPTRGetsListReply(t *testing.T) {
	dns := reverseDNS(t)
	dns.ListIP("bl.test", "127.0.0.1", "127.0.0.2")
	dns.Silence(loopbackPTR)
	s := startServer(t, "-resolver", dns.Addr(), "-spf=false", "-dnsbl", "bl.test")
	c := dialLines(t, s.addr)
	c.expect("EHLO mx.example.net", "250")
	c.expect("MAIL FROM:<alice@example.net>", "250")
	c.expect("RCPT TO:<bob@example.org>", "550 5.7.0 unknown [127.0.0.1] black listed by bl.test")
	c.expect("RCPT TO:<Postmaster>", "250")
	log := s.logText(t)
	if !strings.Contains(log, "timeout") {
		t.Errorf("log does not record the PTR lookup's timeout:\n%s", log)
	}
}

func TestSwaksListedClientWithTimedOutPTR(t *testing.T) {
	dns := reverseDNS(t)
	dns.ListIP("bl.test", "127.0.0.1", "127.0.0.2")
	dns.Silence(loopbackPTR)
	s := startServer(t, "-resolver", dns.Addr(), "-spf=false", "-dnsbl", "bl.test")
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	if err == nil || !strings.Contains(out, "<** 550 5.7.0 unknown [127.0.0.1] black listed by bl.test") {
		t.Errorf("listed client with a silent reverse zone: want the list's 550; err=%v\n%s", err, out)
	}
}

// The HELO judged is the current one: a client that corrects a refused
// HELO (after RSET, or with a second EHLO) gets its mail through.
func TestCorrectedHeloIsAccepted(t *testing.T) {
	s := startServer(t)
	c := dialLines(t, s.addr)
	c.expect("EHLO localhost", "250")
	c.expect("RSET", "250")
	c.expect("EHLO mx.example.test", "250")
	c.expect("MAIL FROM:<alice@example.net>", "250")
	c.expect("RCPT TO:<bob@example.org>", "250")
	c.sendMessage()

	c = dialLines(t, s.addr)
	c.expect("EHLO localhost", "250")
	c.expect("EHLO mx.example.net", "250")
	c.expect("MAIL FROM:<alice@example.net>", "250")
	c.expect("RCPT TO:<bob@example.org>", "250")

	// Uncorrected, the HELO is refused at RCPT (delayed rejection).
	c = dialLines(t, s.addr)
	c.expect("EHLO localhost", "250")
	c.expect("MAIL FROM:<alice@example.net>", "250")
	c.expect("RCPT TO:<bob@example.org>", "5")
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("stored %d messages, want 1", n)
	}
}

func TestSmtplibCorrectedHelo(t *testing.T) {
	py := needTool(t, "python3")
	s := startServer(t)
	host, port, _ := net.SplitHostPort(s.addr)
	script := `
import smtplib, sys
c = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), local_hostname="localhost", timeout=20)
c.ehlo("localhost")
c.rset()
c.ehlo("mx.example.net")
c.sendmail("alice@example.net", ["bob@example.org"], sys.stdin.buffer.read())
c.quit()
`
	out, err := runPython(t, py, script, testMessage, host, port)
	if err != nil {
		t.Fatalf("smtplib EHLO localhost, RSET, EHLO mx.example.net, send: %v\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("stored %d messages, want 1", n)
	}
}

// <Postmaster> (no domain, any case) and postmaster@ a served domain are
// accepted whatever else refuses the client: HELO, DNS list, greylisting,
// missing PTR. postmaster@ a foreign domain is still no relay.
func TestPostmasterAlwaysAccepted(t *testing.T) {
	dns := reverseDNS(t)
	dns.ListIP("bl.test", "127.0.0.1", "127.0.0.2")
	tests := []struct {
		name   string
		args   []string
		helo   string
		refuse string // what bob@example.org gets
	}{
		{"refused HELO", nil, "localhost", "5"},
		{"DNS list and no PTR", []string{"-resolver", dns.Addr(), "-spf=false", "-dnsbl", "bl.test"}, "mx.example.net", "550"},
		{"greylisting", []string{"-greylist", "memory:", "-greylist-delay", "1h"}, "mx.example.net", "451 4.7.1 greylisted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.args...)
			c := dialLines(t, s.addr)
			c.expect("EHLO "+tt.helo, "250")
			c.expect("MAIL FROM:<alice@example.net>", "250")
			c.expect("RCPT TO:<bob@example.org>", tt.refuse)
			c.expect("RCPT TO:<Postmaster>", "250")
			c.expect("RCPT TO:<postmaster>", "250")
			c.expect("RCPT TO: <POSTMASTER>", "250")
			c.expect("RCPT TO:<PostMaster@Example.ORG>", "250")
			c.expect("RCPT TO:<postmaster@elsewhere.example>", "550 5.7.1")
			c.sendMessage()
			msgs := s.messages(t)
			if len(msgs) != 1 {
				t.Fatalf("stored %d messages, want 1", len(msgs))
			}
			if strings.Contains(string(msgs[0]), "postmaster.smtppolicy.invalid") {
				t.Errorf("the stored message names the stand-in domain:\n%s", msgs[0])
			}
			if log := s.logText(t); !strings.Contains(log, "RFC 5321 4.5.1") {
				t.Errorf("log does not explain the postmaster exception:\n%s", log)
			}
		})
	}
}

func TestSwaksPostmasterOfListedClient(t *testing.T) {
	dns := reverseDNS(t)
	dns.ListIP("bl.test", "127.0.0.1", "127.0.0.2")
	s := startServer(t, "-resolver", dns.Addr(), "-spf=false", "-dnsbl", "bl.test")
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "Postmaster@example.org")
	if err != nil {
		t.Errorf("postmaster@ refused for a listed client: %v\n%s", err, out)
	}
}

// runPython runs a Python script with args, feeding it stdin.
func runPython(t *testing.T, py, script, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{"-c", script}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
