// Package postfixtest runs a private Postfix for tests that compare this
// library's answers with Postfix's own: its own configuration, queue and
// log directories under a test's temporary directory, smtpd listeners on
// chosen addresses, each with its own main.cf overrides, and XCLIENT
// allowed from the test so that one connection can stand for any client.
// Optionally it runs in a network namespace whose resolver is a DNS server
// of the test's (NetNS), so Postfix's DNS answers are the test's too.
//
// Tests that need Postfix call Require first: without /usr/sbin/postfix
// (or root, which a private instance needs) the test is skipped with a
// one-line reason, or fails when SMTPPOLICY_REQUIRE_PEERS=1.
package postfixtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
)

// Unavailable skips the test with reason, or fails it when the environment
// requires peers (SMTPPOLICY_REQUIRE_PEERS=1, as CI sets).
func Unavailable(tb testing.TB, reason string) {
	tb.Helper()
	peertest.Missing(tb, reason)
}

// Require checks that a private Postfix can run here and returns the path
// of the postfix command.
func Require(tb testing.TB) string {
	tb.Helper()
	p := peertest.Look(tb, "postfix", "postfix")
	if p == "" {
		return ""
	}
	if os.Geteuid() != 0 {
		Unavailable(tb, "a private Postfix instance needs root")
		return ""
	}
	return p
}

// Param is one main.cf setting.
type Param struct{ Name, Value string }

// Service is one smtpd listener and the main.cf parameters it overrides.
// Only smtpd's own parameters take effect this way: the address classes
// (mydestination, relay_domains, virtual_*) are read by trivial-rewrite and
// belong in Options.Main.
type Service struct {
	// Addr is the host:port to listen on. Port 0 asks Start for a free
	// port; Instance.Services gives the one chosen.
	Addr      string
	Overrides []Param
}

// Options describe an instance.
type Options struct {
	// Main is appended to the instance's main.cf (after its own settings,
	// so it may override them).
	Main string
	// Services are the smtpd listeners.
	Services []Service
	// XclientHosts is smtpd_authorized_xclient_hosts (default 127.0.0.0/8).
	XclientHosts string
	// NetNS, when set, is the network namespace Postfix runs in.
	NetNS *NetNS
}

// Instance is a running private Postfix.
type Instance struct {
	Dir string // holds etc/, spool/, data/, log/
	// Services are Options.Services with every port 0 replaced by the
	// port Postfix listens on.
	Services []Service
	postfix  string
	ns       *NetNS
}

// BaseMain is the instance's own main.cf: paths, identity and a delivery
// that discards everything, so that only smtpd's answers matter.
func BaseMain(dir string) string {
	return fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/spool
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.private.test
mydomain = private.test
myorigin = $myhostname
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
default_transport = discard:private instance
local_transport = discard:private instance
relay_transport = $default_transport
smtpd_tls_security_level = none
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
maillog_file_prefixes = %[1]s
maillog_file = %[1]s/log/maillog
`, dir)
}

// Start runs an instance until the test ends.
func Start(tb testing.TB, opt Options) *Instance {
	tb.Helper()
	pf := Require(tb)
	dir, err := os.MkdirTemp("", "postfixtest")
	if err != nil {
		tb.Fatal(err)
	}
	inst := &Instance{Dir: dir, postfix: pf, ns: opt.NetNS}
	tb.Cleanup(func() {
		inst.run(context.Background(), "stop")
		if !tb.Failed() {
			os.RemoveAll(dir)
		}
	})
	for _, d := range []string{"etc", "spool", "data", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	// Postfix's daemons run as user postfix and must reach the instance.
	os.Chmod(dir, 0o755)
	if out, err := exec.Command("chown", "postfix", filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		tb.Fatalf("chown postfix: %v: %s", err, out)
	}
	xclient := opt.XclientHosts
	if xclient == "" {
		xclient = "127.0.0.0/8"
	}
	var ifaces []string
	for _, s := range opt.Services {
		h, _, err := net.SplitHostPort(s.Addr)
		if err != nil {
			tb.Fatalf("service address %q: %v", s.Addr, err)
		}
		ifaces = append(ifaces, h)
	}
	// Every parameter once: Postfix warns of an overridden entry in every
	// process it starts, and a hundred listeners' warnings at once fill
	// postlogd's socket before postlogd, which warns too, reads it.
	main := lastWins(BaseMain(dir) + "inet_interfaces = " + strings.Join(dedup(ifaces), ", ") + "\n" +
		"smtpd_authorized_xclient_hosts = " + xclient + "\n" + opt.Main)
	if err := os.WriteFile(filepath.Join(dir, "etc", "main.cf"), []byte(main), 0o644); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// A port found free may be taken by another process before Postfix's
	// master binds it; then master fails to start and fresh ports are
	// tried. Fixed ports are the caller's to keep free.
	for attempt := 1; ; attempt++ {
		inst.Services, err = choosePorts(opt.Services)
		if err != nil {
			tb.Fatal(err)
		}
		master, err := masterCF(inst.Services)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "etc", "master.cf"), []byte(master), 0o644); err != nil {
			tb.Fatal(err)
		}
		// "postfix start" checks the instance itself (postfix-script
		// check-fatal and check-warn) and says what is wrong.
		out, err := inst.run(ctx, "start")
		if err == nil {
			break
		}
		log := inst.Log()
		if attempt < 5 && choosesPorts(opt.Services) && strings.Contains(string(out)+log, "Address already in use") {
			continue
		}
		tb.Fatalf("postfix start: %v: %s\n%s", err, out, log)
	}
	for _, s := range inst.Services {
		if err := inst.waitListening(ctx, s.Addr); err != nil {
			tb.Fatalf("postfix smtpd on %s: %v\n%s", s.Addr, err, inst.Log())
		}
	}
	return inst
}

// choosesPorts reports whether any service asks for a free port.
func choosesPorts(services []Service) bool {
	for _, s := range services {
		if _, port, _ := net.SplitHostPort(s.Addr); port == "0" {
			return true
		}
	}
	return false
}

// choosePorts returns services with each port 0 replaced by a port free
// at this moment on the service's host.
func choosePorts(services []Service) ([]Service, error) {
	out := make([]Service, len(services))
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for i, s := range services {
		out[i] = s
		host, port, err := net.SplitHostPort(s.Addr)
		if err != nil || port != "0" {
			continue
		}
		// Held open until all are chosen, so two services never get
		// the same port.
		ln, err := net.Listen("tcp", s.Addr)
		if err != nil {
			return nil, fmt.Errorf("a free port on %s: %w", host, err)
		}
		held = append(held, ln)
		out[i].Addr = ln.Addr().String()
	}
	return out, nil
}

// lastWins drops from a main.cf every parameter setting that a later one
// of the same name overrides, as Postfix would, keeping the rest in order.
func lastWins(main string) string {
	type entry struct{ name, text string }
	var entries []entry
	for _, line := range strings.SplitAfter(main, "\n") {
		if line == "" {
			continue
		}
		if n := len(entries); n > 0 && entries[n-1].name != "" && (line[0] == ' ' || line[0] == '\t') {
			entries[n-1].text += line // a continuation line
			continue
		}
		name := ""
		if k, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			name = strings.TrimSpace(k)
		}
		entries = append(entries, entry{name, line})
	}
	last := map[string]int{}
	for i, e := range entries {
		if e.name != "" {
			last[e.name] = i
		}
	}
	var b strings.Builder
	for i, e := range entries {
		if e.name == "" || last[e.name] == i {
			b.WriteString(e.text)
		}
	}
	return b.String()
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// masterCF writes the smtpd listeners, then the internal services Postfix
// needs, unchrooted, taken from the system's master.cf.
func masterCF(services []Service) (string, error) {
	var b strings.Builder
	for _, s := range services {
		fmt.Fprintf(&b, "%s inet n - n - - smtpd\n", s.Addr)
		for _, p := range s.Overrides {
			if strings.ContainsAny(p.Value, "{}") && !balanced(p.Value) {
				return "", fmt.Errorf("override %s: unbalanced braces in %q", p.Name, p.Value)
			}
			// Postfix 3.0's "-o { name = value }" keeps spaces and commas.
			fmt.Fprintf(&b, "  -o { %s = %s }\n", p.Name, p.Value)
		}
	}
	sys, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		return "", err
	}
	want := map[string]bool{}
	for _, n := range strings.Fields("pickup cleanup qmgr rewrite bounce defer trace verify flush proxymap proxywrite showq error retry discard local virtual anvil scache postlog") {
		want[n] = true
	}
	sc := bufio.NewScanner(strings.NewReader(string(sys)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 8 && want[f[0]] && (f[1] == "unix" || f[1] == "unix-dgram") {
			f[4] = "n" // not chrooted: the instance's paths are outside any chroot
			b.WriteString(strings.Join(f, " ") + "\n")
		}
	}
	return b.String(), nil
}

func balanced(s string) bool {
	d := 0
	for _, c := range s {
		switch c {
		case '{':
			d++
		case '}':
			d--
			if d < 0 {
				return false
			}
		}
	}
	return d == 0
}

func (inst *Instance) run(ctx context.Context, args ...string) ([]byte, error) {
	argv := append([]string{inst.postfix, "-c", filepath.Join(inst.Dir, "etc")}, args...)
	if inst.ns != nil {
		argv = append([]string{"ip", "netns", "exec", inst.ns.Name}, argv...)
	}
	return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
}

func (inst *Instance) waitListening(ctx context.Context, addr string) error {
	for {
		var c net.Conn
		var err error
		if inst.ns != nil {
			dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			c, err = inst.ns.dial(dctx, addr, "")
			cancel()
		} else {
			c, err = net.DialTimeout("tcp", addr, 200*time.Millisecond)
		}
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not listening: %w", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Log returns the instance's mail log so far.
func (inst *Instance) Log() string {
	b, _ := os.ReadFile(filepath.Join(inst.Dir, "log", "maillog"))
	return string(b)
}

// ErrNoNetNS is returned by NewNetNS where network namespaces cannot be
// made (no ip command, no privilege).
var ErrNoNetNS = errors.New("postfixtest: network namespaces unavailable")
