package reply

import (
	"strings"
	"testing"
)

func TestIdentify(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		first string // "" for no match
		exact bool
		args  []string
	}{
		{"smtpf with parameters", "550 5.7.1 host mail.example.net [192.0.2.1] black listed", "HostBlacklisted", true, []string{"mail.example.net", "192.0.2.1"}},
		{"case and spaces", "550 5.7.1 HOST   mail.example.net  [192.0.2.1] BLACK LISTED.", "HostBlacklisted", true, []string{"mail.example.net", "192.0.2.1"}},
		{"without enhanced code", "550 host mail.example.net [192.0.2.1] black listed", "HostBlacklisted", false, nil},
		{"other enhanced code", "550 5.1.1 host mail.example.net [192.0.2.1] black listed", "HostBlacklisted", false, nil},
		{"wrong basic code", "450 4.7.1 host mail.example.net [192.0.2.1] black listed", "", false, nil},
		{"folded over lines", "550-5.7.1 host mail.example.net\r\n550 5.7.1 [192.0.2.1] black listed", "HostBlacklisted", true, nil},
		{"help line after", "451-4.7.1 greylisted, try again in 300 seconds\r\n451 4.7.1 see https://example.org/grey", "Greylisted", true, []string{"300"}},
		{"family code", "451 4.1.0 sender <bob@example.org> denied", "ForwardSenderDenied", true, []string{"bob@example.org"}},
		{"family enhanced class must follow", "451 5.1.0 sender <bob@example.org> denied", "ForwardSenderDenied", false, nil},
		{"alternative wording", "503 5.5.1 Error: already authenticated", "AlreadyAuthenticated", true, nil},
		{"variant enhanced code", "554 5.1.1 <a@b.example>: Recipient address rejected: reject", "RecipientRejected", true, []string{"a@b.example", "reject"}},
		{"specific before generic", "554 5.7.1 <a@b.example>: Recipient address rejected: Access denied", "RecipientAccessDenied", true, nil},
		{"generic only when nothing else", "550 5.7.1 Your message looks like spam", "Rejected", true, []string{"Your message looks like spam"}},
		{"generic needs exact codes", "550 5.2.2 mailbox full", "", false, nil},
		{"family generic with its enhanced detail", "451 4.7.0 rejected by local content check", "ExternalCheckFailed", true, nil},
		{"nothing", "250 2.6.0 message delivered to a tape drive", "", false, nil},
		{"hostile argument", "501 5.5.4 invalid HELO evil??250 ok", "HeloInvalid", true, []string{"evil??250 ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := IdentifyText(tt.in)
			if err != nil {
				t.Fatalf("IdentifyText(%q) error %v", tt.in, err)
			}
			if tt.first == "" {
				if len(ms) != 0 {
					t.Fatalf("IdentifyText(%q) = %v, want no match", tt.in, matchNames(ms))
				}
				return
			}
			if len(ms) == 0 || ms[0].Entry.Name != tt.first {
				t.Fatalf("IdentifyText(%q) = %v, want first %s", tt.in, matchNames(ms), tt.first)
			}
			if ms[0].Exact != tt.exact {
				t.Errorf("IdentifyText(%q)[0].Exact = %v, want %v", tt.in, ms[0].Exact, tt.exact)
			}
			if tt.args != nil && strings.Join(ms[0].Args, "|") != strings.Join(tt.args, "|") {
				t.Errorf("IdentifyText(%q)[0].Args = %q, want %q", tt.in, ms[0].Args, tt.args)
			}
		})
	}
}

// TestIdentifyOwnReplies checks every catalog reply we give identifies as
// its own entry, so a bounce of ours can always be traced to its rule.
func TestIdentifyOwnReplies(t *testing.T) {
	for _, e := range Catalog() {
		if e.opaque {
			continue
		}
		args := make([]string, len(e.Params))
		for i, p := range e.Params {
			args[i] = sampleArg(p.Kind)
		}
		r := e.Reply(args...)
		ms := Identify(r)
		found := false
		for _, m := range ms {
			if m.Entry == e && m.Exact {
				found = true
			}
		}
		if !found {
			t.Errorf("Identify(%q) = %v, want %s among the exact matches", r.Error(), matchNames(ms), e.Name)
		}
	}
}
