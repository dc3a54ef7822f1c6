package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		stdin      string
		code       int
		wantOut    []string
		wantStderr string
	}{
		{"argument", []string{"550 5.7.1 host mail.example.net [192.0.2.1] black listed"}, "", 0,
			[]string{"class:    permanent, not retryable", "enhanced: 5.7.1 Delivery not authorized", "HostBlacklisted [smtpf#120]", `ip="192.0.2.1"`}, ""},
		{"stdin multi-line", nil, "451-4.7.1 greylisted, try again in 300 seconds\r\n451 4.7.1 see https://example.org\r\n", 0,
			[]string{"transient, retryable", "Retry later"}, ""},
		{"lines as arguments", []string{"550-5.1.1 no such user", "550 5.1.1 here"}, "", 0,
			[]string{"Bad destination mailbox address"}, ""},
		{"postfix dnsbl", []string{"554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"}, "", 0,
			[]string{"DNSBLBlocked [postfix smtppolicy]"}, ""},
		{"not a reply", []string{"hello there"}, "", 1, nil, "not an SMTP reply"},
		{"code over 599", []string{"650 5.7.1 x"}, "", 1, nil, "basic code out of range"},
		// RFC 5321 4.2 and RFC 3463 2: the error names the rule and the line.
		{"1yz code", []string{"150 opening data connection"}, "", 1, nil, `basic code out of range: first digit 1 is not 2 to 5 (RFC 5321 4.2) (line 1: "150 opening data connection")`},
		{"second digit 6", nil, "250-mx.example.org\r\n260 SIZE\r\n", 1, nil, `basic code out of range: second digit 6 is not 0 to 5 (RFC 5321 4.2) (line 2: "260 SIZE")`},
		{"enhanced leading zero", []string{"550 5.07.1 denied"}, "", 1, nil, `malformed enhanced status code: 5.07.1: subject has a leading zero (RFC 3463 2) (line 1: "550 5.07.1 denied")`},
		{"empty stdin", nil, "", 1, nil, "empty input"},
		{"-h", []string{"-h"}, "", 0, nil, "Usage: explain [REPLY LINE]..."},
		{"bad flag", []string{"-x"}, "", 2, nil, "flag provided but not defined: -x\nUsage: explain"},
		{"-version", []string{"-version"}, "", 0, []string{"explain github.com/smtppolicy/smtppolicy"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, strings.NewReader(tt.stdin), &out, &errb)
			if code != tt.code {
				t.Fatalf("run(%q) = %d, want %d; stderr %q", tt.args, code, tt.code, errb.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("run(%q) output lacks %q:\n%s", tt.args, w, out.String())
				}
			}
			if !strings.Contains(errb.String(), tt.wantStderr) {
				t.Errorf("run(%q) stderr = %q, want %q", tt.args, errb.String(), tt.wantStderr)
			}
		})
	}
}
