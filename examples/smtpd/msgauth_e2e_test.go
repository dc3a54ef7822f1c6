package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/smtppolicy/smtppolicy/batv"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// authMessage writes msg, DKIM-signed by example.net with key when key is
// not nil, to a file for swaks.
func authMessage(t *testing.T, msg string, key ed25519.PrivateKey, selector string) string {
	t.Helper()
	if key != nil {
		var out bytes.Buffer
		if err := dkim.Sign(&out, strings.NewReader(msg), &dkim.SignOptions{Domain: "example.net", Selector: selector, Signer: key}); err != nil {
			t.Fatal(err)
		}
		msg = out.String()
	}
	p := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(p, []byte(msg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// swaks sends through smtpd -msgauth: a message DKIM-signed by
// example.net, whose key and p=reject policy the DNS serves, is stored
// with Authentication-Results naming the pass; the same message unsigned
// is refused at end of data with the catalog's DMARC reply; one whose key
// lookup times out is deferred.
func TestSwaksMsgauth(t *testing.T) {
	needTool(t, "swaks")
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dns := dnstest.New(t)
	dns.Zone("example.net", 60)
	dns.Add(`s1._domainkey.example.net. TXT "v=DKIM1; k=ed25519; p=`+base64.StdEncoding.EncodeToString(pub)+`"`,
		`_dmarc.example.net. TXT "v=DMARC1; p=reject"`)
	dns.Silence("slow._domainkey.example.net")
	s := startServer(t, "-resolver", dns.Addr(), "-hygiene=false", "-spf=false", "-msgauth", "-msgauth-timeout", "2s", "-hostname", "mx.example.org")
	msg := "From: Alice <alice@example.net>\r\nTo: Bob <bob@example.org>\r\nSubject: lunch on Tuesday\r\n" +
		"Date: Fri, 04 Dec 2026 17:00:00 +0000\r\nMessage-ID: <auth-1@example.net>\r\n\r\n" + lunch + "\r\n"

	if out, err := sendWith(t, s, authMessage(t, msg, key, "s1")); err != nil {
		t.Fatalf("signed message refused: %v\n%s", err, out)
	}
	msgs := s.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want the signed one", len(msgs))
	}
	for _, want := range []string{"Authentication-Results: mx.example.org;\r\n\tdkim=pass header.d=example.net", "\tdmarc=pass header.from=example.net"} {
		if !bytes.Contains(msgs[0], []byte(want)) {
			t.Errorf("stored message lacks %q:\n%s", want, msgs[0])
		}
	}

	out, err := sendWith(t, s, authMessage(t, msg, nil, ""))
	if err == nil || !strings.Contains(out, "<** 550 5.7.1 message refused: DMARC policy of example.net says reject (no aligned DKIM or SPF pass; p=reject)") {
		t.Errorf("unsigned message: want 550 5.7.1 DMARC reject; swaks err=%v:\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("stored %d messages, want only the signed one", n)
	}
	// The key's name servers do not answer: deferred, never refused.
	out, err = sendWith(t, s, authMessage(t, msg, key, "slow"))
	if err == nil || !strings.Contains(out, "<** 451 4.7.1 DMARC evaluation for example.net failed temporarily") {
		t.Errorf("key lookup timing out: want 451 4.7.1; swaks err=%v:\n%s", err, out)
	}
	if log := s.logText(t); !strings.Contains(log, "rule=dmarc matched=fail") {
		t.Errorf("the decision log does not explain the DMARC refusal:\n%s", log)
	}
}

// The same message sent twice to the same recipient is refused the second
// time with smtpf#340's reply; to another recipient it is delivered.
func TestSwaksDuplicate(t *testing.T) {
	needTool(t, "swaks")
	s := startServer(t, "-duplicate", "memory:")
	data := scanMessage(t, lunch)
	if out, err := sendWith(t, s, data); err != nil {
		t.Fatalf("first copy refused: %v\n%s", err, out)
	}
	out, err := sendWith(t, s, data)
	if err == nil || !strings.Contains(out, "<** 550 5.3.4 duplicate message rejected") {
		t.Errorf("second copy: want 550 5.3.4 duplicate message rejected; swaks err=%v:\n%s", err, out)
	}
	if out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "carol@example.org", "--data", "@"+data); err != nil {
		t.Errorf("copy to another recipient refused: %v\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 2 {
		t.Errorf("stored %d messages, want 2", n)
	}
}

// A bounce to an address of ours without a valid prvs= tag is refused at
// RCPT with smtpf#358's reply; one to a tag of the previous key passes
// after rotation; mail with a sender is untouched.
func TestSwaksBATV(t *testing.T) {
	needTool(t, "swaks")
	old := batv.Key{ID: '1', Secret: []byte("the previous secret, 24")}
	s := startServer(t, "-batv-key", "2:the current secret, long enough", "-batv-key", "1:"+string(old.Secret))
	bounce := func(rcpt string) (string, error) {
		return swaks(t, s.addr, "--helo", "mx.example.net", "--from", "<>", "--to", rcpt)
	}
	out, err := bounce("alice@example.org")
	if err == nil || !strings.Contains(out, "<** 550 5.7.1 DSN or MDN for message that did not originate here") {
		t.Errorf("bounce to an untagged address: want 550 5.7.1 (smtpf#358); swaks err=%v:\n%s", err, out)
	}
	sg, err := batv.NewSigner(0, old)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := bounce(sg.Sign("alice@example.org", time.Now())); err != nil {
		t.Errorf("bounce to a tag of the previous key refused: %v\n%s", err, out)
	}
	if out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "carol@example.net", "--to", "alice@example.org"); err != nil {
		t.Errorf("mail with a sender refused: %v\n%s", err, out)
	}
	if log := s.logText(t); !strings.Contains(log, "batv rule=not-ours matched=alice@example.org") {
		t.Errorf("the decision log does not explain the refusal")
	}
}

// As a relay (-batv-sign), smtpd tags the sender of the mail a trusted
// client sends to another domain, in the stored message's Return-Path, so
// that a bounce to it verifies; mail to our own domains and mail from
// untrusted clients keep no Return-Path.
func TestSwaksBATVSignsOutgoing(t *testing.T) {
	needTool(t, "swaks")
	key := batv.Key{ID: '3', Secret: []byte("the relay's secret, 24+")}
	sg, err := batv.NewSigner(0, key)
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "-batv-key", "3:"+string(key.Secret), "-batv-sign", "-trusted", "127.0.0.0/8")
	if out, err := swaks(t, s.addr, "--helo", "mx.example.org", "--from", "alice@example.org", "--to", "bob@elsewhere.example"); err != nil {
		t.Fatalf("outgoing mail refused: %v\n%s", err, out)
	}
	if out, err := swaks(t, s.addr, "--helo", "mx.example.org", "--from", "alice@example.org", "--to", "carol@example.org"); err != nil {
		t.Fatalf("local mail refused: %v\n%s", err, out)
	}
	var tagged, plain int
	for _, m := range s.messages(t) {
		first, _, _ := strings.Cut(string(m), "\r\n")
		rp, ok := strings.CutPrefix(first, "Return-Path: <")
		if !ok {
			if strings.Contains(string(m), "carol@example.org") {
				plain++
			}
			continue
		}
		rp = strings.TrimSuffix(rp, ">")
		if orig, err := sg.Verify(rp, time.Now()); err != nil || orig != "alice@example.org" {
			t.Errorf("Return-Path %q: Verify = %q, %v; want alice@example.org tagged with the relay's key", rp, orig, err)
		}
		if !strings.Contains(string(m), "bob@elsewhere.example") {
			t.Errorf("a tagged Return-Path on mail that does not leave:\n%s", m)
		}
		tagged++
	}
	if tagged != 1 || plain != 1 {
		t.Errorf("%d tagged and %d plain messages, want one of each", tagged, plain)
	}

	// Not trusted: not relayed, nothing tagged.
	u := startServer(t, "-batv-key", "3:"+string(key.Secret), "-batv-sign")
	if out, err := swaks(t, u.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "carol@example.org"); err != nil {
		t.Fatalf("mail from an untrusted client refused: %v\n%s", err, out)
	}
	for _, m := range u.messages(t) {
		if strings.HasPrefix(string(m), "Return-Path:") {
			t.Errorf("mail from an untrusted client got a Return-Path:\n%s", m)
		}
	}
}

// smtpf's Four21 test through smtpd: swaks, never seen, gets 421 and
// answers with a clean QUIT, so its next attempt is delivered. A client
// that hangs up after the 421 is refused at its next connection with
// smtpf#364's 554.
func TestSwaksFour21(t *testing.T) {
	needTool(t, "swaks")
	s := startServer(t, "-four21", "memory:", "-four21-wait", "3s")
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	if err == nil || !strings.Contains(out, "<** 421 4.4.0 client unknown [127.0.0.1] unknown") {
		t.Fatalf("first contact: want 421 4.4.0 (smtpf#363); swaks err=%v:\n%s", err, out)
	}
	var last string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		// The QUIT is recorded just after swaks reads the 221.
		if out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org"); err == nil {
			last = ""
			break
		} else {
			last = out
		}
	}
	if last != "" {
		t.Fatalf("after a clean QUIT the client is still refused:\n%s", last)
	}
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("stored %d messages, want 1", n)
	}

	s = startServer(t, "-four21", "memory:", "-four21-wait", "3s")
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	greeting, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.HasPrefix(greeting, "421 4.4.0 ") {
		t.Fatalf("first contact of the raw client: %q, want 421", greeting)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out, err = swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
		if strings.Contains(out, "554 5.4.0") {
			break
		}
	}
	if err == nil || !strings.Contains(out, `<** 554 5.4.0 client unknown [127.0.0.1] "No soup for you!"`) {
		t.Errorf("client that hung up after the 421: want 554 5.4.0 (smtpf#364); swaks err=%v:\n%s", err, out)
	}
	if log := s.logText(t); !strings.Contains(log, "four21 rule=four21-unknown-ip matched=127.0.0.1") {
		t.Errorf("the decision log does not explain the refusal")
	}
}
