package arc_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/smtppolicy/smtppolicy/msgauth/arc"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// A mailing list seals a message it changed (a subject tag); the
// receiver's Verify finds the chain intact and reads what the list saw.
func ExampleSign() {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	msg := "From: alice@example.net\r\nTo: dev@lists.example.org\r\nSubject: [dev] release\r\n\r\nIt is out.\r\n"
	set, err := arc.Sign(strings.NewReader(msg), &arc.SignOptions{
		Domain: "lists.example.org", Selector: "s1", Signer: key,
		// What the list's own checks found when the message arrived.
		AuthResults: "lists.example.org; arc=none; dkim=pass header.d=example.net; dmarc=pass header.from=example.net",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	sealed := set + msg // the set goes above the header
	for _, line := range strings.Split(sealed, "\r\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && strings.HasPrefix(name, "ARC-") {
			fmt.Println(name)
		}
	}
	// Output:
	// ARC-Seal
	// ARC-Message-Signature
	// ARC-Authentication-Results
}

// Verify validates a sealed message with the sealer's key from DNS.
func ExampleVerify() {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	dns, err := dnstest.Start()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dns.Close()
	dns.Add(`s1._domainkey.lists.example.org. TXT "v=DKIM1; k=ed25519; p=` + base64.StdEncoding.EncodeToString(pub) + `"`)
	res, err := resolver.New(resolver.Config{Servers: []string{dns.Addr()}})
	if err != nil {
		fmt.Println(err)
		return
	}

	msg := "From: alice@example.net\r\nSubject: [dev] release\r\n\r\nIt is out.\r\n"
	set, _ := arc.Sign(strings.NewReader(msg), &arc.SignOptions{Domain: "lists.example.org", Selector: "s1", Signer: key,
		AuthResults: "lists.example.org; arc=none; dmarc=pass header.from=example.net"})
	sealed := set + msg

	r, err := arc.Verify(context.Background(), strings.NewReader(sealed), res)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("arc=" + r.State)
	fmt.Println(r.Sets[0].Sealer+":", r.Sets[0].Results)

	// The footer a later hop adds without sealing breaks the chain.
	r, _ = arc.Verify(context.Background(), strings.NewReader(sealed+"--\r\nfooter\r\n"), res)
	fmt.Println("arc=" + r.State)
	fmt.Println(r.Err)
	// Output:
	// arc=pass
	// lists.example.org: lists.example.org; arc=none; dmarc=pass header.from=example.net
	// arc=fail
	// arc: ARC-Message-Signature i=1 d=lists.example.org: body hash does not match
}
