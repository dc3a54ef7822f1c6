package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store/boltstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// TestHungRedisOverPolicyProtocol runs the policy service on a Redis of the
// test's own and freezes it (SIGSTOP), as a Redis that hangs: each request
// is answered within the store's 2 s deadline with a temporary refusal
// (never a 5xx, never Postfix's own timeout), a burst of failures is one
// log line, and answers are normal again once Redis is back.
func TestHungRedisOverPolicyProtocol(t *testing.T) {
	srv := redistest.StartServer(t)
	addr, logs := startPolicydLog(t, "-greylist", "redis://"+srv.Addr+"/0", "-greylist-delay", "1m")
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	c, br := dial()
	if got := ask(t, c, br, request("first@example.net")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT 4.7.1 greylisted") {
		t.Fatalf("with Redis up: %q, want DEFER_IF_PERMIT 4.7.1 greylisted", got)
	}

	srv.Freeze(t)
	const n = 4
	answers := make([]string, n)
	took := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		c, br := dial()
		wg.Go(func() {
			start := time.Now()
			answers[i] = ask(t, c, br, request(fmt.Sprintf("rcpt%d@example.net", i)))
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	for i, got := range answers {
		action, _, _ := strings.Cut(strings.TrimPrefix(got, "action="), " ")
		temporary := action == "DEFER_IF_PERMIT" || action == "DEFER" || strings.HasPrefix(action, "4")
		if !temporary || !strings.Contains(got, " 4.3.0 ") {
			t.Errorf("request %d with Redis hung = %q, want a temporary refusal with 4.3.0", i, got)
		}
		if took[i] > redisstore.DefaultTimeout+1500*time.Millisecond {
			t.Errorf("request %d with Redis hung answered after %v, want about %v", i, took[i], redisstore.DefaultTimeout)
		}
	}
	var errLines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "greylist: store failed") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 || !strings.Contains(errLines[0], "count=1") {
		t.Errorf("log after %d failed requests: %q, want one line with count=1", n, errLines)
	}

	srv.Thaw(t)
	if got := ask(t, c, br, request("first@example.net")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT 4.7.1 greylisted") {
		t.Errorf("with Redis back: %q, want DEFER_IF_PERMIT 4.7.1 greylisted", got)
	}
}

// TestDamagedBoltFile starts the policy service on a bolt file cut short
// (a restore interrupted, a full disk): it refuses to start with an error
// naming the damage, instead of panicking inside bbolt.
func TestDamagedBoltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grey.db")
	s, err := boltstore.Open(path, boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		s.Set(t.Context(), fmt.Sprint("grey:t:", i), []byte("a greylisting record"), time.Hour)
	}
	s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"-listen", "127.0.0.1:0", "-greylist", "bolt:" + path}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, _, closeStore, err := build(t.Context(), o, slog.New(slog.DiscardHandler))
	if err == nil {
		closeStore()
		t.Fatal("build with a truncated bolt file = nil error, want one")
	}
	if !errors.Is(err, boltstore.ErrCorrupt) {
		t.Errorf("build with a truncated bolt file = %v, want ErrCorrupt", err)
	}
}
