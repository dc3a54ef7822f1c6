package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/policyd/policy"
)

// TestRunAgainstEchoServer checks the generator against a tiny policy server
// that answers DUNNO, counting every request it parses.
func TestRunAgainstEchoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	checkEcho(t, ln, ln.Addr().String())
}

// TestRunOverUnixSocket drives the same server on a Unix socket named as
// check_policy_service names it, unix:/path.
func TestRunOverUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	defer ln.Close()
	checkEcho(t, ln, "unix:"+path)
}

func TestDialAddr(t *testing.T) {
	for _, c := range []struct{ in, network, address string }{
		{"127.0.0.1:10040", "tcp", "127.0.0.1:10040"},
		{"inet:127.0.0.1:10040", "tcp", "127.0.0.1:10040"},
		{"unix:/run/policy.sock", "unix", "/run/policy.sock"},
	} {
		if n, a := dialAddr(c.in); n != c.network || a != c.address {
			t.Errorf("dialAddr(%q) = %q, %q; want %q, %q", c.in, n, a, c.network, c.address)
		}
	}
}

// checkEcho serves DUNNO on ln and runs the generator against addr.
func checkEcho(t *testing.T, ln net.Listener, addr string) {
	t.Helper()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := policy.NewReader(c)
				w := bufio.NewWriter(c)
				for {
					req, err := r.Read()
					if err != nil {
						return
					}
					if _, err := req.Session(); err != nil {
						policy.WriteAction(w, "REJECT bad request")
					} else {
						policy.WriteAction(w, "DUNNO")
					}
					w.Flush()
				}
			}()
		}
	}()
	res, err := Run(addr, 4, 200, 50)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Requests != 200 || res.Actions["DUNNO"] != 200 {
		t.Errorf("Run = %d requests, actions %v; want 200 DUNNO", res.Requests, res.Actions)
	}
	if res.P99 < res.P50 || res.Max < res.P99 {
		t.Errorf("percentiles out of order: p50 %v p99 %v max %v", res.P50, res.P99, res.Max)
	}
}

func TestRequestStream(t *testing.T) {
	a, b := Request(3, 10), Request(13, 10)
	if !strings.Contains(a, "sender3@") || !strings.Contains(b, "sender3@") || !strings.Contains(a, "client_address=10.0.0.3\n") {
		t.Errorf("Request(3) and Request(13) of 10 triplets should share the triplet:\n%s\n%s", a, b)
	}
}

func TestParseStatCPU(t *testing.T) {
	// A name with a space and a parenthesis; utime 250 and stime 50 ticks.
	stat := "4242 (a b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 1000 10\n"
	got, err := parseStatCPU(stat)
	if want := 3 * time.Second; err != nil || got != want {
		t.Errorf("parseStatCPU = %v, %v; want %v", got, err, want)
	}
	if _, err := parseStatCPU("4242 (x) S 1"); err == nil {
		t.Error("parseStatCPU of a short line: no error")
	}
}

func TestProcessCPUOfSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc: not Linux")
	}
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	after, err := ProcessCPU(os.Getpid())
	if err != nil || after < before {
		t.Errorf("ProcessCPU after spinning = %v, %v; want ≥ %v", after, err, before)
	}
}
