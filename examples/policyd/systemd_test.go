package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
)

// unitFile reads a shipped unit file and returns its ExecStart command
// line, split as systemd splits one without quotes, and its other
// settings.
func unitFile(t *testing.T, name string) (argv []string, settings map[string][]string) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	settings = map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		settings[k] = append(settings[k], v)
	}
	if len(settings["ExecStart"]) != 1 {
		t.Fatalf("%s: ExecStart = %q, want one", name, settings["ExecStart"])
	}
	cmd := settings["ExecStart"][0]
	if strings.ContainsAny(cmd, `"'\%$`) {
		t.Fatalf("%s: ExecStart %q has quotes, escapes or specifiers: split it as systemd does first", name, cmd)
	}
	return strings.Fields(cmd), settings
}

// The shipped unit's command line is one policyd accepts, with the
// state in the unit's state directory, and the unit loads in systemd.
func TestSystemdUnit(t *testing.T) {
	argv, set := unitFile(t, "policyd.service")
	if filepath.Base(argv[0]) != "policyd" {
		t.Fatalf("ExecStart runs %s, want policyd", argv[0])
	}
	// -version exits 0 only once every flag before it has parsed.
	cmd, logs := command(t, nil, append(argv[1:], "-version")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 0 || !strings.HasPrefix(logs.String(), "policyd ") {
		t.Fatalf("policyd %s -version: exit %d, output %q", strings.Join(argv[1:], " "), code, logs.String())
	}
	o, err := parseFlags(argv[1:], io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"DynamicUser", "yes"}, {"StateDirectory", "smtppolicy"}, {"ProtectSystem", "strict"}, {"NoNewPrivileges", "yes"}, {"CapabilityBoundingSet", ""}} {
		if got := set[kv[0]]; len(got) != 1 || got[0] != kv[1] {
			t.Errorf("%s=%q, want %q", kv[0], got, kv[1])
		}
	}
	if !strings.HasPrefix(o.greylist, "bolt:/var/lib/smtppolicy/") {
		t.Errorf("-greylist %s: want a file in the state directory /var/lib/smtppolicy", o.greylist)
	}

	analyze := peertest.Look(t, "systemd-analyze", "systemd")
	// systemd-analyze wants the program to exist: this test binary stands in.
	self, _ := os.Executable()
	body, _ := os.ReadFile(filepath.Join("..", "systemd", "policyd.service"))
	unit := filepath.Join(t.TempDir(), "policyd.service")
	os.WriteFile(unit, []byte(strings.Replace(string(body), "ExecStart="+argv[0], "ExecStart="+self, 1)), 0o644)
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The README's main.cf lines for policyd load in Postfix's postconf
// without a warning, and name the port the unit listens on.
func TestReadmeMainCf(t *testing.T) {
	postconf := peertest.Look(t, "postconf", "postfix")
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## policyd in front of Postfix\n")
	if !ok {
		t.Fatal(`README.md has no section "policyd in front of Postfix"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := regexp.MustCompile("(?s)```main\\.cf\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) < 2 {
		t.Fatalf("README section has %d main.cf blocks, want the inet: and the unix: one", len(blocks))
	}
	argv, _ := unitFile(t, "policyd.service")
	o, err := parseFlags(argv[1:], io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(o.listen, "inet:"))
	want := []string{"check_policy_service inet:127.0.0.1:" + port, "check_policy_service unix:private/smtppolicy"}
	for i, b := range blocks {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "main.cf"), []byte("compatibility_level = 3.6\n"+b[1]), 0o644)
		os.WriteFile(filepath.Join(dir, "master.cf"), nil, 0o644)
		cmd := exec.Command(postconf, "-c", dir, "-h", "smtpd_recipient_restrictions")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Errorf("block %d: postconf: %v\n%s", i+1, err, stderr.String())
		}
		if got := strings.TrimSpace(string(out)); !strings.HasSuffix(got, want[i]) {
			t.Errorf("block %d: smtpd_recipient_restrictions = %q, want it to end with %q", i+1, got, want[i])
		}
	}
}
