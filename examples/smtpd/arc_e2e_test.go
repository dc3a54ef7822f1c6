package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/smtppolicy/smtppolicy/msgauth/arc"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// swaks sends through smtpd -msgauth -arc-verify a message a mailing list
// changed (breaking the author's DKIM signature, so p=reject refuses it)
// and sealed: with -arc-trusted-sealers naming the list it is stored with
// arc=pass in Authentication-Results; without, DMARC refuses it as before.
func TestSwaksARC(t *testing.T) {
	needTool(t, "swaks")
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rec := `TXT "v=DKIM1; k=ed25519; p=` + base64.StdEncoding.EncodeToString(pub) + `"`
	dns := dnstest.New(t)
	dns.Zone("example.net", 60)
	dns.Zone("example.org", 60)
	dns.Add(`s1._domainkey.example.net. `+rec, `arc._domainkey.lists.example.org. `+rec, `_dmarc.example.net. TXT "v=DMARC1; p=reject"`)

	var signed bytes.Buffer
	msg := "From: Alice <alice@example.net>\r\nTo: team@lists.example.org\r\nSubject: lunch on Tuesday\r\n" +
		"Date: Fri, 04 Dec 2026 17:00:00 +0000\r\nMessage-ID: <arc-1@example.net>\r\n\r\n" + lunch + "\r\n"
	if err := dkim.Sign(&signed, strings.NewReader(msg), &dkim.SignOptions{Domain: "example.net", Selector: "s1", Signer: key}); err != nil {
		t.Fatal(err)
	}
	listed := strings.Replace(signed.String(), "Subject: lunch", "Subject: [team] lunch", 1)
	set, err := arc.Sign(strings.NewReader(listed), &arc.SignOptions{Domain: "lists.example.org", Selector: "arc", Signer: key,
		AuthResults: "lists.example.org; arc=none; dkim=pass header.d=example.net; dmarc=pass header.from=example.net"})
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "listed.eml")
	if err := os.WriteFile(data, []byte(set+listed), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-resolver", dns.Addr(), "-hygiene=false", "-spf=false", "-msgauth", "-hostname", "mx.example.org", "-arc-verify"}

	s := startServer(t, append(args, "-arc-trusted-sealers", "lists.example.org")...)
	if out, err := sendWith(t, s, data); err != nil {
		t.Fatalf("sealed by a trusted list: refused: %v\n%s", err, out)
	}
	msgs := s.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1", len(msgs))
	}
	for _, want := range []string{"\tarc=pass smtp.remote-ip=127.0.0.1", "overridden: arc=pass sealed by lists.example.org (i=1)"} {
		if !bytes.Contains(msgs[0], []byte(want)) {
			t.Errorf("stored message lacks %q:\n%s", want, msgs[0])
		}
	}

	s = startServer(t, args...)
	out, err := sendWith(t, s, data)
	if err == nil || !strings.Contains(out, "<** 550 5.7.1 message refused: DMARC policy of example.net says reject") {
		t.Errorf("sealer not trusted: want 550 5.7.1 DMARC reject; swaks err=%v:\n%s", err, out)
	}
}
