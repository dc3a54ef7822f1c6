package greylist

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore"
)

// throwawayRedis runs a redis-server of this test's own on a free loopback
// port, with an append-only file in dir so that records survive a restart.
type throwawayRedis struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (r *throwawayRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", r.dir, "--daemonize", "no")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("starting redis-server: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr()})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(r.t.Context()).Err() != nil {
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s did not come up", r.addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *throwawayRedis) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *throwawayRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func TestRedisKilledAndRestarted(t *testing.T) {
	ctx := t.Context()
	peertest.Look(t, "redis-server", "redis-server")
	redisClient(t, redisAddr) // skips (or fails when required) like the other Redis tests
	srv := &throwawayRedis{t: t, port: freePort(t), dir: t.TempDir()}
	srv.start()
	t.Cleanup(srv.kill)

	c := redis.NewClient(&redis.Options{Addr: srv.addr(), ContextTimeoutEnabled: true, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	clk := newClock()
	g := newTestGreylist(t, Config{Store: redisstore.New(c, redisstore.Options{}), Now: clk.Now, OnError: smtpcheck.FailTemp})
	check := g.Check()
	sess := func() *smtpcheck.Session {
		return checktest.NewSession("192.0.2.10").From("a@example.org").To("b@example.net").Session()
	}

	checktest.AssertVerdict(t, check(ctx, sess()), smtpcheck.DeferIfPermit, 451, "4.7.1", Name)

	srv.kill()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	r := check(cctx, sess())
	cancel()
	checktest.AssertVerdict(t, r, smtpcheck.TempFail, 451, "4.3.0", Name)
	if !errors.Is(r.Err, store.ErrUnavailable) {
		t.Errorf("Check with Redis down: Err = %v, want store.ErrUnavailable", r.Err)
	}

	srv.start()
	clk.Advance(5 * time.Minute)
	r = check(ctx, sess())
	checktest.AssertVerdict(t, r, smtpcheck.Continue, 0, "", Name)
	checktest.AssertRule(t, r, "passed", "") // the first attempt's record survived
}
