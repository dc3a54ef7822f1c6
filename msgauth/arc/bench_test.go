package arc_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/smtppolicy/smtppolicy/msgauth/arc"
)

// BenchmarkVerifyTwoHops is the validation of a chain of two sets (three
// signatures: the latest message signature, both seals), keys from the
// resolver's cache as on a busy server. Beside it, dkimpy's time for the
// same chain (rsa-sha256 only: its ARC knows no other), measured by the
// interpreter itself so its start-up is left out, and the ratio.
func BenchmarkVerifyTwoHops(b *testing.B) {
	w := newWorld(b)
	for _, sel := range []string{"rsa", "ed"} {
		msg := twoHops(b, sel)
		var peer float64
		var once sync.Once
		b.Run(sel, func(b *testing.B) {
			if r := verify(b, w, msg); r.State != arc.Pass {
				b.Fatalf("chain %s: %v", r.State, r.Err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r, _ := arc.Verify(context.Background(), strings.NewReader(msg), w.res)
				if r.State != arc.Pass {
					b.Fatal(r.Err)
				}
			}
			if sel != "rsa" {
				return
			}
			b.StopTimer()
			once.Do(func() { peer = findDkimpy(b).timeVerify(b, w, msg, 300) })
			ours := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(peer, "dkimpy-ns/op")
			b.ReportMetric(peer/ours, "dkimpy/ours")
		})
	}
}
