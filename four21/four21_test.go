package four21_test

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/four21"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// serve runs a server behind the tester's listener that greets "220 hi".
func serve(t *testing.T, tr *four21.Tester) string {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tr.Listener(inner)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("220 hi\r\n"))
			c.Close()
		}
	}()
	return inner.Addr().String()
}

// dial connects, reads the first reply and sends what.
func dial(t *testing.T, addr, send string) (greeting, after string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	r := bufio.NewReader(c)
	greeting, _ = r.ReadString('\n')
	if send != "" {
		c.Write([]byte(send))
		after, _ = r.ReadString('\n')
	}
	return greeting, after
}

func tester(t *testing.T, st store.Store) *four21.Tester {
	t.Helper()
	tr, err := four21.New(four21.Config{Store: st, Wait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var local = netip.MustParseAddr("127.0.0.1")

func TestFour21(t *testing.T) {
	tests := []struct {
		name  string
		send  string // the answer to the 421; "" hangs up
		state string
	}{
		{"clean QUIT", "QUIT\r\n", "pass"},
		{"lower-case quit", "quit\r\n", "pass"},
		{"talks on", "EHLO spam.example\r\nMAIL FROM:<a@b>\r\n", "fail"},
		{"hangs up", "", "fail"},
		{"QUIT without line end", "QUIT", "fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := tester(t, store.NewMemory(store.MemoryOptions{}))
			addr := serve(t, tr)
			g, after := dial(t, addr, tt.send)
			if g != "421 4.4.0 client unknown [127.0.0.1] unknown\r\n" {
				t.Fatalf("first greeting = %q, want smtpf#363's 421", g)
			}
			if tt.state == "pass" && after != "221 2.0.0 closing connection\r\n" {
				t.Errorf("answer to QUIT = %q, want 221", after)
			}
			var st string
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if st, _ = tr.State(t.Context(), local); st != "" {
					break
				}
			}
			if st != tt.state {
				t.Fatalf("state = %q, want %q", st, tt.state)
			}
			g, _ = dial(t, addr, "")
			if g != "220 hi\r\n" {
				t.Errorf("second connection got %q, want the server's greeting", g)
			}
			s := &smtpcheck.Session{Stage: smtpcheck.StageConnect}
			s.Conn.ClientIP = local
			r := tr.Check()(t.Context(), s)
			if tt.state == "pass" && r.Action != smtpcheck.Continue {
				t.Errorf("check after a pass: %v", r.Action)
			}
			if tt.state == "fail" {
				if got := r.DefaultReply().Error(); got != `554 5.4.0 client unknown [127.0.0.1] "No soup for you!"` || r.Reason.Check != four21.Name {
					t.Errorf("check after a failure: %q (%s), want smtpf#364's 554", got, r.Reason)
				}
			}
		})
	}
}

// down is a store that cannot be reached.
type down struct{ store.Store }

func (down) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, store.ErrUnavailable
}

// With the store down, clients pass through untested and the check
// reports the error for its guard.
func TestStoreDown(t *testing.T) {
	tr := tester(t, down{})
	if g, _ := dial(t, serve(t, tr), ""); g != "220 hi\r\n" {
		t.Errorf("greeting with the store down = %q, want the server's", g)
	}
	s := &smtpcheck.Session{Stage: smtpcheck.StageConnect}
	s.Conn.ClientIP = local
	if r := tr.Check()(t.Context(), s); r.Err == nil || r.Action != smtpcheck.Continue {
		t.Errorf("check with the store down: %v err=%v, want the error undecided", r.Action, r.Err)
	}
}

// Closing the listener ends Accept.
func TestClose(t *testing.T) {
	tr := tester(t, store.NewMemory(store.MemoryOptions{}))
	inner, _ := net.Listen("tcp", "127.0.0.1:0")
	ln := tr.Listener(inner)
	errc := make(chan error, 1)
	go func() { _, err := ln.Accept(); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	ln.Close()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("Accept after Close = %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
}
