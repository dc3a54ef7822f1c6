//go:build linux

package postfixtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// NetNS is a network namespace joined to the test's by a veth pair: the
// test is HostIP, the namespace NSIP, and the namespace's resolv.conf
// (/etc/netns/NAME/resolv.conf, which "ip netns exec" mounts over
// /etc/resolv.conf) names HostIP, where a forwarder relays DNS queries to
// the test's DNS server. Postfix started in it resolves through the test.
type NetNS struct {
	Name   string
	HostIP string
	NSIP   string
}

// NewNetNS makes a namespace whose DNS is upstream (host:port, UDP and
// TCP), removed when the test ends. It returns ErrNoNetNS, wrapped with the
// reason, where namespaces cannot be made.
func NewNetNS(tb testing.TB, upstream string) (*NetNS, error) {
	tb.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("%w: no ip command (Debian package iproute2)", ErrNoNetNS)
	}
	n := os.Getpid() % 16384
	ns := &NetNS{
		Name:   fmt.Sprintf("smtppolicy%d", n),
		HostIP: fmt.Sprintf("10.213.%d.%d", n/64, n%64*4+1),
		NSIP:   fmt.Sprintf("10.213.%d.%d", n/64, n%64*4+2),
	}
	hostIf, nsIf := fmt.Sprintf("sph%d", n), fmt.Sprintf("spn%d", n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ip := func(args ...string) error {
		out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %v: %v: %s", args, err, out)
		}
		return nil
	}
	etc := filepath.Join("/etc/netns", ns.Name)
	// A namespace left by a killed run of the same pid goes first.
	exec.Command("ip", "netns", "del", ns.Name).Run()
	exec.Command("ip", "link", "del", hostIf).Run()
	if err := ip("netns", "add", ns.Name); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoNetNS, err)
	}
	tb.Cleanup(func() {
		exec.Command("ip", "netns", "del", ns.Name).Run()
		exec.Command("ip", "link", "del", hostIf).Run()
		os.RemoveAll(etc)
	})
	steps := [][]string{
		{"link", "add", hostIf, "type", "veth", "peer", "name", nsIf},
		{"link", "set", nsIf, "netns", ns.Name},
		{"addr", "add", ns.HostIP + "/30", "dev", hostIf},
		{"link", "set", hostIf, "up"},
		{"netns", "exec", ns.Name, "ip", "addr", "add", ns.NSIP + "/30", "dev", nsIf},
		{"netns", "exec", ns.Name, "ip", "link", "set", nsIf, "up"},
		{"netns", "exec", ns.Name, "ip", "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoNetNS, err)
		}
	}
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("nameserver %s\noptions attempts:1 timeout:2\n", ns.HostIP)
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	// Postfix reads /etc/hosts and nsswitch too; give it names of its own.
	os.WriteFile(filepath.Join(etc, "hosts"), []byte("127.0.0.1 localhost\n"), 0o644)
	if err := forwardDNS(tb, net.JoinHostPort(ns.HostIP, "53"), upstream); err != nil {
		return nil, err
	}
	return ns, nil
}

// forwardDNS relays DNS over UDP and TCP from listen to upstream until the
// test ends: resolv.conf can name only port 53, the test server listens on
// an ephemeral port.
func forwardDNS(tb testing.TB, listen, upstream string) error {
	pc, err := net.ListenPacket("udp", listen)
	if err != nil {
		return fmt.Errorf("DNS forwarder: %w", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		pc.Close()
		return fmt.Errorf("DNS forwarder: %w", err)
	}
	var wg sync.WaitGroup
	tb.Cleanup(func() {
		pc.Close()
		ln.Close()
		wg.Wait()
	})
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := append([]byte(nil), buf[:n]...)
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("udp", upstream)
				if err != nil {
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write(q); err != nil {
					return
				}
				ans := make([]byte, 65535)
				m, err := c.Read(ans)
				if err != nil {
					return
				}
				pc.WriteTo(ans[:m], from)
			}()
		}
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				u, err := net.Dial("tcp", upstream)
				if err != nil {
					return
				}
				defer u.Close()
				deadline := time.Now().Add(10 * time.Second)
				c.SetDeadline(deadline)
				u.SetDeadline(deadline)
				go io.Copy(u, c)
				io.Copy(c, u)
			}()
		}
	}()
	return nil
}

// Dial connects to addr inside the namespace, from local when it is not
// empty (such as 127.0.0.66 on the namespace's loopback, so Postfix sees
// that client and looks its name up itself), and reads the greeting. The
// socket is made on a thread moved into the namespace for the call.
func (ns *NetNS) Dial(ctx context.Context, addr, local string) (*Client, Reply, error) {
	conn, err := ns.dial(ctx, addr, local)
	if err != nil {
		return nil, Reply{}, err
	}
	return newClient(ctx, conn)
}

func (ns *NetNS) dial(ctx context.Context, addr, local string) (net.Conn, error) {
	target, err := os.Open(filepath.Join("/var/run/netns", ns.Name))
	if err != nil {
		return nil, err
	}
	defer target.Close()
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer self.Close()
	if err := setns(target); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("setns %s: %w", ns.Name, err)
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	conn, dialErr := d.DialContext(ctx, "tcp", addr)
	if err := setns(self); err != nil {
		// The thread stays in the namespace: leave it locked, so that it
		// ends with this goroutine instead of serving others.
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return conn, dialErr
}

func setns(f *os.File) error {
	if sysSetns == 0 {
		return fmt.Errorf("setns: %w: no system call number for %s", ErrNoNetNS, runtime.GOARCH)
	}
	_, _, e := syscall.Syscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0)
	if e != 0 {
		return e
	}
	return nil
}
