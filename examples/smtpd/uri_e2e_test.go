package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

const linkMessage = "From: alice@example.net\r\nTo: bob@example.org\r\nSubject: links\r\n" +
	"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <links-1@example.net>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"<p>Hello, see <a href=3D\"http://WWW.Spam-Domain.example/offer\">this</a>.</p>\r\n"

// A message linking to a host on a URI list is refused at end of data; the
// same message to a server whose access map exempts the domain passes.
func TestSwaksURIList(t *testing.T) {
	dns := dnstest.New(t)
	dns.ListDomain("dbl.test", "spam-domain.example", "127.0.1.2")
	data := filepath.Join(t.TempDir(), "links.eml")
	if err := os.WriteFile(data, []byte(strings.TrimSuffix(linkMessage, "\r\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	send := func(s *server) (string, error) {
		return swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org", "--data", "@"+data)
	}
	common := []string{"-resolver", dns.Addr(), "-hygiene=false", "-spf=false", "-uribl", "dbl.test=127.0.1.[2..99]"}

	s := startServer(t, common...)
	out, err := send(s)
	if err == nil || !strings.Contains(out, "<** 550 5.7.1 black listed URL domain spam-domain.example by dbl.test") {
		t.Errorf("want the URI list refusal; swaks err=%v:\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 0 {
		t.Errorf("stored %d messages, want none", n)
	}

	m := filepath.Join(t.TempDir(), "access.cf")
	os.WriteFile(m, []byte("Body:spam-domain.example OK\n"), 0o644)
	s = startServer(t, append(common, "-access", m)...)
	if out, err := send(s); err != nil {
		t.Errorf("exempted by Body: but refused: %v\n%s", err, out)
	}

	// Without any list, a Body: REJECT entry refuses the link host itself.
	m = filepath.Join(t.TempDir(), "access.cf")
	os.WriteFile(m, []byte("Body:spam-domain.example REJECT\n"), 0o644)
	s = startServer(t, "-hygiene=false", "-spf=false", "-access", m)
	out, err = send(s)
	if err == nil || !strings.Contains(out, "<** 550 5.7.1 ") || !strings.Contains(out, "www.spam-domain.example") {
		t.Errorf("want the Body: REJECT refusal naming the host; swaks err=%v:\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 0 {
		t.Errorf("Body: REJECT: stored %d messages, want none", n)
	}
}
