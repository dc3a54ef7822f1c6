// Package peertest finds the real programs that tests run beside smtppolicy
// (swaks, Postfix, postgrey, clamd, spamd, redis-server) and decides what a
// test does when one is missing: skip with a one-line reason on a developer's
// machine, fail in CI, where SMTPPOLICY_REQUIRE_PEERS=1 says every peer must be
// there. Serve stands in for a peer that need not be real.
package peertest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// RequireEnv is the variable that turns a missing peer from a skip into a
// failure. .ci/run sets it.
const RequireEnv = "SMTPPOLICY_REQUIRE_PEERS"

// Required reports whether missing peers fail the test run.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Missing skips t with reason, or fails it when peers are required.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (%s=1: peers are required)", reason, RequireEnv)
	}
	t.Skip(reason)
}

// Look returns the path of the program name, searched in PATH and then in
// /usr/sbin and /usr/lib/postfix/sbin (where Debian puts daemons that PATH
// of an ordinary user lacks). When it is absent the test is skipped, or fails
// when peers are required; pkg names the Debian package that provides it.
func Look(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/lib/postfix/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	Missing(t, name+" not installed (Debian package "+pkg+"); .ci/run installs it")
	return ""
}

// Serve runs handle on each connection to a fresh loopback TCP port and
// returns its address, "127.0.0.1:port": a stand-in peer that hangs, answers
// garbage or speaks just enough of a protocol. When tb ends the listener and
// every open connection are closed, so a handle blocked on its connection
// returns, and Serve waits for every handle before the next cleanup runs.
func Serve(tb testing.TB, handle func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	// Its own context, not the test's: handles must run until the cleanup
	// closes their connections.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	tb.Cleanup(func() { stop(); ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				unhook := context.AfterFunc(ctx, func() { c.Close() })
				defer unhook()
				handle(c)
			})
		}
	})
	return ln.Addr().String()
}
