package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// This file is a load generator for postscreen's pass cache: sessions in
// smtp-source's dialogue (greeting, EHLO, MAIL, RCPT, DATA with a small
// message, QUIT; one message per connection), nine in ten from a few
// client addresses that have already passed postscreen's tests and one in
// ten from an address the server has never seen. smtp-source cannot
// choose its source address; on Linux any 127.0.0.0/8 address can be
// bound without configuring it, so each session here binds the address
// it stands for and the server sees that client. TestPostscreenCacheLoad
// keeps the load path correct; TestPostscreenCacheCPU (psload.sh) measures
// the server's CPU per session with the cache on and off.

// psGreetWait is postscreen_greet_wait in the load's main.cf: the
// shortest Postfix accepts (its unit is the second). Every session that is
// not a cache hit takes at least this long.
const psGreetWait = time.Second

// psMainCF is the policy under load: postscreen's pregreet test, three DNS
// lists scored as a site would (a block list, a second one weighing less,
// an allow list), the deep protocol tests, all with their enforce actions,
// and otherwise a plain relay-protected MX. mynetworks leaves loopback out,
// or postscreen_access_list's permit_mynetworks would let every client by
// untested. cache is postscreen_cache_map ("" for none).
func psMainCF(cache string) string {
	cf := `myhostname = mx.example.org
mydestination = example.org
mynetworks = 192.0.2.0/24
smtpd_recipient_restrictions = reject_unauth_destination
postscreen_greet_wait = ` + strconv.Itoa(int(psGreetWait/time.Second)) + `s
postscreen_greet_action = enforce
postscreen_dnsbl_sites = zen.test*3, bl.test*2, wl.test*-2
postscreen_dnsbl_threshold = 3
postscreen_dnsbl_action = enforce
postscreen_pipelining_enable = yes
postscreen_non_smtp_command_enable = yes
postscreen_bare_newline_enable = yes
`
	if cache != "" {
		cf += "postscreen_cache_map = " + cache + "\n"
	}
	return cf
}

// psDNS serves the load's DNS lists on the in-process DNS server, in this
// process rather than the server's, as a site's resolver is another
// process. Their negative TTL is 0, but the server's resolver keeps every
// answer at least a minute (its floor, as postscreen_dnsbl_min_ttl's):
// within one server process the returning clients' lookups are mostly
// answered from that cache, with the pass cache or without, and only the
// fresh clients' queries (and the returning ones' once a minute) reach
// this server.
func psDNS(tb testing.TB) *dnstest.Server {
	dns := dnstest.New(tb)
	for _, z := range psListZones {
		dns.Zone(z, 0)
	}
	return dns
}

// psWriteConfig writes the main.cf for a cache ("" for none) and returns
// its path.
func psWriteConfig(tb testing.TB, cache string) string {
	path := filepath.Join(tb.TempDir(), "main.cf")
	if err := os.WriteFile(path, []byte(psMainCF(cache)), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// psWarm are the clients that pass once and come back: 127.0.1.1 on.
func psWarm(n int) []netip.Addr {
	addrs := make([]netip.Addr, n)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{127, 0, 1 + byte(i/250), 1 + byte(i%250)})
	}
	return addrs
}

// psFreshNext numbers the fresh clients of the whole process, so no server
// sees one of them twice.
var psFreshNext atomic.Uint32

// psFresh returns an address no session has used: 127.1.0.1 on, skipping
// host parts 0 and 255.
func psFresh() netip.Addr {
	n := psFreshNext.Add(1) - 1
	return netip.AddrFrom4([4]byte{127, 1 + byte(n/(254*256)), byte(n / 254 % 256), 1 + byte(n%254)})
}

// psLoad is one run of sessions against a server.
type psLoad struct {
	addr        string       // the server
	warm        []netip.Addr // the returning clients
	sessions    int
	concurrency int
	freshEvery  int // every freshEvery-th session is from a fresh address; 0: none
}

// psResult is one session as the client saw it.
type psResult struct {
	client   netip.Addr
	fresh    bool
	greeting time.Duration // from connecting to the end of the 220 reply
	total    time.Duration // from connecting to the reply to QUIT
	err      error
}

// run makes the sessions, concurrency at a time, and returns them in order.
func (l psLoad) run() []psResult {
	res := make([]psResult, l.sessions)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range l.concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= l.sessions {
					return
				}
				r := &res[i]
				if l.freshEvery > 0 && i%l.freshEvery == l.freshEvery-1 {
					r.client, r.fresh = psFresh(), true
				} else {
					r.client = l.warm[i%len(l.warm)]
				}
				r.greeting, r.total, r.err = psSession(l.addr, r.client, i)
			}
		})
	}
	wg.Wait()
	return res
}

// psSession is smtp-source's dialogue for one message from client: each
// command waits for the previous reply (smtp-source pipelines only when the
// server offers PIPELINING; waiting passes postscreen's pipelining test
// either way).
func psSession(server string, client netip.Addr, n int) (greeting, total time.Duration, err error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: client.AsSlice()}, Timeout: 10 * time.Second}
	start := time.Now()
	c, err := d.Dial("tcp", server)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	c.SetDeadline(start.Add(30 * time.Second))
	r := bufio.NewReader(c)
	expect := func(step, code string) error {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("%s: %w", step, err)
			}
			if len(line) >= 4 && line[3] == '-' {
				continue
			}
			if !strings.HasPrefix(line, code) {
				return fmt.Errorf("%s: %q, want %s", step, strings.TrimRight(line, "\r\n"), code)
			}
			return nil
		}
	}
	if err := expect("greeting", "220"); err != nil {
		return 0, 0, err
	}
	greeting = time.Since(start)
	msg := fmt.Sprintf("From: <alice@example.net>\r\nTo: <bob@example.org>\r\nSubject: load %d\r\n"+
		"Date: Sat, 05 Dec 2026 12:00:00 +0000\r\nMessage-ID: <psload-%d-%s@example.net>\r\n\r\n%s.\r\n",
		n, n, client, strings.Repeat("La de da de da 1.\r\nLa de da de da 2.\r\nLa de da de da 3.\r\n", 8))
	for _, step := range []struct{ send, code string }{
		{"EHLO client.example.net\r\n", "250"},
		{"MAIL FROM:<alice@example.net>\r\n", "250"},
		{"RCPT TO:<bob@example.org>\r\n", "250"},
		{"DATA\r\n", "354"},
		{msg, "250"},
		{"QUIT\r\n", "221"},
	} {
		if _, err := c.Write([]byte(step.send)); err != nil {
			return greeting, 0, err
		}
		name, _, _ := strings.Cut(step.send, "\r\n")
		if len(name) > 12 {
			name = "message"
		}
		if err := expect(name, step.code); err != nil {
			return greeting, 0, err
		}
	}
	return greeting, time.Since(start), nil
}

// psWarmUp makes each warm client pass postscreen's tests; with check, it
// then waits until the server answers each at once (the pass is recorded
// as the connection closes).
func psWarmUp(addr string, warm []netip.Addr, check bool) error {
	res := psLoad{addr: addr, warm: warm, sessions: len(warm), concurrency: len(warm)}.run()
	for _, r := range res {
		if r.err != nil {
			return fmt.Errorf("warm-up session from %s: %w", r.client, r.err)
		}
	}
	for _, a := range warm {
		if !check {
			break
		}
		for try := 0; ; try++ {
			g, _, err := psSession(addr, a, -1)
			if err != nil {
				return fmt.Errorf("warm-up check from %s: %w", a, err)
			}
			if g < psGreetWait/2 {
				break
			}
			if try == 3 {
				return fmt.Errorf("client %s still waits %v for the greeting after passing", a, g)
			}
		}
	}
	return nil
}

// psListZones are the DNS lists of psMainCF.
var psListZones = []string{"zen.test", "bl.test", "wl.test"}

// psIPOfQuery returns the client address a DNS-list query is about
// (4.3.2.1.zone. is 1.2.3.4), and whether it is one (the server's other
// lookups, such as the client's PTR, are not).
func psIPOfQuery(name string) (netip.Addr, bool) {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	if len(labels) != 6 || !slices.Contains(psListZones, labels[4]+"."+labels[5]) {
		return netip.Addr{}, false
	}
	var b [4]byte
	for i := range 4 {
		v, err := strconv.Atoi(labels[3-i])
		if err != nil || v > 255 {
			return netip.Addr{}, false
		}
		b[i] = byte(v)
	}
	return netip.AddrFrom4(b), true
}

// TestPostscreenCacheLoad runs the load briefly with the pass cache on and
// checks what makes the cache worth having: the returning clients' sessions
// made no DNS-list query and had their greeting at once, while the fresh
// clients took the greet wait and were looked up on every list. The
// clients pass on one server process, which is then stopped, and the load
// runs on a second one sharing its cache file (Postfix's btree: map): the
// second process's resolver has never seen the returning clients, so only
// the pass cache can spare their DNS-list queries (within one process, the
// resolver's own cache would answer them for at least a minute).
func TestPostscreenCacheLoad(t *testing.T) {
	dns := psDNS(t)
	cf := psWriteConfig(t, "btree:"+filepath.Join(t.TempDir(), "postscreen_cache"))
	start := func() *proc {
		return startProcess(t, nil, "-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-config", cf, "-resolver", dns.Addr())
	}
	warm := psWarm(4)
	first := start()
	if err := psWarmUp(first.serving(t), warm, true); err != nil {
		t.Fatal(err)
	}
	first.cmd.Process.Signal(syscall.SIGTERM)
	if code := first.exit(t, 10*time.Second); code != 0 {
		t.Fatalf("first server exited %d", code)
	}
	addr := start().serving(t)
	dns.ClearLog()
	res := psLoad{addr: addr, warm: warm, sessions: 40, concurrency: 8, freshEvery: 10}.run()
	queried := map[netip.Addr]int{}
	for _, q := range dns.Queries() {
		if a, ok := psIPOfQuery(q.Name); ok {
			queried[a]++
		}
	}
	fresh := 0
	for _, r := range res {
		switch {
		case r.err != nil:
			t.Errorf("session from %s: %v", r.client, r.err)
		case r.fresh:
			fresh++
			if r.greeting < psGreetWait {
				t.Errorf("fresh client %s had its greeting after %v, before the greet wait %v", r.client, r.greeting, psGreetWait)
			}
			if queried[r.client] != len(psListZones) {
				t.Errorf("fresh client %s: %d DNS-list queries, want %d (one per list)", r.client, queried[r.client], len(psListZones))
			}
		default:
			if r.greeting >= psGreetWait/2 {
				t.Errorf("cached client %s waited %v for the greeting", r.client, r.greeting)
			}
		}
	}
	for _, a := range warm {
		if queried[a] > 0 {
			t.Errorf("cached client %s: %d DNS-list queries, want none", a, queried[a])
		}
	}
	if fresh != 4 {
		t.Errorf("%d fresh sessions, want 4", fresh)
	}
}

// procCPU is a process's CPU time so far, user and system
// (/proc/PID/stat's utime and stime, in clock ticks of 10 ms: USER_HZ is
// 100 on every Linux architecture Go supports).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis. utime and stime are fields 14 and 15
	// of the line, 12 and 13 after the name.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("no command name in /proc stat line")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	var ticks int64
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += v
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// envInt is an environment variable's integer value, or def.
func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// TestPostscreenCacheCPU measures the pass cache's saving: the server's
// CPU per session (its own process, /proc/PID/stat before and after each
// round) and sessions per second, under the load with nine sessions in
// ten from clients that passed, against the same server with no cache.
// The rounds alternate between the two servers, and so does which goes
// first; the medians are reported. It runs when PSLOAD_ROUNDS is set
// (examples/smtpd/psload.sh): PSLOAD_SESSIONS per round,
// PSLOAD_CONCURRENCY at a time, PSLOAD_WARM returning clients.
//
// Measured on 2 vCPUs shared with other work (load average about 4;
// Linux, Go 1.26), 9 rounds of 2000 sessions, 100 at a time, 50 returning
// clients: CPU per session cache on 625 µs, off 725 µs (off/on 1.16; the
// median of the rounds' own ratios 1.19); 708 sessions/s on, 97 off. The
// CPU saved is small beside the rest of a session (the message is parsed
// and written to the maildir either way); the wall time is the greet wait,
// which without the cache holds every session a second, so sessions/s is
// bounded by the concurrency.
func TestPostscreenCacheCPU(t *testing.T) {
	rounds := envInt(t, "PSLOAD_ROUNDS", 0)
	if os.Getenv("PSLOAD_ROUNDS") == "" {
		t.Skip("a measurement: run examples/smtpd/psload.sh, or set PSLOAD_ROUNDS")
	}
	sessions := envInt(t, "PSLOAD_SESSIONS", 2000)
	conc := envInt(t, "PSLOAD_CONCURRENCY", 100)
	warm := psWarm(envInt(t, "PSLOAD_WARM", 50))
	dns := psDNS(t)
	type srv struct {
		name      string
		p         *proc
		addr      string
		cpu, rate []float64 // per round: µs per session, sessions/s
	}
	servers := []*srv{{name: "cache on"}, {name: "cache off"}}
	for i, cache := range []string{"memory:", ""} {
		s := servers[i]
		s.p = startProcess(t, nil, "-listen", "127.0.0.1:0", "-maildir", t.TempDir(),
			"-config", psWriteConfig(t, cache), "-resolver", dns.Addr())
		s.addr = s.p.serving(t)
		// Both servers see the same warm-up: the returning clients pass
		// (only one server remembers it), then an unmeasured quarter round
		// grows each process's heap and goroutine stacks to their working
		// size; the first measured rounds cost more without it.
		if err := psWarmUp(s.addr, warm, cache != ""); err != nil {
			t.Fatal(err)
		}
		for _, r := range (psLoad{addr: s.addr, warm: warm, sessions: sessions / 4, concurrency: conc, freshEvery: 10}).run() {
			if r.err != nil {
				t.Fatalf("%s, warm-up: session from %s: %v", s.name, r.client, r.err)
			}
		}
	}
	var pairRatio []float64
	for round := 1; round <= rounds; round++ {
		// The order alternates too (on, off; off, on; ...), so a drift
		// of the machine's speed over the run falls on both alike.
		order := servers
		if round%2 == 0 {
			order = []*srv{servers[1], servers[0]}
		}
		for _, s := range order {
			before, err := procCPU(s.p.cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			dns.ClearLog()
			start := time.Now()
			res := psLoad{addr: s.addr, warm: warm, sessions: sessions, concurrency: conc, freshEvery: 10}.run()
			wall := time.Since(start)
			after, err := procCPU(s.p.cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.err != nil {
					t.Fatalf("%s, round %d: session from %s: %v", s.name, round, r.client, r.err)
				}
			}
			cpu := float64((after - before).Microseconds()) / float64(sessions)
			rate := float64(sessions) / wall.Seconds()
			s.cpu, s.rate = append(s.cpu, cpu), append(s.rate, rate)
			t.Logf("round %d, %s: %.0f µs CPU per session, %.0f sessions/s, %d DNS queries", round, s.name, cpu, rate, len(dns.Queries()))
		}
		pairRatio = append(pairRatio, servers[1].cpu[round-1]/servers[0].cpu[round-1])
	}
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	on, off := servers[0], servers[1]
	t.Logf("medians of %d rounds of %d sessions (%d at a time, 90%% from %d returning clients, greet wait %v):", rounds, sessions, conc, len(warm), psGreetWait)
	t.Logf("  CPU per session: cache on %.0f µs, cache off %.0f µs, off/on %.2f (median of the rounds' ratios %.2f)",
		median(on.cpu), median(off.cpu), median(off.cpu)/median(on.cpu), median(pairRatio))
	t.Logf("  sessions/s: cache on %.0f, cache off %.0f", median(on.rate), median(off.rate))
}
