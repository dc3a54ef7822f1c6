package postfix

import (
	"fmt"
	"testing"
)

// smtpd_dsn_fix: an address status from a table is fitted to what the
// table refused, as Postfix's smtpd does.
func TestFixDSN(t *testing.T) {
	// By the detail Y of 5.1.Y, from 0 to 10: the status a refused sender
	// gets, and the one a refused recipient gets.
	senders := []string{"4.1.0", "4.1.7", "4.1.8", "4.1.7", "4.1.7", "4.1.0", "4.1.7", "4.1.7", "4.1.8", "4.1.0", "4.1.0"}
	rcpts := []string{"4.1.0", "4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.1.5", "4.1.6", "4.1.3", "4.1.2", "4.1.0", "4.1.0"}
	for y := range senders {
		enh := fmt.Sprintf("5.1.%d", y)
		if got := fixDSN(enh, kindSender); got != senders[y] {
			t.Errorf("fixDSN(%q, sender) = %q, want %q", enh, got, senders[y])
		}
		if got := fixDSN(enh, kindRecipient); got != rcpts[y] {
			t.Errorf("fixDSN(%q, recipient) = %q, want %q", enh, got, rcpts[y])
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
