package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A -config file's smtppolicy_* parameters turn on what the flags would:
// greylisting with its delay and Exchange code, from the file alone.
func TestSwaksGreylistFromConfigFile(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "main.cf")
	text := "smtpd_relay_restrictions = reject_unauth_destination\n" +
		"smtppolicy_greylist_store = memory:\n" +
		"smtppolicy_greylist_delay = 42s\n" +
		"smtppolicy_greylist_exchange = yes\n"
	if err := os.WriteFile(cf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "-config", cf)
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	if err == nil || !strings.Contains(out, "451 4.2.0 greylisted, try again in 42 seconds") {
		t.Errorf("greylisting from the file: want 451 4.2.0 for 42 seconds; err=%v\n%s", err, out)
	}
	// A flag given on the command line wins over the file.
	s = startServer(t, "-config", cf, "-greylist-delay", "7s")
	out, err = swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org")
	if err == nil || !strings.Contains(out, "try again in 7 seconds") {
		t.Errorf("-greylist-delay 7s over the file's 42s: err=%v\n%s", err, out)
	}
}

// -print-config prints the effective file: the file's Postfix
// parameters, and every smtppolicy_* parameter with the flags applied.
func TestPrintConfig(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(cf, []byte("smtpd_helo_required = yes\nsmtppolicy_greylist_store = memory:\nsmtppolicy_dnsbl_threshold = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProcess(t, nil, "-config", cf, "-print-config", "-dnsbl-threshold", "2", "-hygiene=false", "-spf=false")
	if code := p.exit(t, 20*time.Second); code != 0 {
		t.Fatalf("-print-config exited %d\n%s", code, p.out.String())
	}
	out := p.out.String()
	for _, want := range []string{
		"smtpd_helo_required = yes\n",
		"smtppolicy_greylist_store = memory:\n",
		"smtppolicy_dnsbl_threshold = 2\n", // the flag over the file's 3
		"smtppolicy_hygiene = no\n",
		"smtppolicy_spf = no\n",
		"smtppolicy_greylist_delay = 5m0s\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("-print-config output lacks %q:\n%s", want, out)
		}
	}
}

// A file value of the wrong kind stops the start, naming file and line.
func TestConfigFileBadParameter(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(cf, []byte("# comment\nsmtppolicy_greylist_delay = soon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := setup([]string{"-config", cf, "-listen", "127.0.0.1:0"}, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), cf+":2") || !strings.Contains(err.Error(), "smtppolicy_greylist_delay") {
		t.Errorf("setup with a bad duration = %v, want an error naming %s:2 and the parameter", err, cf)
	}
}

// With -config the file decides: the hygiene checks, on by default
// without one, are off unless the file (or -hygiene) turns them on.
func TestSwaksHygieneFromConfigFile(t *testing.T) {
	for _, tt := range []struct {
		name, line string
		refused    bool
	}{
		{"file turns hygiene on", "smtppolicy_hygiene = yes\n", true},
		{"file leaves it off", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cf := filepath.Join(t.TempDir(), "main.cf")
			if err := os.WriteFile(cf, []byte("smtpd_relay_restrictions = reject_unauth_destination\n"+tt.line), 0o644); err != nil {
				t.Fatal(err)
			}
			s := startServer(t, "-config", cf)
			out, err := swaks(t, s.addr, "--helo", "WORKSTATION", "--from", "alice@example.net", "--to", "bob@example.org")
			refused := err != nil && strings.Contains(out, "HELO WORKSTATION argument must be a FQDN")
			if refused != tt.refused {
				t.Errorf("HELO WORKSTATION refused = %v, want %v; err=%v\n%s", refused, tt.refused, err, out)
			}
		})
	}
}

// SIGHUP rebuilds the policy from the same flags and the file read anew:
// a changed smtppolicy_* parameter takes effect, and a bad value keeps
// the running policy, naming file and line.
func TestSwaksReloadParameters(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "main.cf")
	write := func(body string) {
		os.WriteFile(cf+".new", []byte("smtpd_relay_restrictions = reject_unauth_destination\n"+body), 0o644)
		if err := os.Rename(cf+".new", cf); err != nil {
			t.Fatal(err)
		}
	}
	write("smtppolicy_greylist_store = memory:\nsmtppolicy_greylist_delay = 42s\n")
	p := startProcess(t, nil, "-listen", "127.0.0.1:0", "-maildir", t.TempDir(), "-config", cf)
	addr := p.serving(t)
	send := func(rcpt string) string {
		out, _ := swaks(t, addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", rcpt)
		return out
	}
	if out := send("bob@example.org"); !strings.Contains(out, "try again in 42 seconds") {
		t.Fatalf("before the reload: want a 42-second greylisting\n%s", out)
	}
	write("smtppolicy_greylist_store = memory:\nsmtppolicy_greylist_delay = 7s\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`msg="reloaded the policy"`), 10*time.Second)
	if out := send("carol@example.org"); !strings.Contains(out, "try again in 7 seconds") {
		t.Errorf("after the reload: want a 7-second greylisting\n%s", out)
	}
	write("smtppolicy_greylist_delay = soon\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`reload failed; the running policy stays in force.*main.cf:2`), 10*time.Second)
	if out := send("dave@example.org"); !strings.Contains(out, "try again in 7 seconds") {
		t.Errorf("after a failed reload: want the running policy's 7-second greylisting\n%s", out)
	}
}
