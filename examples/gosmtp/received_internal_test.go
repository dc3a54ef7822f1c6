package gosmtp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// The Received: field is the trace a reader of the message relies on
// (RFC 5321 4.4): the client's names as given and as found, its address,
// the protocol, the ID, the one recipient, the time; client text that
// could break the header comes out as '?'.
func TestReceivedLine(t *testing.T) {
	now := time.Date(2026, 12, 5, 23, 51, 12, 0, time.FixedZone("", 3600))
	ip := netip.MustParseAddr("192.0.2.7")
	rcpt := smtpcheck.ParseAddress("bob@example.org")
	tests := []struct {
		name string
		s    *smtpcheck.Session
		want string
	}{
		{"EHLO, one recipient",
			&smtpcheck.Session{Conn: smtpcheck.Conn{ID: "A1B2C3", ClientIP: ip, Confirmed: []string{"mx.example.net"}},
				Helo: smtpcheck.Helo{Verb: "EHLO", Name: "mx.example.net"}, Rcpts: []smtpcheck.Address{rcpt}},
			"Received: from mx.example.net (mx.example.net [192.0.2.7])\r\n\tby smtpd.example.org (smtppolicy) with ESMTP id A1B2C3\r\n\tfor <bob@example.org>;\r\n\tSat, 05 Dec 2026 23:51:12 +0100\r\n"},
		{"HELO under TLS, two recipients",
			&smtpcheck.Session{Conn: smtpcheck.Conn{ID: "X", ClientIP: ip, TLS: true},
				Helo: smtpcheck.Helo{Verb: "HELO", Name: "h"}, Rcpts: []smtpcheck.Address{rcpt, rcpt}},
			"Received: from h (unknown [192.0.2.7])\r\n\tby smtpd.example.org (smtppolicy) with SMTPS id X;\r\n\tSat, 05 Dec 2026 23:51:12 +0100\r\n"},
		{"EHLO under TLS, a HELO name that would fold the header",
			&smtpcheck.Session{Conn: smtpcheck.Conn{ID: "Y", ClientIP: ip, TLS: true},
				Helo: smtpcheck.Helo{Verb: "EHLO", Name: "a b\r\n\tc\u00e9"}},
			"Received: from a?b???c? (unknown [192.0.2.7])\r\n\tby smtpd.example.org (smtppolicy) with ESMTPS id Y;\r\n\tSat, 05 Dec 2026 23:51:12 +0100\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := receivedLine(tc.s, "smtpd.example.org", now); got != tc.want {
				t.Errorf("receivedLine() =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
