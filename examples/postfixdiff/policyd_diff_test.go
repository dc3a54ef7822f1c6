package postfixdiff

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf/postfixtest"
)

// restrictionLists are the main.cf parameters a policy service takes
// over: behind the second Postfix they name check_policy_service only,
// and policyd reads them from the same main.cf.
var restrictionLists = []string{
	"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
	"smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_data_restrictions",
}

// policyOverrides is what the second Postfix runs for configuration c: the
// same main.cf, but every restriction list hands its decision to policyd
// at server. With smtpd_delay_reject (the default) Postfix evaluates every
// list at RCPT, so one query from smtpd_recipient_restrictions sees them
// all, as the README's main.cf lines ask it; without, each list that c
// fills asks at its own command, so that refusals come where Postfix's own
// come. smtpd_data_restrictions asks at DATA when c has any.
//
// Postfix refuses to start unless the relay or recipient list holds a
// restriction that refuses relaying; "check_client_access static:OK"
// ahead of it permits what policyd left undecided, as the end of the list
// would, and the reject_unauth_destination after it is never reached.
func policyOverrides(c config, server string) []postfixtest.Param {
	set := map[string]string{}
	for _, p := range c.params {
		set[p.Name] = p.Value
	}
	ask := "check_policy_service " + server
	out := []postfixtest.Param{}
	for _, p := range c.params {
		if !isRestrictionList(p.Name) {
			out = append(out, p)
		}
	}
	immediate := set["smtpd_delay_reject"] == "no"
	for _, name := range restrictionLists {
		v := ""
		switch {
		case name == "smtpd_recipient_restrictions":
			v = ask + ", check_client_access static:OK, reject_unauth_destination"
		case name == "smtpd_data_restrictions" && set[name] != "":
			v = ask
		case immediate && name != "smtpd_relay_restrictions" && name != "smtpd_data_restrictions" && set[name] != "":
			v = ask
		}
		out = append(out, postfixtest.Param{Name: name, Value: v})
	}
	return out
}

func isRestrictionList(name string) bool {
	for _, n := range restrictionLists {
		if n == name {
			return true
		}
	}
	return false
}

// relayDefault is Postfix's smtpd_relay_restrictions at compatibility
// level 3.6 (the instance's).
const relayDefault = "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination"

// policydMainCF is the main.cf policyd reads for configuration c: the
// instance's, with c's parameters. policyd leaves relay control to Postfix
// when the file does not set smtpd_relay_restrictions (Postfix checks
// relaying before it asks a policy service, README "policyd in front of
// Postfix"); here the second Postfix hands every list to policyd, so a file
// that leaves the relay list unset has Postfix's default written out.
func policydMainCF(base string, c config) string {
	body := base + c.mainCF()
	for _, p := range c.params {
		if p.Name == "smtpd_relay_restrictions" {
			return body
		}
	}
	return body + "smtpd_relay_restrictions = " + relayDefault + "\n"
}

// policydExceptions are the differences between Postfix's own answers and
// Postfix's answers with policyd deciding, accepted today, each with its
// reason. A difference not listed here fails the test.
var policydExceptions = []exception{
	{"sender-code-in-recipient-reply",
		"a policy service asked from smtpd_recipient_restrictions answers in the recipient's reply, and Postfix's smtpd_dsn_fix turns a sender address status there into the recipient's (4.1.8 Domain not found becomes 4.1.2); the code and verdict are Postfix's",
		func(m mismatch) bool {
			return strings.HasPrefix(m.cmd, "RCPT") && m.postfix.Code == m.ours.Code &&
				strings.Contains(m.postfix.Text, "Sender address rejected") && strings.Contains(m.ours.Text, "Sender address <")
		}},
	{"unauth-pipelining-unseen",
		"reject_unauth_pipelining judges whether the client sent ahead of Postfix's replies, which a policy request does not carry: through policyd it never fires",
		func(m mismatch) bool {
			return strings.Contains(m.postfix.Text, "Improper use of SMTP command pipelining") && m.session.pipelined
		}},
}

// startPolicyd runs examples/policyd on a unix socket with the main.cf
// conf until stop is called; it returns the check_policy_service address.
func startPolicyd(t *testing.T, bin, conf, sock, dnsAddr string) (server string, stop func()) {
	t.Helper()
	server, stop, err := runPolicyd(bin, conf, sock, dnsAddr)
	if err != nil {
		t.Fatal(err)
	}
	return server, stop
}

// runPolicyd is startPolicyd for a goroutine of its own: it returns what
// went wrong. policyd is ready when its socket takes a connection: the
// socket file exists from bind, before listen.
func runPolicyd(bin, conf, sock, dnsAddr string) (server string, stop func(), err error) {
	logf, err := os.Create(conf + ".policyd.log")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "-listen", "unix:"+sock, "-listen-mode", "0666", "-config", conf,
		"-resolver", dnsAddr, "-greylist", "none", "-hostname", "mx.private.test")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return "", nil, err
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("unix", sock, time.Second)
		if err == nil {
			c.Close()
			return "unix:" + sock, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(conf + ".policyd.log")
			return "", nil, fmt.Errorf("examples/policyd -config %s took no connection on %s: %v\n%s", conf, sock, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The same policies through a real Postfix, and through a second Postfix
// that asks examples/policyd (reading the same main.cf) with
// check_policy_service, answer every command with the same code, enhanced
// code and verdict, but for the known exceptions.
func TestPolicydBehindPostfixDifferential(t *testing.T) {
	postfixtest.Require(t)
	dns := testDNS(t)
	ns, err := postfixtest.NewNetNS(t, dns.Addr())
	if errors.Is(err, postfixtest.ErrNoNetNS) {
		postfixtest.Unavailable(t, err.Error())
	} else if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "policyd")
	if out, err := exec.Command(goTool(), "build", "-o", bin, "github.com/smtppolicy/smtppolicy/examples/policyd").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/policyd: %v\n%s", err, out)
	}
	// Postfix's smtpd runs as user postfix: the sockets' directory must
	// be reachable by it.
	sockDir, err := os.MkdirTemp("", "postfixdiff-policyd")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sockDir, 0o755)
	t.Cleanup(func() { os.RemoveAll(sockDir) })

	const nConfigs, nSessions = 50, 40
	configs := generateConfigs(nConfigs)
	shared := sharedMain
	var native, delegated []postfixtest.Service
	socks := make([]string, len(configs))
	for i, c := range configs {
		socks[i] = filepath.Join(sockDir, fmt.Sprintf("%s.sock", c.name))
		native = append(native, postfixtest.Service{Addr: fmt.Sprintf("127.0.0.1:%d", 2600+i), Overrides: c.params})
		delegated = append(delegated, postfixtest.Service{Addr: fmt.Sprintf("127.0.0.1:%d", 2700+i), Overrides: policyOverrides(c, "unix:"+socks[i])})
	}
	// One instance serves both sides: the address classes are
	// trivial-rewrite's, the same for both, and each listener has its own
	// restriction lists.
	inst := postfixtest.Start(t, postfixtest.Options{Main: shared, Services: append(native, delegated...), NetNS: ns})

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	results := make([]compared, len(configs))
	err = eachConfig(len(configs), func(i int) error {
		c := configs[i]
		conf := filepath.Join(dir, c.name+".cf")
		body := policydMainCF(postfixtest.BaseMain(inst.Dir)+shared, c)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			return err
		}
		_, stop, err := runPolicyd(bin, conf, socks[i], dns.Addr())
		if err != nil {
			return err
		}
		defer stop()
		r := rand.New(rand.NewPCG(uint64(i), 7))
		for _, s := range generateSessions(r, nSessions) {
			pf, err := postfixSession(ctx, ns, native[i].Addr, s)
			if err != nil {
				return fmt.Errorf("postfix: %w", err)
			}
			via, err := postfixSession(ctx, ns, delegated[i].Addr, s)
			if err != nil {
				return fmt.Errorf("postfix with policyd: %w", err)
			}
			results[i].add(c, s, pf, via)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var mismatches []mismatch
	commands, sessions := 0, 0
	for _, r := range results {
		mismatches = append(mismatches, r.mismatches...)
		commands += r.commands
		sessions += r.sessions
	}
	reportSide(t, "POSTFIX+POLICYD", policydExceptions, configs, mismatches, sessions, commands)
}

// reportSide logs the mismatches between Postfix and one other side as a
// table, assigns the side's known exceptions and fails on the rest.
func reportSide(t *testing.T, side string, known []exception, configs []config, ms []mismatch, sessions, commands int) {
	t.Helper()
	used := map[string]int{}
	var unexplained []mismatch
	for i := range ms {
		for _, e := range known {
			if e.match(ms[i]) {
				ms[i].exception, ms[i].reason = e.name, e.reason
				used[e.name]++
				break
			}
		}
		if ms[i].exception == "" {
			unexplained = append(unexplained, ms[i])
		}
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "CONFIG\tSESSION\tCOMMAND\tPOSTFIX\t%s\tEXCEPTION\n", side)
	for _, m := range ms {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", m.config.name, m.session, clipCmd(m.cmd), m.postfix, m.ours, m.exception)
	}
	w.Flush()
	verdicts := 0
	for _, m := range ms {
		if m.postfix.Verdict() != m.ours.Verdict() {
			verdicts++
		}
	}
	t.Logf("%d configurations, %d sessions, %d commands compared, %d mismatches (%d in verdict, %d unexplained)\n%s",
		len(configs), sessions, commands, len(ms), verdicts, len(unexplained), b.String())
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("known exception %s: %d", n, used[n])
	}
	for _, e := range known {
		if used[e.name] == 0 {
			t.Logf("known exception %s no longer occurs: remove it", e.name)
		}
	}
	if len(unexplained) > 0 {
		seen := map[string]bool{}
		for _, m := range unexplained {
			if !seen[m.config.name] {
				seen[m.config.name] = true
				t.Logf("%s:\n%s", m.config.name, m.config.mainCF())
			}
		}
		t.Errorf("%d mismatches are not known exceptions", len(unexplained))
	}
}
