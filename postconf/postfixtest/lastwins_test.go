package postfixtest

import "testing"

// The instance's main.cf holds each parameter once, the last setting, so
// that no Postfix process warns of an overridden entry at start.
func TestLastWins(t *testing.T) {
	in := "# base\nlocal_recipient_maps =\nmyhostname = a.test\nsmtpd_client_restrictions = permit_mynetworks,\n  reject\n" +
		"local_recipient_maps = inline:{ bob@example.org=x }\nsmtpd_client_restrictions = reject\n"
	want := "# base\nmyhostname = a.test\nlocal_recipient_maps = inline:{ bob@example.org=x }\nsmtpd_client_restrictions = reject\n"
	if got := lastWins(in); got != want {
		t.Errorf("lastWins:\n%s\nwant:\n%s", got, want)
	}
}
