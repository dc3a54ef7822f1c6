package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
)

// privatePostfix is a Postfix 3.7 instance of the test's own (config,
// queue and data directories under a temporary directory) on loopback.
type privatePostfix struct {
	dir     string
	postfix string
}

// ports hands out loopback addresses for a private Postfix's listeners,
// each held bound until release, just before Postfix starts. A port given
// back at once may be handed out again (the kernel does so a few times in
// a thousand), and Postfix's master takes the last of two master.cf
// entries for one address with only a warning: one case would then be
// answered with another case's settings.
type ports struct {
	t   *testing.T
	lns []net.Listener
}

// next returns a loopback address, HOST:PORT, that no other listener has.
func (p *ports) next() string {
	p.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.t.Fatal(err)
	}
	p.lns = append(p.lns, ln)
	return ln.Addr().String()
}

// release frees the addresses for Postfix to bind.
func (p *ports) release() {
	for _, ln := range p.lns {
		ln.Close()
	}
	p.lns = nil
}

// startPostfix starts a private instance whose master.cf holds services
// (one "127.0.0.1:PORT inet ... smtpd -o ..." line each); mail for
// example.org is local, the rest is discarded. XCLIENT is allowed from
// loopback so a test sets the client address and HELO name.
func startPostfix(t *testing.T, services []string) *privatePostfix {
	t.Helper()
	bin := peertest.Look(t, "postfix", "postfix")
	if os.Geteuid() != 0 {
		peertest.Missing(t, "a private Postfix instance needs root to start")
	}
	dir, err := os.MkdirTemp("", "policyd-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"etc", "spool", "data", "log", "vmail"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Join(dir, "vmail"), 0o777)
	if out, err := exec.Command("chown", "postfix", filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("chown postfix: %v: %s", err, out)
	}
	mainCf := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/spool
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.private.test
mydomain = private.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
relay_domains =
alias_maps =
alias_database =
virtual_mailbox_domains = example.org
virtual_mailbox_base = %[1]s/vmail
virtual_mailbox_maps = static:inbox/
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
default_transport = discard:private instance
relay_transport = $default_transport
mynetworks = 127.0.0.1/32
smtpd_peername_lookup = no
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_tls_security_level = none
maillog_file_prefixes = %[1]s
maillog_file = %[1]s/log/maillog
`, dir)
	if err := os.WriteFile(filepath.Join(dir, "etc", "main.cf"), []byte(mainCf), 0o644); err != nil {
		t.Fatal(err)
	}
	system, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		peertest.Missing(t, "no /etc/postfix/master.cf to take Postfix's internal services from")
	}
	master := strings.Join(services, "\n") + "\n"
	seen := map[string]bool{}
	for _, s := range services {
		addr := strings.Fields(s)[0]
		if seen[addr] {
			t.Fatalf("two services on %s: Postfix would serve both with the last one's settings", addr)
		}
		seen[addr] = true
	}
	keep := map[string]bool{}
	for _, s := range strings.Fields("pickup cleanup qmgr rewrite bounce defer trace verify flush proxymap proxywrite showq error retry discard local virtual anvil scache postlog smtp") {
		keep[s] = true
	}
	for _, line := range strings.Split(string(system), "\n") {
		f := strings.Fields(line)
		if len(f) >= 8 && keep[f[0]] && (f[1] == "unix" || f[1] == "unix-dgram") {
			f[4] = "n" // not chrooted
			master += strings.Join(f, " ") + "\n"
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "master.cf"), []byte(master), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &privatePostfix{dir: dir, postfix: bin}
	if out, err := exec.Command(bin, "-c", filepath.Join(dir, "etc"), "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log", "maillog"))
		t.Fatalf("postfix start: %v: %s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		exec.Command(bin, "-c", filepath.Join(dir, "etc"), "stop").Run()
		os.RemoveAll(dir)
	})
	if log, _ := os.ReadFile(filepath.Join(dir, "log", "maillog")); strings.Contains(string(log), "duplicate master.cf entry") {
		t.Fatalf("master.cf has a service twice:\n%s", log)
	}
	return p
}

// waitListen waits until addr accepts connections.
func waitListen(t *testing.T, p *privatePostfix, addr string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(p.dir, "log", "maillog"))
	t.Fatalf("private Postfix does not listen on %s:\n%s", addr, log)
}

// rcptReply runs one SMTP session against addr, with the client address
// and HELO name set by XCLIENT, and returns the reply to RCPT TO.
func rcptReply(t *testing.T, addr, client, helo, from, rcpt string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	readReply := func() string {
		var last string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading reply: %v (so far %q)", err, last)
			}
			last = strings.TrimRight(line, "\r\n")
			if len(last) < 4 || last[3] != '-' {
				return last
			}
		}
	}
	cmd := func(line string) string {
		fmt.Fprintf(c, "%s\r\n", line)
		return readReply()
	}
	readReply() // greeting
	cmd("EHLO client.test")
	if r := cmd("XCLIENT ADDR=" + client + " NAME=[UNAVAILABLE] REVERSE_NAME=[UNAVAILABLE] HELO=" + helo); !strings.HasPrefix(r, "220") {
		t.Fatalf("XCLIENT = %q", r)
	}
	cmd("EHLO " + helo)
	if r := cmd("MAIL FROM:<" + from + ">"); !strings.HasPrefix(r, "250") {
		return r
	}
	r := cmd("RCPT TO:<" + rcpt + ">")
	fmt.Fprintf(c, "QUIT\r\n") // after a 421 the server has hung up
	return r
}

// The same restrictions answered by Postfix itself and by policyd behind
// check_policy_service: the client gets the same code and enhanced code
// (where Postfix's own is not fitted to the recipient, see below), and a
// recipient refusal reads exactly as Postfix's own. Postfix writes
// "<recipient>: Recipient address rejected: " before any policy text, so a
// refusal of another subject names it once, after that head, not nested.
func TestThroughPostfix(t *testing.T) {
	dir := t.TempDir()
	table := filepath.Join(dir, "access")
	if err := os.WriteFile(table, []byte("bob@example.org 450 4.7.1 come back later\nrej@example.org REJECT\ndef@example.org DEFER\n192.0.2.10 DEFER\n"+
		"gone@example.org 550 5.1.1 no such user\ncls@example.org 550 4.7.1 other class\nbye@example.org 421 closing\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		params     map[string]string
		client     string
		helo, from string
		rcpt       string
		same       bool   // the whole reply is Postfix's own
		viaPolicy  string // otherwise, the reply through policyd
	}{
		{name: "recipient table 450", params: map[string]string{"smtpd_recipient_restrictions": "check_recipient_access texthash:" + table},
			client: "192.0.2.1", helo: "mx.example.net", from: "a@example.net", rcpt: "bob@example.org", same: true},
		{name: "recipient table REJECT with access_map_reject_code", params: map[string]string{"access_map_reject_code": "550", "smtpd_recipient_restrictions": "check_recipient_access texthash:" + table},
			client: "192.0.2.1", helo: "mx.example.net", from: "a@example.net", rcpt: "rej@example.org", same: true},
		{name: "recipient table DEFER", params: map[string]string{"smtpd_recipient_restrictions": "check_recipient_access texthash:" + table},
			client: "192.0.2.1", helo: "mx.example.net", from: "a@example.net", rcpt: "def@example.org", same: true},
		{name: "recipient table 550 5.1.1", params: map[string]string{"smtpd_recipient_restrictions": "check_recipient_access texthash:" + table},
			client: "192.0.2.1", helo: "mx.example.net", from: "a@example.net", rcpt: "gone@example.org", same: true},
		{name: "recipient table enhanced code of the other class", params: map[string]string{"smtpd_recipient_restrictions": "check_recipient_access texthash:" + table},
			client: "192.0.2.1", helo: "mx.example.net", from: "a@example.net", rcpt: "cls@example.org", same: true},
		{name: "recipient table 421", params: map[string]string{"smtpd_recipient_restrictions": "check_recipient_access texthash:" + table},
			client: "192.0.2.1", helo: "mx.example.net", from: "a@example.net", rcpt: "bye@example.org", same: true},
		{name: "HELO address literal", params: map[string]string{"smtpd_helo_restrictions": "reject_non_fqdn_helo_hostname"},
			client: "192.0.2.1", helo: "[1.2.3]", from: "a@example.net", rcpt: "carol@example.org",
			viaPolicy: "501 5.5.2 <carol@example.org>: Recipient address rejected: Helo command <[1.2.3]>: invalid ip address"},
		{name: "non-FQDN sender", params: map[string]string{"smtpd_sender_restrictions": "reject_non_fqdn_sender"},
			client: "192.0.2.1", helo: "mx.example.net", from: "alice@localhost", rcpt: "carol@example.org",
			viaPolicy: "504 5.5.2 <carol@example.org>: Recipient address rejected: Sender address <alice@localhost>: need fully-qualified address"},
		{name: "client table DEFER", params: map[string]string{"smtpd_client_restrictions": "check_client_access texthash:" + table},
			client: "192.0.2.10", helo: "mx.example.net", from: "a@example.net", rcpt: "carol@example.org",
			viaPolicy: "450 4.7.1 <carol@example.org>: Recipient address rejected: Client host <unknown[192.0.2.10]>: Access denied"},
	}
	var services []string
	type pair struct{ native, via string }
	addrs := make([]pair, len(tests))
	listen := &ports{t: t}
	for i, tt := range tests {
		var conf strings.Builder
		native := listen.next() + " inet n - n - - smtpd"
		for k, v := range tt.params {
			native += " -o { " + k + " = " + v + " }"
			fmt.Fprintf(&conf, "%s = %s\n", k, v)
		}
		pol := startPolicyd(t, "-greylist", "none", "-config", writeFile(t, fmt.Sprintf("main%d.cf", i), conf.String()))
		via := listen.next() + " inet n - n - - smtpd -o { smtpd_recipient_restrictions = check_policy_service inet:" + pol + " }"
		services = append(services, native, via)
		addrs[i] = pair{strings.Fields(native)[0], strings.Fields(via)[0]}
	}
	listen.release()
	p := startPostfix(t, services)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waitListen(t, p, addrs[i].native)
			waitListen(t, p, addrs[i].via)
			native := rcptReply(t, addrs[i].native, tt.client, tt.helo, tt.from, tt.rcpt)
			via := rcptReply(t, addrs[i].via, tt.client, tt.helo, tt.from, tt.rcpt)
			if !strings.HasPrefix(native, "4") && !strings.HasPrefix(native, "5") {
				t.Fatalf("Postfix itself answered %q: the case refuses nothing", native)
			}
			if tt.same {
				if via != native {
					t.Errorf("through policyd = %q, Postfix itself = %q", via, native)
				}
				return
			}
			if via != tt.viaPolicy {
				t.Errorf("through policyd = %q, want %q", via, tt.viaPolicy)
			}
			if native[:10] != via[:10] {
				t.Errorf("code and enhanced code through policyd %q differ from Postfix's own %q", via[:10], native[:10])
			}
		})
	}
}
