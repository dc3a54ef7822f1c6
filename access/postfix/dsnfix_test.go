package postfix

import "testing"

// smtpd_dsn_fix: an address status from a table is fitted to what the
// table refused, as Postfix's smtpd does.
func TestFixDSN(t *testing.T) {
	tests := []struct {
		enh, sender, rcpt string
	}{
		{"5.1.0", "4.1.0", "4.1.0"},
		{"5.1.1", "4.1.7", "4.1.1"},
		{"5.1.2", "4.1.8", "4.1.2"},
		{"5.1.3", "4.1.7", "4.1.3"},
		{"5.1.4", "4.1.7", "4.1.4"},
		{"5.1.5", "4.1.0", "4.1.5"},
		{"5.1.6", "4.1.7", "4.1.6"},
		{"5.1.7", "4.1.7", "4.1.3"},
		{"5.1.8", "4.1.8", "4.1.2"},
		{"5.1.9", "4.1.0", "4.1.0"},
		{"5.1.10", "4.1.0", "4.1.0"},
	}
	for _, tt := range tests {
		if got := fixDSN(tt.enh, kindSender); got != tt.sender {
			t.Errorf("fixDSN(%q, sender) = %q, want %q", tt.enh, got, tt.sender)
		}
		if got := fixDSN(tt.enh, kindRecipient); got != tt.rcpt {
			t.Errorf("fixDSN(%q, recipient) = %q, want %q", tt.enh, got, tt.rcpt)
		}
	}
	for _, enh := range []string{"5.7.1", "4.2.2", "5.1"} {
		if got := fixDSN(enh, kindSender); got != enh {
			t.Errorf("fixDSN(%q, sender) = %q, want it unchanged", enh, got)
		}
	}
	if got := fixDSN("5.1.1", kindClient); got != "4.0.0" {
		t.Errorf("fixDSN(5.1.1, client) = %q, want 4.0.0", got)
	}
}
