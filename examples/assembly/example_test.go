package assembly_test

import (
	"flag"
	"fmt"
	"strings"

	"github.com/smtppolicy/smtppolicy/examples/assembly"
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
