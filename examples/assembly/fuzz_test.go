package assembly

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad reads any file as a configuration: no panic, and a file that
// loads prints (-print-config) as one that loads again to the same
// parameters.
func FuzzLoad(f *testing.F) {
	f.Add("smtppolicy_greylist_store = memory:\nsmtppolicy_greylist_delay = 10m\n")
	f.Add("smtpd_helo_required = yes\nsmtppolicy_dnsbl_sites = zen.example*2,\n wl.example*-5\n")
	f.Add("smtppolicy_hygiene = true\nsmtppolicy_spamd_score_reject = 1e3\n")
	f.Add("smtppolicy_greylist_delay = soon\n")
	f.Add("smtppolicy_batv_key = {2:a secret, with a comma}, 1:secretsecretsecret\nsmtppolicy_dmarc_override = example.com=none *=reject\n")
	f.Add("smtppolicy_msgauth = yes\nsmtppolicy_dkim_policy = none=tag,fail=reject\nsmtppolicy_callout_port = 2525\nsmtppolicy_four21_wait = 5s\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		path := filepath.Join(dir, "main.cf")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := NewConfig(nil).Load(path)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := c.Print(&out, true); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		again, err := NewConfig(nil).Load(path)
		if err != nil {
			t.Fatalf("printed configuration does not load: %v\n%s", err, out.String())
		}
		for _, p := range Params() {
			if a, b := c.Value(p.Name), again.Value(p.Name); a != b {
				t.Errorf("%s = %q, printed and loaded again %q", p.Name, a, b)
			}
		}
	})
}
