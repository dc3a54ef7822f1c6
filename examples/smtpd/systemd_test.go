package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
)

// The shipped unit's command line is one smtpd accepts, its state in the
// unit's state directory, with only the capability to bind port 25, and
// the unit loads in systemd.
func TestSystemdUnit(t *testing.T) {
	const name = "smtppolicy-smtpd.service"
	body, err := os.ReadFile(filepath.Join("..", "systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	set := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			set[k] = append(set[k], v)
		}
	}
	if len(set["ExecStart"]) != 1 || strings.ContainsAny(set["ExecStart"][0], `"'\%$`) {
		t.Fatalf("ExecStart = %q, want one command line without quotes, escapes or specifiers", set["ExecStart"])
	}
	argv := strings.Fields(set["ExecStart"][0])
	if filepath.Base(argv[0]) != "smtpd" {
		t.Fatalf("ExecStart runs %s, want smtpd", argv[0])
	}
	// -version exits 0 only once every flag before it has parsed.
	js, _ := json.Marshal(append(argv[1:], "-version"))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SMTPD_ARGS="+string(js))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "smtpd ") {
		t.Fatalf("smtpd %s -version: %v, output %q", strings.Join(argv[1:], " "), err, out)
	}
	for _, kv := range [][2]string{{"DynamicUser", "yes"}, {"StateDirectory", "smtppolicy-smtpd"}, {"ProtectSystem", "strict"},
		{"NoNewPrivileges", "yes"}, {"CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"}, {"AmbientCapabilities", "CAP_NET_BIND_SERVICE"}} {
		if got := set[kv[0]]; len(got) != 1 || got[0] != kv[1] {
			t.Errorf("%s=%q, want %q", kv[0], got, kv[1])
		}
	}
	for i, a := range argv {
		if (a == "-maildir" || a == "-greylist") && i+1 < len(argv) && !strings.Contains(argv[i+1], "/var/lib/smtppolicy-smtpd/") {
			t.Errorf("%s %s: want a path in the state directory /var/lib/smtppolicy-smtpd", a, argv[i+1])
		}
	}

	analyze := peertest.Look(t, "systemd-analyze", "systemd")
	// systemd-analyze wants the program to exist: this test binary stands in.
	self, _ := os.Executable()
	unit := filepath.Join(t.TempDir(), name)
	os.WriteFile(unit, []byte(strings.Replace(string(body), "ExecStart="+argv[0], "ExecStart="+self, 1)), 0o644)
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
