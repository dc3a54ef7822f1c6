package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// policyd runs the checks smtpd runs from the same parameters: SPF with
// the hygiene checks, and a DNS allowlist that spares a client greylisting.
func TestSameChecksAsSMTPD(t *testing.T) {
	dns := dnstest.New(t)
	dns.Add(`example.net. 60 IN MX 10 mx.example.net.`, `mx.example.net. 60 IN A 192.0.2.99`,
		`example.net. 60 IN TXT "v=spf1 ip4:192.0.2.99 -all"`,
		`10.2.0.192.in-addr.arpa. 60 IN PTR host10.example.net.`, `host10.example.net. 60 IN A 192.0.2.10`)
	dns.Zone("example.net", 60)
	dns.ListIP("wl.test", "192.0.2.20", "127.0.0.2")
	dns.Zone("wl.test", 60)

	t.Run("SPF", func(t *testing.T) {
		addr := startPolicyd(t, "-greylist", "none", "-hygiene", "-hygiene-names=false", "-resolver", dns.Addr())
		// A client with a confirmed name, so that only SPF can refuse it.
		req := strings.ReplaceAll(requestAt("RCPT", "192.0.2.10", "bob@example.org"), "client_name=unknown\nreverse_client_name=unknown",
			"client_name=host10.example.net\nreverse_client_name=host10.example.net")
		got := askOnce(t, addr, req)
		if !strings.HasPrefix(got, "action=5") || !strings.Contains(strings.ToLower(got), "spf") {
			t.Errorf("sender whose SPF fails = %q, want a refusal naming SPF", got)
		}
		if got := askOnce(t, addr, requestAt("RCPT", "192.0.2.99", "bob@example.org")); !strings.HasPrefix(got, "action=PREPEND Received-SPF: pass ") {
			t.Errorf("sender's own host = %q, want PREPEND Received-SPF: pass", got)
		}
	})
	t.Run("DNS allowlist skips greylisting", func(t *testing.T) {
		addr := startPolicyd(t, "-greylist", "memory:", "-resolver", dns.Addr(), "-dnsbl", "wl.test*-5")
		if got := askOnce(t, addr, requestAt("RCPT", "192.0.2.20", "bob@example.org")); got != "action=DUNNO" {
			t.Errorf("allowlisted client = %q, want action=DUNNO (not greylisted)", got)
		}
		if got := askOnce(t, addr, requestAt("RCPT", "192.0.2.21", "bob@example.org")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT") {
			t.Errorf("other client = %q, want DEFER_IF_PERMIT", got)
		}
	})
}

// The parameters that need the message body are accepted, named in a
// warning, and do nothing: a policy request carries no message.
func TestBodyParametersIgnored(t *testing.T) {
	addr, logs := startPolicydLog(t, "-greylist", "none", "-clamd-socket", "127.0.0.1:1", "-uri-max-limit", "3")
	if got := askOnce(t, addr, requestAt("END-OF-MESSAGE", "192.0.2.10", "bob@example.org")); got != "action=DUNNO" {
		t.Errorf("END-OF-MESSAGE with clamd unreachable = %q, want action=DUNNO (no scan)", got)
	}
	if out := logs.String(); !strings.Contains(out, "parameters ignored") || !strings.Contains(out, "smtppolicy_clamd_socket,smtppolicy_uri_max_limit") {
		t.Errorf("log lacks the warning naming the ignored parameters:\n%s", out)
	}
}

// A -config file's smtppolicy_* parameters set what the flags would, and
// -print-config prints them, marking those policyd ignores.
func TestConfigFileParameters(t *testing.T) {
	cf := writeFile(t, "main.cf", "smtppolicy_greylist_store = memory:\nsmtppolicy_greylist_delay = 42s\nsmtppolicy_clamd_socket = /run/clamd.sock\n")
	addr := startPolicyd(t, "-config", cf)
	if got := askOnce(t, addr, requestAt("RCPT", "192.0.2.10", "bob@example.org")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT 4.7.1 greylisted, try again in 42 seconds") {
		t.Errorf("greylisting from the file = %q, want a 42-second DEFER_IF_PERMIT", got)
	}
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-config", cf, "-print-config", "--delay=60"}, &out, io.Discard, nil); err != nil {
		t.Fatalf("-print-config: %v", err)
	}
	for _, want := range []string{
		"smtppolicy_greylist_store = memory:\n",
		"smtppolicy_greylist_delay = 60s\n", // postgrey's --delay over the file
		"smtppolicy_hygiene = no\n",         // policyd's own default
		"# (ignored: needs the message body) smtppolicy_clamd_socket = /run/clamd.sock\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-print-config lacks %q:\n%s", want, out.String())
		}
	}
}

// SIGHUP rebuilds the policy from the same flags and the file read anew:
// a changed smtppolicy_* parameter takes effect, the triplets are kept,
// and a bad value keeps the running policy, naming file and line.
func TestReloadParameters(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "main.cf")
	write := func(body string) {
		os.WriteFile(cf+".new", []byte(body), 0o644)
		if err := os.Rename(cf+".new", cf); err != nil {
			t.Fatal(err)
		}
	}
	write("smtppolicy_greylist_store = memory:\nsmtppolicy_greylist_delay = 42s\n")
	p, addr := startProc(t, nil, "-listen", "127.0.0.1:0", "-config", cf)
	if got := askAddr(t, "tcp", addr, request("b@example.net")); !strings.Contains(got, "try again in 42 seconds") {
		t.Fatalf("before the reload = %q, want a 42-second wait", got)
	}
	write("smtppolicy_greylist_store = memory:\nsmtppolicy_greylist_delay = 1s\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`msg="reloaded the policy"`), 10*time.Second)
	if got := askAddr(t, "tcp", addr, request("c@example.net")); !strings.Contains(got, "try again in 1 seconds") {
		t.Errorf("new triplet after the reload = %q, want a 1-second wait", got)
	}
	time.Sleep(1100 * time.Millisecond)
	// Seen before the reload, so past the new delay now: a store lost in
	// the reload would defer it as new.
	if got := askAddr(t, "tcp", addr, request("b@example.net")); !strings.HasPrefix(got, "action=PREPEND X-Greylist: delayed ") {
		t.Errorf("first triplet after the reload = %q, want it passed (PREPEND X-Greylist)", got)
	}
	write("smtppolicy_greylist_store = memory:\n\nsmtppolicy_greylist_delay = soon\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`reload failed; the running policy stays in force.*main.cf:3`), 10*time.Second)
	if got := askAddr(t, "tcp", addr, request("d@example.net")); !strings.Contains(got, "try again in 1 seconds") {
		t.Errorf("after a failed reload = %q, want the running policy's 1-second wait", got)
	}
}
