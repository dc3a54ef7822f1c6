// Command loadgen drives a Postfix policy server (policyd, postgrey, any
// other) with a fixed stream of RCPT-state requests over persistent
// connections, and reports requests per second and latency percentiles:
//
//	loadgen -addr 127.0.0.1:10040 -c 16 -n 100000 -pid 1234
//	loadgen -addr unix:/run/policyd.sock -c 16 -n 100000 -pid 1234
//
// The address is HOST:PORT (TCP) or unix:/path (a Unix stream socket), as
// check_policy_service names them.
//
// With -pid it also reports the CPU time (user + system, from
// /proc/PID/stat) the server process spent during the run, per request:
// the figure that holds on a busy machine, where wall-clock rates do not.
// compare.sh beside it runs policyd and postgrey on the same stream.
//
// Request i asks about triplet i mod -triplets (client 10.a.b.c, sender and
// recipient numbered), so two servers given the same flags see the same
// stream: first sights, then early retries of known triplets.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// Result is one run's figures.
type Result struct {
	Requests      int
	Elapsed       time.Duration
	P50, P99, Max time.Duration
	Actions       map[string]int // first word of each action
}

// PerSecond is the request rate.
func (r Result) PerSecond() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:10040", "policy server address: HOST:PORT (loopback TCP) or unix:/path")
	conc := fs.Int("c", 16, "concurrent connections")
	n := fs.Int("n", 20000, "requests in all")
	triplets := fs.Int("triplets", 5000, "distinct triplets in the stream")
	pid := fs.Int("pid", 0, "server process whose CPU time to report per request (Linux /proc)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var cpu0 time.Duration
	if *pid != 0 {
		var err error
		if cpu0, err = ProcessCPU(*pid); err != nil {
			return err
		}
	}
	r, err := Run(*addr, *conc, *n, *triplets)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "requests=%d concurrency=%d elapsed=%v req/s=%.0f p50=%v p99=%v max=%v actions=%v",
		r.Requests, *conc, r.Elapsed.Round(time.Millisecond), r.PerSecond(), r.P50, r.P99, r.Max, r.Actions)
	if *pid != 0 {
		cpu1, err := ProcessCPU(*pid)
		if err != nil {
			return err
		}
		cpu := cpu1 - cpu0
		fmt.Fprintf(out, " server_cpu=%v cpu_us/req=%.2f", cpu, float64(cpu.Microseconds())/float64(max(r.Requests, 1)))
	}
	fmt.Fprintln(out)
	return nil
}

// clockTick is the unit of /proc/PID/stat times: USER_HZ, 100 on every
// Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// ProcessCPU returns the user plus system CPU time process pid has used,
// from /proc/PID/stat (fields 14 and 15, after the parenthesised name,
// which may itself contain spaces and parentheses).
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("loadgen: /proc stat without a command name: %.60q", stat)
	}
	// Fields after the name start at field 3 (state); utime is field 14.
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("loadgen: short /proc stat: %.60q", stat)
	}
	var total time.Duration
	for _, s := range f[11:13] {
		t, err := strconv.ParseUint(s, 10, 63)
		if err != nil {
			return 0, fmt.Errorf("loadgen: /proc stat CPU field %q: %w", s, err)
		}
		total += time.Duration(t) * clockTick
	}
	return total, nil
}

// Request returns request i of the stream.
func Request(i, triplets int) string {
	k := i % triplets
	return fmt.Sprintf("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"+
		"client_address=10.%d.%d.%d\nclient_name=unknown\nreverse_client_name=unknown\n"+
		"helo_name=mx%d.example.org\nsender=sender%d@example.org\nrecipient=user%d@example.net\n"+
		"recipient_count=0\nqueue_id=\ninstance=%x.%x\nsize=0\n\n",
		k>>16&255, k>>8&255, k&255, k, k, k%97, i, k)
}

// dialAddr splits a -addr value into the network and address net.Dial takes.
func dialAddr(addr string) (network, address string) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return "unix", path
	}
	return "tcp", strings.TrimPrefix(addr, "inet:")
}

// Run sends n requests over conc connections to addr (HOST:PORT or
// unix:/path) and measures them.
func Run(addr string, conc, n, triplets int) (Result, error) {
	var next atomic.Int64
	lat := make([][]time.Duration, conc)
	acts := make([]map[string]int, conc)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	network, address := dialAddr(addr)
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acts[w] = map[string]int{}
			c, err := net.Dial(network, address)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				req := Request(i, triplets)
				t0 := time.Now()
				c.SetDeadline(t0.Add(30 * time.Second))
				if _, err := io.WriteString(c, req); err != nil {
					errs <- err
					return
				}
				line, err := br.ReadString('\n')
				if err == nil {
					_, err = br.ReadString('\n')
				}
				if err != nil {
					errs <- fmt.Errorf("request %d: %w", i, err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
				word, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "action="), " ")
				acts[w][word]++
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return Result{}, err
	}
	var all []time.Duration
	r := Result{Elapsed: elapsed, Actions: map[string]int{}}
	for w := range conc {
		all = append(all, lat[w]...)
		for k, v := range acts[w] {
			r.Actions[k] += v
		}
	}
	slices.Sort(all)
	r.Requests = len(all)
	if len(all) > 0 {
		r.P50 = all[len(all)/2]
		r.P99 = all[len(all)*99/100]
		r.Max = all[len(all)-1]
	}
	return r, nil
}
