package main

import (
	"bufio"
	"net"
	"strings"
	"testing"

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
	res, err := Run(ln.Addr().String(), 4, 200, 50)
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
