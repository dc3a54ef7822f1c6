package assembly_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/smtppolicy/smtppolicy/examples/assembly"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// A front-end registers the shorthands, parses its command line and
// builds: the flags set parameters, and -print-config shows them.
func ExampleBuild() {
	params := assembly.NewConfig(nil)
	fs := flag.NewFlagSet("frontend", flag.ContinueOnError)
	params.Flags(fs)
	if err := fs.Parse([]string{"-greylist", "memory:", "-greylist-delay", "2m"}); err != nil {
		fmt.Println(err)
		return
	}
	var stores assembly.Stores
	defer stores.Close()
	b, err := assembly.Build(params, assembly.Env{Hostname: "mx.example.org", Body: true}, &stores)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("greylisting:", b.Greylist != nil, "at RCPT:", len(b.Rcpt) > 0)
	// Output: greylisting: true at RCPT: true
}

func ExampleConfig_Print() {
	params := assembly.NewConfig(nil)
	if err := params.Set("smtppolicy_greylist_store", "bolt:/var/lib/smtppolicy/greylist.db"); err != nil {
		fmt.Println(err)
		return
	}
	var b strings.Builder
	params.Print(&b, true)
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "smtppolicy_greylist_") {
			fmt.Println(line)
		}
	}
	// Output:
	// smtppolicy_greylist_store = bolt:/var/lib/smtppolicy/greylist.db
	// smtppolicy_greylist_delay = 5m0s
	// smtppolicy_greylist_content = no
	// smtppolicy_greylist_exchange = no
	// smtppolicy_greylist_auto_allow = 5
	// smtppolicy_greylist_auto_allow_by_network = no
}

// -print-config: the file's Postfix parameters, then every smtppolicy_*
// parameter with the value in force.
func ExampleConfig_PrintConfig() {
	dir, err := os.MkdirTemp("", "printconfig")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "main.cf")
	os.WriteFile(path, []byte("smtpd_delay_reject = yes\nsmtppolicy_greylist_delay = 10m\n"), 0o644)
	var b strings.Builder
	if err := assembly.NewConfig(nil).PrintConfig(path, &b, true); err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if line == "smtpd_delay_reject = yes" || strings.HasPrefix(line, "smtppolicy_greylist_delay") {
			fmt.Println(line)
		}
	}
	// Output:
	// smtpd_delay_reject = yes
	// smtppolicy_greylist_delay = 10m
}

// A third front-end (a milter, say) takes its whole policy from a file in
// a few lines: the smtppolicy_* parameters build the checks, the Postfix
// restriction lists run first at each stage.
func ExampleThen() {
	dir, err := os.MkdirTemp("", "assembly")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "main.cf")
	os.WriteFile(path, []byte("smtpd_helo_required = yes\nsmtppolicy_greylist_store = memory:\n"), 0o600)

	params, err := assembly.NewConfig(nil).Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	var stores assembly.Stores
	defer stores.Close()
	built, err := assembly.Build(params, assembly.Env{Hostname: "mx.example.org", Body: true}, &stores)
	if err != nil {
		fmt.Println(err)
		return
	}
	file, err := postconf.Build(params.File, postconf.Env{Domains: []string{"example.org"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	policy := assembly.Then(file.Policy, built.Stages)

	s := checktest.NewSession("192.0.2.7").From("a@example.net").To("b@example.org").At(smtpcheck.StageRcpt)
	fmt.Println(policy.Evaluate(context.Background(), s).Result.Reason.Check)
	// Output: smtpd_helo_required
}

// The same parameters build what each front-end can run: a policy
// service sees the envelope but no message, a milter the message but not
// the client's connection, an SMTP server both.
func ExampleBuilt_checks() {
	params := assembly.NewConfig(map[string]string{"smtppolicy_hygiene": "no"})
	for name, v := range map[string]string{
		"smtppolicy_batv_key":          "1:a secret of sixteen octets",
		"smtppolicy_callout_recipient": "10.0.0.5:25",
		"smtppolicy_duplicate_store":   "memory:",
		"smtppolicy_four21_store":      "memory:",
	} {
		if err := params.Set(name, v); err != nil {
			fmt.Println(err)
			return
		}
	}
	for _, fe := range []struct {
		name string
		env  assembly.Env
	}{
		{"policyd", assembly.Env{}},
		{"milter", assembly.Env{Body: true}},
		{"smtpd", assembly.Env{Body: true, Conn: true}},
	} {
		var stores assembly.Stores
		b, err := assembly.Build(params, fe.env, &stores)
		stores.Close()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(fe.name+":", strings.Join(b.Checks, " "))
	}
	// Output:
	// policyd: batv callout-recipient
	// milter: batv duplicate callout-recipient
	// smtpd: batv duplicate four21 callout-recipient
}
