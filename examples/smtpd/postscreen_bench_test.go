package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// benchServer runs smtpd for a benchmark; it stops when the benchmark ends.
func benchServer(b *testing.B, args ...string) string {
	b.Helper()
	logf, err := os.CreateTemp(b.TempDir(), "log")
	if err != nil {
		b.Fatal(err)
	}
	args = append([]string{"-listen", "127.0.0.1:0", "-maildir", b.TempDir()}, args...)
	srv, ln, _, err := setup(args, logf)
	if err != nil {
		b.Fatalf("setup(%q): %v", args, err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// benchSession is one client session up to RCPT TO, then QUIT.
func benchSession(b *testing.B, addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	read := func() string {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				b.Fatalf("read: %v", err)
			}
			if len(line) < 4 || line[3] != '-' {
				return line
			}
		}
	}
	read()
	for _, cmd := range []string{"EHLO mx.example.net\r\n", "MAIL FROM:<a@example.net>\r\n", "RCPT TO:<b@example.org>\r\n", "QUIT\r\n"} {
		c.Write([]byte(cmd))
		if rep := read(); !strings.HasPrefix(rep, "2") {
			b.Fatalf("%q: %q", cmd, rep)
		}
	}
}

// BenchmarkPostscreenSession is one whole session (the client's side
// included) with the deep tests and a DNS list on, with the pass cache
// (every session after the first is a cache hit) and without.
func BenchmarkPostscreenSession(b *testing.B) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"cache", []string{"-postscreen-cache", "memory:"}},
		{"no-cache", nil},
	} {
		b.Run(tc.name, func(b *testing.B) {
			dns := dnstest.New(b)
			dns.Zone("bl.test", 0)
			addr := benchServer(b, append([]string{"-resolver", dns.Addr(), "-hygiene=false", "-spf=false", "-dnsbl", "bl.test",
				"-postscreen-bare-newline-enable", "-postscreen-non-smtp-command-enable", "-postscreen-pipelining-enable"}, tc.args...)...)
			benchSession(b, addr)
			time.Sleep(50 * time.Millisecond) // the first pass is recorded
			b.ReportAllocs()
			for b.Loop() {
				benchSession(b, addr)
			}
		})
	}
}
