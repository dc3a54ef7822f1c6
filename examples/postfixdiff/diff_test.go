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
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/postconf/postfixtest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// client is one SMTP client the sessions come from: an address on
// loopback, which both servers see by the session connecting from it
// (Postfix's in its namespace), and whose name both look up in the test
// DNS.
type client struct {
	ip, about string
}

var (
	clients = []client{
		{"127.0.0.2", "in mynetworks"},
		{"127.0.0.10", "PTR confirmed by A"},
		{"127.0.0.11", "no PTR"},
		{"127.0.0.12", "PTR not confirmed"},
		{"127.0.0.66", "listed in zen.test"},
		{"127.0.0.67", "allowlisted in wl.test"},
	}
	helos = []string{
		"mx.example.net", "workstation", "[127.0.0.10]", "[1.2.3]", "bad_host!.example",
		"nowhere.nxdomain.example", "spammer.example", "",
	}
	senders = []string{
		"", "alice@example.net", "alice@nxdomain.example", "alice@spammer.example", "alice", "alice@workstation",
	}
	recipients = []string{
		"bob@example.org", "bob@relay.example", "bob@elsewhere.example", "bob@nxdomain.example",
		"postmaster", "postmaster@example.org", "bob", "bob@workstation",
		// unlisted in local_recipient_maps and relay_recipient_maps, a
		// virtual alias and an unknown one, a domain on dbl.test
		"carol@example.org", "carol@relay.example", "info@alias.example", "dave@alias.example", "bob@spammer.example",
	}
)

// testDNS is what both servers resolve.
func testDNS(t *testing.T) *dnstest.Server {
	dns := dnstest.New(t)
	dns.Add(
		"example.org. 300 IN MX 10 mx.example.org.",
		"mx.example.org. 300 IN A 192.0.2.10",
		"relay.example. 300 IN MX 10 mx.relay.example.",
		"mx.relay.example. 300 IN A 192.0.2.11",
		"example.net. 300 IN MX 10 mx.example.net.",
		"mx.example.net. 300 IN A 127.0.0.10",
		"elsewhere.example. 300 IN A 192.0.2.30",
		"spammer.example. 300 IN A 192.0.2.99",
		"trusted.example.net. 300 IN A 127.0.0.2",
		"dyn66.example.net. 300 IN A 127.0.0.66",
		"dyn67.example.net. 300 IN A 127.0.0.67",
		"2.0.0.127.in-addr.arpa. 300 IN PTR trusted.example.net.",
		"10.0.0.127.in-addr.arpa. 300 IN PTR mx.example.net.",
		"66.0.0.127.in-addr.arpa. 300 IN PTR dyn66.example.net.",
		"67.0.0.127.in-addr.arpa. 300 IN PTR dyn67.example.net.",
		"12.0.0.127.in-addr.arpa. 300 IN PTR forged.example.net.",
		"forged.example.net. 300 IN A 192.0.2.12",
		"alias.example. 300 IN MX 10 mx.example.org.",
		"spammer.example. 300 IN NS ns.spammer.example.",
		"ns.spammer.example. 300 IN A 192.0.2.98",
	)
	for _, z := range []string{"example.org.", "relay.example.", "example.net.", "elsewhere.example.", "spammer.example.", "nxdomain.example.", "alias.example.", "0.0.127.in-addr.arpa."} {
		dns.Zone(z, 60)
	}
	dns.ListIP("zen.test", "127.0.0.66", "127.0.0.4", "listed for testing")
	dns.ListIP("wl.test", "127.0.0.67", "127.0.0.2")
	dns.ListDomain("dbl.test", "spammer.example", "127.0.1.2")
	return dns
}

// sharedMain is the part of main.cf every configuration has: the address
// classes (trivial-rewrite's, the instance's), the recipient tables of
// reject_unlisted_*, and a restriction class the pools use.
const sharedMain = "mydestination = example.org\nrelay_domains = relay.example\n" +
	"local_recipient_maps = inline:{ bob@example.org=x }\nrelay_recipient_maps = inline:{ bob@relay.example=x }\n" +
	"virtual_alias_maps = inline:{ alias.example=x, info@alias.example=bob@example.org }\n" +
	"smtpd_restriction_classes = strict\nstrict = reject_non_fqdn_sender, reject_unknown_sender_domain\n"

// Restriction pools the configurations are drawn from.
var (
	clientPool = []string{"permit_mynetworks", "reject_unknown_client_hostname", "reject_unknown_reverse_client_hostname",
		"reject_rbl_client zen.test", "permit_dnswl_client wl.test", "check_client_access cidr:{ {127.0.0.66 REJECT}, {127.0.0.11 OK} }",
		"warn_if_reject reject_rbl_client zen.test", "reject_unauth_pipelining", "reject_rhsbl_reverse_client dbl.test", "permit_sasl_authenticated",
		"check_client_a_access cidr:{ {127.0.0.10 REJECT} }", "check_client_mx_access cidr:{ {127.0.0.66 OK} }",
		"check_reverse_client_hostname_access inline:{ forged.example.net=REJECT }", "strict"}
	heloPool = []string{"reject_invalid_helo_hostname", "reject_non_fqdn_helo_hostname", "reject_unknown_helo_hostname",
		"check_helo_access inline:{ workstation=REJECT }", "reject_rhsbl_helo dbl.test", "permit_mynetworks",
		"check_helo_mx_access cidr:{ {192.0.2.99 REJECT} }", "check_helo_a_access cidr:{ {127.0.0.10 REJECT}, {127.0.0.0/8 DUNNO} }"}
	senderPool = []string{"reject_non_fqdn_sender", "reject_unknown_sender_domain", "reject_rhsbl_sender dbl.test",
		"check_sender_access inline:{ { spammer.example = REJECT go away } }", "permit_mynetworks",
		"check_sender_access regexp:{ {/^alice@example\\.net$$/ DUNNO}, {/@spammer\\./ REJECT spam source} }",
		"check_sender_mx_access cidr:{ {192.0.2.99 REJECT bad mail server} }", "check_sender_ns_access cidr:{ {192.0.2.98 550 5.7.1 bad dns} }",
		"check_sender_a_access inline:{ 127.0.0.10=DUNNO }", "reject_unlisted_sender"}
	recipientPool = []string{"reject_non_fqdn_recipient", "reject_unknown_recipient_domain", "reject_unauth_destination",
		"defer_unauth_destination", "check_recipient_access inline:{ bob@relay.example=OK }", "permit_mynetworks",
		"check_recipient_access regexp:{ {/^postmaster@/ OK}, {/^bob@nxdomain\\./ REJECT no such domain} }", "warn_if_reject reject_unauth_destination",
		"reject_rhsbl_recipient dbl.test", "reject_unlisted_recipient", "warn_if_reject reject_unlisted_recipient",
		"check_recipient_mx_access cidr:{ {192.0.2.11 REJECT} }", "check_recipient_access inline:{ carol@relay.example=strict }"}
	terminals = []string{"", "", "permit", "reject", "defer"}
)

// config is one generated policy: smtpd's parameters, identical for both
// servers.
type config struct {
	name   string
	params []postfixtest.Param
}

func (c config) mainCF() string {
	var b strings.Builder
	for _, p := range c.params {
		fmt.Fprintf(&b, "%s = %s\n", p.Name, p.Value)
	}
	return b.String()
}

func pick(r *rand.Rand, pool []string, max int) []string {
	n := r.IntN(max + 1)
	perm := r.Perm(len(pool))
	var out []string
	for _, i := range perm[:n] {
		out = append(out, pool[i])
	}
	return out
}

func generateConfigs(n int) []config {
	r := rand.New(rand.NewPCG(2026, 12))
	var out []config
	for i := 0; i < n; i++ {
		c := config{name: fmt.Sprintf("c%02d", i)}
		add := func(name, value string) { c.params = append(c.params, postfixtest.Param{Name: name, Value: value}) }
		add("mynetworks", "127.0.0.0/29")
		list := func(name string, pool []string, max int) {
			items := pick(r, pool, max)
			if t := terminals[r.IntN(len(terminals))]; t != "" && len(items) > 0 {
				items = append(items, t)
			}
			if len(items) > 0 {
				add(name, strings.Join(items, ", "))
			}
		}
		list("smtpd_client_restrictions", clientPool, 2)
		list("smtpd_helo_restrictions", heloPool, 2)
		list("smtpd_sender_restrictions", senderPool, 2)
		list("smtpd_recipient_restrictions", recipientPool, 3)
		if r.IntN(3) == 0 {
			add("smtpd_relay_restrictions", "permit_mynetworks, reject_unauth_destination")
		}
		if r.IntN(5) == 0 {
			add("smtpd_data_restrictions", []string{"reject_unauth_pipelining", "reject", "permit_mynetworks, reject"}[r.IntN(3)])
		}
		if r.IntN(4) == 0 {
			add("smtpd_delay_reject", "no")
		}
		if r.IntN(4) == 0 {
			add("smtpd_helo_required", "yes")
		}
		if r.IntN(5) == 0 {
			add("smtpd_reject_unlisted_sender", "yes")
		}
		if r.IntN(6) == 0 {
			add("smtpd_reject_unlisted_recipient", "no")
		}
		// Postfix's reply code parameters, one at a time.
		if r.IntN(3) == 0 {
			codes := []postfixtest.Param{{Name: "maps_rbl_reject_code", Value: "550"}, {Name: "reject_code", Value: "550"},
				{Name: "defer_code", Value: "451"}, {Name: "unknown_address_reject_code", Value: "550"},
				{Name: "non_fqdn_reject_code", Value: "550"}, {Name: "invalid_hostname_reject_code", Value: "550"},
				{Name: "relay_domains_reject_code", Value: "550"}, {Name: "unknown_client_reject_code", Value: "550"},
				{Name: "unknown_local_recipient_reject_code", Value: "450"}, {Name: "unknown_relay_recipient_reject_code", Value: "554"},
				{Name: "show_user_unknown_table_name", Value: "no"}}
			c.params = append(c.params, codes[r.IntN(len(codes))])
		}
		out = append(out, c)
	}
	return out
}

// session is one generated client conversation.
type session struct {
	client     client
	helo, from string
	rcpts      []string
	// verb is HELO or EHLO (the default).
	verb string
	// pipelined sends MAIL and the RCPTs in one write (RFC 2920).
	pipelined bool
}

func (s session) String() string {
	v := s.verb
	if v == "" {
		v = "EHLO"
	}
	p := ""
	if s.pipelined {
		p = " pipelined"
	}
	return fmt.Sprintf("%s %s=%q from=<%s> to=%v%s", s.client.ip, strings.ToLower(v), s.helo, s.from, s.rcpts, p)
}

func generateSessions(r *rand.Rand, n int) []session {
	var out []session
	for i := 0; i < n; i++ {
		out = append(out, session{
			client: clients[r.IntN(len(clients))],
			helo:   helos[r.IntN(len(helos))],
			from:   senders[r.IntN(len(senders))],
			rcpts:  []string{recipients[r.IntN(len(recipients))], recipients[r.IntN(len(recipients))]},
		})
		if r.IntN(4) == 0 {
			out[len(out)-1].verb = "HELO"
		}
		out[len(out)-1].pipelined = r.IntN(4) == 0
	}
	return out
}

// step is one command and its reply.
type step struct {
	cmd   string
	reply postfixtest.Reply
}

// drive runs a session's commands over c and returns each reply. After a
// refused MAIL the RCPTs are not sent; DATA is sent when a RCPT passed.
func drive(c *postfixtest.Client, s session) []step {
	var steps []step
	do := func(cmd string) postfixtest.Reply {
		r, err := c.Cmd(cmd)
		if err != nil {
			r = postfixtest.Reply{}
		}
		steps = append(steps, step{cmd, r})
		return r
	}
	if s.helo != "" {
		verb := s.verb
		if verb == "" {
			verb = "EHLO"
		}
		do(verb + " " + s.helo)
	}
	ok := false
	if s.pipelined {
		cmds := []string{"MAIL FROM:<" + s.from + ">"}
		for _, rcpt := range s.rcpts {
			cmds = append(cmds, "RCPT TO:<"+rcpt+">")
		}
		replies, _ := c.Pipeline(cmds...)
		for i, cmd := range cmds {
			var r postfixtest.Reply
			if i < len(replies) {
				r = replies[i]
			}
			steps = append(steps, step{cmd, r})
			if i > 0 && r.Code == 250 {
				ok = true
			}
		}
		if len(replies) < len(cmds) {
			return steps
		}
	} else {
		if r := do("MAIL FROM:<" + s.from + ">"); r.Code != 250 {
			return steps
		}
		for _, rcpt := range s.rcpts {
			if r := do("RCPT TO:<" + rcpt + ">"); r.Code == 250 {
				ok = true
			} else if r.Code == 0 || r.Code == 421 {
				return steps
			}
		}
	}
	if ok {
		if r := do("DATA"); r.Code == 354 {
			do("Subject: differential test\r\nMessage-ID: <t@example.net>\r\nDate: Fri, 04 Dec 2026 12:00:00 +0000\r\nFrom: <alice@example.net>\r\n\r\nhello\r\n.")
		}
	}
	return steps
}

// mismatch is one command answered differently.
type mismatch struct {
	config            config
	session           session
	cmd               string
	postfix, ours     postfixtest.Reply
	exception, reason string
}

// exception is a known, understood difference.
type exception struct {
	name, reason string
	match        func(m mismatch) bool
}

// knownExceptions are the differences accepted today, each with its reason.
// A difference not listed here fails the test.
var knownExceptions = []exception{
	{"go-smtp-success-replies",
		"go-smtp answers an accepted MAIL, RCPT and DATA with its own fixed 250 2.0.0 lines (Postfix: 2.1.0, 2.1.5, 2.0.0); the verdict is the same",
		func(m mismatch) bool { return m.postfix.Verdict() == "accept" && m.ours.Verdict() == "accept" }},
	{"go-smtp-bare-address",
		"go-smtp refuses an address without a domain (<alice>, <postmaster>) as a syntax error before the policy runs; Postfix takes it and applies its restrictions (issue 14 item 5: <postmaster> must pass)",
		func(m mismatch) bool {
			return m.ours.Code == 501 && strings.Contains(m.ours.Text, "Was expecting") && !strings.Contains(m.cmd, "@")
		}},
	{"go-smtp-helo-first",
		"go-smtp refuses MAIL without an accepted HELO/EHLO (502 5.5.1), also after a HELO the policy refused; Postfix takes it (a refused HELO does not count against MAIL) unless smtpd_helo_required = yes (then 503 5.5.1), and its restrictions then answer",
		func(m mismatch) bool {
			return m.ours.Code == 502 && strings.Contains(m.ours.Text, "introduce yourself")
		}},
	{"go-smtp-rcpt-without-mail",
		"after a refused MAIL, go-smtp answers RCPT with 502 5.5.1 Missing MAIL FROM command; Postfix with 503 5.5.1 Error: need MAIL command",
		func(m mismatch) bool {
			return m.ours.Code == 502 && strings.Contains(m.ours.Text, "Missing MAIL FROM") && m.postfix.Code == 503
		}},
	{"go-smtp-data-after-354",
		"go-smtp answers DATA with 354 before the session sees the command, so a refusal by smtpd_data_restrictions comes after the message instead of in place of the 354 (the decision and its reply are Postfix's)",
		func(m mismatch) bool { return m.cmd == "DATA" && m.ours.Code == 354 && m.postfix.Verdict() != "accept" }},
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// ourServer runs examples/smtpd -config with the file until stop is called.
func ourServer(t *testing.T, bin, conf, dnsAddr string) (addr string, stop func()) {
	t.Helper()
	addr, stop, err := startOurServer(bin, conf, dnsAddr)
	if err != nil {
		t.Fatal(err)
	}
	return addr, stop
}

// startOurServer is ourServer for a goroutine of its own: it returns what
// went wrong.
func startOurServer(bin, conf, dnsAddr string) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr = ln.Addr().String()
	ln.Close()
	logf, err := os.Create(conf + ".log")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "-listen", addr, "-config", conf, "-resolver", dnsAddr,
		"-maildir", filepath.Join(filepath.Dir(conf), "mail"), "-hostname", "mx.private.test")
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
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(conf + ".log")
			return "", nil, fmt.Errorf("examples/smtpd -config %s did not listen: %v\n%s", conf, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The same policies through a real Postfix and through examples/smtpd
// answer every command with the same code, enhanced code and verdict, but
// for the known exceptions.
func TestPostfixDifferential(t *testing.T) {
	postfixtest.Require(t)
	dns := testDNS(t)
	ns, err := postfixtest.NewNetNS(t, dns.Addr())
	if errors.Is(err, postfixtest.ErrNoNetNS) {
		postfixtest.Unavailable(t, err.Error())
	} else if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "smtpd")
	if out, err := exec.Command(goTool(), "build", "-o", bin, "github.com/smtppolicy/smtppolicy/examples/smtpd").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/smtpd: %v\n%s", err, out)
	}

	const nConfigs, nSessions = 50, 40
	configs := generateConfigs(nConfigs)
	// The address classes are trivial-rewrite's, the instance's: the same
	// for every configuration.
	shared := sharedMain
	var services []postfixtest.Service
	for i, c := range configs {
		services = append(services, postfixtest.Service{Addr: fmt.Sprintf("127.0.0.1:%d", 2600+i), Overrides: c.params})
	}
	// The sessions connect from their clients' addresses on the
	// namespace's loopback: Postfix sees them, and looks their names up,
	// as it would a real client's.
	inst := postfixtest.Start(t, postfixtest.Options{Main: shared, Services: services, NetNS: ns})

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	results := make([]compared, len(configs))
	err = eachConfig(len(configs), func(i int) error {
		c := configs[i]
		// examples/smtpd reads the instance's whole main.cf: Postfix's
		// plumbing is accepted and ignored, the policy is the same.
		conf := filepath.Join(dir, c.name+".cf")
		body := postfixtest.BaseMain(inst.Dir) + shared + c.mainCF()
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			return err
		}
		if _, err := postconf.Load(conf, postconf.Env{}); err != nil && !strings.Contains(err.Error(), "DNS resolver") {
			return fmt.Errorf("%s does not load: %v\n%s", c.name, err, body)
		}
		ours, stop, err := startOurServer(bin, conf, dns.Addr())
		if err != nil {
			return err
		}
		defer stop()
		res := &results[i]
		res.agreed = map[string]int{}
		r := rand.New(rand.NewPCG(uint64(i), 7))
		for _, s := range generateSessions(r, nSessions) {
			pf, err := postfixSession(ctx, ns, services[i].Addr, s)
			if err != nil {
				return fmt.Errorf("postfix: %w", err)
			}
			us, err := ourSession(ctx, ours, s)
			if err != nil {
				return fmt.Errorf("examples/smtpd: %w", err)
			}
			res.add(c, s, pf, us)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var mismatches []mismatch
	commands, sessions := 0, 0
	// agreed counts the refusals both servers gave alike, by Postfix's
	// reason, so the report shows which restrictions were exercised.
	agreed := map[string]int{}
	for _, r := range results {
		mismatches = append(mismatches, r.mismatches...)
		commands += r.commands
		sessions += r.sessions
		for k, n := range r.agreed {
			agreed[k] += n
		}
	}
	report(t, configs, mismatches, sessions, commands)
	reasons := make([]string, 0, len(agreed))
	for k := range agreed {
		reasons = append(reasons, k)
	}
	sort.Slice(reasons, func(i, j int) bool { return agreed[reasons[i]] > agreed[reasons[j]] })
	var b strings.Builder
	for _, k := range reasons {
		fmt.Fprintf(&b, "%6d  %s\n", agreed[k], k)
	}
	t.Logf("refusals answered alike, by Postfix's reason:\n%s", b.String())
}

// refusalReason is a reply's text without its subject and list details:
// "Recipient address rejected: User unknown in local recipient table".
func refusalReason(text string) string {
	if strings.HasPrefix(text, "<") {
		if i := strings.Index(text, ">: "); i > 0 {
			text = text[i+3:]
		}
	}
	if i := strings.Index(text, " ["); i > 0 {
		text = text[:i]
	}
	if len(text) > 70 {
		text = text[:70]
	}
	return text
}

func postfixSession(ctx context.Context, ns *postfixtest.NetNS, addr string, s session) ([]step, error) {
	c, greet, err := ns.Dial(ctx, addr, s.client.ip)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if greet.Code != 220 {
		return []step{{"(greeting)", greet}}, nil
	}
	return drive(c, s), nil
}

func ourSession(ctx context.Context, addr string, s session) ([]step, error) {
	c, greet, err := postfixtest.Dial(ctx, addr, s.client.ip)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if greet.Code != 220 {
		return []step{{"(greeting)", greet}}, nil
	}
	return drive(c, s), nil
}

// compared is one configuration's comparison: its mismatches and counts.
type compared struct {
	mismatches         []mismatch
	commands, sessions int
	// agreed counts the refusals both sides gave alike, by Postfix's
	// reason; nil does not count them.
	agreed map[string]int
}

// add compares one session's steps through Postfix (pf) and through the
// other side, command by command, up to the first command whose verdict
// differs: the sessions part there, and later commands differ because of
// that one.
func (r *compared) add(c config, s session, pf, other []step) {
	r.sessions++
	for k := 0; k < len(pf) || k < len(other); k++ {
		r.commands++
		var a, b step
		if k < len(pf) {
			a = pf[k]
		}
		if k < len(other) {
			b = other[k]
		}
		cmd := a.cmd
		if cmd == "" {
			cmd = b.cmd
		}
		if r.agreed != nil && a.cmd == b.cmd && a.reply.Code >= 400 && a.reply.Code == b.reply.Code && a.reply.Enhanced == b.reply.Enhanced {
			r.agreed[refusalReason(a.reply.Text)]++
		}
		if a.cmd != b.cmd || a.reply.Code != b.reply.Code || a.reply.Enhanced != b.reply.Enhanced {
			r.mismatches = append(r.mismatches, mismatch{config: c, session: s, cmd: cmd, postfix: a.reply, ours: b.reply})
		}
		if a.cmd != b.cmd || a.reply.Verdict() != b.reply.Verdict() {
			break
		}
	}
}

// configWorkers is how many configurations are compared at once: a
// session mostly waits on Postfix's processes and DNS, so a few run side
// by side even on two cores.
const configWorkers = 4

// eachConfig runs fn for configurations 0..n-1, configWorkers at a time,
// and returns their errors. After the first error no further
// configuration starts: a Postfix that stopped answering would otherwise
// cost a timeout for every one of them.
func eachConfig(n int, fn func(i int) error) error {
	sem := make(chan struct{}, configWorkers)
	errs := make([]error, n)
	var failed atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < n && !failed.Load(); i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if errs[i] = fn(i); errs[i] != nil {
				failed.Store(true)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// report logs the mismatches as a table, assigns known exceptions and
// fails on the rest.
func report(t *testing.T, configs []config, ms []mismatch, sessions, commands int) {
	t.Helper()
	used := map[string]int{}
	var unexplained []mismatch
	for i := range ms {
		for _, e := range knownExceptions {
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
	fmt.Fprintln(w, "CONFIG\tSESSION\tCOMMAND\tPOSTFIX\tEXAMPLES/SMTPD\tEXCEPTION")
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
	for _, e := range knownExceptions {
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

func clipCmd(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i] + "..."
	}
	return s
}
