package resolver_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// serverEnv, set in the environment of this test binary, makes it a DNS
// test server in a process of its own (see TestMain), so that a benchmark
// can measure the CPU of the client side alone.
const serverEnv = "RESOLVER_BENCH_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) == "1" {
		serveForBenchmark()
		return
	}
	os.Exit(m.Run())
}

// serveForBenchmark runs the benchmarks' test server, prints its address
// and serves until its standard input closes.
func serveForBenchmark() {
	srv, err := dnstest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv.Add("host.test A 192.0.2.1")
	fmt.Println(srv.Addr())
	bufio.NewReader(os.Stdin).ReadString('\n') // EOF when the parent ends
	srv.Close()
}

// externalServer starts the benchmarks' test server in a child process
// and returns its address.
func externalServer(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serverEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("test server process: %v", err)
	}
	return strings.TrimSpace(addr)
}

// reportCPU reports the process's CPU time per iteration since start
// (user and system, all threads): with the server in another process,
// the client's cost per query.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkQueryCached(b *testing.B) {
	srv := dnstest.New(b)
	srv.Add("host.test A 192.0.2.1")
	r := srv.Resolver(resolver.Config{})
	ctx := b.Context()
	r.Query(ctx, "host.test.", dns.TypeA)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Query(ctx, "host.test.", dns.TypeA); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQueryCachedParallel(b *testing.B) {
	srv := dnstest.New(b)
	srv.Add("host.test A 192.0.2.1")
	r := srv.Resolver(resolver.Config{})
	ctx := b.Context()
	r.Query(ctx, "host.test.", dns.TypeA)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Query(ctx, "host.test.", dns.TypeA)
		}
	})
}

// BenchmarkQueryWire is one query on the wire per iteration, the test
// server in the same process: its cpu-ns/op counts the server's CPU too.
// BenchmarkQueryWireExternal has the server in another process, so its
// cpu-ns/op is the client's alone. The Peer benchmarks are the same
// queries sent by a plain miekg/dns Client.Exchange, one socket each.
//
//	go test ./smtpcheck/resolver -run XXX -bench Wire -benchmem -count 5
//
// Six interleaved rounds on a loaded 2-core VM, medians (client CPU with
// the server in another process; before = sockets opened per query and a
// goroutine per flight, commit b9fb416):
//
//	                         before          after          peer (Exchange)
//	External cpu-ns/op       34 us, 38 allocs  12.7 us, 14 allocs  26 us, 38 allocs
//	ExternalDeadline         33 us, 43 allocs  13.7 us, 24 allocs
//	QueryWire (in-process)   36 us, 67 allocs  24 us, 43 allocs    34 us, 67 allocs
//
// 2026-12-06 03:28, the same VM with its system calls and context switches
// at about 3x their earlier cost (load average 5), 5 rounds, medians
// (ranges):
//
//	                         ours                         peer (Exchange)           ours/peer
//	External cpu-ns/op       53.0 us (52.4-55.4), 17 allocs  88.8 us (78-97), 38 allocs  0.60
//	ExternalDeadline         58.5 us (56.3-59.3), 24 allocs
//	QueryWire (in-process)   56.3 us (55.2-58.1), 46 allocs  86.3 us (83-91), 67 allocs  0.65
//
// The client's CPU per query follows the machine's cost of a UDP send, a
// receive and a wake-up: 12.7 us when the peer's was 26, 53 us now that it
// is 89, over the goal of 20 us on this machine.
//
// 2026-12-06 06:00, load average about 1, five rounds alternating the
// build before (commit c31e23b) and after the raw system calls, the
// clock readings and deadline moves cut, and the reused flights, each
// round one run of every External benchmark per build; medians (ranges),
// peer from the same runs:
//
//	                     before                       after                        peer (Exchange)            ratio after
//	External cpu-ns/op   23.1 us (21.0-25.5), 17 allocs  16.4 us (14.0-17.9), 14 allocs  37.0 us (32.5-38.6), 38 allocs  0.44 (0.63 before)
//	ExternalDeadline     26.4 us (25.4-28.5), 24 allocs  17.2 us (15.4-20.6), 21 allocs                              0.46
//	QueryWire (in-proc)  40.9 us, 46 allocs           45.6 us, 43 allocs            64.4 us (60.9 before)       0.71 (0.67 before)
//
// (QueryWire: eleven rounds; the same within this machine's noise, six
// more rounds gave 40.4 before and 41.7 after.) Under the goal of 20 us.
// Of the client's CPU per query, perf puts a quarter in the send (the
// kernel delivers the datagram to the server on loopback), a quarter in
// the scheduler parking the query and waking it on the answer, an eighth
// in unpacking the answer, and most of the rest in allocation and the
// context's AfterFunc; before, a sixth went to the runtime's monitor
// thread, woken by every ordinary system call after the process had idled.
func BenchmarkQueryWire(b *testing.B) {
	srv := dnstest.New(b)
	srv.Add("host.test A 192.0.2.1")
	benchQuery(b, srv.Addr(), false)
}

func BenchmarkQueryWireExternal(b *testing.B) { benchQuery(b, externalServer(b), false) }

// BenchmarkQueryWireExternalDeadline gives each query a context with a
// deadline, as the checks do (and pays for making that context).
func BenchmarkQueryWireExternalDeadline(b *testing.B) { benchQuery(b, externalServer(b), true) }

func benchQuery(b *testing.B, addr string, deadline bool) {
	r, _ := resolver.New(resolver.Config{Servers: []string{addr}, CacheSize: -1})
	defer r.Close()
	r.Query(b.Context(), "host.test.", dns.TypeA)
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		ctx, cancel := b.Context(), context.CancelFunc(func() {})
		if deadline {
			ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		}
		_, err := r.Query(ctx, "host.test.", dns.TypeA)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

func BenchmarkQueryWirePeer(b *testing.B) {
	srv := dnstest.New(b)
	srv.Add("host.test A 192.0.2.1")
	benchPeer(b, srv.Addr())
}

func BenchmarkQueryWireExternalPeer(b *testing.B) { benchPeer(b, externalServer(b)) }

// benchPeer sends what the resolver sends (a recursive query with EDNS0)
// with miekg/dns's Client.Exchange, and checks the answer likewise.
func benchPeer(b *testing.B, addr string) {
	c := &dns.Client{UDPSize: resolver.DefaultUDPSize, Timeout: resolver.DefaultTimeout}
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		m := new(dns.Msg)
		m.SetQuestion("host.test.", dns.TypeA)
		m.SetEdns0(resolver.DefaultUDPSize, false)
		resp, _, err := c.Exchange(m, addr)
		if err != nil || resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 {
			b.Fatal(resp, err)
		}
	}
	reportCPU(b, cpu)
}
