package postfixdiff

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/postconf/postfixtest"
)

// Postfix 3.7.11's answers, recorded, for a fixed set of the differential
// test's cases: examples/smtpd -config must give the same code and
// enhanced code without a Postfix to compare with. Where a private Postfix
// can run, the recording is checked against it.
func TestRecordedPostfixAnswers(t *testing.T) {
	dns := testDNS(t)
	bin := filepath.Join(t.TempDir(), "smtpd")
	if out, err := exec.Command(goTool(), "build", "-o", bin, "github.com/smtppolicy/smtppolicy/examples/smtpd").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/smtpd: %v\n%s", err, out)
	}
	tests := []struct {
		name, conf string
		s          session
		cmd        int    // index of the command whose reply is recorded
		postfix    string // the recorded reply's code and enhanced code
	}{
		{"rbl client listed", "smtpd_client_restrictions = reject_rbl_client zen.test",
			session{client: clients[4], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, 2, "554 5.7.1"},
		{"rhsbl sender", "smtpd_sender_restrictions = reject_rhsbl_sender dbl.test",
			session{client: clients[1], helo: "mx.example.net", from: "alice@spammer.example", rcpts: []string{"bob@example.org"}}, 2, "554 5.7.1"},
		{"rhsbl helo", "smtpd_helo_restrictions = reject_rhsbl_helo dbl.test",
			session{client: clients[1], helo: "spammer.example", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, 2, "554 5.7.1"},
		{"unknown sender domain", "smtpd_sender_restrictions = reject_unknown_sender_domain",
			session{client: clients[1], helo: "mx.example.net", from: "alice@nxdomain.example", rcpts: []string{"bob@example.org"}}, 2, "450 4.1.8"},
		{"non-fqdn sender", "smtpd_sender_restrictions = reject_non_fqdn_sender",
			session{client: clients[1], helo: "mx.example.net", from: "alice@workstation", rcpts: []string{"bob@example.org"}}, 2, "504 5.5.2"},
		{"non-fqdn helo", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname",
			session{client: clients[1], helo: "workstation", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, 2, "504 5.5.2"},
		{"unknown helo hostname", "smtpd_helo_restrictions = reject_unknown_helo_hostname",
			session{client: clients[1], helo: "nowhere.nxdomain.example", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, 2, "450 4.7.1"},
		{"unknown recipient domain", "smtpd_recipient_restrictions = reject_unknown_recipient_domain",
			session{client: clients[0], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@nxdomain.example"}}, 2, "450 4.1.2"},
		{"cidr table in braces", "smtpd_client_restrictions = check_client_access cidr:{ {127.0.0.66 REJECT}, {127.0.0.11 OK} }",
			session{client: clients[4], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, 2, "554 5.7.1"},
		{"inline table, braced entry", "smtpd_sender_restrictions = check_sender_access inline:{ { spammer.example = REJECT go away } }",
			session{client: clients[1], helo: "mx.example.net", from: "alice@spammer.example", rcpts: []string{"bob@example.org"}}, 2, "554 5.7.1"},
		{"static table in braces", "smtpd_client_restrictions = permit_mynetworks, check_client_access static:{ REJECT no mail from here, sorry }",
			session{client: clients[1], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, 2, "554 5.7.1"},
		{"mynetworks relays", "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
			session{client: clients[0], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@elsewhere.example"}}, 2, "250"},
		{"rhsbl recipient", "smtpd_recipient_restrictions = reject_rhsbl_recipient dbl.test",
			session{client: clients[0], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@spammer.example"}}, 2, "554 5.7.1"},
		{"unlisted local recipient", "smtpd_recipient_restrictions = permit",
			session{client: clients[1], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"carol@example.org"}}, 2, "550 5.1.1"},
		{"unlisted relay recipient", "unknown_relay_recipient_reject_code = 450",
			session{client: clients[1], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"carol@relay.example"}}, 2, "450 4.1.1"},
		{"unknown virtual alias", "smtpd_recipient_restrictions = reject_unlisted_recipient",
			session{client: clients[1], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"dave@alias.example"}}, 2, "550 5.1.1"},
		{"unlisted sender", "smtpd_reject_unlisted_sender = yes",
			session{client: clients[1], helo: "mx.example.net", from: "carol@example.org", rcpts: []string{"bob@example.org"}}, 2, "550 5.1.0"},
		{"sender MX access", "smtpd_sender_restrictions = check_sender_mx_access cidr:{ {192.0.2.99 REJECT bad mail server} }",
			session{client: clients[1], helo: "mx.example.net", from: "alice@spammer.example", rcpts: []string{"bob@example.org"}}, 2, "554 5.7.1"},
		{"sender NS access", "smtpd_sender_restrictions = check_sender_ns_access cidr:{ {192.0.2.98 550 5.7.1 bad dns} }",
			session{client: clients[1], helo: "mx.example.net", from: "alice@spammer.example", rcpts: []string{"bob@example.org"}}, 2, "550 5.7.1"},
		{"client MX access OK refused", "smtpd_client_restrictions = check_client_mx_access cidr:{ {127.0.0.66 OK} }",
			session{client: clients[4], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, 2, "451 4.3.5"},
		{"reverse client name", "smtpd_client_restrictions = check_reverse_client_hostname_access inline:{ forged.example.net=REJECT }",
			session{client: clients[3], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, 2, "554 5.7.1"},
		{"restriction class from a table", "smtpd_recipient_restrictions = check_recipient_access inline:{ carol@relay.example=strict }",
			session{client: clients[1], helo: "mx.example.net", from: "alice@workstation", rcpts: []string{"carol@relay.example"}}, 2, "504 5.5.2"},
		{"restriction class from a table, code 550", "non_fqdn_reject_code = 550\nsmtpd_recipient_restrictions = check_recipient_access inline:{ carol@relay.example=strict }",
			session{client: clients[1], helo: "mx.example.net", from: "alice@workstation", rcpts: []string{"carol@relay.example"}}, 2, "550 5.5.2"},
		{"malformed HELO name not found", "smtpd_helo_restrictions = reject_unknown_helo_hostname\nsmtpd_recipient_restrictions = reject",
			session{client: clients[1], helo: "bad_host!.example", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, 2, "450 4.7.1"},
		{"delay_reject no: helo at EHLO", "smtpd_delay_reject = no\nsmtpd_helo_restrictions = reject_non_fqdn_helo_hostname",
			session{client: clients[1], helo: "workstation", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, 0, "504 5.5.2"},
	}
	const shared = sharedMain
	// Where a private Postfix can run, the recording is checked against
	// it too.
	var pf *postfixtest.NetNS
	var services []postfixtest.Service
	if _, err := exec.LookPath("postfix"); err == nil && os.Geteuid() == 0 {
		ns, err := postfixtest.NewNetNS(t, dns.Addr())
		if err == nil {
			pf = ns
			for i, tt := range tests {
				f, err := postconf.Parse(strings.NewReader(tt.conf), "case")
				if err != nil {
					t.Fatal(err)
				}
				var ps []postfixtest.Param
				for _, n := range f.Names() {
					p, _ := f.Raw(n)
					ps = append(ps, postfixtest.Param{Name: n, Value: p.Value})
				}
				ps = append(ps, postfixtest.Param{Name: "mynetworks", Value: "127.0.0.0/29"})
				services = append(services, postfixtest.Service{Addr: fmt.Sprintf("127.0.0.1:%d", 2800+i), Overrides: ps})
			}
			postfixtest.Start(t, postfixtest.Options{Main: shared, Services: services, NetNS: ns})
		}
	}
	codes := func(r postfixtest.Reply) string { return strings.TrimSpace(fmt.Sprintf("%d %s", r.Code, r.Enhanced)) }
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conf := filepath.Join(dir, fmt.Sprintf("case%d.cf", i))
			body := shared + "mynetworks = 127.0.0.0/29\n" + tt.conf + "\n"
			if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			addr, stop := ourServer(t, bin, conf, dns.Addr())
			defer stop()
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			c, _, err := postfixtest.Dial(ctx, addr, tt.s.client.ip)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			steps := drive(c, tt.s)
			if tt.cmd >= len(steps) {
				t.Fatalf("session ended after %d commands: %v", len(steps), steps)
			}
			if got := steps[tt.cmd].reply; codes(got) != tt.postfix && !(tt.postfix == "250" && got.Code == 250) {
				t.Errorf("%s: %v, Postfix answered %s", steps[tt.cmd].cmd, got, tt.postfix)
			}
			if pf == nil {
				return
			}
			pc, _, err := pf.Dial(ctx, services[i].Addr, tt.s.client.ip)
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			psteps := drive(pc, tt.s)
			if tt.cmd >= len(psteps) || codes(psteps[tt.cmd].reply) != tt.postfix && !(tt.postfix == "250" && psteps[tt.cmd].reply.Code == 250) {
				t.Errorf("the recording is stale: Postfix now answers %v", psteps)
			}
		})
	}
}
