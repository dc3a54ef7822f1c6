package spamd_test

import (
	"errors"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
	"github.com/smtppolicy/smtppolicy/scan/spamd"
	"github.com/smtppolicy/smtppolicy/scan/spamd/spamdtest"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// One spamd serves the package's tests: it takes a second or more to load
// its rules.
var shared struct {
	once sync.Once
	srv  *spamdtest.Server
	err  error
}

func realSpamd(t testing.TB) *spamdtest.Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = spamdtest.Launch() })
	if errors.Is(shared.err, spamdtest.ErrMissing) {
		peertest.Missing(t, shared.err.Error())
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.Close()
	}
	os.Exit(code)
}

// message builds a whole message with a complete header, as a real client
// sends it; extra header lines go before Subject.
func message(extra, body string) string {
	return "Received: from mx.example.net (mx.example.net [192.0.2.1]) by mx.example.org with ESMTP id 4F2A; Fri, 04 Dec 2026 17:00:00 +0000\r\n" +
		"From: Alice <alice@example.net>\r\nTo: Bob <bob@example.org>\r\n" + extra + "Subject: lunch on Tuesday\r\n" +
		"Date: Fri, 04 Dec 2026 17:00:00 +0000\r\nMessage-ID: <20261204170000.4F2A@example.net>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body + "\r\n"
}

const plain = "Hi Bob,\r\n\r\nShall we meet for lunch on Tuesday at noon? The usual place.\r\n\r\nAlice"

// session is at end of data with msg as the message the scanners read and
// its header parsed.
func session(msg string) *smtpcheck.Session {
	return checktest.NewSession("192.0.2.1").Helo("mx.example.net").From("alice@example.net").To("bob@example.org").Message(msg).Session()
}

func newScanner(t testing.TB, cfg spamd.Config) *spamd.Scanner {
	t.Helper()
	c, err := spamd.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return c
}

func header(r smtpcheck.Result, name string) string {
	for _, h := range r.Headers {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// GTUBE is refused with smtpf#693's reply giving the score; the reason
// names the rule. A plain message passes with SpamAssassin's headers.
func TestRealSpamd(t *testing.T) {
	srv := realSpamd(t)
	check := newScanner(t, spamd.Config{Address: srv.Addr, OnError: smtpcheck.FailTemp}).Check()

	r := check(t.Context(), session(message("", "Buy now!\r\n"+spamdtest.GTUBE)))
	checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.7.1", spamd.Name)
	checktest.AssertReplyContains(t, r, "message test junk mail score 10")
	checktest.AssertReplyContains(t, r, "/5.00")
	checktest.AssertRule(t, r, "score-reject", "")
	if !strings.Contains(r.Reason.Evidence, "GTUBE") || r.Score < 1000 {
		t.Errorf("reason %s, score %v: want GTUBE named and a score of 1000 or more", r.Reason, r.Score)
	}

	r = check(t.Context(), session(message("", plain)))
	if r.Action != smtpcheck.Continue || r.Err != nil {
		t.Fatalf("plain message: action %v err %v (reason %s), want continue", r.Action, r.Err, r.Reason)
	}
	if r.Score >= 5 {
		t.Errorf("plain message scored %v, want under spamd's 5.0", r.Score)
	}
	if got := header(r, "X-Spam-Flag"); got != "NO" {
		t.Errorf("X-Spam-Flag = %q, want NO", got)
	}
	if got := header(r, "X-Spam-Status"); !strings.HasPrefix(got, "No, score=") || !strings.Contains(got, "required=5.0") {
		t.Errorf("X-Spam-Status = %q, want No, score=... required=5.0", got)
	}
	if got := header(r, "X-Spam-Score"); got == "" {
		t.Error("no X-Spam-Score header")
	}
}

// Below the reject threshold, spamd's own judgement tags: GTUBE with
// rejection off is accepted with X-Spam-Flag: YES; a quarantine threshold
// quarantines it.
func TestRealSpamdThresholds(t *testing.T) {
	srv := realSpamd(t)
	gtube := session(message("", spamdtest.GTUBE))

	r := newScanner(t, spamd.Config{Address: srv.Addr, Thresholds: smtpcheck.Thresholds{Reject: math.Inf(1)}}).Check()(t.Context(), gtube)
	checktest.AssertVerdict(t, r, smtpcheck.Tag, 0, "", spamd.Name)
	if got := header(r, "X-Spam-Flag"); got != "YES" {
		t.Errorf("X-Spam-Flag = %q, want YES", got)
	}
	if got := header(r, "X-Spam-Level"); got != strings.Repeat("*", 50) {
		t.Errorf("X-Spam-Level = %q, want 50 stars", got)
	}

	r = newScanner(t, spamd.Config{Address: srv.Addr, Thresholds: smtpcheck.Thresholds{Quarantine: 20, Reject: 2000}}).Check()(t.Context(), gtube)
	checktest.AssertVerdict(t, r, smtpcheck.Quarantine, 0, "", spamd.Name)
	checktest.AssertRule(t, r, "score-quarantine", "")
}

// The sender's own spam marks refuse the message without asking spamd
// (the address here has nothing listening).
func TestSenderMarkedSpam(t *testing.T) {
	down := closedAddr(t)
	tests := []struct {
		name   string
		cfg    spamd.Config
		extra  string
		refuse bool
	}{
		{"flag", spamd.Config{SenderMarkedSpam: true}, "X-Spam-Flag: YES\r\n", true},
		{"flag off", spamd.Config{}, "X-Spam-Flag: YES\r\n", false},
		{"status over reject", spamd.Config{RejectSenderMarkedSpam: true}, "X-Spam-Status: Yes, score=15.2 required=5.0 tests=FOO\r\n", true},
		{"status hits", spamd.Config{RejectSenderMarkedSpam: true}, "X-Spam-Status: Yes, hits=12 required=5\r\n", true},
		{"status under reject", spamd.Config{RejectSenderMarkedSpam: true}, "X-Spam-Status: Yes, score=6.1 required=5.0\r\n", false},
		{"status, option off", spamd.Config{}, "X-Spam-Status: Yes, score=15.2 required=5.0\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Address = down
			r := newScanner(t, tt.cfg).Check()(t.Context(), session(message(tt.extra, plain)))
			if !tt.refuse {
				if r.Reason.Rule == "sender-marked-spam" || r.Err == nil {
					t.Errorf("result %v (reason %s, err %v): want spamd asked (and found down)", r.Action, r.Reason, r.Err)
				}
				return
			}
			checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.7.1", spamd.Name)
			checktest.AssertReplyContains(t, r, "message was already marked as spam by sender")
			checktest.AssertRule(t, r, "sender-marked-spam", "")
		})
	}
}

// A message over MaxSize passes unscored, as spamc passes it.
func TestMaxSize(t *testing.T) {
	c := newScanner(t, spamd.Config{Address: closedAddr(t), MaxSize: 1000, OnError: smtpcheck.FailTemp})
	r := c.Check()(t.Context(), session(message("", strings.Repeat("x", 2000))))
	if r.Action != smtpcheck.Continue || r.Err != nil || r.Reason.Rule != "max-size" {
		t.Errorf("result %v (reason %s, err %v), want continue for max-size", r.Action, r.Reason, r.Err)
	}
}

func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// readRequest reads a SPAMC request to its end (the client half-closes).
func readRequest(c net.Conn) string {
	b, _ := io.ReadAll(c)
	return string(b)
}

// Every way spamd can fail gives the catalog's 451 4.4.0 scanner reply
// under FailTemp, passes under FailOpen (smtpf's behaviour) with the error
// kept, and is refused under FailClosed.
func TestFailures(t *testing.T) {
	block := make(chan struct{})
	slow := peertest.Serve(t, func(c net.Conn) {
		readRequest(c)
		<-block // never answers while the test runs
	})
	t.Cleanup(func() { close(block) })
	garbage := peertest.Serve(t, func(c net.Conn) {
		readRequest(c)
		io.WriteString(c, "220 mx.example.org ESMTP\r\n")
	})
	refused := peertest.Serve(t, func(c net.Conn) {
		readRequest(c)
		io.WriteString(c, "SPAMD/1.0 76 Bad header line: SYMBOLS SPAMC/1.5\r\n")
	})
	hangup := peertest.Serve(t, func(c net.Conn) { readRequest(c) })
	short := peertest.Serve(t, func(c net.Conn) {
		readRequest(c)
		io.WriteString(c, "SPAMD/1.1 0 EX_OK\r\nContent-length: 50\r\nSpam: False ; 0.1 / 5.0\r\n\r\nNO_RE")
	})
	tests := []struct {
		name, addr, reply, rule string
		err                     error
	}{
		{"down", closedAddr(t), "spamd connect error: connection refused (111)", "connect", nil},
		{"no socket", filepath.Join(t.TempDir(), "spamd.sock"), "spamd connect error: no such file or directory (2)", "connect", nil},
		{"slow", slow, "spamd session read error: i/o timeout (110)", "session read", os.ErrDeadlineExceeded},
		{"garbage", garbage, "unexpected spamd result: 220 mx.example.org ESMTP", "result", spamd.ErrUnexpected},
		{"refused", refused, "unexpected spamd result: SPAMD/1.0 76 Bad header line", "result", nil},
		{"hangs up", hangup, "spamd session read error: connection closed (0)", "session read", io.ErrUnexpectedEOF},
		{"short body", short, "unexpected spamd result: SPAMD/1.1 0 EX_OK", "result", spamd.ErrUnexpected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := spamd.Config{Address: tt.addr, Timeout: 300 * time.Millisecond, OnError: smtpcheck.FailTemp}
			r := newScanner(t, cfg).Check()(t.Context(), session(message("", plain)))
			checktest.AssertVerdict(t, r, smtpcheck.TempFail, 451, "4.4.0", spamd.Name)
			checktest.AssertReplyContains(t, r, tt.reply)
			checktest.AssertRule(t, r, tt.rule, "")
			if tt.err != nil && !errors.Is(r.Err, tt.err) {
				t.Errorf("Err = %v, want %v", r.Err, tt.err)
			}
			cfg.OnError = smtpcheck.FailOpen
			r = newScanner(t, cfg).Check()(t.Context(), session(message("", plain)))
			if r.Action != smtpcheck.Continue || r.Err == nil {
				t.Errorf("fail-open: action %v err %v, want continue with the error kept", r.Action, r.Err)
			}
			cfg.OnError = smtpcheck.FailClosed
			r = newScanner(t, cfg).Check()(t.Context(), session(message("", plain)))
			checktest.AssertVerdict(t, r, smtpcheck.Reject, 554, "", spamd.Name)
		})
	}
}

// The request is the SPAMC protocol: SYMBOLS, the exact Content-length, the
// User header when set, and the message.
func TestRequest(t *testing.T) {
	got := make(chan string, 1)
	addr := peertest.Serve(t, func(c net.Conn) {
		got <- readRequest(c)
		io.WriteString(c, "SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: False ; 1.5 / 5.0\r\n\r\nRULE1")
	})
	msg := message("", plain)
	v, err := newScanner(t, spamd.Config{Address: addr, User: "bob"}).Scan(t.Context(), strings.NewReader(msg), int64(len(msg)))
	if err != nil || v.Spam || v.Score != 1.5 || v.Required != 5 || len(v.Rules) != 1 || v.Rules[0] != "RULE1" {
		t.Fatalf("Scan = %+v, %v", v, err)
	}
	want := "SYMBOLS SPAMC/1.5\r\nContent-length: " + strconv.Itoa(len(msg)) + "\r\nUser: bob\r\n\r\n" + msg
	if req := <-got; req != want {
		t.Errorf("request:\n%q\nwant\n%q", req, want)
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		spam  bool
		score float64
		rules string
		err   error
	}{
		{"spam", "SPAMD/1.1 0 EX_OK\r\nContent-length: 11\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,FOO_1", true, 1000, "GTUBE,FOO_1", nil},
		{"ham, CHECK", "SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.1 / 5.0\r\n\r\n", false, -0.1, "", nil},
		{"old yes", "SPAMD/1.1 0 EX_OK\nSpam: Yes ; 7.2 / 5.0\n\n", true, 7.2, "", nil},
		{"no blank line", "SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0 / 5\r\n", false, 0, "", nil},
		{"status error", "SPAMD/1.0 76 Bad header line: X\r\n", false, 0, "", nil},
		{"not spamd", "HTTP/1.1 200 OK\r\n\r\n", false, 0, "", spamd.ErrUnexpected},
		{"no spam header", "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n", false, 0, "", spamd.ErrUnexpected},
		{"bad score", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; lots / 5.0\r\n\r\n", false, 0, "", spamd.ErrUnexpected},
		{"bad flag", "SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 1 / 5.0\r\n\r\n", false, 0, "", spamd.ErrUnexpected},
		{"bad rule", "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5.0\r\n\r\nA B", false, 0, "", spamd.ErrUnexpected},
		{"endless line", "SPAMD/1.1 0 EX_OK\r\nSpam: " + strings.Repeat("x", 4000), false, 0, "", spamd.ErrOverflow},
		{"huge body", "SPAMD/1.1 0 EX_OK\r\nContent-length: 999999999\r\nSpam: True ; 1 / 5.0\r\n\r\n", false, 0, "", spamd.ErrOverflow},
		{"empty", "", false, 0, "", io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := spamd.ParseReply(strings.NewReader(tt.in))
			if tt.name == "status error" {
				var se *spamd.StatusError
				if !errors.As(err, &se) || se.Code != 76 {
					t.Fatalf("ParseReply(%q) error = %v, want a StatusError with code 76", tt.in, err)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseReply(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if err != nil {
				return
			}
			if v.Spam != tt.spam || v.Score != tt.score || strings.Join(v.Rules, ",") != tt.rules {
				t.Errorf("ParseReply(%q) = %+v, want spam=%v score=%v rules=%q", tt.in, v, tt.spam, tt.score, tt.rules)
			}
		})
	}
}

// Decide applies the thresholds as smtpcheck.Score does, the highest reached
// winning, and folds long rule lists in X-Spam-Status.
func TestDecide(t *testing.T) {
	rules := strings.Split("A_LONG_RULE_NAME_1,A_LONG_RULE_NAME_2,A_LONG_RULE_NAME_3,A_LONG_RULE_NAME_4,A_LONG_RULE_NAME_5,A_LONG_RULE_NAME_6", ",")
	tests := []struct {
		th     smtpcheck.Thresholds
		score  float64
		spam   bool
		action smtpcheck.Action
	}{
		{smtpcheck.Thresholds{}, 10, true, smtpcheck.Reject},
		{smtpcheck.Thresholds{}, 9.9, true, smtpcheck.Tag},
		{smtpcheck.Thresholds{}, 4, false, smtpcheck.Continue},
		{smtpcheck.Thresholds{Reject: 20, TempFail: 15, Quarantine: 10, Tag: 3}, 16, true, smtpcheck.TempFail},
		{smtpcheck.Thresholds{Reject: 20, TempFail: 15, Quarantine: 10, Tag: 3}, 12, true, smtpcheck.Quarantine},
		{smtpcheck.Thresholds{Reject: 20, TempFail: 15, Quarantine: 10, Tag: 3}, 3, false, smtpcheck.Tag},
		{smtpcheck.Thresholds{Reject: 20, Allow: -2}, -3, false, smtpcheck.Accept},
		{smtpcheck.Thresholds{Reject: math.Inf(1)}, 5000, true, smtpcheck.Tag},
	}
	for _, tt := range tests {
		c := newScanner(t, spamd.Config{Address: "127.0.0.1", Thresholds: tt.th})
		r := c.Decide(nil, spamd.Verdict{Spam: tt.spam, Score: tt.score, Required: 5, Rules: rules})
		if r.Action != tt.action || r.Score != tt.score {
			t.Errorf("Decide(%+v, score %v) = %v score %v, want %v", tt.th, tt.score, r.Action, r.Score, tt.action)
		}
		if r.Action.Refuses() {
			continue
		}
		status := header(r, "X-Spam-Status")
		for _, line := range strings.Split("X-Spam-Status: "+status, "\r\n") {
			if len(line) > 78 {
				t.Errorf("X-Spam-Status line of %d octets: %q", len(line), line)
			}
		}
		if strings.ReplaceAll(status, "\r\n\t", "") != status[:strings.Index(status, "tests=")+6]+strings.Join(rules, ",") {
			t.Errorf("X-Spam-Status = %q: rules lost in folding", status)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []spamd.Config{{}, {Address: "unix:"}, {Address: "127.0.0.1", User: "a\r\nb"}} {
		if _, err := spamd.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}
