package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// rawClient speaks SMTP line by line, so a test controls every byte and
// its timing.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	tp *textproto.Conn
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(60 * time.Second))
	rc := &rawClient{t: t, c: c, tp: textproto.NewConn(c)}
	rc.expect("greeting", 220)
	return rc
}

// reply reads one reply and returns "code text" (lines joined by \n).
func (c *rawClient) reply() string {
	c.t.Helper()
	code, msg, err := c.tp.ReadResponse(0)
	if err != nil {
		c.t.Fatalf("reading a reply: %v", err)
	}
	return fmt.Sprintf("%d %s", code, msg)
}

func (c *rawClient) expect(what string, code int) string {
	c.t.Helper()
	r := c.reply()
	if !strings.HasPrefix(r, fmt.Sprint(code)) {
		c.t.Fatalf("%s: reply %q, want %d", what, r, code)
	}
	return r
}

// cmd sends a command line and returns its reply.
func (c *rawClient) cmd(line string) string {
	c.t.Helper()
	if err := c.tp.PrintfLine("%s", line); err != nil {
		c.t.Fatalf("sending %q: %v", line, err)
	}
	return c.reply()
}

// envelope sends MAIL, RCPT and DATA up to the 354.
func (c *rawClient) envelope() {
	c.t.Helper()
	for _, l := range []string{"MAIL FROM:<alice@example.net>", "RCPT TO:<bob@example.org>"} {
		if r := c.cmd(l); !strings.HasPrefix(r, "250") {
			c.t.Fatalf("%s: %q", l, r)
		}
	}
	if r := c.cmd("DATA"); !strings.HasPrefix(r, "354") {
		c.t.Fatalf("DATA: %q", r)
	}
}

// message sends a message (CRLF lines), dot-stuffed, and the final dot,
// and returns the reply.
func (c *rawClient) message(msg string) string {
	c.t.Helper()
	wire := strings.ReplaceAll("\r\n"+msg, "\r\n.", "\r\n..")[2:]
	if _, err := io.WriteString(c.c, wire+".\r\n"); err != nil {
		c.t.Fatalf("sending the message: %v", err)
	}
	return c.reply()
}

// bigMessage is a valid message (for the hygiene checks) of at least size
// bytes, in 78-octet lines.
func bigMessage(size int) string {
	var b strings.Builder
	b.WriteString(testMessage)
	line := strings.Repeat("x", 76) + "\r\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.String()
}

// A message over the size limit gets 552 5.3.4 (it used to get 451 4.3.0,
// retried for days), logged as a decision; the session goes on. EHLO
// advertises the limit, and MAIL FROM SIZE= above it is refused at MAIL.
func TestDataOversizeRefusedSessionGoesOn(t *testing.T) {
	s := startServer(t, "-hygiene-max-size", "100000")
	c := dialRaw(t, s.addr)
	if ehlo := c.cmd("EHLO mx.example.net"); !strings.Contains(ehlo, "SIZE 100000") {
		t.Errorf("EHLO reply %q does not advertise SIZE 100000", ehlo)
	}
	if r := c.cmd("MAIL FROM:<alice@example.net> SIZE=200000"); !strings.HasPrefix(r, "552 5.3.4") {
		t.Errorf("MAIL with SIZE=200000 over the limit: %q, want 552 5.3.4", r)
	}
	c.envelope()
	if r := c.message(bigMessage(150000)); !strings.HasPrefix(r, "552 5.3.4") {
		t.Fatalf("oversize message: %q, want 552 5.3.4", r)
	}
	if r := c.cmd("RSET"); !strings.HasPrefix(r, "250") {
		t.Fatalf("RSET after the refusal: %q", r)
	}
	c.envelope()
	if r := c.message(testMessage); !strings.HasPrefix(r, "250") {
		t.Fatalf("next message in the same session: %q, want 250", r)
	}
	c.cmd("QUIT")
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("stored %d messages, want the second one only", n)
	}
	log := s.logText(t)
	if !strings.Contains(log, "msg=decision") || !strings.Contains(log, "rule=max-message-bytes") || !strings.Contains(log, "552 5.3.4") {
		t.Errorf("the size refusal is not logged as a decision:\n%s", log)
	}
}

// -hygiene-max-size above go-smtp's 25 MiB default is the limit in force.
func TestDataLimitAbove25MiB(t *testing.T) {
	s := startServer(t, "-hygiene-max-size", fmt.Sprint(40<<20))
	c := dialRaw(t, s.addr)
	if ehlo := c.cmd("EHLO mx.example.net"); !strings.Contains(ehlo, fmt.Sprintf("SIZE %d", 40<<20)) {
		t.Errorf("EHLO reply %q does not advertise SIZE %d", ehlo, 40<<20)
	}
	c.envelope()
	msg := bigMessage(26 << 20)
	if r := c.message(msg); !strings.HasPrefix(r, "250") {
		t.Fatalf("26 MiB message under a 40 MiB limit: %q, want 250", r)
	}
	msgs := s.messages(t)
	if len(msgs) != 1 || !bytes.Equal(stripReceived(t, msgs[0]), []byte(msg)) {
		t.Errorf("the 26 MiB message was not stored intact (%d stored)", len(msgs))
	}
}

// longLineMessage holds a body line of n octets (a single-line HTML page).
func longLineMessage(n int) string {
	line := "<p>" + strings.Repeat("a", n-7) + "</p>"
	return strings.Replace(testMessage, "Bye.\r\n", line+"\r\nBye.\r\n", 1)
}

// A body line of 2,000 octets or more used to get 451 and then an
// unsolicited 500 with the connection closed. Any body line up to the
// message size is accepted and stored intact; command lines stay bounded.
func TestDataLongBodyLineStoredIntact(t *testing.T) {
	s := startServer(t)
	c := dialRaw(t, s.addr)
	c.cmd("EHLO mx.example.net")
	var sent []string
	for _, n := range []int{2000, 5000, 1 << 20} {
		msg := longLineMessage(n)
		c.envelope()
		if r := c.message(msg); !strings.HasPrefix(r, "250") {
			t.Fatalf("body line of %d octets: %q, want 250", n, r)
		}
		sent = append(sent, msg)
	}
	if r := c.cmd("NOOP"); !strings.HasPrefix(r, "250") {
		t.Errorf("NOOP after the long lines: %q", r)
	}
	msgs := s.messages(t)
	if len(msgs) != len(sent) {
		t.Fatalf("stored %d messages, want %d", len(msgs), len(sent))
	}
	for _, m := range msgs {
		got := string(stripReceived(t, m))
		found := false
		for _, w := range sent {
			found = found || got == w
		}
		if !found {
			t.Errorf("a stored message (%d bytes) is not one of those sent", len(got))
		}
	}

	// A command line stays bounded: 500 and the connection closes.
	c = dialRaw(t, s.addr)
	c.cmd("EHLO mx.example.net")
	if r := c.cmd("MAIL FROM:<" + strings.Repeat("a", 3000) + "@example.net>"); !strings.HasPrefix(r, "500") {
		t.Errorf("3000-octet command line: %q, want 500", r)
	}
	if _, err := c.tp.ReadLine(); err == nil {
		t.Errorf("the connection stays open after an overlong command line")
	}
}

// The same through Python's smtplib, a client real senders use.
func TestPythonSmtplibLongLineAndOversize(t *testing.T) {
	py := needTool(t, "python3")
	s := startServer(t, "-hygiene-max-size", "100000")
	host, port, _ := net.SplitHostPort(s.addr)
	script := `
import smtplib, sys
long, big = open(sys.argv[3], "rb").read(), open(sys.argv[4], "rb").read()
with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), local_hostname="client.example.net", timeout=20) as c:
    try:
        c.sendmail("alice@example.net", ["bob@example.org"], big)
    except smtplib.SMTPDataError as e:
        print("big refused", e.smtp_code, e.smtp_error.decode())
    except smtplib.SMTPSenderRefused as e:
        print("big refused", e.smtp_code, e.smtp_error.decode())
    c.rset()
    c.sendmail("alice@example.net", ["bob@example.org"], long)
    print("long accepted")
`
	long := longLineMessage(5000)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", script, host, port, writeMessage(t, long), writeMessage(t, bigMessage(150000))).CombinedOutput()
	if err != nil {
		t.Fatalf("python smtplib: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "big refused 552 5.3.4") || !strings.Contains(string(out), "long accepted") {
		t.Errorf("smtplib output = %q, want the 552 5.3.4 refusal then the long line accepted", out)
	}
	msgs := s.messages(t)
	if len(msgs) != 1 || string(stripReceived(t, msgs[0])) != long {
		t.Errorf("stored %d messages, want the long-line one intact", len(msgs))
	}
}

// The same through swaks (skipped when it is not installed).
func TestSwaksLongLineAndOversize(t *testing.T) {
	s := startServer(t, "-hygiene-max-size", "100000")
	args := []string{"--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org"}
	out, err := swaks(t, s.addr, append(args, "--data", "@"+writeMessage(t, strings.TrimSuffix(bigMessage(150000), "\r\n")))...)
	if err == nil || !strings.Contains(out, "<** 552 5.3.4") {
		t.Errorf("swaks oversize: err %v, want 552 5.3.4\n%.2000s", err, out)
	}
	long := longLineMessage(5000)
	out, err = swaks(t, s.addr, append(args, "--data", "@"+writeMessage(t, strings.TrimSuffix(long, "\r\n")))...)
	if err != nil {
		t.Fatalf("swaks long line: %v\n%.2000s", err, out)
	}
	msgs := s.messages(t)
	if len(msgs) != 1 || string(stripReceived(t, msgs[0])) != long {
		t.Errorf("stored %d messages, want the long-line one intact", len(msgs))
	}
}

// drip sends msg one byte at a time every interval until the server
// answers; it returns the reply and how long it took.
func drip(t *testing.T, c *rawClient, msg string, every time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	stop := make(chan struct{})
	go func() {
		for i := 0; i < len(msg); i++ {
			select {
			case <-stop:
				return
			case <-time.After(every):
			}
			if _, err := c.c.Write([]byte{msg[i]}); err != nil {
				return
			}
		}
	}()
	defer close(stop)
	return c.reply(), time.Since(start)
}

// A client sending a byte at a time cannot hold a session: the DATA
// deadline answers 421 4.4.2 and the connection closes.
func TestDataDeadline(t *testing.T) {
	s := startServer(t, "-data-timeout", "1s", "-hygiene-max-size", "1000")
	c := dialRaw(t, s.addr)
	c.cmd("EHLO mx.example.net")
	c.envelope()
	r, took := drip(t, c, testMessage, 100*time.Millisecond)
	if !strings.HasPrefix(r, "421 4.4.2") {
		t.Errorf("slow DATA: %q, want 421 4.4.2", r)
	}
	if took > 5*time.Second {
		t.Errorf("the 421 came after %v, want about the 1 s deadline", took)
	}
	if _, err := c.tp.ReadLine(); err == nil {
		t.Errorf("the connection stays open after the DATA deadline")
	}
	if log := s.logText(t); !strings.Contains(log, "rule=max-data-time") {
		t.Errorf("the deadline is not logged as a decision:\n%s", log)
	}

	// Past the size limit, go-smtp reads the rest of the message: the
	// deadline bounds that too.
	c = dialRaw(t, s.addr)
	c.cmd("EHLO mx.example.net")
	c.envelope()
	io.WriteString(c.c, bigMessage(2000))
	r, _ = drip(t, c, strings.Repeat("x", 100), 100*time.Millisecond)
	if !strings.HasPrefix(r, "421 4.4.2") {
		t.Errorf("slow DATA past the size limit: %q, want 421 4.4.2", r)
	}
	if n := len(s.messages(t)); n != 0 {
		t.Errorf("stored %d messages, want none", n)
	}
}

// mimeShapes are messages linking to www.DOMAIN in each MIME shape a
// sender uses.
func mimeShapes(domain string) map[string]string {
	head := "From: alice@example.net\r\nTo: bob@example.org\r\nSubject: links\r\n" +
		"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <shape@example.net>\r\nMIME-Version: 1.0\r\n"
	html := `<html><body><p>Hello, see <a href="http://www.` + domain + `/offer">this offer</a>.</p></body></html>`
	b64 := base64.StdEncoding.EncodeToString([]byte(html))
	var wrapped strings.Builder
	for len(b64) > 76 {
		wrapped.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	wrapped.WriteString(b64 + "\r\n")
	htmlB64 := "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + wrapped.String()
	// A soft line break inside the host name, as quoted-printable encoders
	// put them at column 76.
	qp := "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"<p>Hello, see <a href=3D\"http://www." + domain[:5] + "=\r\n" + domain[5:] + "/offer\">this</a>.</p>\r\n"
	plain := "Content-Type: text/plain; charset=utf-8\r\n\r\nHello, see the HTML part.\r\n"
	alt := "Content-Type: multipart/alternative; boundary=\"alt-1\"\r\n\r\n" +
		"--alt-1\r\n" + plain + "--alt-1\r\n" + htmlB64 + "--alt-1--\r\n"
	return map[string]string{
		"single-part base64 HTML": head + htmlB64,
		"quoted-printable HTML":   head + qp,
		"multipart/alternative":   head + alt,
		"nested multipart": head + "Content-Type: multipart/mixed; boundary=\"mix-1\"\r\n\r\nThis is a MIME message.\r\n" +
			"--mix-1\r\n" + alt + "--mix-1\r\n" +
			"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--mix-1--\r\n",
	}
}

// Every check that reads the body sees the same body: the part after the
// header, read with the header's Content-Type and transfer encoding. A
// link to a listed domain is refused in every MIME shape (the single-part
// base64 one used to be accepted: the checks read the header as base64).
func TestURIListEveryMIMEShape(t *testing.T) {
	dns := dnstest.New(t)
	dns.ListDomain("dbl.test", "spam-domain.example", "127.0.1.2")
	s := startServer(t, "-resolver", dns.Addr(), "-hygiene=false", "-spf=false", "-uribl", "dbl.test=127.0.1.[2..99]")
	listed, clean := mimeShapes("spam-domain.example"), mimeShapes("fine-domain.example")
	for name, msg := range listed {
		t.Run(name, func(t *testing.T) {
			c := dialRaw(t, s.addr)
			c.cmd("EHLO mx.example.net")
			c.envelope()
			if r := c.message(msg); !strings.HasPrefix(r, "550 5.7.1 black listed URL domain spam-domain.example by dbl.test") {
				t.Errorf("reply %q, want the URI list's 550 5.7.1", r)
			}
			// The same shape linking elsewhere passes: the refusal is the link's.
			c.envelope()
			if r := c.message(clean[name]); !strings.HasPrefix(r, "250") {
				t.Errorf("the same shape with an unlisted link: %q, want 250", r)
			}
		})
	}
	if n := len(s.messages(t)); n != len(clean) {
		t.Errorf("stored %d messages, want the %d with unlisted links", n, len(clean))
	}
}
