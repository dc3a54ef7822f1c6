package assembly

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The README's table of the checks each program runs is what the
// assembly builds for each: every row's parameters are set, the policy is
// built for each front-end, and the check is among those built exactly
// where the table says yes. Every row the test knows is in the table, and
// every row of the table is known, so neither can drift.
func TestReadmeTableOfFrontEnds(t *testing.T) {
	// What each program tells the assembly it sees: smtpd the message and
	// the client's connection, the milter the message, policyd neither
	// (examples/smtpd, examples/milter and examples/policyd build with
	// these Env fields); only smtpd stores the mail it accepts.
	frontEnds := []struct {
		name                 string
		body, conn, delivers bool
	}{{"smtpd", true, true, true}, {"policyd", false, false, false}, {"milter", true, false, false}}
	dir := t.TempDir()
	accessMap := filepath.Join(dir, "access.cf")
	cidr := filepath.Join(dir, "clients.cidr")
	for path, text := range map[string]string{accessMap: "Connect:192.0.2.1 REJECT\n", cidr: "192.0.2.0/24 REJECT\n"} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rows := map[string]struct {
		set  map[string]string
		name string // in Built.Checks
	}{
		"smtpf access map":                              {map[string]string{"smtppolicy_access_maps": accessMap}, "access"},
		"Postfix access(5) tables":                      {map[string]string{"smtppolicy_postfix_access": "cidr:" + cidr}, "postfix-access"},
		"HELO, envelope, header and size checks":        {map[string]string{"smtppolicy_hygiene": "yes"}, "hygiene"},
		"SPF":                                           {map[string]string{"smtppolicy_hygiene": "yes", "smtppolicy_spf": "yes"}, "spf"},
		"DNS lists of the client":                       {map[string]string{"smtppolicy_dnsbl_sites": "zen.example"}, "dnsbl"},
		"postscreen's DNS lists and access list":        {map[string]string{"postscreen_dnsbl_sites": "zen.example", "postscreen_access_list": "permit_mynetworks, cidr:" + cidr}, "postscreen"},
		"postscreen's pregreet and deep protocol tests": {map[string]string{"postscreen_pipelining_enable": "yes", "postscreen_greet_action": "enforce"}, "postscreen-tests"},
		"URI lists and link checks of the body":         {map[string]string{"smtppolicy_uribl_sites": "dbl.example", "smtppolicy_uri_max_limit": "20"}, "uri"},
		"clamd":                                         {map[string]string{"smtppolicy_clamd_socket": "127.0.0.1:3310"}, "clamd"},
		"spamd":                                         {map[string]string{"smtppolicy_spamd_socket": "127.0.0.1:783"}, "spamd"},
		"greylisting at RCPT":                           {map[string]string{"smtppolicy_greylist_store": "memory:"}, "greylist"},
		"greylisting on the message's content":          {map[string]string{"smtppolicy_greylist_store": "memory:", "smtppolicy_greylist_content": "yes"}, "greylist-content"},
		"reputation":                                    {map[string]string{"smtppolicy_reputation_store": "memory:"}, "reputation"},
		"DKIM and DMARC":                                {map[string]string{"smtppolicy_msgauth": "yes"}, "msgauth"},
		"ARC":                                           {map[string]string{"smtppolicy_msgauth": "yes", "smtppolicy_arc_verify": "yes"}, "arc"},
		"BATV":                                          {map[string]string{"smtppolicy_batv_key": "1:secretsecretsecret"}, "batv"},
		"BATV tagging of outgoing senders":              {map[string]string{"smtppolicy_batv_key": "1:secretsecretsecret", "smtppolicy_batv_sign": "yes"}, "batv-sign"},
		"sender callout":                                {map[string]string{"smtppolicy_callout_sender": "yes"}, "callout-sender"},
		"recipient callout":                             {map[string]string{"smtppolicy_callout_recipient": "10.0.0.5:25"}, "callout-recipient"},
		"duplicate refusal":                             {map[string]string{"smtppolicy_duplicate_store": "memory:"}, "duplicate"},
		"four21":                                        {map[string]string{"smtppolicy_four21_store": "memory:"}, "four21"},
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 5 || !strings.HasPrefix(line, "| ") || cells[0] == "check" {
			continue
		}
		if cells[2] != "yes" && cells[2] != "no" {
			continue // another table
		}
		label := cells[0]
		row, ok := rows[label]
		if !ok {
			t.Errorf("README row %q: the test does not know how to turn it on", label)
			continue
		}
		seen[label] = true
		for i, fe := range frontEnds {
			c := NewConfig(nil)
			c.SetDefault("smtppolicy_hygiene", "no") // each row alone
			for name, v := range row.set {
				if err := c.Set(name, v); err != nil {
					t.Fatalf("%s: Set(%s, %q) = %v", label, name, v, err)
				}
			}
			var st Stores
			b, err := Build(c, Env{Resolver: testResolver(t), Hostname: "mx.example.org", Domains: []string{"example.org"}, Body: fe.body, Conn: fe.conn, Delivers: fe.delivers}, &st)
			st.Close()
			if err != nil {
				t.Errorf("%s for %s: Build = %v", label, fe.name, err)
				continue
			}
			want := cells[2+i] == "yes"
			if got := slices.Contains(b.Checks, row.name); got != want {
				t.Errorf("README says %s runs %q: %s; the assembly builds %q for it", fe.name, label, cells[2+i], b.Checks)
			}
		}
	}
	for label := range rows {
		if !seen[label] {
			t.Errorf("README's table lacks the row %q", label)
		}
	}
}
