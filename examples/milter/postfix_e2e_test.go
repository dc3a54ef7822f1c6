package main

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// These tests run the milter program behind a private Postfix instance on
// loopback (its own configuration, queue and log under the test's
// directory), reached with XCLIENT so that the client's facts are the
// test's. Mail for example.org is delivered to a maildir; everything else
// is discarded.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// milterBinary builds the program once for all tests.
func milterBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "milter-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "milter")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListen waits until addr accepts connections.
func waitListen(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// front is a running milter program.
type front struct {
	addr string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the program has ended
}

// stop ends the program as SIGTERM does (the sessions finish, a
// -cpu-profile is written) and waits for it.
func (f *front) stop(t testing.TB) {
	t.Helper()
	f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the filter did not stop on SIGTERM")
	}
}

func startMilter(t testing.TB, args ...string) *front {
	t.Helper()
	return startMilterEnv(t, nil, args...)
}

// startMilterEnv starts the program with env added to the test's
// environment.
func startMilterEnv(t testing.TB, env []string, args ...string) *front {
	t.Helper()
	return startMilterOn(t, "inet", env, args...)
}

// startMilterOn starts the program listening on a loopback TCP port
// (network "inet") or on a unix socket Postfix's daemons can reach
// ("unix"); front.addr is then the socket as Postfix writes it,
// unix:/path.
func startMilterOn(t testing.TB, network string, env []string, args ...string) *front {
	t.Helper()
	bin := milterBinary(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	listen := "inet:" + addr
	if network == "unix" {
		addr = "unix:" + socketPath(t)
		listen = addr
	}
	logPath := filepath.Join(t.TempDir(), "milter.log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"-listen", listen}, args...)...)
	cmd.Stderr, cmd.Stdout = lf, lf
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); lf.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	if network == "unix" {
		waitSocket(t, strings.TrimPrefix(addr, "unix:"))
	} else {
		waitListen(t, addr)
	}
	return &front{addr: addr, cmd: cmd, log: logPath, done: done}
}

// socketPath returns a path for a unix socket in a directory of its own
// that Postfix's daemons (user postfix) can enter.
func socketPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "milter-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	return filepath.Join(dir, "milter.sock")
}

// waitSocket waits until the unix socket at path exists and gives it to
// group postfix (the filter makes it 0660), as an admin does.
func waitSocket(t testing.TB, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no socket at %s", path)
		}
	}
	if out, err := exec.Command("chgrp", "postfix", path).CombinedOutput(); err != nil {
		t.Fatalf("chgrp: %v %s", err, out)
	}
}

func (f *front) logText(t testing.TB) string {
	b, err := os.ReadFile(f.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// instance is a private Postfix.
type instance struct {
	dir  string
	addr string // its smtpd
}

// startPostfix starts a Postfix 3.7 on loopback whose smtpd_milters is the
// filter at milterAddr (HOST:PORT, or unix:/path; none when empty), with
// extra main.cf lines.
func startPostfix(t testing.TB, milterAddr string, extra ...string) *instance {
	t.Helper()
	postfix := peertest.Look(t, "postfix", "postfix")
	if os.Geteuid() != 0 {
		peertest.Missing(t, "a private Postfix instance needs root (its daemons change to user postfix)")
	}
	if _, err := os.Stat("/etc/postfix/master.cf"); err != nil {
		peertest.Missing(t, "no /etc/postfix/master.cf to take the daemons' entries from")
	}
	dir, err := os.MkdirTemp("", "pfmilter-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // the daemons run as postfix and must reach it
	for _, d := range []string{"etc", "spool", "data", "log", "vmail"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "vmail"), 0o777)
	if out, err := exec.Command("chown", "postfix", filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	port := freePort(t)
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/spool
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.private.test
mydomain = private.test
myorigin = $myhostname
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
milter_command_timeout = 10s
# As for a remote client of a real MX: Postfix adds no missing header
# before the filter sees the message.
local_header_rewrite_clients =
always_add_missing_headers = no
`, dir) + strings.Join(extra, "\n") + "\n"
	if milterAddr != "" {
		spec := milterAddr
		if !strings.HasPrefix(spec, "unix:") {
			spec = "inet:" + spec
		}
		mainCF += "smtpd_milters = " + spec + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		t.Fatal(err)
	}
	var mcf strings.Builder
	fmt.Fprintf(&mcf, "127.0.0.1:%d inet n - n - - smtpd\n", port)
	services := "pickup cleanup qmgr rewrite bounce defer trace verify flush proxymap proxywrite showq error retry discard local virtual anvil scache postlog smtp"
	for _, line := range strings.Split(string(master), "\n") {
		f := strings.Fields(line)
		if len(f) >= 8 && strings.Contains(" "+services+" ", " "+f[0]+" ") && (f[1] == "unix" || f[1] == "unix-dgram") {
			f[4] = "n" // not chrooted
			mcf.WriteString(strings.Join(f, " ") + "\n")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "master.cf"), []byte(mcf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(dir, "etc")
	exec.Command(postfix, "-c", etc, "set-permissions").Run()
	if out, err := exec.Command(postfix, "-c", etc, "check").CombinedOutput(); err != nil {
		t.Fatalf("postfix check: %v %s", err, out)
	}
	if out, err := exec.Command(postfix, "-c", etc, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log", "maillog"))
		t.Fatalf("postfix start: %v %s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		exec.Command(postfix, "-c", etc, "stop").Run()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "log", "maillog"))
			t.Logf("postfix log:\n%s", log)
		} else {
			os.RemoveAll(dir)
		}
	})
	in := &instance{dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	waitListen(t, in.addr)
	return in
}

// delivered waits for n messages in the example.org maildir and returns
// them.
func (in *instance) delivered(t testing.TB, n int) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ents, _ := os.ReadDir(filepath.Join(in.dir, "vmail", "inbox", "new"))
		if len(ents) >= n || time.Now().After(deadline) {
			var out []string
			for _, e := range ents {
				b, _ := os.ReadFile(filepath.Join(in.dir, "vmail", "inbox", "new", e.Name()))
				out = append(out, string(b))
			}
			if len(out) < n {
				t.Fatalf("%d messages delivered, want %d", len(out), n)
			}
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// queue returns the instance's queue as postqueue -j prints it.
func (in *instance) queue(t testing.TB) []map[string]any {
	t.Helper()
	postqueue := peertest.Look(t, "postqueue", "postfix")
	out, err := exec.Command(postqueue, "-c", filepath.Join(in.dir, "etc"), "-j").Output()
	if err != nil {
		t.Fatalf("postqueue -j: %v", err)
	}
	var q []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("postqueue -j line %q: %v", line, err)
		}
		q = append(q, m)
	}
	return q
}

// smtpClient is a raw SMTP client, so that every reply is seen as sent.
type smtpClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *smtpClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &smtpClient{t: t, c: c, r: bufio.NewReader(c)}
	s.expect("", 220)
	return s
}

// cmd sends line (none when empty) and returns the reply's code and its
// lines as sent.
func (s *smtpClient) cmd(line string) (int, string) {
	s.t.Helper()
	s.c.SetDeadline(time.Now().Add(30 * time.Second))
	if line != "" {
		if _, err := s.c.Write([]byte(line + "\r\n")); err != nil {
			s.t.Fatal(err)
		}
	}
	var text strings.Builder
	for {
		l, err := s.r.ReadString('\n')
		if err != nil {
			s.t.Fatalf("after %q: %v (read %q)", line, err, text.String())
		}
		text.WriteString(l)
		if len(l) < 4 || l[3] != '-' {
			code, _ := strconv.Atoi(l[:3])
			return code, strings.TrimRight(text.String(), "\r\n")
		}
	}
}

func (s *smtpClient) expect(line string, want int) string {
	s.t.Helper()
	code, text := s.cmd(line)
	if code != want {
		s.t.Fatalf("%q = %q, want %d", line, text, want)
	}
	return text
}

// begin runs XCLIENT (the client's address and name) and EHLO.
func (s *smtpClient) begin(addr, name, helo string) {
	s.t.Helper()
	s.expect("XCLIENT ADDR="+addr+" NAME="+name, 220)
	s.expect("EHLO "+helo, 250)
}

// data sends DATA and the message, returning the reply to its end.
func (s *smtpClient) data(msg string) (int, string) {
	s.t.Helper()
	s.expect("DATA", 354)
	return s.cmd(strings.ReplaceAll(msg, "\n", "\r\n") + "\r\n.")
}

// deliver sends one good message from the client at addr to rcpt and
// wants it accepted, ending the session.
func (s *smtpClient) deliver(addr, rcpt, subject string) {
	s.t.Helper()
	s.begin(addr, "mx.client.example", "mx.client.example")
	s.expect("MAIL FROM:<a@client.example>", 250)
	s.expect("RCPT TO:<"+rcpt+">", 250)
	if code, text := s.data(goodMessage(subject)); code != 250 {
		s.t.Fatalf("message %q = %q, want 250", subject, text)
	}
	s.expect("QUIT", 221)
}

func goodMessage(subject string) string {
	return "From: <a@client.example>\nTo: <b@example.org>\nDate: Fri, 04 Dec 2026 18:00:00 +0000\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@client.example>\nSubject: " + subject + "\n\nhello\n"
}

func TestPostfixRefusesMessageMissingHeaders(t *testing.T) {
	f := startMilter(t)
	in := startPostfix(t, f.addr)
	s := dial(t, in.addr)
	s.begin("192.0.2.7", "mx.client.example", "mx.client.example")
	s.expect("MAIL FROM:<a@client.example>", 250)
	s.expect("RCPT TO:<b@example.org>", 250)
	code, text := s.data("From: <a@client.example>\nSubject: no date, no id\n\nhello\n")
	// Postfix relays the check's catalog reply as the filter gave it.
	want := strings.TrimRight(string(reply.MissingRequiredHeaders().AppendTo(nil)), "\r\n")
	if code != reply.MissingRequiredHeaders().Code() || text != want {
		t.Fatalf("message without Date/Message-ID = %q, want the header check's %q", text, want)
	}
	// The filter's decision line names the message by Postfix's queue ID.
	// Postfix's log line may be written after the client has the reply.
	var maillog []byte
	var m [][]byte
	for deadline := time.Now().Add(5 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		maillog, _ = os.ReadFile(filepath.Join(in.dir, "log", "maillog"))
		m = regexp.MustCompile(`([0-9A-F]{6,}): milter-reject: END-OF-MESSAGE`).FindSubmatch(maillog)
	}
	if m == nil {
		t.Fatalf("no milter-reject in Postfix's log:\n%s", maillog)
	}
	logText := f.logText(t)
	if !regexp.MustCompile(`msg=decision session.id=` + string(m[1]) + ` session.stage=headers .*action=reject`).MatchString(logText) {
		t.Errorf("no decision line for %s's refusal in the filter's log:\n%s", m[1], logText)
	}
	// The session goes on: a good message is delivered.
	s.expect("MAIL FROM:<a@client.example>", 250)
	s.expect("RCPT TO:<b@example.org>", 250)
	if code, text := s.data(goodMessage("fine")); code != 250 {
		t.Fatalf("good message = %q, want 250", text)
	}
	s.expect("QUIT", 221)
	got := in.delivered(t, 1)
	if !strings.Contains(got[0], "Subject: fine") {
		t.Errorf("delivered %q", got[0])
	}
}

func TestPostfixGreylistDefersThenAcceptsWithHeader(t *testing.T) {
	f := startMilter(t, "-greylist", "memory:", "-greylist-delay", "2s")
	in := startPostfix(t, f.addr)
	try := func() (int, string, *smtpClient) {
		s := dial(t, in.addr)
		s.begin("192.0.2.8", "mx.client.example", "mx.client.example")
		s.expect("MAIL FROM:<a@client.example>", 250)
		code, text := s.cmd("RCPT TO:<b@example.org>")
		return code, text, s
	}
	code, text, s := try()
	if code/100 != 4 || !strings.Contains(text, " 4.") {
		t.Fatalf("first RCPT = %q, want the greylist's 4xx", text)
	}
	s.expect("QUIT", 221)
	time.Sleep(2500 * time.Millisecond)
	code, text, s = try()
	if code != 250 {
		t.Fatalf("RCPT after the delay = %q, want 250", text)
	}
	if code, text := s.data(goodMessage("greylisted")); code != 250 {
		t.Fatalf("DATA after the delay = %q, want 250", text)
	}
	s.expect("QUIT", 221)
	got := in.delivered(t, 1)
	if !strings.Contains(got[0], "X-Greylist: delayed ") {
		t.Errorf("delivered message has no X-Greylist header:\n%s", got[0])
	}
}

func TestPostfixQuarantineGoesToHoldQueue(t *testing.T) {
	table := filepath.Join(t.TempDir(), "recipients")
	if err := os.WriteFile(table, []byte("/^trap@example\\.org$/ HOLD spam trap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := startMilter(t, "-postfix-access", "recipient:regexp:"+table)
	in := startPostfix(t, f.addr)
	s := dial(t, in.addr)
	s.deliver("192.0.2.9", "trap@example.org", "trapped") // accepted into quarantine
	deadline := time.Now().Add(10 * time.Second)
	for {
		q := in.queue(t)
		if len(q) == 1 && q[0]["queue_name"] == "hold" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue = %v, want one message on hold", q)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPostfixAppliesDefaultActionWhenFilterKilled(t *testing.T) {
	// What Postfix does without its filter is its milter_default_action,
	// not the filter's choice: tempfail defers the mail, accept lets it in.
	for _, action := range []string{"tempfail", "accept"} {
		t.Run(action, func(t *testing.T) {
			f := startMilter(t)
			in := startPostfix(t, f.addr, "milter_default_action = "+action)
			s := dial(t, in.addr)
			s.begin("192.0.2.10", "mx.client.example", "mx.client.example")
			s.expect("MAIL FROM:<a@client.example>", 250)
			// The filter dies mid-session.
			if err := f.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			f.cmd.Process.Wait()
			code, text := s.cmd("RCPT TO:<b@example.org>")
			if action == "tempfail" {
				if code/100 != 4 {
					t.Fatalf("RCPT after the filter died = %q, want Postfix's tempfail (milter_default_action)", text)
				}
				s.cmd("QUIT")
				if q := in.queue(t); len(q) != 0 {
					t.Errorf("queue = %v, want nothing accepted", q)
				}
				return
			}
			if code != 250 {
				t.Fatalf("RCPT after the filter died = %q, want 250 (milter_default_action = accept)", text)
			}
			if code, text := s.data(goodMessage("unfiltered")); code != 250 {
				t.Fatalf("DATA after the filter died = %q, want 250", text)
			}
			s.expect("QUIT", 221)
			in.delivered(t, 1)
		})
	}
}

// stuckPeer listens on loopback, accepts connections and never answers
// them: a content scanner that hangs.
func stuckPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	return ln.Addr().String()
}

func TestPostfixAnsweredBeforeItsMilterTimeout(t *testing.T) {
	// A scanner that never answers, with a scan deadline longer than
	// Postfix waits for the filter: the filter's own per-callback deadline
	// (-command-timeout, below milter_command_timeout) must answer first.
	// Postfix's default action here is accept, so a filter that let Postfix
	// time out would see the message accepted; the filter's answer defers
	// it.
	spamd := stuckPeer(t)
	f := startMilter(t, "-spamd-socket", spamd, "-spamd-timeout", "60s", "-spamd-error-policy", "temp-fail", "-command-timeout", "3s")
	in := startPostfix(t, f.addr, "milter_default_action = accept")
	s := dial(t, in.addr)
	s.begin("192.0.2.18", "mx.client.example", "mx.client.example")
	s.expect("MAIL FROM:<a@client.example>", 250)
	s.expect("RCPT TO:<b@example.org>", 250)
	code, text := s.data(goodMessage("stuck scanner"))
	if code/100 != 4 || !strings.Contains(text, " 4.") {
		t.Fatalf("message while the scanner hangs = %q, want the filter's temporary refusal", text)
	}
	// Postfix's log line may be written after the client has the reply
	// (its daemons log through postlogd).
	var maillog []byte
	rejected := regexp.MustCompile(`milter-reject: END-OF-MESSAGE .*: 4\.\d+\.\d+ `)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		maillog, _ = os.ReadFile(filepath.Join(in.dir, "log", "maillog"))
		if rejected.Match(maillog) || time.Now().After(deadline) {
			break
		}
	}
	if !rejected.Match(maillog) {
		t.Errorf("Postfix's log has no milter-reject for the message:\n%s", maillog)
	}
	// Postfix warns of every failed exchange with a filter (a read that
	// timed out among them); there must be none.
	if strings.Contains(string(maillog), "warning: milter") {
		t.Errorf("Postfix's exchange with the filter failed:\n%s", maillog)
	}
	// The session goes on with the filter.
	s.expect("RSET", 250)
	s.expect("QUIT", 221)
	if q := in.queue(t); len(q) != 0 {
		t.Errorf("queue = %v, want nothing accepted", q)
	}
}

func TestPostfixMainCFWithoutMacrosRefusedAtStartup(t *testing.T) {
	// The program is told what the MTA sends by the MTA's own main.cf
	// (-mta-macros): Postfix's default milter_connect_macros lack the
	// reverse name the reverse DNS check needs, and the program refuses
	// to start rather than decide on "unknown".
	in := startPostfix(t, "")
	mainCF := filepath.Join(in.dir, "etc", "main.cf")
	run := func() (string, error) {
		cmd := exec.Command(milterBinary(t), "-listen", fmt.Sprintf("inet:127.0.0.1:%d", freePort(t)), "-resolver", "127.0.0.1:53", "-mta-macros", mainCF)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return out.String(), err
		case <-time.After(5 * time.Second):
			// Still running: it started.
			cmd.Process.Kill()
			<-done
			return out.String(), nil
		}
	}
	out, err := run()
	if err == nil || !strings.Contains(out, "add {client_ptr} {client_resolve} to milter_connect_macros") {
		t.Fatalf("program with Postfix's default macro lists: %v\n%s\nwant a refusal naming the macros and the parameter", err, out)
	}
	postconf := peertest.Look(t, "postconf", "postfix")
	if o, err := exec.Command(postconf, "-c", filepath.Join(in.dir, "etc"), "-e",
		"milter_connect_macros=j {daemon_name} {daemon_addr} v _ {client_ptr} {client_resolve}").CombinedOutput(); err != nil {
		t.Fatalf("postconf -e: %v %s", err, o)
	}
	if out, err := run(); err != nil {
		t.Fatalf("program with the macros in milter_connect_macros: %v\n%s", err, out)
	}
}

func TestPostfixLargeMessageOverUnixSocket(t *testing.T) {
	// A directory smtpd (user postfix) can enter.
	sockDir, err := os.MkdirTemp("", "milter-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	os.Chmod(sockDir, 0o755)
	sock := filepath.Join(sockDir, "milter.sock")
	bin := milterBinary(t)
	logPath := filepath.Join(t.TempDir(), "milter.log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-listen", "unix:"+sock, "-spool-dir", t.TempDir())
	cmd.Stderr = lf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); lf.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no milter socket")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Postfix's smtpd runs as postfix: the socket is 0660, group postfix.
	if out, err := exec.Command("chgrp", "postfix", sock).CombinedOutput(); err != nil {
		t.Fatalf("chgrp: %v %s", err, out)
	}
	in := startPostfix(t, "", "smtpd_milters = unix:"+sock, "message_size_limit = 20000000")
	s := dial(t, in.addr)
	s.begin("192.0.2.12", "mx.client.example", "mx.client.example")
	s.expect("MAIL FROM:<a@client.example>", 250)
	s.expect("RCPT TO:<b@example.org>", 250)
	// 3 MiB: more than the filter keeps in memory, so it is spooled to a file.
	line := strings.Repeat("0123456789", 7) + "\n"
	body := strings.Repeat(line, 3<<20/len(line))
	if code, text := s.data(goodMessage("large") + body); code != 250 {
		t.Fatalf("large message = %q, want 250", text)
	}
	s.expect("QUIT", 221)
	got := in.delivered(t, 1)
	if len(got[0]) < 3<<20 {
		t.Errorf("delivered %d bytes, want the whole message", len(got[0]))
	}
	// The spool file went with the transaction.
	if n := spoolFiles(t, cmd.Process.Pid); n != 0 {
		t.Errorf("%d spool files still open", n)
	}
}

func TestPostfixDNSChecksOnPostfixFacts(t *testing.T) {
	ns := dnstest.New(t)
	ns.Add(
		`client.example. IN TXT "v=spf1 ip4:192.0.2.0/24 -all"`,
		"client.example. IN MX 10 mx.client.example.",
		"mx.client.example. IN A 192.0.2.13",
		"13.2.0.192.in-addr.arpa. IN PTR mx.client.example.",
	)
	f := startMilter(t, "-resolver", ns.Addr())
	in := startPostfix(t, f.addr)
	s := dial(t, in.addr)
	s.begin("192.0.2.13", "mx.client.example", "mx.client.example")
	s.expect("MAIL FROM:<a@client.example>", 250)
	s.expect("RCPT TO:<b@example.org>", 250)
	if code, text := s.data(goodMessage("spf")); code != 250 {
		t.Fatalf("DATA = %q, want 250", text)
	}
	s.expect("QUIT", 221)
	got := in.delivered(t, 1)
	if !strings.Contains(got[0], "\nReceived-SPF: pass") {
		t.Errorf("delivered message has no Received-SPF: pass:\n%s", got[0])
	}
	// The reverse DNS check took the client's names from Postfix's
	// macros: the filter asked DNS nothing about them.
	if n := ns.Count("13.2.0.192.in-addr.arpa.", dns.TypePTR); n != 0 {
		t.Errorf("%d PTR queries for the client, want none (Postfix sent {client_ptr})", n)
	}

	// A client without reverse DNS (Postfix says "unknown") is refused by
	// that check, on Postfix's word.
	s = dial(t, in.addr)
	s.begin("192.0.2.14", "[UNAVAILABLE]", "mx2.client.example")
	s.expect("MAIL FROM:<a@client.example>", 250)
	if code, text := s.cmd("RCPT TO:<b@example.org>"); code/100 != 5 && code/100 != 4 {
		t.Fatalf("RCPT from a client without a name = %q, want the reverse DNS check's refusal", text)
	}
	if logText := f.logText(t); !strings.Contains(logText, "reason=\""+hygiene.NameClientPTR) {
		t.Errorf("the refusal was not the reverse DNS check's:\n%s", logText)
	}
	if n := ns.Count("14.2.0.192.in-addr.arpa.", dns.TypePTR); n != 0 {
		t.Errorf("%d PTR queries for the nameless client, want none", n)
	}
}

// cutProxy relays milter packets from Postfix to the filter and cuts both
// connections once more than cutAfter body bytes went through: Postfix's
// side of the session ends mid-message.
func cutProxy(t *testing.T, target string, cutAfter int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			mta, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer mta.Close()
				filter, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer filter.Close()
				go io.Copy(mta, filter) // the filter's answers
				r := bufio.NewReader(mta)
				body := 0
				for {
					var hdr [5]byte
					if _, err := io.ReadFull(r, hdr[:]); err != nil {
						return
					}
					n := int(binary.BigEndian.Uint32(hdr[:4]))
					pkt := make([]byte, n-1)
					if _, err := io.ReadFull(r, pkt); err != nil {
						return
					}
					if hdr[4] == 'B' {
						body += len(pkt)
					}
					if _, err := filter.Write(append(hdr[:], pkt...)); err != nil {
						return
					}
					if body > cutAfter {
						return // both ends close
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// spoolFiles counts the process's open spool files.
func spoolFiles(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skip("no /proc to count the filter's open files")
	}
	n := 0
	for _, fd := range fds {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if strings.Contains(target, "smtppolicy-milter-") {
			n++
		}
	}
	return n
}

func TestPostfixGoneMidMessage(t *testing.T) {
	f := startMilter(t)
	in := startPostfix(t, cutProxy(t, f.addr, 1536<<10), "milter_default_action = tempfail", "message_size_limit = 20000000")
	s := dial(t, in.addr)
	s.begin("192.0.2.15", "mx.client.example", "mx.client.example")
	s.expect("MAIL FROM:<a@client.example>", 250)
	s.expect("RCPT TO:<b@example.org>", 250)
	line := strings.Repeat("0123456789", 7) + "\n"
	code, text := s.data(goodMessage("cut") + strings.Repeat(line, 3<<20/len(line)))
	if code/100 != 4 {
		t.Fatalf("message whose filter session was cut = %q, want Postfix's tempfail", text)
	}
	s.cmd("QUIT")
	// The filter let go of the message it had spooled...
	deadline := time.Now().Add(5 * time.Second)
	for spoolFiles(t, f.cmd.Process.Pid) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("filter still holds %d spool files", spoolFiles(t, f.cmd.Process.Pid))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// ...and serves the next session.
	in2 := startPostfix(t, f.addr)
	s = dial(t, in2.addr)
	s.begin("192.0.2.15", "mx.client.example", "mx.client.example")
	s.expect("MAIL FROM:<a@client.example>", 250)
	s.expect("RCPT TO:<b@example.org>", 250)
	if code, text := s.data(goodMessage("after the cut")); code != 250 {
		t.Fatalf("next message = %q, want 250", text)
	}
	if logText := f.logText(t); strings.Contains(logText, "level=ERROR") || strings.Contains(logText, "panic") {
		t.Errorf("filter log after the cut:\n%s", logText)
	}
}

func TestPostfixRefusesListedLinkInBase64HTML(t *testing.T) {
	ns := dnstest.New(t)
	ns.ListDomain("dbl.test", "spam-domain.example", "127.0.1.2")
	f := startMilter(t, "-resolver", ns.Addr(), "-hygiene=false", "-spf=false", "-uribl", "dbl.test=127.0.1.[2..99]")
	in := startPostfix(t, f.addr)
	html := base64.StdEncoding.EncodeToString([]byte(`<p>Hello, see <a href="http://WWW.Spam-Domain.example/offer">this</a>.</p>`))
	msg := "From: <a@client.example>\nTo: <b@example.org>\nDate: Fri, 04 Dec 2026 18:00:00 +0000\n" +
		"Message-ID: <link@client.example>\nSubject: links\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/alternative; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nplain part\n" +
		"--b1\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + html + "\n--b1--\n"
	s := dial(t, in.addr)
	s.begin("192.0.2.16", "mx.client.example", "mx.client.example")
	s.expect("MAIL FROM:<a@client.example>", 250)
	s.expect("RCPT TO:<b@example.org>", 250)
	code, text := s.data(msg)
	if want := "550 5.7.1 black listed URL domain spam-domain.example by dbl.test"; code != 550 || !strings.HasPrefix(text, want) {
		t.Fatalf("message linking to a listed domain = %q, want %q", text, want)
	}
	s.expect("QUIT", 221)
	if q := in.queue(t); len(q) != 0 {
		t.Errorf("queue = %v, want nothing accepted", q)
	}
}

func TestPostfixDelayedRejection(t *testing.T) {
	table := filepath.Join(t.TempDir(), "access")
	if err := os.WriteFile(table, []byte("/^spam@client\\.example$/ REJECT no mail from this sender\n/^postmaster@example\\.org$/ OK\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := startMilter(t, "-postfix-access", "sender:regexp:"+table, "-postfix-access", "recipient:regexp:"+table)
	in := startPostfix(t, f.addr)
	s := dial(t, in.addr)
	s.begin("192.0.2.17", "mx.client.example", "mx.client.example")
	// The sender's refusal is held for RCPT, as smtpd_delay_reject does...
	s.expect("MAIL FROM:<spam@client.example>", 250)
	code, text := s.cmd("RCPT TO:<b@example.org>")
	if code/100 != 5 || !strings.Contains(text, "no mail from this sender") {
		t.Fatalf("RCPT = %q, want the sender table's refusal", text)
	}
	// ...so that postmaster still gets the mail.
	s.expect("RCPT TO:<postmaster@example.org>", 250)
	s.cmd("QUIT")
}

// TestPostfixConnectRefusalGivenAtRCPT checks delayed rejection behind
// Postfix, where the filter asks Postfix to await no reply before RCPT: a
// client refused at connect gets the refusal at RCPT, with the reply the
// filter gave (code, enhanced code and text), for every recipient and
// every transaction, and no message of it is taken; a refusal that may not
// be held (IREJECT) and a 421 reach it at RCPT too, the 421 closing the
// connection; another client's mail goes through.
func TestPostfixConnectRefusalGivenAtRCPT(t *testing.T) {
	dir := t.TempDir()
	clients := filepath.Join(dir, "clients")
	if err := os.WriteFile(clients, []byte("192.0.2.66/32 REJECT listed client\n192.0.2.68/32 421 closing for this client\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	smtpf := filepath.Join(dir, "access")
	if err := os.WriteFile(smtpf, []byte("Connect:192.0.2.67 IREJECT:\"go away now\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := startMilter(t, "-postfix-access", "client:cidr:"+clients, "-access", smtpf)
	in := startPostfix(t, f.addr)
	for _, tc := range []struct {
		addr string
		code int
		text string // what the reply says, after its codes
	}{
		{"192.0.2.66", 554, "5.7.1 "},
		{"192.0.2.67", 550, "go away now"},
		{"192.0.2.68", 421, "closing for this client"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			s := dial(t, in.addr)
			s.begin(tc.addr, "mx.client.example", "mx.client.example")
			s.expect("MAIL FROM:<a@client.example>", 250)
			code, text := s.cmd("RCPT TO:<b@example.org>")
			if code != tc.code || !strings.Contains(text, tc.text) {
				t.Fatalf("RCPT from a client refused at connect = %q, want %d and %q", text, tc.code, tc.text)
			}
			// The reply is the filter's, as its decision line has it.
			var filterReply string
			for deadline := time.Now().Add(5 * time.Second); filterReply == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				m := regexp.MustCompile(`session.client=` + regexp.QuoteMeta(tc.addr) + `\S* .*decision.result.reply="([^"]*)"`).FindStringSubmatch(f.logText(t))
				if m != nil {
					filterReply = m[1]
				}
			}
			if filterReply == "" || text != filterReply {
				t.Errorf("RCPT reply %q, the filter's decision %q: want the filter's reply as given", text, filterReply)
			}
			if code == 421 {
				// Postfix closes the connection after a 421.
				if l, err := s.r.ReadString('\n'); err == nil {
					t.Fatalf("after the 421 Postfix said %q, want the connection closed", l)
				}
				return
			}
			if code, text := s.cmd("RCPT TO:<postmaster@example.org>"); code != tc.code {
				t.Fatalf("RCPT postmaster = %q, want %d", text, tc.code)
			}
			if code, text := s.cmd("DATA"); code/100 != 5 {
				t.Fatalf("DATA = %q, want a refusal: no recipient", text)
			}
			s.expect("RSET", 250)
			s.expect("MAIL FROM:<a@client.example>", 250)
			if code, text := s.cmd("RCPT TO:<b@example.org>"); code != tc.code {
				t.Fatalf("RCPT in the next transaction = %q, want %d", text, tc.code)
			}
			s.cmd("QUIT")
		})
	}
	s := dial(t, in.addr)
	s.deliver("192.0.2.69", "b@example.org", "not listed")
	if got := in.delivered(t, 1); len(got) != 1 {
		t.Errorf("%d messages delivered, want the one from the client not listed", len(got))
	}
}

// TestPostfixConnectStageMarksEveryMessage checks what a connect-stage
// verdict asks of the messages: the milter protocol lets a filter add a
// header or quarantine only at end of message, so a header the client's
// check adds is in each message of the connection, and a client held at
// connect has each of its messages in the hold queue.
func TestPostfixConnectStageMarksEveryMessage(t *testing.T) {
	clients := filepath.Join(t.TempDir(), "clients")
	if err := os.WriteFile(clients, []byte("192.0.2.20/32 PREPEND X-Client-Check: listed at connect\n192.0.2.21/32 HOLD held at connect\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := startMilter(t, "-postfix-access", "client:cidr:"+clients)
	in := startPostfix(t, f.addr)
	// send delivers two messages over one SMTP session.
	send := func(addr string) {
		s := dial(t, in.addr)
		s.begin(addr, "mx.client.example", "mx.client.example")
		for _, subject := range []string{"first from " + addr, "second from " + addr} {
			s.expect("MAIL FROM:<a@client.example>", 250)
			s.expect("RCPT TO:<b@example.org>", 250)
			if code, text := s.data(goodMessage(subject)); code != 250 {
				t.Fatalf("message %q = %q, want 250", subject, text)
			}
		}
		s.expect("QUIT", 221)
	}
	send("192.0.2.20")
	got := in.delivered(t, 2)
	for _, msg := range got {
		if !strings.Contains(msg, "X-Client-Check: listed at connect") {
			t.Errorf("delivered message without the connect stage's header:\n%s", msg)
		}
	}
	send("192.0.2.21")
	deadline := time.Now().Add(10 * time.Second)
	for {
		q := in.queue(t)
		held := 0
		for _, m := range q {
			if m["queue_name"] == "hold" {
				held++
			}
		}
		if held == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue = %v, want the two messages of the client held at connect on hold", q)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The held client's messages were not delivered.
	if got := in.delivered(t, 2); len(got) != 2 {
		t.Errorf("%d messages delivered, want only the two of the client not held", len(got))
	}
}
