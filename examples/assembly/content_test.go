package assembly

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// parsed returns a configuration with args parsed as a program's flags.
func parsed(t *testing.T, args ...string) *Config {
	t.Helper()
	c := NewConfig(nil)
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q) = %v", args, err)
	}
	return c
}

// testResolver is a resolver nothing answers for; the builds below never
// ask it anything.
func testResolver(t *testing.T) *resolver.Resolver {
	t.Helper()
	r, err := resolver.New(resolver.Config{Servers: []string{"127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The smtpd flags of message authentication, BATV, callouts, duplicate
// refusal and four21 set their parameters, and -print-config prints them.
func TestContentFlagsSetParameters(t *testing.T) {
	c := parsed(t, "-msgauth", "-msgauth-timeout", "3s", "-dkim-policy", "none=tag", "-dmarc-policy", "permerror=reject",
		"-dmarc-override", "example.com=none", "-dmarc-override", "*=reject", "-msgauth-spoof",
		"-batv-key", "2:the current secret, long enough", "-batv-key", "1:previoussecret-24octets", "-batv-ttl", "72h", "-batv-dsn-policy", "tag",
		"-callout-sender", "-callout-recipient", "10.0.0.5:25", "-callout-store", "memory:", "-callout-port", "2525", "-callout-from", "probe@example.org",
		"-callout-timeout", "9s", "-callout-connect-timeout", "2s", "-callout-command-timeout", "3s", "-callout-error-policy", "fail-open", "-callout-allow-private",
		"-duplicate", "memory:", "-duplicate-ttl", "2h", "-four21", "memory:", "-four21-known-ttl", "240h", "-four21-block-ttl", "1h", "-four21-wait", "5s")
	want := map[string]string{
		"smtppolicy_msgauth": "yes", "smtppolicy_msgauth_timeout": "3s", "smtppolicy_dkim_policy": "none=tag", "smtppolicy_dmarc_policy": "permerror=reject",
		"smtppolicy_dmarc_override": "example.com=none, *=reject", "smtppolicy_msgauth_spoof": "yes",
		"smtppolicy_batv_key": "{2:the current secret, long enough}, 1:previoussecret-24octets", "smtppolicy_batv_ttl": "72h", "smtppolicy_batv_dsn_policy": "tag",
		"smtppolicy_callout_sender": "yes", "smtppolicy_callout_recipient": "10.0.0.5:25", "smtppolicy_callout_store": "memory:", "smtppolicy_callout_port": "2525",
		"smtppolicy_callout_from": "probe@example.org", "smtppolicy_callout_timeout": "9s", "smtppolicy_callout_connect_timeout": "2s",
		"smtppolicy_callout_command_timeout": "3s", "smtppolicy_callout_error_policy": "fail-open", "smtppolicy_callout_allow_private": "yes",
		"smtppolicy_duplicate_store": "memory:", "smtppolicy_duplicate_ttl": "2h",
		"smtppolicy_four21_store": "memory:", "smtppolicy_four21_known_ttl": "240h", "smtppolicy_four21_block_ttl": "1h", "smtppolicy_four21_wait": "5s",
	}
	got := printed(t, c, true)
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %q, want %q", name, got[name], v)
		}
	}
	// The printed file, loaded again, is the same configuration: every
	// value means what it meant as a flag.
	var buf bytes.Buffer
	if err := c.Print(&buf, true); err != nil {
		t.Fatal(err)
	}
	again, err := NewConfig(nil).Load(writeFile(t, buf.String()))
	if err != nil {
		t.Fatalf("Load(-print-config's output) = %v", err)
	}
	if a, b := printed(t, again, true), got; !equal(a, b) {
		t.Errorf("printed, loaded and printed again:\n%v\nwant\n%v", a, b)
	}
	if keys := again.itemsValue("smtppolicy_batv_key"); !slices.Equal(keys, []string{"2:the current secret, long enough", "1:previoussecret-24octets"}) {
		t.Errorf("BATV keys read back as %q", keys)
	}
	// And it builds, for the SMTP server, the checks it names.
	var st Stores
	defer st.Close()
	b, err := Build(again, Env{Resolver: testResolver(t), Hostname: "mx.example.org", Domains: []string{"example.org"}, Body: true, Conn: true}, &st)
	if err != nil {
		t.Fatalf("Build = %v", err)
	}
	for _, name := range []string{"msgauth", "batv", "duplicate", "four21", "callout-sender", "callout-recipient"} {
		if !slices.Contains(b.Checks, name) {
			t.Errorf("Checks = %q, want %s", b.Checks, name)
		}
	}
	if b.Listener == nil || len(b.Accepted) != 1 || len(b.Closed) != 1 || b.Verify.Sender == nil || b.Verify.Recipient == nil {
		t.Errorf("Built: listener %v, %d accepted and %d closed hooks, verifiers %v %v; want four21's listener, duplicate's hooks and both verifiers",
			b.Listener != nil, len(b.Accepted), len(b.Closed), b.Verify.Sender != nil, b.Verify.Recipient != nil)
	}
}

// A value the parameter refuses is reported with the file and line that
// set it, or the flag.
func TestContentParameterErrors(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		want       string
	}{
		{"msgauth needs a resolver", "\nsmtppolicy_msgauth = yes\n", nil, "main.cf:2: smtppolicy_msgauth needs -resolver"},
		{"ARC needs msgauth", "smtppolicy_arc_verify = yes\n", nil, "main.cf:1: smtppolicy_arc_verify needs smtppolicy_msgauth = yes"},
		{"bad DKIM action", "smtppolicy_msgauth = yes\nsmtppolicy_dkim_policy = fail=bounce\n", nil, "main.cf:2: smtppolicy_dkim_policy: \"fail=bounce\""},
		{"bad DMARC result", "smtppolicy_msgauth = yes\nsmtppolicy_dmarc_policy = softfail=reject\n", nil, "main.cf:2: smtppolicy_dmarc_policy: \"softfail=reject\": unknown result"},
		{"bad override", "smtppolicy_msgauth = yes\n\nsmtppolicy_dmarc_override = example.com=never\n", nil, "main.cf:3: smtppolicy_dmarc_override: \"example.com=never\""},
		{"bad timeout", "smtppolicy_msgauth_timeout = soon\n", nil, "main.cf:1: smtppolicy_msgauth_timeout"},
		{"bad BATV key", "smtppolicy_batv_key = 12:secretsecretsecret\n", nil, "main.cf:1: smtppolicy_batv_key: want ID:SECRET"},
		{"short BATV key", "smtppolicy_batv_key = 1:short\n", nil, "main.cf:1: smtppolicy_batv_key"},
		{"bad BATV policy", "smtppolicy_batv_key = 1:secretsecretsecret\nsmtppolicy_batv_dsn_policy = bounce\n", nil, "main.cf:2: smtppolicy_batv_dsn_policy: \"bounce\""},
		{"callout sender needs a resolver", "smtppolicy_callout_sender = yes\n", nil, "main.cf:1: smtppolicy_callout_sender needs -resolver"},
		{"bad callout error policy", "smtppolicy_callout_recipient = 10.0.0.5\nsmtppolicy_callout_error_policy = shrug\n", nil, "main.cf:2: smtppolicy_callout_error_policy"},
		{"bad callout port", "smtppolicy_callout_port = smtp\n", nil, "main.cf:1: smtppolicy_callout_port"},
		{"bad duplicate store", "smtppolicy_duplicate_store = mysql://db\n", nil, "main.cf:1: smtppolicy_duplicate_store"},
		{"bad four21 store", "smtppolicy_four21_store = file:/x\n", nil, "main.cf:1: smtppolicy_four21_store"},
		{"flag named when the flag set it", "", []string{"-batv-key", "1:short"}, "-batv-key"},
		{"flag wins over the file", "smtppolicy_dkim_policy = none=tag\nsmtppolicy_msgauth = yes\n", []string{"-dkim-policy", "none=maybe"}, "-dkim-policy: \"none=maybe\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parsed(t, tt.args...)
			var err error
			if tt.file != "" {
				c, err = c.Load(writeFile(t, tt.file))
			}
			if err == nil {
				var st Stores
				_, err = Build(c, Env{Body: true, Conn: true}, &st)
				st.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// What each front-end builds: a policy service never sees the message
// (no DKIM, DMARC, ARC, duplicate refusal) nor owns the connection (no
// four21), a milter sees the message but not the connection; all three
// run BATV and the callouts, and warn about the parameters they ignore.
func TestFrontEndsBuildWhatTheySee(t *testing.T) {
	c := parsed(t, "-msgauth", "-arc-verify", "-batv-key", "1:secretsecretsecret", "-callout-sender", "-callout-recipient", "10.0.0.5",
		"-duplicate", "memory:", "-four21", "memory:")
	for _, tt := range []struct {
		name       string
		body, conn bool
		want       []string
		warn       string
	}{
		{"smtpd", true, true, []string{"msgauth", "arc", "batv", "duplicate", "four21", "callout-sender", "callout-recipient"}, ""},
		{"milter", true, false, []string{"msgauth", "arc", "batv", "duplicate", "callout-sender", "callout-recipient"}, "smtppolicy_four21_store"},
		{"policyd", false, false, []string{"batv", "callout-sender", "callout-recipient"}, "smtppolicy_arc_verify,smtppolicy_duplicate_store,smtppolicy_msgauth"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			var st Stores
			defer st.Close()
			b, err := Build(c, Env{Resolver: testResolver(t), Body: tt.body, Conn: tt.conn, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, &st)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range b.Checks {
				if slices.Contains([]string{"msgauth", "arc", "batv", "duplicate", "four21", "callout-sender", "callout-recipient"}, n) {
					got = append(got, n)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("checks built = %q, want %q", got, tt.want)
			}
			if tt.warn != "" && !strings.Contains(logs.String(), tt.warn) {
				t.Errorf("log does not warn of %s:\n%s", tt.warn, logs.String())
			}
			if !tt.body && len(b.Accepted) > 0 {
				t.Errorf("without the message: %d accepted hooks", len(b.Accepted))
			}
			if !tt.conn && b.Listener != nil {
				t.Error("a listener built for a front-end that owns no connection")
			}
		})
	}
}

// A -config file that names reject_unverified_recipient decides where
// recipients are verified: the callout answers it, and runs nowhere
// else. Without the file's restriction the callout checks every
// recipient.
func TestCalloutAnswersTheFilesRestriction(t *testing.T) {
	file := writeFile(t, "smtpd_relay_restrictions =\nsmtpd_recipient_restrictions = reject_unverified_recipient\nsmtppolicy_callout_recipient = 127.0.0.1:9\nsmtppolicy_callout_timeout = 1s\n")
	c, err := parsed(t).Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var st Stores
	defer st.Close()
	b, err := Build(c, Env{Body: true}, &st)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(b.Checks, "callout-recipient") || b.Verify.Recipient == nil {
		t.Fatalf("checks %q, recipient verifier %v: want only the verifier", b.Checks, b.Verify.Recipient != nil)
	}
	cfg, err := postconf.Build(c.File, postconf.Env{VerifyRecipient: b.Verify.Recipient, VerifySender: b.Verify.Sender})
	if err != nil {
		t.Fatalf("postconf.Build with the callout as verifier: %v", err)
	}
	// Nothing listens on port 9: the verifier cannot decide, and
	// Postfix's unverified_recipient_defer_code answers.
	s := checktestSession()
	r := cfg.Policy.Rcpt(t.Context(), s)
	if got := r.DefaultReply().String(); !strings.HasPrefix(got, "450 4.1.1") || !strings.Contains(got, "unverified address") {
		t.Errorf("reject_unverified_recipient with the downstream server down = %q, want 450 4.1.1 unverified address", got)
	}
	if err := b.Verify.Recipient(t.Context(), s.Rcpt); err == nil || errors.Is(err, postconf.ErrUndeliverable) {
		t.Errorf("verifier with the downstream server down = %v, want undetermined", err)
	}

	without, err := parsed(t, "-callout-recipient", "127.0.0.1:9").Load(writeFile(t, "smtpd_recipient_restrictions = permit\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err = Build(without, Env{Body: true}, &st)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(b.Checks, "callout-recipient") {
		t.Errorf("checks %q: the callout does not check every recipient when the file names no restriction", b.Checks)
	}
}

func checktestSession() *smtpcheck.Session {
	return checktest.NewSession("192.0.2.7").Helo("mail.example.net").From("a@example.net").To("b@example.org").At(smtpcheck.StageRcpt)
}
