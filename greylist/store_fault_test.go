package greylist

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the logged lines that contain sub.
func (s *syncBuffer) lines(sub string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range strings.Split(s.b.String(), "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// TestHungRedis freezes a Redis of the test's own (SIGSTOP: connections
// are accepted, nothing answers). Each greylisting decision returns within
// the store's default 2 s deadline, not the SMTP command's 30 s, with the
// error policy's temporary 451 4.3.0 (never a 5xx); the burst of errors is
// one log line, and the next line, after the interval, carries the count.
func TestHungRedis(t *testing.T) {
	srv := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	clk := newClock()
	var logs syncBuffer
	g := newTestGreylist(t, Config{
		Store:   redisstore.New(c, redisstore.Options{}), // the default deadline
		Now:     clk.Now,
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		OnError: smtpcheck.FailTemp,
	})
	check := g.Check()
	session := func(rcpt string) *smtpcheck.Session {
		return checktest.NewSession("198.51.100.7").Helo("mx.example.net").From("a@example.net").To(rcpt).Session()
	}
	r := check(t.Context(), session("first@example.org"))
	checktest.AssertVerdict(t, r, smtpcheck.DeferIfPermit, 451, "4.7.1", Name)

	srv.Freeze(t)
	const n = 5
	results := make([]smtpcheck.Result, n)
	took := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// The SMTP command's own deadline, which the store must not use up.
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			start := time.Now()
			results[i] = check(ctx, session(fmt.Sprintf("rcpt%d@example.org", i)))
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	for i, r := range results {
		checktest.AssertVerdict(t, r, smtpcheck.TempFail, 451, "4.3.0", Name)
		if took[i] > redisstore.DefaultTimeout+1500*time.Millisecond {
			t.Errorf("decision %d with Redis hung took %v, want about %v", i, took[i], redisstore.DefaultTimeout)
		}
	}
	const msg = "greylist: store failed"
	if got := logs.lines(msg); len(got) != 1 || !strings.Contains(got[0], "count=1") || !strings.Contains(got[0], "level=ERROR") {
		t.Fatalf("log after %d failed decisions: %q, want one ERROR line with count=1", n, got)
	}

	clk.Advance(time.Minute)
	r = check(t.Context(), session("late@example.org"))
	checktest.AssertVerdict(t, r, smtpcheck.TempFail, 451, "4.3.0", Name)
	got := logs.lines(msg)
	if len(got) != 2 || !strings.Contains(got[1], fmt.Sprintf("count=%d", n)) {
		t.Fatalf("log a minute later: %q, want a second line with count=%d", got, n)
	}

	srv.Thaw(t)
	// The first triplet, a minute into its five, is still waiting.
	r = check(t.Context(), session("first@example.org"))
	checktest.AssertVerdict(t, r, smtpcheck.DeferIfPermit, 451, "4.7.1", Name)
}
