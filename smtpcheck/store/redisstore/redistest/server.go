package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// PeersEnv is the environment variable that makes every missing external
// program (redis-server among them) a failure instead of a skip, as in CI.
const PeersEnv = "SMTPPOLICY_REQUIRE_PEERS"

// Server is a redis-server of the test's own on a loopback port, which the
// test may freeze to stand in for a Redis that hangs: the kernel still
// accepts connections, but nothing answers.
type Server struct {
	// Addr is the server's HOST:PORT.
	Addr string
	cmd  *exec.Cmd
}

// StartServer starts a redis-server on an ephemeral loopback port, stopped
// when tb ends. With no redis-server installed it skips tb with a one-line
// reason, or fails it when RequireEnv or PeersEnv is "1".
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" || os.Getenv(PeersEnv) == "1" {
			tb.Fatalf("redis-server is required (%s=1 or %s=1) but not installed", RequireEnv, PeersEnv)
		}
		tb.Skip("redis-server not installed")
	}
	var last error
	for range 3 { // another process may take the port between probe and start
		s, err := start(tb, bin)
		if err == nil {
			return s
		}
		last = err
	}
	tb.Fatalf("starting redis-server: %v", last)
	return nil
}

func start(tb testing.TB, bin string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", tb.TempDir(), "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGCONT) // a frozen server cannot die
		cmd.Process.Kill()
		<-exited
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DialTimeout: time.Second})
	defer c.Close()
	for deadline := time.Now().Add(5 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = c.Ping(ctx).Err()
		cancel()
		if err == nil {
			break
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("redis-server on port %d exited: %v", port, err)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("redis-server on port %d does not answer: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Cleanup(stop)
	return s, nil
}

// Freeze stops the server process (SIGSTOP): connections are still
// accepted by the kernel, but every command waits for an answer that does
// not come until Thaw.
func (s *Server) Freeze(tb testing.TB) {
	tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		tb.Fatalf("freezing redis-server: %v", err)
	}
}

// Thaw lets a frozen server run again (SIGCONT).
func (s *Server) Thaw(tb testing.TB) {
	tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		tb.Fatalf("thawing redis-server: %v", err)
	}
}
