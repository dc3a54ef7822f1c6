package ops

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

func TestPolicyAnswerActionAndCode(t *testing.T) {
	tests := []struct {
		name, answer, check string
		action, code        string
	}{
		{"dunno", "DUNNO", "", "pass", ""},
		{"prepend", "PREPEND X-Greylist: delayed 300 seconds", "greylist", "pass", ""},
		{"greylisted", "DEFER_IF_PERMIT 4.7.1 greylisted, try again in 300 seconds", "greylist", "greylist", "450"},
		{"greylisted as postgrey's 450", "450 4.2.0 greylisted", "greylist", "greylist", "450"},
		{"coded refusal", "550 5.7.1 host unknown [192.0.2.1] black listed", "access", "reject", "550"},
		{"plain reject", "REJECT go away", "check_client_access", "reject", "554"},
		{"temporary", "451 4.3.0 try later", "dnsbl", "defer", "451"},
		{"defer_if_permit of another check", "DEFER_IF_PERMIT 4.7.1 no", "dnsbl", "defer", "450"},
		{"hold", "HOLD quarantined", "check_client_access", "hold", ""},
		{"discard", "DISCARD", "check_client_access", "discard", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Verdict{Answer: tt.answer, Reason: smtpcheck.Reason{Check: tt.check}}
			if got := policyAction(v); got != tt.action {
				t.Errorf("policyAction(%q) = %q, want %q", tt.answer, got, tt.action)
			}
			if got := v.Code(); got != tt.code {
				t.Errorf("Code(%q) = %q, want %q", tt.answer, got, tt.code)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"postfix", "text", "json"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%q) = %q, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("syslog"); err == nil {
		t.Errorf("ParseFormat(%q): no error", "syslog")
	}
}

// Records other than verdicts keep the attributes and groups a logger
// was given with With and WithGroup, and debug records are written only
// when verbose.
func TestHandlerKeepsLoggerAttrs(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		var buf bytes.Buffer
		l := slog.New(NewHandler(&buf, LogConfig{Format: FormatPostfix, Verbose: verbose}))
		l.With("component", "resolver").WithGroup("q").Info("query failed", "name", "example.org")
		l.Debug("detail")
		out := buf.String()
		if !strings.Contains(out, `level=INFO msg="query failed" component=resolver q.name=example.org`) {
			t.Errorf("verbose=%v: log = %q, want the With attrs and the group", verbose, out)
		}
		if got := strings.Contains(out, "msg=detail"); got != verbose {
			t.Errorf("verbose=%v: debug record written = %v", verbose, got)
		}
	}
}
