package msgauth_test

import (
	"testing"

	"github.com/smtppolicy/smtppolicy/msgauth"
)

// BenchmarkVerify is DKIM verification and DMARC evaluation per message,
// keys and policy from the resolver's cache, as on a busy server.
func BenchmarkVerify(b *testing.B) {
	w := newWorld(b)
	w.txt("_dmarc.example.net", "v=DMARC1; p=reject")
	v, err := msgauth.New(msgauth.Config{Resolver: w.res, AuthServID: "mx.test"})
	if err != nil {
		b.Fatal(err)
	}
	for _, sel := range []string{"ed", "rsa"} {
		b.Run(sel, func(b *testing.B) {
			s := session(b, sign(b, plainMessage, "example.net", sel), "alice@example.net")
			b.ReportAllocs()
			for b.Loop() {
				if o, err := v.Verify(b.Context(), s); err != nil || o.DMARC.Result != msgauth.Pass {
					b.Fatalf("%v %v", o.DMARC.Result, err)
				}
			}
		})
	}
}
