// Package peertest finds the real programs that tests run beside smtppolicy
// (swaks, Postfix, postgrey, clamd, spamd, redis-server) and decides what a
// test does when one is missing: skip with a one-line reason on a developer's
// machine, fail in CI, where SMTPPOLICY_REQUIRE_PEERS=1 says every peer must be
// there.
package peertest

import (
	"os"
	"os/exec"
	"path/filepath"
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
