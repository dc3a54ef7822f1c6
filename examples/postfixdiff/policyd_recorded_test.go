package postfixdiff

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf/postfixtest"
)

// postfixNames are the client_name and reverse_client_name Postfix sends
// a policy service for each test client, from the test DNS: the verified
// name (or "unknown") and the PTR name (or "unknown").
var postfixNames = map[string][2]string{
	"127.0.0.2":  {"trusted.example.net", "trusted.example.net"},
	"127.0.0.10": {"mx.example.net", "mx.example.net"},
	"127.0.0.11": {"unknown", "unknown"},
	"127.0.0.12": {"unknown", "forged.example.net"},
	"127.0.0.66": {"dyn66.example.net", "dyn66.example.net"},
	"127.0.0.67": {"dyn67.example.net", "dyn67.example.net"},
}

// rcptRequest is the policy request Postfix sends for the session's first
// recipient.
func rcptRequest(s session) string {
	names := postfixNames[s.client.ip]
	proto := "ESMTP"
	if s.verb == "HELO" {
		proto = "SMTP"
	}
	return fmt.Sprintf("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=%s\nclient_address=%s\n"+
		"client_name=%s\nreverse_client_name=%s\nhelo_name=%s\nsender=%s\nrecipient=%s\netrn_domain=\n\n",
		proto, s.client.ip, names[0], names[1], s.helo, s.from, s.rcpts[0])
}

// clientReply is the code and enhanced code Postfix (at its defaults)
// gives the client for a policy service's action at RCPT: an action with
// its own code keeps it, DEFER_IF_PERMIT is 450, DUNNO and OK let the
// recipient through.
func clientReply(action string) string {
	word, rest, _ := strings.Cut(action, " ")
	enh, _, _ := strings.Cut(rest, " ")
	switch {
	case word == "DUNNO" || word == "OK":
		return "250"
	case word == "DEFER_IF_PERMIT":
		return "450 " + enh
	case len(word) == 3 && word[0] >= '4' && word[0] <= '5':
		return word + " " + enh
	}
	return "unexpected action " + action
}

// Postfix 3.7.11's answers, recorded, for a fixed set of the differential
// test's cases, and the answer policyd gives Postfix for the same session
// with the same main.cf: through check_policy_service the client must get
// the recorded code and enhanced code. No Postfix is needed; where a
// private one can run, the recording is checked against it. The full
// comparison through Postfix is TestPolicydBehindPostfixDifferential.
func TestRecordedPolicydAnswers(t *testing.T) {
	dns := testDNS(t)
	bin := filepath.Join(t.TempDir(), "policyd")
	if out, err := exec.Command(goTool(), "build", "-o", bin, "github.com/smtppolicy/smtppolicy/examples/policyd").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/policyd: %v\n%s", err, out)
	}
	tests := []struct {
		name, conf string
		s          session
		postfix    string // the recorded reply to the first RCPT
	}{
		{"rbl client listed", "smtpd_client_restrictions = reject_rbl_client zen.test",
			session{client: clients[4], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, "554 5.7.1"},
		{"rhsbl sender", "smtpd_sender_restrictions = reject_rhsbl_sender dbl.test",
			session{client: clients[1], helo: "mx.example.net", from: "alice@spammer.example", rcpts: []string{"bob@example.org"}}, "554 5.7.1"},
		{"rhsbl helo", "smtpd_helo_restrictions = reject_rhsbl_helo dbl.test",
			session{client: clients[1], helo: "spammer.example", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, "554 5.7.1"},
		{"non-fqdn sender", "smtpd_sender_restrictions = reject_non_fqdn_sender",
			session{client: clients[1], helo: "mx.example.net", from: "alice@workstation", rcpts: []string{"bob@example.org"}}, "504 5.5.2"},
		{"non-fqdn helo", "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname",
			session{client: clients[1], helo: "workstation", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, "504 5.5.2"},
		{"unknown helo hostname", "smtpd_helo_restrictions = reject_unknown_helo_hostname",
			session{client: clients[1], helo: "nowhere.nxdomain.example", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, "450 4.7.1"},
		{"unknown recipient domain", "smtpd_recipient_restrictions = reject_unknown_recipient_domain",
			session{client: clients[0], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@nxdomain.example"}}, "450 4.1.2"},
		{"cidr table in braces", "smtpd_client_restrictions = check_client_access cidr:{ {127.0.0.66 REJECT}, {127.0.0.11 OK} }",
			session{client: clients[4], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, "554 5.7.1"},
		{"inline table, braced entry", "smtpd_sender_restrictions = check_sender_access inline:{ { spammer.example = REJECT go away } }",
			session{client: clients[1], helo: "mx.example.net", from: "alice@spammer.example", rcpts: []string{"bob@example.org"}}, "554 5.7.1"},
		{"static table in braces", "smtpd_client_restrictions = permit_mynetworks, check_client_access static:{ REJECT no mail from here, sorry }",
			session{client: clients[1], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, "554 5.7.1"},
		{"mynetworks relays", "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
			session{client: clients[0], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@elsewhere.example"}}, "250"},
		{"relay denied", "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
			session{client: clients[1], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@elsewhere.example"}}, "554 5.7.1"},
		{"Postfix's default relay list defers", "",
			session{client: clients[1], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@elsewhere.example"}}, "454 4.7.1"},
		{"restriction class from a table", "smtpd_recipient_restrictions = check_recipient_access inline:{ carol@relay.example=strict }",
			session{client: clients[1], helo: "mx.example.net", from: "alice@workstation", rcpts: []string{"carol@relay.example"}}, "504 5.5.2"},
		{"restriction class from a table, code 550", "non_fqdn_reject_code = 550\nsmtpd_recipient_restrictions = check_recipient_access inline:{ carol@relay.example=strict }",
			session{client: clients[1], helo: "mx.example.net", from: "alice@workstation", rcpts: []string{"carol@relay.example"}}, "550 5.5.2"},
		{"bare recipient is user@$myorigin", "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
			session{client: clients[1], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob"}}, "554 5.7.1"},
		{"bare sender is user@$myorigin", "smtpd_sender_restrictions = check_sender_access inline:{ mx.private.test=REJECT }",
			session{client: clients[1], helo: "mx.example.net", from: "alice", rcpts: []string{"bob@example.org"}}, "554 5.7.1"},
		{"no HELO, no HELO list", "smtpd_helo_restrictions = reject",
			session{client: clients[1], from: "alice@example.net", rcpts: []string{"bob@example.org"}}, "250"},
		{"malformed HELO name not found", "smtpd_helo_restrictions = reject_unknown_helo_hostname\nsmtpd_recipient_restrictions = reject",
			session{client: clients[1], helo: "bad_host!.example", from: "alice@example.net", rcpts: []string{"bob@example.org"}}, "450 4.7.1"},
		{"dnswl does not override relay control", "smtpd_client_restrictions = permit_dnswl_client wl.test, defer\nsmtpd_relay_restrictions = reject_unauth_destination",
			session{client: clients[5], helo: "mx.example.net", from: "alice@example.net", rcpts: []string{"bob@elsewhere.example"}}, "450 4.3.2"},
	}
	params := func(conf string) []postfixtest.Param {
		ps := []postfixtest.Param{{Name: "mynetworks", Value: "127.0.0.0/29"}}
		for _, line := range strings.Split(conf, "\n") {
			if n, v, ok := strings.Cut(line, " = "); ok {
				ps = append(ps, postfixtest.Param{Name: n, Value: v})
			}
		}
		return ps
	}
	// Where a private Postfix can run, the recording is checked against
	// it too.
	var pf *postfixtest.NetNS
	var services []postfixtest.Service
	if _, err := exec.LookPath("postfix"); err == nil && os.Geteuid() == 0 {
		if ns, err := postfixtest.NewNetNS(t, dns.Addr()); err == nil {
			pf = ns
			for i, tt := range tests {
				services = append(services, postfixtest.Service{Addr: fmt.Sprintf("127.0.0.1:%d", 2900+i), Overrides: params(tt.conf)})
			}
			postfixtest.Start(t, postfixtest.Options{Main: sharedMain, Services: services, NetNS: ns})
		}
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conf := filepath.Join(dir, fmt.Sprintf("case%d.cf", i))
			c := config{name: tt.name, params: params(tt.conf)}
			body := policydMainCF(sharedMain+"compatibility_level = 3.6\n", c)
			if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			server, stop := startPolicyd(t, bin, conf, filepath.Join(dir, fmt.Sprintf("case%d.sock", i)), dns.Addr())
			defer stop()
			conn, err := net.DialTimeout("unix", strings.TrimPrefix(server, "unix:"), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			if _, err := conn.Write([]byte(rcptRequest(tt.s))); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				t.Fatalf("reading policyd's answer: %v", err)
			}
			action := strings.TrimPrefix(strings.TrimSpace(line), "action=")
			if got := clientReply(action); got != tt.postfix {
				t.Errorf("policyd answered %q: the client gets %s, Postfix answered %s", action, got, tt.postfix)
			}
			if pf == nil {
				return
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			pc, _, err := pf.Dial(ctx, services[i].Addr, tt.s.client.ip)
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			for _, st := range drive(pc, tt.s) {
				if strings.HasPrefix(st.cmd, "RCPT") {
					if got := strings.TrimSpace(fmt.Sprintf("%d %s", st.reply.Code, st.reply.Enhanced)); got != tt.postfix && !(tt.postfix == "250" && st.reply.Code == 250) {
						t.Errorf("the recording is stale: Postfix now answers %v", st.reply)
					}
					return
				}
			}
			t.Errorf("the session reached no RCPT through Postfix")
		})
	}
}
