package main

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// A first delivery that fails (451: the maildir cannot be written) is not
// remembered: the client's retry is taken, not refused as a duplicate of a
// message never stored. A copy after that acceptance is refused.
func TestSwaksDuplicateAfterFailedDelivery(t *testing.T) {
	needTool(t, "swaks")
	s := startServer(t, "-duplicate", "memory:")
	data := scanMessage(t, lunch)
	// The maildir becomes a file: writing the message fails.
	if err := os.RemoveAll(s.maildir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.maildir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := sendWith(t, s, data)
	if err == nil || !strings.Contains(out, "<** 451 4.3.0") {
		t.Fatalf("delivery into a broken maildir: want 451 4.3.0; swaks err=%v:\n%s", err, out)
	}
	if err := os.Remove(s.maildir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(s.maildir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := sendWith(t, s, data); err != nil {
		t.Fatalf("retry after the failed delivery refused: %v\n%s", err, out)
	}
	out, err = sendWith(t, s, data)
	if err == nil || !strings.Contains(out, "<** 550 5.3.4 duplicate message rejected") {
		t.Errorf("copy after acceptance: want 550 5.3.4 duplicate message rejected; swaks err=%v:\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("stored %d messages, want 1", n)
	}
}

// fakeClamd answers INSTREAM scans "OK" when up and closes the connection
// unanswered when down (a clamd that failed).
func fakeClamd(t *testing.T) (addr string, up *atomic.Bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	up = new(atomic.Bool)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if !up.Load() {
					return
				}
				cmd := make([]byte, len("zINSTREAM\x00"))
				if _, err := io.ReadFull(c, cmd); err != nil {
					return
				}
				for {
					var n uint32
					if err := binary.Read(c, binary.BigEndian, &n); err != nil {
						return
					}
					if n == 0 {
						break
					}
					if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
						return
					}
				}
				io.WriteString(c, "stream: OK\x00")
			}()
		}
	}()
	return ln.Addr().String(), up
}

// A message deferred at the end of data after the duplicate check let it
// through (the virus scanner failed, a temporary refusal that FirstMatch
// holds as defer-if-permit while the later checks run) is not remembered:
// the retry, once the scanner is back, is taken; a copy after that is
// refused.
func TestSwaksDuplicateAfterDeferral(t *testing.T) {
	needTool(t, "swaks")
	clamd, up := fakeClamd(t)
	s := startServer(t, "-duplicate", "memory:", "-clamd-socket", clamd, "-clamd-error-policy", "temp-fail")
	data := scanMessage(t, lunch)
	out, err := sendWith(t, s, data)
	if err == nil || !strings.Contains(out, "<** 451 ") {
		t.Fatalf("message with the scanner down: want a 451; swaks err=%v:\n%s", err, out)
	}
	up.Store(true)
	if out, err := sendWith(t, s, data); err != nil {
		t.Fatalf("retry after the deferral refused: %v\n%s", err, out)
	}
	out, err = sendWith(t, s, data)
	if err == nil || !strings.Contains(out, "<** 550 5.3.4 duplicate message rejected") {
		t.Errorf("copy after acceptance: want 550 5.3.4 duplicate message rejected; swaks err=%v:\n%s", err, out)
	}
	if n := len(s.messages(t)); n != 1 {
		t.Errorf("stored %d messages, want 1", n)
	}
}
