package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store/redisstore/redistest"
)

// httpGet returns the body of a GET, failing the test on any error or a
// status other than 200.
func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, b)
	}
	return string(b)
}

// waiting is a line of /admin/greylist.
type waiting struct {
	Key, Client, Sender, Recipient string
	Delay                          int64
}

func pendingTriplets(t *testing.T, admin string) []waiting {
	t.Helper()
	var out []waiting
	if err := json.Unmarshal([]byte(httpGet(t, "http://"+admin+"/admin/greylist")), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// One line per answer in postgrey's shape, accepts included, with the
// check and rule named; the same answers counted at /metrics; waiting
// triplets listed and released through the running daemon.
func TestVerdictLinesMetricsAndAdmin(t *testing.T) {
	m := writeFile(t, "access.cf", "Connect:198.51.100.66 REJECT\n")
	admin := freeAddr(t)
	p, addr := startProc(t, nil, "-listen", "127.0.0.1:0", "-greylist", "memory:", "-greylist-delay", "7m",
		"-access", m, "-log-format", "postfix", "-metrics", admin)

	if got := askAddr(t, "tcp", addr, requestAt("RCPT", "198.51.100.66", "bob@example.org")); !strings.HasPrefix(got, "action=550 ") {
		t.Fatalf("listed client = %q, want a 550", got)
	}
	if got := askAddr(t, "tcp", addr, requestAt("RCPT", "192.0.2.10", "bob@example.org")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT") {
		t.Fatalf("new triplet = %q, want greylisted", got)
	}
	// The refused client's triplet is recorded too: its refusal was held
	// from connect to RCPT, where greylisting ran.
	find := func(waits []waiting, client string) (waiting, bool) {
		for _, w := range waits {
			if w.Client == client {
				return w, true
			}
		}
		return waiting{}, false
	}
	waits := pendingTriplets(t, admin)
	w, ok := find(waits, "192.0.2.0/24")
	if !ok || w.Sender != "alice@example.net" || w.Recipient != "bob@example.org" || w.Delay != 420 {
		t.Fatalf("/admin/greylist = %+v, want 192.0.2.0/24's triplet with the daemon's 420s delay", waits)
	}
	resp, err := http.PostForm("http://"+admin+"/admin/greylist/release", url.Values{"key": {w.Key}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("release: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := askAddr(t, "tcp", addr, requestAt("RCPT", "192.0.2.10", "bob@example.org")); got != "action=DUNNO" {
		t.Fatalf("released triplet = %q, want DUNNO", got)
	}
	if waits := pendingTriplets(t, admin); len(waits) != 1 || waits[0].Client != "198.51.100.0/24" {
		t.Errorf("/admin/greylist after the release = %+v, want only 198.51.100.0/24's", waits)
	}
	resp, err = http.PostForm("http://"+admin+"/admin/greylist/release", url.Values{"key": {"grey:t:203.0.113.0/24 x y"}})
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("release of an unknown key: %v %v, want 404", resp, err)
	}

	want := []string{
		"action=reject, reason=connect:198.51.100.66, client_name=unknown, client_address=198.51.100.66, sender=alice@example.net, recipient=bob@example.org, check=access, rule=connect:198.51.100.66, answer=550 5.7.1 host unknown [198.51.100.66] black listed",
		"action=greylist, reason=new, client_name=unknown, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org, check=greylist, rule=new, answer=DEFER_IF_PERMIT 4.7.1 greylisted, try again in 420 seconds",
		"action=pass, reason=known, client_name=unknown, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org, check=greylist, rule=known, answer=DUNNO",
	}
	// The log is written apart from the answers: wait for the last line.
	p.waitLog(t, regexp.MustCompile("(?m)^"+regexp.QuoteMeta(want[len(want)-1])+"$"), 10*time.Second)
	var got []string
	for _, line := range strings.Split(p.log.String(), "\n") {
		if strings.HasPrefix(line, "action=") {
			got = append(got, line)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("verdict lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	metrics := httpGet(t, "http://"+admin+"/metrics")
	for _, w := range []string{
		`smtppolicy_verdicts_total{action="reject",check="access",code="550",stage="rcpt"} 1`,
		`smtppolicy_verdicts_total{action="greylist",check="greylist",code="450",stage="rcpt"} 1`,
		`smtppolicy_verdicts_total{action="pass",check="greylist",code="",stage="rcpt"} 1`,
		`smtppolicy_checks_total{action="defer-if-permit",check="greylist",stage="rcpt"} 2`,
		`smtppolicy_check_duration_seconds_count{check="greylist"} 3`,
		`smtppolicy_greylist_waiting 1`,
		`smtppolicy_greylist_total{outcome="new"} 2`,
		`smtppolicy_greylist_total{outcome="known"} 1`,
	} {
		if !strings.Contains(metrics, w+"\n") {
			t.Errorf("/metrics lacks %s:\n%s", w, grepLines(metrics, "smtppolicy_"))
		}
	}
	if strings.Contains(metrics, `outcome="store"`) {
		t.Errorf("/metrics counts a store failure as a greylisting outcome:\n%s", grepLines(metrics, "smtppolicy_greylist"))
	}
}

// -syslog sends each line to the syslog socket, facility mail, tagged
// with the program's name and pid.
func TestSyslog(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	addr := freeAddr(t)
	startNoWait(t, "-listen", addr, "-greylist", "memory:", "-log-format", "postfix", "-syslog", "-syslog-socket", sock)
	lines := make(chan string, 100)
	go func() {
		buf := make([]byte, 8192)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(lines)
				return
			}
			lines <- string(buf[:n])
		}
	}()
	next := func(re *regexp.Regexp) string {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("syslog socket closed")
				}
				if re.MatchString(l) {
					return l
				}
			case <-deadline:
				t.Fatalf("no syslog line matching %s", re)
			}
		}
	}
	next(regexp.MustCompile(`serving the Postfix policy protocol`))
	askAddr(t, "tcp", addr, requestAt("RCPT", "192.0.2.10", "bob@example.org"))
	line := next(regexp.MustCompile(`action=`))
	want := regexp.MustCompile(`^<22>\w{3} [ \d]\d \d\d:\d\d:\d\d policyd\[\d+\]: action=greylist, reason=new, client_name=unknown, client_address=192\.0\.2\.10, sender=alice@example\.net, recipient=bob@example\.org, check=greylist, rule=new, answer=DEFER_IF_PERMIT 4\.7\.1 greylisted, try again in 300 seconds\n?$`)
	if !want.MatchString(line) {
		t.Errorf("syslog line = %q, want %s", line, want)
	}
}

// startNoWait starts policyd as a process without waiting for its log
// (which may go elsewhere than standard error); it is stopped when the
// test ends.
func startNoWait(t *testing.T, args ...string) {
	t.Helper()
	cmd, logs := command(t, nil, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("policyd output:\n%s", logs.String())
		}
	})
}

// grepLines returns the lines of s that start with prefix.
func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A store that fails is counted at /metrics, and the answer it leads to
// is a verdict line of its own; the admin endpoints list the triplets a
// Redis store holds while the daemon runs.
func TestStoreErrorsCountedAndLogged(t *testing.T) {
	srv := redistest.StartServer(t)
	admin := freeAddr(t)
	p, addr := startProc(t, nil, "-listen", "127.0.0.1:0", "-greylist", "redis://"+srv.Addr+"/0", "-greylist-delay", "1m", "-metrics", admin)
	if got := askAddr(t, "tcp", addr, requestAt("RCPT", "192.0.2.10", "bob@example.org")); !strings.HasPrefix(got, "action=DEFER_IF_PERMIT 4.7.1 greylisted") {
		t.Fatalf("with Redis up: %q, want greylisted", got)
	}
	if waits := pendingTriplets(t, admin); len(waits) != 1 || waits[0].Client != "192.0.2.0/24" || waits[0].Delay != 60 {
		t.Errorf("/admin/greylist on Redis = %+v, want the one triplet with the 60s delay", waits)
	}
	srv.Freeze(t)
	got := askAddr(t, "tcp", addr, requestAt("RCPT", "192.0.2.11", "carol@example.org"))
	srv.Thaw(t)
	if !strings.HasPrefix(got, "action=DEFER_IF_PERMIT 4.3.0") {
		t.Fatalf("with Redis hung: %q, want DEFER_IF_PERMIT 4.3.0", got)
	}
	want := "action=defer, reason=store, client_name=unknown, client_address=192.0.2.11, sender=alice@example.net, recipient=carol@example.org, check=greylist, rule=store, answer=" + strings.TrimPrefix(got, "action=")
	// The line is written before the answer, but reaches the test through
	// a pipe that may deliver it later.
	p.waitLog(t, regexp.MustCompile("(?m)^"+regexp.QuoteMeta(want)+"$"), 10*time.Second)
	metrics := httpGet(t, "http://"+admin+"/metrics")
	for _, w := range []string{
		`smtppolicy_store_errors_total{check="greylist"} 1`,
		`smtppolicy_verdicts_total{action="defer",check="greylist",code="450",stage="rcpt"} 1`,
		`smtppolicy_verdicts_total{action="greylist",check="greylist",code="450",stage="rcpt"} 1`,
		`smtppolicy_greylist_total{outcome="new"} 1`,
	} {
		if !strings.Contains(metrics, w+"\n") {
			t.Errorf("/metrics lacks %s:\n%s", w, grepLines(metrics, "smtppolicy_"))
		}
	}
	if strings.Contains(metrics, `outcome="store"`) {
		t.Errorf("/metrics counts a store failure as a greylisting outcome:\n%s", grepLines(metrics, "smtppolicy_greylist"))
	}
}
