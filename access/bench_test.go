package access

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// bigMap writes n entries of the mix a large site has: client addresses and
// networks, sender addresses and domains, recipient domains.
func bigMap(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 40)
	values := []string{"REJECT", "OK", `REJECT:"550 5.7.1 spam source"`, "SKIP", "TEMPFAIL", "CONTENT"}
	for i := 0; i < n; i++ {
		v := values[i%len(values)]
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "Connect:%d.%d.%d.%d %s\n", 10+i>>24&0x7f, i>>16&0xff, i>>8&0xff, i&0xff, v)
		case 1:
			fmt.Fprintf(&b, "From:user%d@sender%d.example %s\n", i, i%50000, v)
		case 2:
			fmt.Fprintf(&b, "To:domain%d.example %s\n", i, v)
		case 3:
			fmt.Fprintf(&b, "Connect:host%d.dyn.example.net %s\n", i, v)
		}
	}
	return b.Bytes()
}

func BenchmarkLoad1M(b *testing.B) {
	const n = 1_000_000
	data := bigMap(n)
	b.ReportAllocs()
	b.ResetTimer()
	var perEntry float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m, err := Parse(bytes.NewReader(data), "big.map")
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perEntry = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(m.Len())
		runtime.KeepAlive(m)
	}
	b.ReportMetric(perEntry, "heap-bytes/entry")
}

// BenchmarkLookupSequence is one client's connect, MAIL and RCPT against a
// 100,000-entry map with combo entries present, through the check, each
// on a fresh session. The sessions are built outside the timer, in
// batches, as the server adapter builds them; the access map's own
// per-session state is inside it.
func BenchmarkLookupSequence(b *testing.B) {
	benchSequence(b, 100_000, false)
}

// BenchmarkLookupSequence1M is the same against a million-entry map.
func BenchmarkLookupSequence1M(b *testing.B) {
	benchSequence(b, 1_000_000, false)
}

// BenchmarkLookupSequenceNewSession also builds each session inside the
// timer (the adapter's cost), as BenchmarkLookupSequence used to.
func BenchmarkLookupSequenceNewSession(b *testing.B) {
	benchSequence(b, 100_000, true)
}

func benchSequence(b *testing.B, n int, timeSession bool) {
	data := append(bigMap(n), "Connect:192.0.2.1:From:spam@example.org REJECT\nFrom:friend@example.org:To:example.com OK\nTo:postmaster@ OK\n"...)
	m, err := Parse(bytes.NewReader(data), "big.map")
	if err != nil {
		b.Fatal(err)
	}
	a, _ := New(Config{})
	a.Swap(m)
	check := a.Check()
	ctx := b.Context()
	base := checktest.NewSession("198.51.100.77").PTR("mail.sender.example.com").Session()
	mail := &smtpcheck.Mail{From: smtpcheck.Address{Local: "someone", Domain: "sender.example.org"}}
	rcpt := smtpcheck.Address{Local: "user", Domain: "rcpt.example.com"}
	const batch = 4096
	var sessions []smtpcheck.Session
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var s *smtpcheck.Session
		if timeSession {
			s = &smtpcheck.Session{Conn: base.Conn}
		} else {
			if i%batch == 0 {
				// Fresh sessions in reused memory, outside the timer: the
				// batch's garbage would otherwise bill the lookups for GC.
				b.StopTimer()
				if sessions == nil {
					sessions = make([]smtpcheck.Session, batch)
				}
				for j := range sessions {
					sessions[j] = smtpcheck.Session{Conn: base.Conn}
				}
				b.StartTimer()
			}
			s = &sessions[i%batch]
		}
		s.Stage = smtpcheck.StageConnect
		if r := check(ctx, s); r.Action != smtpcheck.Continue {
			b.Fatalf("connect: %v", r.Action)
		}
		s.Stage, s.Mail = smtpcheck.StageMail, mail
		if r := check(ctx, s); r.Action != smtpcheck.Continue {
			b.Fatalf("MAIL: %v", r.Action)
		}
		s.Stage, s.Rcpt = smtpcheck.StageRcpt, rcpt
		if r := check(ctx, s); r.Action != smtpcheck.Continue {
			b.Fatalf("RCPT: %v", r.Action)
		}
	}
}

// BenchmarkMapLookups is the same sequence on the Map alone, without a session.
func BenchmarkMapLookups(b *testing.B) {
	m, err := Parse(bytes.NewReader(bigMap(100_000)), "big.map")
	if err != nil {
		b.Fatal(err)
	}
	var ca, fa, ta chainArr
	client := chain{keys: appendClientChain(ca[:0], Client{IP: mustAddr("198.51.100.77"), Name: "mail.sender.example.com"})}
	from := mailKeys(fa[:0], "someone", "sender.example.org")
	to := mailKeys(ta[:0], "user", "rcpt.example.com")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.findChain(TagConnect, &client, true)
		m.findCombo(comboConnectFrom, TagConnect, &client, TagFrom, &from)
		m.findChain(TagFrom, &from, true)
		m.findCombo(comboConnectTo, TagConnect, &client, TagTo, &to)
		m.findCombo(comboFromTo, TagFrom, &from, TagTo, &to)
		m.findChain(TagTo, &to, true)
	}
}

func BenchmarkRateLimitMemory(b *testing.B) {
	st := store.NewMemory(store.MemoryOptions{})
	benchRate(b, st)
}

func benchRate(b *testing.B, st store.Store) {
	m, err := Parse(bytes.NewReader([]byte("Rate-Connect: 1000000000\n")), "rate.map")
	if err != nil {
		b.Fatal(err)
	}
	a, _ := New(Config{Store: st})
	a.Swap(m)
	ctx := b.Context()
	s := checktest.NewSession("192.0.2.1").Session()
	client := appendClientChain(nil, Client{IP: s.Conn.ClientIP})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := a.rate(ctx, s, m, client); r.Action != smtpcheck.Continue || r.Err != nil {
			b.Fatal(r.Action, r.Err)
		}
	}
}

// BenchmarkLoad1MPeak loads a 1M-entry map while sampling the heap, and
// reports the highest heap growth during the load against the heap the
// loaded map keeps: the memory a server needs to (re)load its map.
func BenchmarkLoad1MPeak(b *testing.B) {
	const n = 1_000_000
	data := bigMap(n)
	var peak, kept float64
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		done := make(chan struct{})
		highest := make(chan uint64)
		go func() {
			var m runtime.MemStats
			top := before.HeapAlloc
			t := time.NewTicker(2 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&m)
				top = max(top, m.HeapAlloc)
				select {
				case <-done:
					highest <- top
					return
				case <-t.C:
				}
			}
		}()
		m, err := Parse(bytes.NewReader(data), "big.map")
		close(done)
		top := <-highest
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		peak = float64(top-before.HeapAlloc) / (1 << 20)
		kept = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
		runtime.KeepAlive(m)
	}
	b.ReportMetric(peak, "peak-MiB")
	b.ReportMetric(kept, "map-MiB")
	b.ReportMetric(peak/kept, "peak/map")
}
