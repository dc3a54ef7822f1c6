package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/scan/clamd/clamdtest"
	"github.com/smtppolicy/smtppolicy/scan/spamd/spamdtest"
)

// scanMessage is a complete message with body as its text.
func scanMessage(t *testing.T, body string, extra ...string) string {
	t.Helper()
	msg := "From: Alice <alice@example.net>\r\nTo: Bob <bob@example.org>\r\n" + strings.Join(extra, "") + "Subject: lunch on Tuesday\r\n" +
		"Date: Fri, 04 Dec 2026 17:00:00 +0000\r\nMessage-ID: <scan-1@example.net>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body
	p := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(p, []byte(msg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sendWith(t *testing.T, s *server, data string) (string, error) {
	t.Helper()
	return swaks(t, s.addr, "--helo", "mx.example.net", "--from", "alice@example.net", "--to", "bob@example.org", "--data", "@"+data)
}

const lunch = "Hi Bob,\r\n\r\nShall we meet for lunch on Tuesday at noon? The usual place.\r\n\r\nAlice"

// swaks sends EICAR through smtpd to a real clamd, over TCP and over the unix
// socket: refused at end of data with smtpf#208's reply naming the
// signature, nothing stored. A clean message is stored. With clamd down the
// message is deferred with the catalog's reply naming the failed step.
func TestSwaksClamd(t *testing.T) {
	needTool(t, "swaks")
	cd := clamdtest.Start(t, clamdtest.Options{})
	for _, addr := range []string{cd.TCP, cd.Socket} {
		s := startServer(t, "-clamd-socket", addr)
		out, err := sendWith(t, s, scanMessage(t, "See the file:\r\n"+clamdtest.EICAR()))
		if err == nil || !strings.Contains(out, "<** 550 5.7.1 message ") || !strings.Contains(out, " is INFECTED with "+clamdtest.Signature) {
			t.Errorf("%s: want EICAR refused with 550 5.7.1 naming %s; swaks err=%v:\n%s", addr, clamdtest.Signature, err, out)
		}
		if n := len(s.messages(t)); n != 0 {
			t.Errorf("%s: stored %d messages after the virus, want none", addr, n)
		}
		if out, err := sendWith(t, s, scanMessage(t, lunch)); err != nil {
			t.Errorf("%s: clean message refused: %v\n%s", addr, err, out)
		}
		if n := len(s.messages(t)); n != 1 {
			t.Errorf("%s: stored %d messages, want the clean one", addr, n)
		}
		if log := s.logText(t); !strings.Contains(log, "matched="+clamdtest.Signature) {
			t.Errorf("%s: the decision log does not name the signature", addr)
		}
	}

	down := filepath.Join(t.TempDir(), "clamd.sock")
	s := startServer(t, "-clamd-socket", down)
	out, err := sendWith(t, s, scanMessage(t, lunch))
	if err == nil || !strings.Contains(out, "<** 451 4.4.0 clamd connect error: no such file or directory (2)") {
		t.Errorf("clamd down: want 451 4.4.0 clamd connect error; swaks err=%v:\n%s", err, out)
	}
}

// swaks sends GTUBE through smtpd to a real spamd: refused with smtpf#693's
// score reply. A plain message is stored with SpamAssassin's headers.
func TestSwaksSpamd(t *testing.T) {
	needTool(t, "swaks")
	sd := spamdtest.Start(t)
	s := startServer(t, "-spamd-socket", sd.Addr, "-spamd-error-policy", "temp-fail")
	out, err := sendWith(t, s, scanMessage(t, "Buy now!\r\n"+spamdtest.GTUBE))
	if err == nil || !strings.Contains(out, "<** 550 5.7.1 message ") || !strings.Contains(out, " junk mail score 10") {
		t.Errorf("GTUBE: want 550 5.7.1 junk mail score; swaks err=%v:\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 0 {
		t.Errorf("stored %d messages after GTUBE, want none", n)
	}
	if out, err := sendWith(t, s, scanMessage(t, lunch)); err != nil {
		t.Fatalf("plain message refused: %v\n%s", err, out)
	}
	msgs := s.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want the plain one", len(msgs))
	}
	for _, want := range []string{"\r\nX-Spam-Flag: NO\r\n", "\r\nX-Spam-Status: No, score=", "\r\nX-Spam-Score: "} {
		if !bytes.Contains(msgs[0], []byte(want)) {
			t.Errorf("stored message lacks %q:\n%s", strings.TrimSpace(want), msgs[0])
		}
	}

	// A message its sender's filter marked as spam is refused without a
	// score (smtpf#679).
	s = startServer(t, "-spamd-socket", sd.Addr, "-spamd-sender-marked-spam")
	out, err = sendWith(t, s, scanMessage(t, lunch, "X-Spam-Flag: YES\r\n"))
	if err == nil || !strings.Contains(out, "<** 550 5.7.1 message was already marked as spam by sender") {
		t.Errorf("X-Spam-Flag: YES: want 550 5.7.1 already marked; swaks err=%v:\n%s", err, out)
	}
}
