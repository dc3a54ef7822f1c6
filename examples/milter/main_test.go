package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartupRefusesFactsTheMTAWillNotSend checks the start-up refusal: a
// policy whose checks need a fact the MTA's macros leave out does not
// start, and the error names the macro and the parameter.
func TestStartupRefusesFactsTheMTAWillNotSend(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(cf, []byte("smtpd_client_restrictions = reject_unknown_reverse_client_hostname\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The MTA's own main.cf, with and without the macros.
	mtaPTR := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(mtaPTR, []byte("myhostname = mx.example\nmilter_connect_macros = j, {client_ptr} {client_resolve}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mtaPlain := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(mtaPlain, []byte("myhostname = mx.example\nmilter_mail_macros = {auth_authen}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // "" to start
	}{
		{"default policy", nil, ""},
		{"reverse DNS checks, macros requested", []string{"-resolver", "127.0.0.1:53"}, ""},
		{"reverse DNS checks, Postfix's default macros", []string{"-resolver", "127.0.0.1:53", "-mta-macros", "postfix-defaults"},
			"reverse-name: add {client_ptr} {client_resolve} to milter_connect_macros"},
		{"link lists on the PTR name, default macros", []string{"-resolver", "127.0.0.1:53", "-hygiene=false", "-uribl", "dbl.example", "-uri-bl-ptr", "-mta-macros", "postfix-defaults"},
			"add {client_ptr} {client_resolve} to milter_connect_macros"},
		{"policy file's reverse name restriction, MTA's list has the macros", []string{"-config", cf, "-resolver", "127.0.0.1:53", "-hygiene=false", "-mta-macros", mtaPTR}, ""},
		{"policy file's reverse name restriction, default macro list", []string{"-config", cf, "-resolver", "127.0.0.1:53", "-hygiene=false", "-mta-macros", "postfix-defaults"},
			"add {client_ptr} {client_resolve} to milter_connect_macros"},
		{"MTA's list without the queue ID", []string{"-mta-macros", mtaPlain}, "queue-id: add i to milter_mail_macros"},
		{"greet pause", []string{"-greet-pause", "3s"}, "protocol: no MTA sends it"},
		{"bad macro mode", []string{"-mta-macros", "sometimes"}, "-mta-macros"},
		{"bad listen", []string{"-listen", "tcp6-only"}, "want inet:HOST:PORT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-listen", "inet:127.0.0.1:0"}, tc.args...)
			if tc.name == "bad listen" {
				args = tc.args
			}
			devnull, _ := os.Open(os.DevNull)
			defer devnull.Close()
			f, ln, err := setup(args, devnull)
			if err == nil {
				ln.Close()
				f.Close()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("setup(%q) = %v, want a running filter", tc.args, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("setup(%q) = %v, want an error with %q", tc.args, err, tc.want)
			}
		})
	}
}
