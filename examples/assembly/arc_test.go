package assembly

import (
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/msgauth"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

func TestARCParameters(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		arc     bool
		sealers []string
		policy  msgauth.ResultPolicy
		err     string // in ApplyARC's error
	}{
		{name: "off by default"},
		{name: "on", args: []string{"-arc-verify"}, arc: true},
		{name: "sealers add up", args: []string{"-arc-verify", "-arc-trusted-sealers", "lists.example.org", "-arc-trusted-sealers", "fwd.example.com"},
			arc: true, sealers: []string{"lists.example.org", "fwd.example.com"}},
		{name: "policy", args: []string{"-arc-verify", "-arc-policy", "fail=quarantine, none=tag,TempError=tempfail"}, arc: true,
			policy: msgauth.ResultPolicy{msgauth.Fail: smtpcheck.Quarantine, msgauth.None: smtpcheck.Tag, msgauth.TempError: smtpcheck.TempFail}},
		{name: "ARC alone never rejects", args: []string{"-arc-verify", "-arc-policy", "fail=reject"}, err: "-arc-policy: \"fail=reject\": action \"reject\""},
		{name: "only temperror defers", args: []string{"-arc-verify", "-arc-policy", "fail=tempfail"}, err: "only temperror may defer"},
		{name: "unknown result", args: []string{"-arc-verify", "-arc-policy", "softfail=tag"}, err: "result \"softfail\""},
		{name: "sealers need verification", args: []string{"-arc-trusted-sealers", "lists.example.org"}, err: "-arc-trusted-sealers needs smtppolicy_arc_verify"},
		{name: "a policy needs verification", args: []string{"-arc-policy", "fail=tag"}, err: "-arc-policy needs smtppolicy_arc_verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewConfig(nil)
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.Flags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatalf("Parse(%q) = %v", tt.args, err)
			}
			var cfg msgauth.Config
			err := c.ApplyARC(&cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ApplyARC after %q = %v, want an error with %q", tt.args, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ApplyARC after %q = %v", tt.args, err)
			}
			if cfg.ARC != tt.arc || strings.Join(cfg.ARCTrustedSealers, " ") != strings.Join(tt.sealers, " ") || len(cfg.ARCPolicy) != len(tt.policy) {
				t.Errorf("after %q: ARC=%v sealers=%q policy=%v, want %v %q %v", tt.args, cfg.ARC, cfg.ARCTrustedSealers, cfg.ARCPolicy, tt.arc, tt.sealers, tt.policy)
			}
			for r, a := range tt.policy {
				if cfg.ARCPolicy[r] != a {
					t.Errorf("after %q: policy[%s] = %v, want %v", tt.args, r, cfg.ARCPolicy[r], a)
				}
			}
			if tt.arc {
				// The config ApplyARC made is one msgauth accepts.
				res, err := resolver.New(resolver.Config{Servers: []string{"127.0.0.1:53"}})
				if err != nil {
					t.Fatal(err)
				}
				cfg.Resolver = res
				if _, err := msgauth.New(cfg); err != nil {
					t.Errorf("msgauth.New after %q: %v", tt.args, err)
				}
			}
		})
	}
}

// -print-config shows the ARC parameters, commented out for a front-end
// that never sees the message.
func TestARCPrinted(t *testing.T) {
	c := NewConfig(nil)
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"-arc-verify", "-arc-trusted-sealers", "lists.example.org", "-arc-policy", "fail=tag"}); err != nil {
		t.Fatal(err)
	}
	got := printed(t, c, true)
	for name, want := range map[string]string{"smtppolicy_arc_verify": "yes", "smtppolicy_arc_trusted_sealers": "lists.example.org", "smtppolicy_arc_policy": "fail=tag"} {
		if got[name] != want {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
	var out strings.Builder
	if err := c.Print(&out, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "# (ignored: needs the message body) smtppolicy_arc_verify = yes") {
		t.Errorf("without the body, smtppolicy_arc_verify is not marked ignored:\n%s", out.String())
	}
}
