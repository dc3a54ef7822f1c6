package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/internal/peertest"
)

// server is the example server running in-process on a loopback port.
type server struct {
	addr    string
	maildir string
	logPath string
}

// startServer runs smtpd with args plus a loopback listener and a temporary
// maildir; it stops when the test ends.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	dir := t.TempDir()
	logf, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"-listen", "127.0.0.1:0", "-maildir", dir, "-v"}, args...)
	srv, ln, _, err := setup(args, logf)
	if err != nil {
		t.Fatalf("setup(%q): %v", args, err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	s := &server{addr: ln.Addr().String(), maildir: dir, logPath: logf.Name()}
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("server log:\n%s", b)
		}
	})
	return s
}

func (s *server) logText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// messages returns the .eml files written so far.
func (s *server) messages(t *testing.T) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.maildir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// stripReceived removes the leading Received: field (with its folded lines).
func stripReceived(t *testing.T, eml []byte) []byte {
	t.Helper()
	if !bytes.HasPrefix(eml, []byte("Received: ")) {
		t.Fatalf("stored message does not start with a Received: line: %q", firstLine(eml))
	}
	rest := eml
	for {
		i := bytes.Index(rest, []byte("\r\n"))
		if i < 0 {
			t.Fatalf("unterminated Received: field")
		}
		rest = rest[i+2:]
		if len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\t') {
			return rest
		}
	}
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	return peertest.Look(t, name, name)
}

// swaks runs swaks against the server and returns its transcript and error.
func swaks(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	swaksPath := needTool(t, "swaks")
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, swaksPath, append([]string{"--server", host, "--port", port, "--timeout", "20"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

const testMessage = "From: Alice <alice@example.net>\r\n" +
	"To: Bob <bob@example.org>\r\n" +
	"Subject: end to end\r\n" +
	"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n" +
	"Message-ID: <e2e-1@example.net>\r\n" +
	"\r\n" +
	"Hello Bob,\r\n" +
	"..a line that starts with a dot must come back with one dot.\r\n" +
	"Bye.\r\n"

func TestSwaksMessageStoredByteForByte(t *testing.T) {
	s := startServer(t)
	data := filepath.Join(t.TempDir(), "msg.eml")
	// swaks dot-stuffs on the wire and ends the data with CRLF.CRLF itself,
	// so the file holds the unstuffed message without its last CRLF.
	sent := strings.Replace(testMessage, "\r\n..a line", "\r\n.a line", 1)
	if err := os.WriteFile(data, []byte(strings.TrimSuffix(sent, "\r\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org", "--data", "@"+data)
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	msgs := s.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1\nswaks:\n%s", len(msgs), out)
	}
	want := []byte(sent)
	got := stripReceived(t, msgs[0])
	if !bytes.Equal(got, want) {
		t.Errorf("stored message differs from the one sent:\ngot  %q\nwant %q", got, want)
	}
	if !bytes.Contains(msgs[0], []byte("from mx.example.net (unknown [127.0.0.1])")) {
		t.Errorf("Received line lacks the HELO and client: %q", firstLine(msgs[0]))
	}
}

func TestSwaksRelayDenied(t *testing.T) {
	s := startServer(t)
	out, err := swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "someone@elsewhere.example")
	if err == nil {
		t.Fatalf("swaks succeeded relaying to a foreign domain:\n%s", out)
	}
	if !strings.Contains(out, "<** 550 5.7.1 recipient <someone@elsewhere.example> relaying denied") {
		t.Errorf("swaks transcript lacks the relaying-denied reply:\n%s", out)
	}
	if n := len(s.messages(t)); n != 0 {
		t.Errorf("stored %d messages, want none", n)
	}
	log := s.logText(t)
	if !strings.Contains(log, "relay") || !strings.Contains(log, "accepted-domains") {
		t.Errorf("decision log does not name the relay check:\n%s", log)
	}
}

func TestPythonSmtplib(t *testing.T) {
	py := needTool(t, "python3")
	s := startServer(t)
	host, port, _ := net.SplitHostPort(s.addr)
	script := `
import smtplib, sys
msg = sys.stdin.buffer.read()
with smtplib.SMTP(sys.argv[1], int(sys.argv[2]), local_hostname="client.example.net", timeout=20) as c:
    c.sendmail("alice@example.net", ["bob@example.org"], msg)
    try:
        c.sendmail("alice@example.net", ["eve@elsewhere.example"], msg)
    except smtplib.SMTPRecipientsRefused as e:
        code, text = e.recipients["eve@elsewhere.example"]
        print("refused", code, text.decode())
`
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script, host, port)
	cmd.Stdin = strings.NewReader(testMessage)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python smtplib: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "refused 550 5.7.1 recipient <eve@elsewhere.example> relaying denied") {
		t.Errorf("smtplib output = %q, want the relaying-denied refusal", out)
	}
	msgs := s.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1", len(msgs))
	}
	if got := stripReceived(t, msgs[0]); string(got) != testMessage {
		t.Errorf("stored message differs:\ngot  %q\nwant %q", got, testMessage)
	}
}

// A client that talks before the greeting is refused (GreetPause, smtpf#420).
func TestPreGreetingTalkRefused(t *testing.T) {
	s := startServer(t, "-greet-pause", "300ms")
	c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("EHLO eager.example.net\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"))
	// Greeting, EHLO, MAIL, then the refusal held for RCPT.
	r := bufio.NewReader(c)
	var seen []string
	for len(seen) < 20 {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		seen = append(seen, line)
		if strings.HasPrefix(line, "550 ") {
			break
		}
	}
	if last := seen[len(seen)-1]; !strings.Contains(last, "sent pre-greeting traffic") {
		t.Errorf("server replies to a pre-greeting talker:\n%s", strings.Join(seen, ""))
	}
}

// -metrics serves counts per check and verdict through expvar.
func TestMetrics(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	s := startServer(t, "-metrics", addr)
	swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "eve@elsewhere.example")
	resp, err := http.Get("http://" + addr + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var vars struct {
		Smtppolicy struct {
			Checks    map[string]int `json:"checks"`
			Decisions map[string]int `json:"decisions"`
		} `json:"smtppolicy"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		t.Fatal(err)
	}
	if vars.Smtppolicy.Checks["relay rcpt reject"] != 1 || vars.Smtppolicy.Decisions["rcpt reject"] != 1 {
		t.Errorf("metrics = %+v, want one relay rejection at rcpt", vars.Smtppolicy)
	}
}

// Postfix's smtp-source, several sessions at once, each message stored.
func TestSMTPSource(t *testing.T) {
	src := peertest.Look(t, "smtp-source", "postfix")
	s := startServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, src, "-s", "4", "-m", "40", "-l", "1024",
		"-f", "alice@example.net", "-t", "bob@example.org", "-M", "mx.example.net", s.addr).CombinedOutput()
	if err != nil {
		t.Fatalf("smtp-source: %v\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 40 {
		t.Errorf("stored %d messages, want 40", n)
	}
}
