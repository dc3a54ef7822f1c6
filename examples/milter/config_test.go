package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrintConfigMatchesSMTPD checks that one configuration serves the
// milter and smtpd alike: for the same -config file and flags, the
// milter's -print-config prints the same effective file as smtpd's, so
// that a parameter means the same in both.
func TestPrintConfigMatchesSMTPD(t *testing.T) {
	milter := milterBinary(t)
	smtpd := filepath.Join(t.TempDir(), "smtpd")
	if out, err := exec.Command("go", "build", "-o", smtpd, "../smtpd").CombinedOutput(); err != nil {
		t.Fatalf("go build ../smtpd: %v\n%s", err, out)
	}
	cf := filepath.Join(t.TempDir(), "main.cf")
	file := "smtpd_client_restrictions = permit_mynetworks, reject_unknown_reverse_client_hostname\n" +
		"mynetworks = 192.0.2.0/24\n" +
		"smtppolicy_dnsbl_threshold = 3\n" +
		"smtppolicy_greylist_store = memory:\n" +
		"smtppolicy_clamd_socket = /run/clamav/clamd.ctl\n"
	if err := os.WriteFile(cf, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string // lines both must print
	}{
		{"defaults", nil, []string{"smtppolicy_hygiene = yes", "smtppolicy_greylist_store = \n"}},
		{"flags", []string{"-hygiene=false", "-dnsbl", "zen.example", "-dnsbl", "bl.example*2", "-greylist", "memory:", "-spamd-socket", "127.0.0.1:783", "-uri-bl-ptr"},
			[]string{"smtppolicy_hygiene = no", "smtppolicy_dnsbl_sites = zen.example, bl.example*2", "smtppolicy_spamd_socket = 127.0.0.1:783", "smtppolicy_uri_bl_ptr = yes"}},
		{"file", []string{"-config", cf},
			[]string{"mynetworks = 192.0.2.0/24", "smtppolicy_hygiene = no", "smtppolicy_dnsbl_threshold = 3", "smtppolicy_clamd_socket = /run/clamav/clamd.ctl"}},
		{"file and flags", []string{"-config", cf, "-hygiene", "-dnsbl-threshold", "2", "-greylist-delay", "10m"},
			[]string{"smtppolicy_hygiene = yes", "smtppolicy_dnsbl_threshold = 2", "smtppolicy_greylist_delay = 10m", "smtppolicy_greylist_store = memory:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			print := func(bin string) string {
				t.Helper()
				var out, errb bytes.Buffer
				cmd := exec.Command(bin, append([]string{"-print-config"}, tc.args...)...)
				cmd.Stdout, cmd.Stderr = &out, &errb
				if err := cmd.Run(); err != nil {
					t.Fatalf("%s -print-config %q: %v\n%s", filepath.Base(bin), tc.args, err, errb.String())
				}
				return out.String()
			}
			got, want := print(milter), print(smtpd)
			if got != want {
				t.Errorf("milter -print-config %q differs from smtpd's:\nmilter:\n%s\nsmtpd:\n%s", tc.args, got, want)
			}
			for _, line := range tc.want {
				if !strings.Contains(got+"\n", line) {
					t.Errorf("milter -print-config %q lacks %q:\n%s", tc.args, line, got)
				}
			}
		})
	}
}
