package arc_test

import (
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/msgauth/arc"
)

// cpuTime is the process's user and system time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVerifyTwoHops is the validation of a chain of two sets (three
// signatures: the latest message signature, both seals), keys from the
// resolver's cache as on a busy server. Beside it, dkimpy's time for the
// same chain (rsa-sha256 only: its ARC knows no other), measured by the
// interpreter itself so its start-up is left out, and the ratios. CPU
// time per verification (cpu-ns/op, the process's user and system time)
// is reported for both as well: on a shared machine it says more than
// the wall time.
func BenchmarkVerifyTwoHops(b *testing.B) {
	w := newWorld(b)
	for _, sel := range []string{"rsa", "ed"} {
		msg := twoHops(b, sel)
		var peerWall, peerCPU float64
		var once sync.Once
		b.Run(sel, func(b *testing.B) {
			if r := verify(b, w, msg); r.State != arc.Pass {
				b.Fatalf("chain %s: %v", r.State, r.Err)
			}
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for b.Loop() {
				r, _ := arc.Verify(b.Context(), strings.NewReader(msg), w.res)
				if r.State != arc.Pass {
					b.Fatal(r.Err)
				}
			}
			b.StopTimer()
			cpu := float64((cpuTime(b) - cpu0).Nanoseconds()) / float64(b.N)
			b.ReportMetric(cpu, "cpu-ns/op")
			if sel != "rsa" {
				return
			}
			once.Do(func() { peerWall, peerCPU = findDkimpy(b).timeVerify(b, w, msg, 300) })
			wall := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(peerWall, "dkimpy-ns/op")
			b.ReportMetric(peerCPU, "dkimpy-cpu-ns/op")
			b.ReportMetric(peerWall/wall, "dkimpy/ours")
			b.ReportMetric(peerCPU/cpu, "dkimpy/ours-cpu")
		})
	}
}
