package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPostfixReloadKeepsTripletsAndAppliesFile checks SIGHUP behind a
// real Postfix: the -config file is read anew and its new parameters
// apply to the next SMTP session, the greylist's triplets survive the
// reload (a retry after the delay passes instead of being deferred by a
// fresh store), and a file with a bad value leaves the running policy in
// force, the log naming the file's line.
func TestPostfixReloadKeepsTripletsAndAppliesFile(t *testing.T) {
	cf := filepath.Join(t.TempDir(), "main.cf")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(cf, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	grey := "smtppolicy_greylist_store = memory:\nsmtppolicy_greylist_delay = 1s\n"
	write(grey)
	f := startMilter(t, "-config", cf)
	in := startPostfix(t, f.addr)
	rcpt := func() (int, string, *smtpClient) {
		s := dial(t, in.addr)
		s.begin("192.0.2.9", "mx.client.example", "mx.client.example")
		s.expect("MAIL FROM:<a@client.example>", 250)
		code, text := s.cmd("RCPT TO:<b@example.org>")
		return code, text, s
	}
	code, text, s := rcpt()
	if code/100 != 4 {
		t.Fatalf("first RCPT = %q, want the greylist's 4xx", text)
	}
	s.expect("QUIT", 221)
	// The file was the whole policy: no hygiene checks, so a message
	// without Date and Message-ID would pass. The new file turns them on.
	write(grey + "smtppolicy_hygiene = yes\n")
	reload := func(want string) {
		t.Helper()
		before := strings.Count(f.logText(t), want)
		f.cmd.Process.Signal(syscall.SIGHUP)
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(f.logText(t), want) == before {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the filter's log after SIGHUP:\n%s", want, f.logText(t))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	reload("reloaded the policy")
	time.Sleep(1500 * time.Millisecond)
	noDate := "From: <a@client.example>\nSubject: no date, no id\n\nhello\n"
	code, text, s = rcpt()
	if code != 250 {
		t.Fatalf("RCPT after the delay and a reload = %q, want 250 (the triplet kept)", text)
	}
	if code, text := s.data(noDate); code/100 != 5 {
		t.Fatalf("message without Date/Message-ID after the reload = %q, want the header check's refusal", text)
	}
	s.expect("QUIT", 221)

	write(grey + "smtppolicy_hygiene = maybe\n")
	reload("reload failed")
	if log := f.logText(t); !strings.Contains(log, "main.cf:3") {
		t.Errorf("the failed reload's log does not name main.cf:3:\n%s", log)
	}
	code, text, s = rcpt()
	if code != 250 {
		t.Fatalf("RCPT after a failed reload = %q, want 250", text)
	}
	if code, text := s.data(noDate); code/100 != 5 {
		t.Fatalf("message without Date/Message-ID after a failed reload = %q, want the running policy's refusal", text)
	}
	s.expect("QUIT", 221)
}
