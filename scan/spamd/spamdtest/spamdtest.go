// Package spamdtest runs a private SpamAssassin spamd for tests: Debian's
// /usr/sbin/spamd on an ephemeral loopback port, with the rules the package
// ships (/usr/share/spamassassin; sa-update needs the network), the plugin
// loaders from /etc/spamassassin, and a site configuration in a temporary
// directory that turns off everything that would ask the network (DNS lists,
// Razor, Pyzor) or learn (Bayes), so scores are the same on every machine.
//
// A missing spamd skips the test with a one-line reason, or fails it when
// SMTPPOLICY_REQUIRE_PEERS=1 (see internal/peertest).
package spamdtest

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
)

// GTUBE is SpamAssassin's Generic Test for Unsolicited Bulk Email: a body
// holding it scores 1000.
const GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// RulesDir is where Debian's spamassassin package ships its rules.
const RulesDir = "/usr/share/spamassassin"

// Server is a running spamd.
type Server struct {
	// Addr is the loopback host:port.
	Addr string
	// Dir holds the site configuration and the log.
	Dir string

	w *peertest.Workdir
}

// ErrMissing is returned by Launch when spamd or its rules are not
// installed.
var ErrMissing = errors.New("spamd not installed (Debian packages spamd, spamassassin); .ci/run installs it")

// Path returns the spamd program's path, or "" when it is not installed.
func Path() string {
	return peertest.Find("spamd", "/usr/sbin/spamd", "/usr/bin/spamd")
}

// Start launches a spamd that stops when the test ends. A missing spamd
// skips the test (or fails it when peers are required).
func Start(t testing.TB) *Server {
	t.Helper()
	return peertest.Start(t, ErrMissing, func() (*Server, error) { return Launch() })
}

// Launch starts a spamd and waits until it answers PING; Close stops it.
// spamd takes a second or more to load its rules: for a daemon shared by a
// package's tests, call it from TestMain or a sync.Once.
func Launch() (*Server, error) {
	bin := Path()
	if bin == "" {
		return nil, ErrMissing
	}
	if _, err := os.Stat(filepath.Join(RulesDir, "20_body_tests.cf")); err != nil {
		return nil, ErrMissing
	}
	// The port is chosen by listening on port 0 and closing: another
	// process may take it before spamd does, so a failed start is retried.
	return peertest.Retry(func() (*Server, error) { return launch(bin) })
}

// siteConfig keeps scores independent of the network and of history.
const siteConfig = `use_bayes 0
bayes_auto_learn 0
skip_rbl_checks 1
use_razor2 0
use_pyzor 0
dns_available no
`

func launch(bin string) (*Server, error) {
	w, err := peertest.NewWorkdir("spamdtest", "spamd.log")
	if err != nil {
		return nil, err
	}
	dir := w.Path
	s := &Server{Dir: dir, w: w}
	fail := func(err error) (*Server, error) { return nil, w.Fail(err) }
	// spamd drops to an unprivileged user when run as root; that user
	// must read the configuration.
	if err := os.Chmod(dir, 0o755); err != nil {
		return fail(err)
	}
	site := filepath.Join(dir, "site")
	if err := os.Mkdir(site, 0o755); err != nil {
		return fail(err)
	}
	// The .pre files load the plugins the rules need (the Check plugin
	// above all); the package installs them in /etc/spamassassin.
	pres, _ := filepath.Glob("/etc/spamassassin/*.pre")
	for _, p := range pres {
		b, err := os.ReadFile(p)
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(filepath.Join(site, filepath.Base(p)), b, 0o644); err != nil {
			return fail(err)
		}
	}
	if len(pres) == 0 {
		os.WriteFile(filepath.Join(site, "init.pre"), []byte("loadplugin Mail::SpamAssassin::Plugin::Check\n"), 0o644)
	}
	if err := os.WriteFile(filepath.Join(site, "local.cf"), []byte(siteConfig), 0o644); err != nil {
		return fail(err)
	}
	port, err := peertest.FreePort()
	if err != nil {
		return fail(err)
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := []string{
		"--listen=" + s.Addr,
		"--local",         // no network tests
		"--nouser-config", // no ~/.spamassassin
		"--configpath=" + RulesDir,
		"--siteconfigpath=" + site,
		"--max-children=2", "--min-children=1",
		"--syslog=stderr",
	}
	if os.Geteuid() == 0 {
		args = append(args, "--username=nobody")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	err = w.Start("spamd", cmd, func() error { return ping(s.Addr) }, 100*time.Millisecond, 90*time.Second)
	if err != nil {
		return fail(err)
	}
	return s, nil
}

// Close stops spamd (and its children) and removes its directory.
func (s *Server) Close() { s.w.Close(10 * time.Second) }

// Log returns spamd's log so far.
func (s *Server) Log() string { return s.w.Read("spamd.log") }

func ping(addr string) error {
	return peertest.Ping("tcp", addr, "PING SPAMC/1.5\r\n\r\n", '\n', "PONG", 5*time.Second)
}
