package gosmtp

import (
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

func TestBareRcptPostmaster(t *testing.T) {
	tests := []struct {
		line    string
		may, is bool
		want    string // withStandIn of the complete line
	}{
		{"", true, false, ""},
		{"R", true, false, "R"},
		{"rcpt to:<post", true, false, "rcpt to:<post"},
		{"RCPT TO:<Postmaster>", true, true, "RCPT TO:<Postmaster@postmaster.smtppolicy.invalid>"},
		{"RCPT TO:<Postmaster>\r", true, true, "RCPT TO:<Postmaster@postmaster.smtppolicy.invalid>\r"},
		{"rcpt to:<POSTMASTER> NOTIFY=NEVER\r", true, true, "rcpt to:<POSTMASTER@postmaster.smtppolicy.invalid> NOTIFY=NEVER\r"},
		{"RCPT TO: <postmaster>\r", true, true, "RCPT TO: <postmaster@postmaster.smtppolicy.invalid>\r"},
		{"RCPT TO:<postmaster@example.org>\r", false, false, "RCPT TO:<postmaster@example.org>\r"},
		{"RCPT TO:<postmasters>\r", false, false, "RCPT TO:<postmasters>\r"},
		{"RCPT TO:<Postmaster>x\r", false, false, "RCPT TO:<Postmaster>x\r"},
		{"MAIL FROM:<postmaster>\r", false, false, "MAIL FROM:<postmaster>\r"},
		{"\x16\x03\x01", false, false, "\x16\x03\x01"}, // a TLS record
	}
	for _, tt := range tests {
		may, is := bareRcptPostmaster([]byte(tt.line))
		if may != tt.may || is != tt.is {
			t.Errorf("bareRcptPostmaster(%q) = %v, %v, want %v, %v", tt.line, may, is, tt.may, tt.is)
		}
		if got := string(withStandIn([]byte(tt.line))); got != tt.want {
			t.Errorf("withStandIn(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

// After a STARTTLS the server accepted, the bytes are a TLS stream: none
// is held back waiting for a line end (the handshake would hang). A
// refused STARTTLS leaves the plaintext session as it was.
func TestNothingHeldUnderTLS(t *testing.T) {
	for _, tt := range []struct {
		answer   string
		wantHeld bool
	}{
		{"220 2.0.0 Ready to start TLS\r\n", false},
		{"502 5.5.1 TLS not supported\r\n", true},
	} {
		c := newTrackedConn(nil, &session{s: &smtpcheck.Session{}})
		c.greeted = true
		c.observe([]byte("STARTTLS\r\n"))
		c.observeReply([]byte(tt.answer))
		in := []byte("\x17\x03\x03\x00\x10\nRCPT TO:<Post")
		out, _ := c.observe(in)
		if held := len(out) < len(in); held != tt.wantHeld {
			t.Errorf("after %q: observe(%q) = %q, held %v, want held %v", tt.answer, in, out, held, tt.wantHeld)
		}
	}
}
