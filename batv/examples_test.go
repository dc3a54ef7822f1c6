package batv_test

import (
	"context"
	"fmt"
	"time"

	"github.com/smtppolicy/smtppolicy/batv"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Tag outgoing senders with the current key; a bounce to the tag verifies
// for the TTL, also after the key is rotated.
func ExampleSigner_Sign() {
	k1 := batv.Key{ID: '1', Secret: []byte("first secret, at least 16")}
	s, _ := batv.NewSigner(0, k1)
	at := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	tagged := s.Sign("alice@example.org", at)
	fmt.Println(tagged[:9], tagged[15:]) // the signature between them varies with the secret

	k2 := batv.Key{ID: '2', Secret: []byte("second secret, rotated in")}
	rotated, _ := batv.NewSigner(0, k2, k1)
	orig, err := rotated.Verify(tagged, at.Add(48*time.Hour))
	fmt.Println(orig, err)
	_, err = rotated.Verify(tagged, at.Add(30*24*time.Hour))
	fmt.Println(err)
	// Output:
	// prvs=1791 =alice@example.org
	// alice@example.org <nil>
	// batv: tag expired
}

// Verify tells an untagged address from a forged tag.
func ExampleSigner_Verify() {
	s, _ := batv.NewSigner(0, batv.Key{ID: '1', Secret: []byte("first secret, at least 16")})
	_, err := s.Verify("alice@example.org", time.Now())
	fmt.Println(err)
	_, err = s.Verify("prvs=1065000000=alice@example.org", time.Now())
	fmt.Println(err)
	// Output:
	// batv: address carries no prvs= tag
	// batv: tag does not verify
}

// NewSigner wants a key named by a digit with a long enough secret.
func ExampleNewSigner() {
	_, err := batv.NewSigner(0, batv.Key{ID: '1', Secret: []byte("short")})
	fmt.Println(err)
	// Output: batv: key '1': want an ID 0-9 and a secret of at least 16 octets
}

// Check refuses a bounce to an address this site never tagged.
func ExampleCheck() {
	s, _ := batv.NewSigner(0, batv.Key{ID: '1', Secret: []byte("first secret, at least 16")})
	check := batv.Check(batv.Config{Signer: s})
	sess := &smtpcheck.Session{Stage: smtpcheck.StageRcpt, Now: time.Now(), Mail: &smtpcheck.Mail{},
		Rcpt: smtpcheck.ParseAddress("alice@example.org")}
	r := check(context.Background(), sess)
	fmt.Println(r.DefaultReply())
	fmt.Println(r.Reason)
	// Output:
	// 550 5.7.1 DSN or MDN for message that did not originate here
	// batv rule=not-ours matched=alice@example.org evidence=batv: address carries no prvs= tag
}

// A relay tags the sender of the mail it sends on for a trusted or
// authenticated client, and only that mail.
func ExampleOutgoing() {
	s, _ := batv.NewSigner(0, batv.Key{ID: '1', Secret: []byte("first secret, at least 16")})
	sess := &smtpcheck.Session{
		Conn:  smtpcheck.Conn{AuthUser: "alice"},
		Mail:  &smtpcheck.Mail{From: smtpcheck.ParseAddress("alice@example.org")},
		Rcpts: []smtpcheck.Address{smtpcheck.ParseAddress("bob@elsewhere.example")},
	}
	if batv.Outgoing(sess, []string{"example.org"}) {
		tagged := s.Sign(sess.Mail.From.String(), time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC))
		fmt.Println(tagged[:9], tagged[15:])
	}
	// Output:
	// prvs=1791 =alice@example.org
}
