package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGetBody(t *testing.T, u string) string {
	t.Helper()
	return httpBody(t, func() (*http.Response, error) { return http.Get(u) })
}

func httpBody(t *testing.T, do func() (*http.Response, error)) string {
	t.Helper()
	resp, err := do()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s: %s", resp.Request.Method, resp.Request.URL, resp.Status, b)
	}
	return string(b)
}

// One Postfix-shaped line per verdict, accepts included, with the check
// and rule named; the verdicts counted at /metrics; the waiting triplets
// and the limit counters shown, and a triplet released, through the
// running daemon, on each kind of store.
func TestVerdictLinesMetricsAndAdmin(t *testing.T) {
	for _, store := range []string{"memory:", "bolt:", "redis:"} {
		t.Run(store, func(t *testing.T) {
			spec := store
			switch store {
			case "bolt:":
				spec += filepath.Join(t.TempDir(), "grey.db")
			case "redis:":
				spec = "redis://:secret@" + startRedis(t, "secret") + "/0"
			}
			m := filepath.Join(t.TempDir(), "access.cf")
			if err := os.WriteFile(m, []byte("Rate-Connect: 100\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			admin := freeTCPAddr(t)
			s := startServer(t, "-greylist", spec, "-greylist-delay", "7m", "-access", m, "-log-format", "postfix", "-metrics", admin)
			swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "eve@elsewhere.example", "--quit-after", "RCPT")
			if out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org"); err == nil || !strings.Contains(out, "451 4.7.1 greylisted") {
				t.Fatalf("first attempt not greylisted: %v\n%s", err, out)
			}

			var waits []struct {
				Key, Client, Sender, Recipient string
				Delay                          int64
			}
			if err := json.Unmarshal([]byte(httpGetBody(t, "http://"+admin+"/admin/greylist")), &waits); err != nil {
				t.Fatal(err)
			}
			if len(waits) != 1 || waits[0].Client != "127.0.0.0/24" || waits[0].Sender != "alice@example.net" || waits[0].Recipient != "bob@example.org" || waits[0].Delay != 420 {
				t.Fatalf("/admin/greylist = %+v, want one triplet with the daemon's 420s delay", waits)
			}
			httpBody(t, func() (*http.Response, error) {
				return http.PostForm("http://"+admin+"/admin/greylist/release", url.Values{"key": {waits[0].Key}})
			})
			if out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org"); err != nil {
				t.Fatalf("released triplet refused: %v\n%s", err, out)
			}
			if n := len(s.messages(t)); n != 1 {
				t.Errorf("stored %d messages, want 1", n)
			}
			limits := httpGetBody(t, "http://"+admin+"/admin/limits")
			if !strings.Contains(limits, `"key": "access:rate:127.0.0.1",`+"\n    \"value\": \"3\"") {
				t.Errorf("/admin/limits = %s, want access:rate:127.0.0.1 at 3 connections", limits)
			}

			want := []string{
				`NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.7.1 recipient <eve@elsewhere.example> relaying denied; from=<alice@example.net> to=<eve@elsewhere.example> proto=ESMTP helo=<mx.example.net> check=relay rule=accepted-domains`,
				`NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 451 4.7.1 greylisted, try again in 420 seconds; from=<alice@example.net> to=<bob@example.org> proto=ESMTP helo=<mx.example.net> check=greylist rule=new`,
				`NOQUEUE: accept: RCPT from unknown[127.0.0.1]: 250 2.0.0 OK; from=<alice@example.net> to=<bob@example.org> proto=ESMTP helo=<mx.example.net> check=greylist rule=known`,
				`ID: accept: END-OF-MESSAGE from unknown[127.0.0.1]: 250 2.0.0 OK; from=<alice@example.net> to=<bob@example.org> proto=ESMTP helo=<mx.example.net> check=- rule=-`,
			}
			id := regexp.MustCompile(`^[0-9A-F]{12}: `)
			var got []string
			for _, line := range strings.Split(s.logText(t), "\n") {
				if strings.HasPrefix(line, "NOQUEUE: ") || id.MatchString(line) {
					got = append(got, id.ReplaceAllString(line, "ID: "))
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("verdict lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			metrics := httpGetBody(t, "http://"+admin+"/metrics")
			for _, w := range []string{
				`smtppolicy_verdicts_total{action="reject",check="relay",code="550",stage="rcpt"} 1`,
				`smtppolicy_verdicts_total{action="reject",check="greylist",code="451",stage="rcpt"} 1`,
				`smtppolicy_verdicts_total{action="accept",check="greylist",code="250",stage="rcpt"} 1`,
				`smtppolicy_verdicts_total{action="accept",check="-",code="250",stage="end-of-data"} 1`,
				`smtppolicy_checks_total{action="reject",check="relay",stage="rcpt"} 1`,
				`smtppolicy_check_duration_seconds_count{check="greylist"} 2`,
				`smtppolicy_greylist_waiting 0`,
				`smtppolicy_greylist_total{outcome="new"} 1`,
				`smtppolicy_greylist_total{outcome="known"} 1`,
			} {
				if !strings.Contains(metrics, w+"\n") {
					t.Errorf("/metrics lacks %s:\n%s", w, grepPrefix(metrics, "smtppolicy_verdicts"))
				}
			}
		})
	}
}

// grepPrefix returns the lines of s that start with prefix.
func grepPrefix(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// -log-format text and json keep the library's records and add one short
// verdict record per verdict, accepts included.
func TestVerdictRecordFormats(t *testing.T) {
	timeRE := regexp.MustCompile(`^time=\S+ `)
	tests := []struct {
		format string
		want   []string
	}{
		{"text", []string{
			`level=INFO msg=verdict stage=rcpt action=reject code=550 reply="550 5.7.1 recipient <eve@elsewhere.example> relaying denied" check=relay rule=accepted-domains matched=elsewhere.example client=unknown[127.0.0.1] helo=mx.example.net from=alice@example.net to=eve@elsewhere.example`,
			`level=INFO msg=verdict stage=rcpt action=accept code=250 reply="250 2.0.0 OK" check=- rule=- client=unknown[127.0.0.1] helo=mx.example.net from=alice@example.net to=bob@example.org`,
		}},
		{"json", []string{
			`{"level":"INFO","msg":"verdict","stage":"rcpt","action":"reject","code":"550","reply":"550 5.7.1 recipient <eve@elsewhere.example> relaying denied","check":"relay","rule":"accepted-domains","matched":"elsewhere.example","client":"unknown[127.0.0.1]","helo":"mx.example.net","from":"alice@example.net","to":"eve@elsewhere.example"}`,
			`{"level":"INFO","msg":"verdict","stage":"rcpt","action":"accept","code":"250","reply":"250 2.0.0 OK","check":"-","rule":"-","client":"unknown[127.0.0.1]","helo":"mx.example.net","from":"alice@example.net","to":"bob@example.org"}`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			s := startServer(t, "-log-format", tt.format)
			swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "eve@elsewhere.example", "--quit-after", "RCPT")
			swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org", "--quit-after", "RCPT")
			var got []string
			for _, line := range strings.Split(s.logText(t), "\n") {
				if tt.format == "json" {
					var rec map[string]any
					if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "verdict" {
						continue
					}
					line = `{"level"` + strings.SplitN(line, `,"level"`, 2)[1]
				} else if !strings.Contains(line, " msg=verdict ") {
					continue
				}
				got = append(got, timeRE.ReplaceAllString(line, ""))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("verdict records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// Mail for the postmaster is accepted over a refusal (RFC 5321 4.5.1):
// the refusal's line is followed by the acceptance's, which says why.
// Postfix's shape is the default.
func TestVerdictLinePostmasterOverride(t *testing.T) {
	s := startServer(t)
	if out, err := swaks(t, s.addr, "--helo", "localhost", "--from", "alice@example.net", "--to", "postmaster@example.org", "--quit-after", "RCPT"); err != nil {
		t.Fatalf("postmaster refused: %v\n%s", err, out)
	}
	want := []string{
		`NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 550 5.7.0 HELO localhost argument must be a FQDN or IP-domain literal; from=<alice@example.net> to=<postmaster@example.org> proto=ESMTP helo=<localhost> check=helo-fqdn rule=rfc2821-strict-helo`,
		`NOQUEUE: accept: RCPT from unknown[127.0.0.1]: 250 2.0.0 OK; from=<alice@example.net> to=<postmaster@example.org> proto=ESMTP helo=<localhost> check=postmaster rule=rfc5321-4.5.1`,
	}
	var got []string
	for _, line := range strings.Split(s.logText(t), "\n") {
		if strings.HasPrefix(line, "NOQUEUE: ") {
			got = append(got, line)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("verdict lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
