package clamd_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
	"github.com/smtppolicy/smtppolicy/scan/clamd"
	"github.com/smtppolicy/smtppolicy/scan/clamd/clamdtest"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// One clamd serves the package's tests: its stream limit is 1 MiB, so the
// size-limit tests need no daemon of their own.
var shared struct {
	once sync.Once
	srv  *clamdtest.Server
	err  error
}

func realClamd(t testing.TB) *clamdtest.Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = clamdtest.Launch(clamdtest.Options{StreamMaxLength: "1M"}) })
	if errors.Is(shared.err, clamdtest.ErrMissing) {
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

// message builds a whole message (header, empty line, body) as the server
// hands it to end-of-data checks.
func message(body string) string {
	return "From: alice@example.net\r\nTo: bob@example.org\r\nSubject: test\r\n" +
		"Date: Fri, 04 Dec 2026 17:00:00 +0000\r\nMessage-ID: <t-1@example.net>\r\n\r\n" + body + "\r\n"
}

// session is at end of data with msg as the message the scanners read.
func session(msg string) *smtpcheck.Session {
	return checktest.NewSession("192.0.2.1").Helo("mx.example.net").From("alice@example.net").To("bob@example.org").Message(msg).Session()
}

func newScanner(t testing.TB, cfg clamd.Config) *clamd.Scanner {
	t.Helper()
	c, err := clamd.New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return c
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		infected bool
		virus    string
		err      error
	}{
		{"clean", "stream: OK\x00", false, "", nil},
		{"clean newline", "stream: OK\n", false, "", nil},
		{"found", "stream: Win.Test.EICAR_HDB-1 FOUND\x00", true, "Win.Test.EICAR_HDB-1", nil},
		{"found in session", "3: stream: Eicar-Signature FOUND\x00", true, "Eicar-Signature", nil},
		{"size limit", "INSTREAM size limit exceeded. ERROR\x00", false, "", clamd.ErrSizeLimit},
		{"scan error", "stream: Can't allocate memory ERROR\x00", false, "", clamd.ErrScanFailed},
		{"unknown command", "UNKNOWN COMMAND\x00", false, "", clamd.ErrUnexpected},
		{"bare error", "ERROR\x00", false, "", clamd.ErrUnexpected},
		{"found without name", "stream:  FOUND\x00", false, "", clamd.ErrUnexpected},
		{"name with control octet", "stream: a\x01b FOUND", false, "", clamd.ErrUnexpected},
		{"not stream", "/tmp/x: OK\x00", false, "", clamd.ErrUnexpected},
		{"empty", "", false, "", clamd.ErrUnexpected},
		{"http", "HTTP/1.1 400 Bad Request\r\n", false, "", clamd.ErrUnexpected},
		{"too long", "stream: " + strings.Repeat("A", 2000) + " FOUND", false, "", clamd.ErrOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := clamd.ParseReply(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseReply(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if v.Infected != tt.infected || v.Virus != tt.virus {
				t.Errorf("ParseReply(%q) = %+v, want infected=%v virus=%q", tt.in, v, tt.infected, tt.virus)
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	for in, want := range map[string]smtpcheck.Action{
		"reject": smtpcheck.Reject, "Discard": smtpcheck.Discard, "none": smtpcheck.Tag, "quarantine": smtpcheck.Quarantine,
	} {
		if got, err := clamd.ParseAction(in); err != nil || got != want {
			t.Errorf("ParseAction(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := clamd.ParseAction("accept"); err == nil {
		t.Error(`ParseAction("accept") succeeded, want an error`)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []clamd.Config{
		{},
		{Address: "unix:"},
		{Address: "host name:3310"},
		{Address: "127.0.0.1:3310", OnFound: smtpcheck.Accept},
	} {
		if _, err := clamd.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

// EICAR is refused with smtpf#208's reply naming the signature, over TCP and
// over the unix socket; a clean message passes with the reason "clean".
func TestRealClamd(t *testing.T) {
	srv := realClamd(t)
	for _, addr := range []string{srv.TCP, srv.Socket, "unix:" + srv.Socket} {
		t.Run(addr, func(t *testing.T) {
			check := newScanner(t, clamd.Config{Address: addr, OnError: smtpcheck.FailTemp}).Check()

			r := check(t.Context(), session(message("Hello.\r\n"+clamdtest.EICAR())))
			checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.7.1", clamd.Name)
			checktest.AssertReplyContains(t, r, "message test is INFECTED with "+clamdtest.Signature)
			checktest.AssertRule(t, r, "found", clamdtest.Signature)

			r = check(t.Context(), session(message("Shall we meet for lunch on Tuesday?")))
			checktest.AssertVerdict(t, r, smtpcheck.Continue, 0, "", clamd.Name)
			checktest.AssertRule(t, r, "clean", "")
			if r.Err != nil {
				t.Errorf("clean message: Err = %v", r.Err)
			}
		})
	}
}

// An attachment is scanned too: clamd decodes the message's MIME parts.
func TestRealClamdAttachment(t *testing.T) {
	srv := realClamd(t)
	check := newScanner(t, clamd.Config{Address: srv.TCP}).Check()
	msg := "From: alice@example.net\r\nTo: bob@example.org\r\nSubject: file\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--b1\r\nContent-Type: application/octet-stream; name=x.com\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElWSVJVUy1URVNU\r\nLUZJTEUhJEgrSCo=\r\n--b1--\r\n"
	r := check(t.Context(), session(msg))
	checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.7.1", clamd.Name)
	checktest.AssertRule(t, r, "found", clamdtest.Signature)
}

// smtpf's clamd-policy: discard throws the message away, none lets it
// through marked.
func TestOnFound(t *testing.T) {
	srv := realClamd(t)
	msg := message(clamdtest.EICAR())
	r := newScanner(t, clamd.Config{Address: srv.TCP, OnFound: smtpcheck.Discard}).Check()(t.Context(), session(msg))
	checktest.AssertVerdict(t, r, smtpcheck.Discard, 0, "", clamd.Name)

	none, _ := clamd.ParseAction("none")
	r = newScanner(t, clamd.Config{Address: srv.TCP, OnFound: none}).Check()(t.Context(), session(msg))
	checktest.AssertVerdict(t, r, smtpcheck.Tag, 0, "", clamd.Name)
	if len(r.Headers) != 1 || r.Headers[0].Name != "X-Virus-Found" || r.Headers[0].Value != clamdtest.Signature {
		t.Errorf("headers = %v, want X-Virus-Found: %s", r.Headers, clamdtest.Signature)
	}
}

// A message over clamd's StreamMaxLength: clamd answers "INSTREAM size limit
// exceeded" and the check defers with smtpf#199's reply. With MaxSize under
// clamd's limit the message's head is scanned and the message passes.
func TestRealClamdSizeLimit(t *testing.T) {
	srv := realClamd(t)
	big := message(strings.Repeat("0123456789abcdef", 128<<10)) // 2 MiB, over the 1 MiB limit
	r := newScanner(t, clamd.Config{Address: srv.TCP, OnError: smtpcheck.FailTemp}).Check()(t.Context(), session(big))
	checktest.AssertVerdict(t, r, smtpcheck.TempFail, 451, "4.4.0", clamd.Name)
	checktest.AssertReplyContains(t, r, "clamd session write error after ")
	if !errors.Is(r.Err, clamd.ErrSizeLimit) {
		t.Errorf("Err = %v, want ErrSizeLimit", r.Err)
	}

	r = newScanner(t, clamd.Config{Address: srv.TCP, OnError: smtpcheck.FailTemp, MaxSize: 512 << 10}).Check()(t.Context(), session(big))
	checktest.AssertVerdict(t, r, smtpcheck.Continue, 0, "", clamd.Name)
	if r.Err != nil {
		t.Errorf("MaxSize under the limit: Err = %v", r.Err)
	}
}

// readStream reads a whole INSTREAM request, as clamd does, and returns the
// message.
func readStream(c net.Conn) []byte {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	cmd := make([]byte, len("zINSTREAM\x00"))
	if _, err := io.ReadFull(c, cmd); err != nil {
		return nil
	}
	var msg bytes.Buffer
	for {
		var n [4]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return nil
		}
		size := int(n[0])<<24 | int(n[1])<<16 | int(n[2])<<8 | int(n[3])
		if size == 0 {
			return msg.Bytes()
		}
		if _, err := io.CopyN(&msg, c, int64(size)); err != nil {
			return nil
		}
	}
}

// stall waits without answering until the client closes the connection.
func stall(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, c)
}

// Every way clamd can fail gives the catalog's 451 4.4.0 reply naming the
// failed step under FailTemp, never a 5xx and never a wait past the
// deadline.
func TestFailures(t *testing.T) {
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	down := closed.Addr().String()
	closed.Close()

	slow := peertest.Serve(t, func(c net.Conn) {
		readStream(c)
		stall(c) // answers only after the check has given up
		c.Write([]byte("stream: OK\x00"))
	})
	garbage := peertest.Serve(t, func(c net.Conn) {
		readStream(c)
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	})
	endless := peertest.Serve(t, func(c net.Conn) {
		readStream(c)
		c.Write(bytes.Repeat([]byte("A"), 4096))
	})
	hangup := peertest.Serve(t, func(c net.Conn) { readStream(c) })
	scanErr := peertest.Serve(t, func(c net.Conn) {
		readStream(c)
		c.Write([]byte("stream: Can't allocate memory ERROR\x00"))
	})

	tests := []struct {
		name, addr, reply, rule string
		err                     error
	}{
		{"down", down, "clamd connect error: connection refused (111)", "connect", nil},
		{"no socket", "unix:" + filepath.Join(t.TempDir(), "none.sock"), "clamd connect error: no such file or directory (2)", "connect", nil},
		{"slow", slow, "clamd session read error: i/o timeout (110)", "session read", os.ErrDeadlineExceeded},
		{"garbage", garbage, "unexpected clamd result: HTTP/1.1 400 Bad Request", "result", clamd.ErrUnexpected},
		{"endless", endless, "clamd buffer overflow", "result", clamd.ErrOverflow},
		{"hangs up", hangup, "clamd session read error: connection closed (0)", "session read", io.ErrUnexpectedEOF},
		{"scan error", scanErr, "unexpected clamd result: stream: Can't allocate memory ERROR", "result", clamd.ErrScanFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clamd.Config{Address: tt.addr, Timeout: 300 * time.Millisecond, OnError: smtpcheck.FailTemp}
			r := newScanner(t, cfg).Check()(t.Context(), session(message("hello")))
			checktest.AssertVerdict(t, r, smtpcheck.TempFail, 451, "4.4.0", clamd.Name)
			checktest.AssertReplyContains(t, r, tt.reply)
			checktest.AssertRule(t, r, tt.rule, "")
			if tt.err != nil && !errors.Is(r.Err, tt.err) {
				t.Errorf("Err = %v, want %v", r.Err, tt.err)
			}

			// The same failure under the other policies.
			cfg.OnError = smtpcheck.FailOpen
			r = newScanner(t, cfg).Check()(t.Context(), session(message("hello")))
			if r.Action != smtpcheck.Continue || r.Err == nil {
				t.Errorf("fail-open: action %v err %v, want continue with the error kept", r.Action, r.Err)
			}
			cfg.OnError = smtpcheck.FailClosed
			r = newScanner(t, cfg).Check()(t.Context(), session(message("hello")))
			checktest.AssertVerdict(t, r, smtpcheck.Reject, 554, "", clamd.Name)
		})
	}
}

// The caller's deadline, when sooner than the Scanner's Timeout, ends the
// exchange: a policy's per-command deadline is never overrun.
func TestCallerDeadline(t *testing.T) {
	slow := peertest.Serve(t, func(c net.Conn) {
		readStream(c)
		stall(c)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	c := newScanner(t, clamd.Config{Address: slow, Timeout: time.Minute, OnError: smtpcheck.FailTemp})
	r := c.Check()(ctx, session(message("hello")))
	checktest.AssertVerdict(t, r, smtpcheck.TempFail, 451, "4.4.0", clamd.Name)
	checktest.AssertReplyContains(t, r, "clamd session read error: i/o timeout")
}

// The fake server sees exactly the message, in INSTREAM chunks.
func TestStreamFraming(t *testing.T) {
	got := make(chan []byte, 1)
	addr := peertest.Serve(t, func(c net.Conn) {
		got <- readStream(c)
		c.Write([]byte("stream: OK\x00"))
	})
	msg := message(strings.Repeat("x", 200<<10)) // several chunks
	v, err := newScanner(t, clamd.Config{Address: addr}).Scan(t.Context(), strings.NewReader(msg))
	if err != nil || v.Infected {
		t.Fatalf("Scan = %+v, %v; want clean", v, err)
	}
	if b := <-got; string(b) != msg {
		t.Errorf("clamd received %d octets, want the %d of the message", len(b), len(msg))
	}
}

// Outside end of data there is no message and no opinion.
func TestNoMessage(t *testing.T) {
	c := newScanner(t, clamd.Config{Address: "127.0.0.1:1"})
	s := checktest.NewSession("192.0.2.1").Helo("mx.example.net").At(smtpcheck.StageHelo)
	if r := c.Check()(t.Context(), s); !r.IsZero() {
		t.Errorf("check without a message = %+v, want zero", r)
	}
}
