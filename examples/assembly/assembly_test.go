package assembly

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// printed returns the smtppolicy_* lines of c's -print-config output,
// keyed by name.
func printed(t *testing.T, c *Config, body bool) map[string]string {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Print(&buf, body); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(buf.String(), "\n") {
		name, value, ok := strings.Cut(line, " = ")
		if ok && (strings.Contains(name, "smtppolicy_") || strings.HasPrefix(name, "postscreen_")) {
			out[name] = value
		}
	}
	return out
}

func TestFlagsSetParameters(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string]string // printed lines that must differ from the defaults
	}{
		{"defaults", nil, map[string]string{"smtppolicy_hygiene": "yes", "smtppolicy_greylist_store": "", "smtppolicy_dnsbl_threshold": "1"}},
		{"bool off", []string{"-hygiene=false"}, map[string]string{"smtppolicy_hygiene": "no"}},
		{"bool alone", []string{"-greylist-content"}, map[string]string{"smtppolicy_greylist_content": "yes"}},
		{"duration", []string{"-greylist-delay", "90s"}, map[string]string{"smtppolicy_greylist_delay": "90s"}},
		{"repeated list adds up", []string{"-dnsbl", "zen.example*2", "-dnsbl", "wl.example*-5"},
			map[string]string{"smtppolicy_dnsbl_sites": "zen.example*2, wl.example*-5"}},
		{"string", []string{"-greylist", "memory:"}, map[string]string{"smtppolicy_greylist_store": "memory:"}},
		{"float", []string{"-spamd-score-reject", "7.5"}, map[string]string{"smtppolicy_spamd_score_reject": "7.5"}},
		{"int", []string{"-uri-max-limit", "20"}, map[string]string{"smtppolicy_uri_max_limit": "20"}},
		{"later flag wins", []string{"-clamd-policy", "discard", "-clamd-policy", "none"}, map[string]string{"smtppolicy_clamd_policy": "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewConfig(nil)
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			c.Flags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatalf("Parse(%q) = %v", tt.args, err)
			}
			got := printed(t, c, true)
			if len(got) != len(Params()) {
				t.Errorf("printed %d parameters, want all %d", len(got), len(Params()))
			}
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("after %q: %s = %q, want %q", tt.args, name, got[name], want)
				}
			}
		})
	}
}

func TestFlagValuesChecked(t *testing.T) {
	tests := []struct{ args []string }{
		{[]string{"-greylist-delay", "300"}}, // a Go duration, as before: 300s
		{[]string{"-dnsbl-threshold", "two"}},
		{[]string{"-hygiene=maybe"}},
		{[]string{"-spamd-score-reject", "NaN"}},
	}
	for _, tt := range tests {
		c := NewConfig(nil)
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.Flags(fs)
		if err := fs.Parse(tt.args); err == nil {
			t.Errorf("Parse(%q) = nil, want an error", tt.args)
		}
	}
}

func TestFrontEndDefaults(t *testing.T) {
	c := NewConfig(map[string]string{"smtppolicy_hygiene": "no"})
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.Flags(fs)
	if got := fs.Lookup("hygiene").DefValue; got != "false" {
		t.Errorf("-hygiene default shown as %q, want false", got)
	}
	if got := printed(t, c, true)["smtppolicy_hygiene"]; got != "no" {
		t.Errorf("smtppolicy_hygiene = %q, want no", got)
	}
	if err := fs.Parse([]string{"-hygiene"}); err != nil {
		t.Fatal(err)
	}
	if got := c.Value("smtppolicy_hygiene"); got != "yes" {
		t.Errorf("after -hygiene: %q, want yes", got)
	}
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// rcptVerdict builds c and runs one new triplet through its RCPT checks.
func rcptVerdict(t *testing.T, c *Config) smtpcheck.Result {
	t.Helper()
	b, err := Build(c, Env{Hostname: "mx.example.org", Domains: []string{"example.org"}, Body: true}, &Stores{})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	s := checktest.NewSession("192.0.2.7").Helo("mail.example.net").From("a@example.net").To("b@example.org").At(smtpcheck.StageRcpt)
	return smtpcheck.FirstMatch(b.Rcpt...)(t.Context(), s)
}

func TestFileBuildsWhatFlagsBuild(t *testing.T) {
	fromFlags := NewConfig(nil)
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fromFlags.Flags(fs)
	if err := fs.Parse([]string{"-greylist", "memory:", "-greylist-delay", "10m", "-greylist-exchange", "-hygiene-max-size", "1000"}); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, `# the same policy, written down
smtpd_helo_required = yes
smtppolicy_greylist_store = memory:
smtppolicy_greylist_delay = 10m
smtppolicy_greylist_exchange = yes
smtppolicy_hygiene_max_size = 1000
`)
	fromFile, err := NewConfig(nil).Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if a, b := printed(t, fromFlags, true), printed(t, fromFile, true); !equal(a, b) {
		t.Errorf("flags print\n%v\nfile prints\n%v", a, b)
	}
	// The file's Postfix parameters are left for postconf, and only they.
	if names := fromFile.File.Names(); len(names) != 1 || names[0] != "smtpd_helo_required" {
		t.Errorf("File.Names() = %q, want [smtpd_helo_required]", names)
	}
	if _, err := postconf.Build(fromFile.File, postconf.Env{}); err != nil {
		t.Errorf("postconf.Build of the rest: %v", err)
	}
	for name, c := range map[string]*Config{"flags": fromFlags, "file": fromFile} {
		r := rcptVerdict(t, c)
		if r.Action != smtpcheck.DeferIfPermit || r.Reason.Check != "greylist" {
			t.Errorf("%s: RCPT of a new triplet = %v by %q, want defer_if_permit by greylist", name, r.Action, r.Reason.Check)
		}
		if got := r.DefaultReply().String(); !strings.Contains(got, "4.2.0") {
			t.Errorf("%s: reply %q, want the Exchange code 4.2.0", name, got)
		}
		b, err := Build(c, Env{Body: true}, &Stores{})
		if err != nil {
			t.Fatal(err)
		}
		if b.MaxSize != 1000 {
			t.Errorf("%s: MaxSize = %d, want 1000", name, b.MaxSize)
		}
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestFlagsWinOverFile(t *testing.T) {
	c := NewConfig(nil)
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse([]string{"-greylist-delay", "2m"}); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "smtppolicy_greylist_delay = 30m\nsmtppolicy_dnsbl_threshold = 3\n")
	loaded, err := c.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := loaded.Value("smtppolicy_greylist_delay"); got != "2m" {
		t.Errorf("greylist delay = %q, want the flag's 2m", got)
	}
	if got := loaded.Value("smtppolicy_dnsbl_threshold"); got != "3" {
		t.Errorf("dnsbl threshold = %q, want the file's 3", got)
	}
	// A reload reads the file anew over the same flags.
	if err := os.WriteFile(path, []byte("smtppolicy_dnsbl_threshold = 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := c.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Value("smtppolicy_dnsbl_threshold"); got != "4" {
		t.Errorf("after the edit: threshold = %q, want 4", got)
	}
	if got := c.Value("smtppolicy_dnsbl_threshold"); got != "1" {
		t.Errorf("the unloaded config changed: threshold = %q, want 1", got)
	}
}

func TestFileErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"bad kind", "smtppolicy_hygiene = yes\nsmtppolicy_greylist_delay = soon\n", "main.cf:2: smtppolicy_greylist_delay"},
		{"bad choice", "smtppolicy_hygiene_lines = fix\n", "main.cf:1: smtppolicy_hygiene_lines"},
		{"needs resolver", "\nsmtppolicy_dnsbl_sites = zen.example\n", "main.cf:2: smtppolicy_dnsbl_sites needs -resolver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewConfig(nil).Load(writeFile(t, tt.text))
			if err == nil {
				_, err = Build(c, Env{Body: true}, &Stores{})
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestWithoutBodyWarnsAndSkips(t *testing.T) {
	c := NewConfig(nil)
	for name, v := range map[string]string{"smtppolicy_clamd_socket": "127.0.0.1:1", "smtppolicy_uri_max_limit": "3", "smtppolicy_greylist_store": "memory:", "smtppolicy_greylist_content": "yes", "smtppolicy_hygiene": "no"} {
		if err := c.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	b, err := Build(c, Env{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, &Stores{})
	if err != nil {
		t.Fatal(err)
	}
	want := "smtppolicy_clamd_socket,smtppolicy_greylist_content,smtppolicy_uri_max_limit"
	if !strings.Contains(logs.String(), "parameters ignored") || !strings.Contains(logs.String(), want) {
		t.Errorf("log = %q, want a warning naming %s", logs.String(), want)
	}
	if len(b.EndOfData) != 0 || len(b.Headers) != 0 {
		t.Errorf("body checks built without a body: %d end-of-data, %d header", len(b.EndOfData), len(b.Headers))
	}
	// Greylisting falls back to RCPT, where a policy service sees it.
	if len(b.Rcpt) == 0 {
		t.Error("no RCPT greylisting without a body")
	}
	var out bytes.Buffer
	if err := c.Print(&out, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "# (ignored: needs the message body) smtppolicy_clamd_socket = 127.0.0.1:1") {
		t.Errorf("print without a body does not mark clamd as ignored:\n%s", out.String())
	}
}

func TestDNSAllowlistSkipsGreylisting(t *testing.T) {
	c := NewConfig(nil)
	if err := c.Set("smtppolicy_greylist_store", "memory:"); err != nil {
		t.Fatal(err)
	}
	b, err := Build(c, Env{Body: true}, &Stores{})
	if err != nil {
		t.Fatal(err)
	}
	s := checktest.NewSession("192.0.2.7").Helo("mail.example.net").From("a@example.net").To("b@example.org").At(smtpcheck.StageRcpt)
	s.SetValue(dnsAllowlisted{}, true)
	if r := smtpcheck.FirstMatch(b.Rcpt...)(t.Context(), s); r.Action.Refuses() || r.Action == smtpcheck.DeferIfPermit {
		t.Errorf("allowlisted client greylisted: %v by %s", r.Action, r.Reason.Check)
	}
}

func TestStoresOutliveReload(t *testing.T) {
	c := NewConfig(nil)
	if err := c.Set("smtppolicy_greylist_store", "memory:"); err != nil {
		t.Fatal(err)
	}
	var st Stores
	defer st.Close()
	first, err := Build(c, Env{Body: true}, &st)
	if err != nil {
		t.Fatal(err)
	}
	s := func() *smtpcheck.Session {
		return checktest.NewSession("192.0.2.7").Helo("mail.example.net").From("a@example.net").To("b@example.org").At(smtpcheck.StageRcpt)
	}
	smtpcheck.FirstMatch(first.Rcpt...)(t.Context(), s()) // the triplet is recorded
	second, err := Build(c, Env{Body: true}, &st)
	if err != nil {
		t.Fatal(err)
	}
	waiting := 0
	if err := second.Greylist.Pending(t.Context(), func(greylist.Waiting) error { waiting++; return nil }); err != nil {
		t.Fatal(err)
	}
	if waiting != 1 {
		t.Errorf("the rebuilt policy's greylist holds %d waiting triplets, want the first build's 1", waiting)
	}
}

// Each parameter is named after its flag, so an administrator can guess
// one from the other; the README names the exceptions.
func TestParameterNamesFollowFlags(t *testing.T) {
	exceptions := map[string]string{
		"access": "smtppolicy_access_maps", "dnsbl": "smtppolicy_dnsbl_sites",
		"uribl": "smtppolicy_uribl_sites", "greylist": "smtppolicy_greylist_store",
		"postscreen-cache": "postscreen_cache_map", "postscreen-deep-reconnect": "smtppolicy_postscreen_deep_reconnect",
		"reputation": "smtppolicy_reputation_store",
		"duplicate":  "smtppolicy_duplicate_store", "four21": "smtppolicy_four21_store",
	}
	seen := map[string]bool{}
	for _, p := range Params() {
		want := "smtppolicy_" + strings.ReplaceAll(p.Flag, "-", "_")
		if strings.HasPrefix(p.Flag, "postscreen-") {
			want = strings.ReplaceAll(p.Flag, "-", "_") // Postfix's own names
		}
		if e, ok := exceptions[p.Flag]; ok {
			want = e
		}
		if p.Name != want {
			t.Errorf("flag -%s sets %s, want %s", p.Flag, p.Name, want)
		}
		if seen[p.Name] || seen["-"+p.Flag] {
			t.Errorf("%s or -%s appears twice", p.Name, p.Flag)
		}
		seen[p.Name], seen["-"+p.Flag] = true, true
		if p.Kind != String && p.Kind != List {
			if _, err := p.normalize(p.Default); err != nil {
				t.Errorf("%s default %q: %v", p.Name, p.Default, err)
			}
		}
	}
}
