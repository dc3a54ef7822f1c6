package reply

import (
	"regexp"
	"strings"
	"testing"
)

var refPattern = regexp.MustCompile(`^(smtpf#[0-9]{3}|postfix|barracuda:[45]XX_[A-Z0-9_]+[0-9]*|smtppolicy)$`)

func TestCatalogEntries(t *testing.T) {
	names := map[string]bool{}
	for _, e := range Catalog() {
		if names[e.Name] {
			t.Errorf("entry name %s used twice", e.Name)
		}
		names[e.Name] = true
		if Lookup(e.Name) != e {
			t.Errorf("Lookup(%q) does not return the entry", e.Name)
		}
		if len(e.Refs) == 0 {
			t.Errorf("%s has no reference", e.Name)
		}
		for _, r := range e.Refs {
			if !refPattern.MatchString(r) {
				t.Errorf("%s: reference %q is not smtpf#NNN, postfix, barracuda:NAME or smtppolicy", e.Name, r)
			}
		}
		if len(e.Explain) < 30 || !strings.HasSuffix(e.Explain, ".") {
			t.Errorf("%s: explanation %q is not an actionable sentence", e.Name, e.Explain)
		}
		if !e.Enhanced.IsZero() && int(e.Enhanced.Class) != e.Code/100 {
			t.Errorf("%s: %d with %s", e.Name, e.Code, e.Enhanced)
		}
		for _, v := range e.Variants {
			if !v.Enhanced.IsZero() && int(v.Enhanced.Class) != v.Code/100 {
				t.Errorf("%s variant: %d with %s", e.Name, v.Code, v.Enhanced)
			}
		}
	}
	if Lookup("NoSuchEntry") != nil || ByRef("smtpf#999") != nil {
		t.Errorf("Lookup or ByRef found an entry that does not exist")
	}
}

// TestCatalogCollapses checks replies that are the same collapse into one
// entry carrying every reference.
func TestCatalogCollapses(t *testing.T) {
	groups := [][]string{
		{"smtpf#288", "smtpf#293", "smtpf#296"},
		{"smtpf#252", "smtpf#255"},
		{"smtpf#434", "smtpf#443"},
		{"smtpf#525", "smtpf#530"},
		{"smtpf#149", "smtpf#178", "smtpf#367"},
		{"smtpf#267", "barracuda:5XX_ALREADY_AUTH"},
		{"smtpf#306", "barracuda:5XX_FAILED"},
		{"barracuda:5XX_FAIL_RECIP", "barracuda:5XX_INVALID_RECIP"},
	}
	for _, g := range groups {
		first := ByRef(g[0])
		if first == nil {
			t.Fatalf("ByRef(%q) = nil", g[0])
		}
		for _, ref := range g[1:] {
			if e := ByRef(ref); e != first {
				t.Errorf("ByRef(%q) = %v, want %s", ref, e, first.Name)
			}
		}
	}
	if got := len(ByRefAll("barracuda:4XX_EINTERNAL")); got != 3 {
		t.Errorf("ByRefAll(barracuda:4XX_EINTERNAL) = %d entries, want 3", got)
	}
}

// TestCatalogProductReplies checks the replies this product's checks need,
// with their RFC codes.
func TestCatalogProductReplies(t *testing.T) {
	tests := []struct {
		r    Reply
		want string
	}{
		{SPFFail("example.org", "192.0.2.1"), "550 5.7.23 "},
		{SPFTempError("example.org", "SERVFAIL"), "451 4.7.24 "},
		{SPFPermError("example.org", "too many lookups"), "550 5.7.24 "},
		{SenderNullMX("bob@example.org", "example.org"), "550 5.7.27 "},
		{Greylisted(300), "451 4.7.1 greylisted, try again in 300 seconds"},
		{GreylistedExchange(60), "451 4.2.0 greylisted, try again in 60 seconds"},
		{DNSBLBlocked("192.0.2.1", "zen.spamhaus.org", ""), "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org"},
		{DNSBLListed("mx.example.net", "192.0.2.1", "zen.spamhaus.org"), "550 5.7.0 mx.example.net [192.0.2.1] black listed by zen.spamhaus.org"},
		{DNSBLTempFail("zen.spamhaus.org", "192.0.2.1"), "451 4.7.1 "},
		{Proceed(), "250 2.0.0 proceed"},
		{MessageTooBig(), "552 5.3.4 "},
		{TooManyRecipients(), "452 4.5.3 "},
		{TooManyErrors(), "421 4.7.0 "},
		{TryAgainLater(), "451 4.7.0 try again later"},
		{BareLineEnding(), "550 5.5.2 bare LF / bare CR in message; see RFC 5321 2.3.8"},
		{Rejected("custom text"), "550 5.7.1 custom text"},
		{TempRejected("custom text"), "451 4.7.1 custom text"},
		{Accept(), "250 2.0.0 OK"},
	}
	for _, tt := range tests {
		if got := tt.r.Error(); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s = %q, want prefix %q", tt.r.Entry().Name, got, tt.want)
		}
	}
}

// TestFormatCatalogNoAlloc checks a catalog reply formats into a reused
// buffer without allocating, as servers format one per command.
func TestFormatCatalogNoAlloc(t *testing.T) {
	buf := make([]byte, 0, 512)
	r := HostBlacklisted("mail.example.net", "192.0.2.1")
	allocs := testing.AllocsPerRun(100, func() {
		buf = r.AppendTo(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("AppendTo allocated %v times, want 0", allocs)
	}
	allocs = testing.AllocsPerRun(100, func() {
		buf = HostBlacklisted("mail.example.net", "192.0.2.1").AppendTo(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("HostBlacklisted(...).AppendTo allocated %v times, want 0", allocs)
	}
}
