package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// signed returns msg (LF line ends) DKIM-signed by example.net with key,
// LF line ends again for smtpClient.data.
func signed(t *testing.T, msg string, key ed25519.PrivateKey) string {
	t.Helper()
	var out bytes.Buffer
	if err := dkim.Sign(&out, strings.NewReader(strings.ReplaceAll(msg, "\n", "\r\n")), &dkim.SignOptions{Domain: "example.net", Selector: "s1", Signer: key}); err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n")
}

// Behind Postfix, the milter runs the assembly's checks of the message at
// its end, as smtpd does: a message DKIM-signed by example.net, whose key
// and p=reject policy the DNS serves, is delivered with the filter's
// Authentication-Results (DKIM, DMARC and ARC); the same message unsigned
// is refused with the catalog's DMARC reply; and the signed message sent
// again is refused as a duplicate, because the filter remembered the
// first copy once it let it through, while the refused one was not
// remembered.
func TestPostfixMsgauthAndDuplicate(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dns := dnstest.New(t)
	dns.Zone("example.net", 60)
	dns.Add(`s1._domainkey.example.net. TXT "v=DKIM1; k=ed25519; p=`+base64.StdEncoding.EncodeToString(pub)+`"`,
		`_dmarc.example.net. TXT "v=DMARC1; p=reject"`)
	f := startMilter(t, "-resolver", dns.Addr(), "-hygiene=false", "-spf=false", "-hostname", "mx.example.org",
		"-msgauth", "-msgauth-timeout", "2s", "-arc-verify", "-duplicate", "memory:")
	in := startPostfix(t, f.addr)
	msg := "From: Alice <alice@example.net>\nTo: Bob <bob@example.org>\nSubject: lunch on Tuesday\n" +
		"Date: Fri, 04 Dec 2026 17:00:00 +0000\nMessage-ID: <auth-1@example.net>\n\nShall we meet at noon?\n"
	send := func(body string) (int, string) {
		s := dial(t, in.addr)
		s.begin("192.0.2.30", "mx.example.net", "mx.example.net")
		s.expect("MAIL FROM:<alice@example.net>", 250)
		s.expect("RCPT TO:<bob@example.org>", 250)
		code, text := s.data(body)
		s.cmd("QUIT")
		return code, text
	}

	if code, text := send(msg); code != 550 || !strings.HasPrefix(text, "550 5.7.1 message refused: DMARC policy of example.net says reject") {
		t.Errorf("unsigned message = %q, want the DMARC refusal", text)
	}
	sig := signed(t, msg, key)
	if code, text := send(sig); code != 250 {
		t.Fatalf("signed message = %q, want it taken", text)
	}
	got := in.delivered(t, 1)[0]
	for _, want := range []string{"Authentication-Results: mx.example.org;", "dkim=pass header.d=example.net", "dmarc=pass header.from=example.net", "arc=none"} {
		if !strings.Contains(got, want) {
			t.Errorf("delivered message lacks %q:\n%s", want, got)
		}
	}
	if code, text := send(sig); code != 550 || !strings.HasPrefix(text, "550 5.3.4 duplicate message rejected") {
		t.Errorf("the signed message again = %q, want 550 5.3.4 duplicate message rejected", text)
	}
	if n := len(in.delivered(t, 1)); n != 1 {
		t.Errorf("%d messages delivered, want the first signed copy only", n)
	}
}

// mailboxHost is a downstream server on loopback that knows the mailbox
// alice and refuses every other recipient with 550.
type mailboxHost struct{}

func (mailboxHost) NewSession(*smtp.Conn) (smtp.Session, error) { return mailboxHost{}, nil }
func (mailboxHost) Reset()                                      {}
func (mailboxHost) Logout() error                               { return nil }
func (mailboxHost) Mail(string, *smtp.MailOptions) error        { return nil }
func (mailboxHost) Data(r io.Reader) error                      { _, err := io.Copy(io.Discard, r); return err }
func (mailboxHost) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "alice@") {
		return nil
	}
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
}

// Behind Postfix, a -config file's reject_unverified_recipient asks the
// callout to -callout-recipient's downstream server, with Postfix's
// reply codes.
func TestPostfixCalloutVerifiesRecipients(t *testing.T) {
	srv := smtp.NewServer(mailboxHost{})
	srv.Domain = "store.example.org"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	cf := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(cf, []byte("smtpd_recipient_restrictions = reject_unverified_recipient\nunverified_recipient_reject_code = 550\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := startMilter(t, "-config", cf, "-callout-recipient", ln.Addr().String(), "-callout-timeout", "3s")
	in := startPostfix(t, f.addr)
	s := dial(t, in.addr)
	s.begin("192.0.2.31", "mx.example.net", "mx.example.net")
	s.expect("MAIL FROM:<someone@example.net>", 250)
	code, text := s.cmd("RCPT TO:<carol@example.org>")
	if code != 550 || !strings.Contains(text, "5.1.1") || !strings.Contains(text, "undeliverable address") || !strings.Contains(text, "said: 550 5.1.1 no such user") {
		t.Errorf("recipient the downstream server refuses = %q, want 550 5.1.1 undeliverable address with what it said", text)
	}
	s.expect("RCPT TO:<alice@example.org>", 250)
	s.cmd("QUIT")
}
