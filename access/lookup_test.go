package access

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

const testMap = `
# comments and blank lines are ignored

Connect:192.0.2.1        OK
Connect:192.0.2          REJECT
Connect:198.51.100       SKIP
Connect:198              REJECT
Connect:2001:db8::25     OK
Connect:2001:0DB8:0000:0000:0000:0000:0000   REJECT
Connect:[203.0.113.7]    TAG
Connect:Mail.Example.COM CONTENT
Connect:example.com      REJECT
Connect:                 DUNNO

From:friend@example.org   OK
From:example.org          REJECT:"550 5.7.1 no mail from example.org"
From:sub.example.net      SKIP
From:net                  REJECT
From:abuse@               OK
From:                     SKIP

To:postmaster@            OK
To:closed@example.com     IREJECT
To:example.com            TEMPFAIL
To:spamtrap@example.com   TRAP

Connect:192.0.2.1:From:spam@example.org          REJECT
Connect:mail.example.com:To:closed@example.com   OK
From:friend@example.org:To:example.com           DISCARD

Helo:localhost            REJECT
`

func mustParse(t testing.TB, s string) *Map {
	t.Helper()
	m, err := Parse(strings.NewReader(s), "test.map")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestConnectLookup(t *testing.T) {
	m := mustParse(t, testMap)
	tests := []struct {
		name    string
		ip      string
		ptr     string
		wantKey string
	}{
		{"full IPv4 address wins over its network", "192.0.2.1", "", "connect:192.0.2.1"},
		{"one octet dropped", "192.0.2.99", "", "connect:192.0.2"},
		{"SKIP stops a broader REJECT", "198.51.100.9", "", "connect:198.51.100"},
		{"two octets dropped", "198.18.0.1", "", "connect:198"},
		{"IPv6 full form from a compressed key", "2001:db8::25", "", "connect:2001:0db8:0000:0000:0000:0000:0000:0025"},
		{"IPv6 one group dropped", "2001:db8::26", "", "connect:2001:0db8:0000:0000:0000:0000:0000"},
		{"bracketed IP after the IP chain", "203.0.113.7", "", "connect:[203.0.113.7]"},
		{"PTR name", "203.0.113.8", "mail.example.com", "connect:mail.example.com"},
		{"PTR parent domain", "203.0.113.8", "mx.example.com.", "connect:example.com"},
		{"IP chain before the name", "192.0.2.1", "mx.example.com", "connect:192.0.2.1"},
		{"bare tag default", "203.0.113.9", "other.test", "connect:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := m.Connect(Client{IP: netip.MustParseAddr(tt.ip), Name: tt.ptr})
			if h.Key != tt.wantKey {
				t.Errorf("Connect(%q, %q) = %q, want %q", tt.ip, tt.ptr, h.Key, tt.wantKey)
			}
		})
	}
}

func TestMailLookup(t *testing.T) {
	m := mustParse(t, testMap)
	tests := []struct {
		name        string
		tag         string
		addr        string
		literalPlus bool
		wantKey     string
		wantAction  MapAction
	}{
		{"full address", "from", "friend@example.org", false, "from:friend@example.org", OK},
		{"keys are case-insensitive", "from", "Friend@EXAMPLE.org", false, "from:friend@example.org", OK},
		{"+detail stripped", "from", "friend+list@example.org", false, "from:friend@example.org", OK},
		{"+detail kept with literal plus", "from", "friend+list@example.org", true, "from:example.org", Reject},
		{"domain", "from", "other@example.org", false, "from:example.org", Reject},
		{"SKIP on subdomain stops REJECT on TLD", "from", "a@x.sub.example.net", false, "from:sub.example.net", Skip},
		{"TLD", "from", "a@example.net", false, "from:net", Reject},
		{"user@ after the domain chain", "from", "abuse@example.com", false, "from:abuse@", OK},
		{"bare default", "from", "a@example.com", false, "from:", Skip},
		{"null sender gets the default", "from", "", false, "from:", Skip},
		{"domain chain is tried before user@", "to", "postmaster@example.com", false, "to:example.com", TempFail},
		{"user@ exempts where no domain entry applies", "to", "postmaster@example.org", false, "to:postmaster@", OK},
		{"address wins over domain", "to", "closed@example.com", false, "to:closed@example.com", IReject},
		{"domain", "to", "someone@example.com", false, "to:example.com", TempFail},
		{"bare postmaster", "to", "postmaster", false, "to:postmaster@", OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := strings.LastIndexByte(tt.addr, '@')
			local, domain := tt.addr, ""
			if i >= 0 {
				local, domain = tt.addr[:i], tt.addr[i+1:]
			}
			var h Hit
			if tt.tag == "from" {
				h = m.From(local, domain, tt.literalPlus)
			} else {
				h = m.To(local, domain, tt.literalPlus)
			}
			if h.Key != tt.wantKey {
				t.Fatalf("%s(%q) = %q, want %q", tt.tag, tt.addr, h.Key, tt.wantKey)
			}
			if got := h.Value.Decide(Subject{}).Action; got != tt.wantAction {
				t.Errorf("%s(%q) action = %v, want %v", tt.tag, tt.addr, got, tt.wantAction)
			}
		})
	}
}

func TestComboLookup(t *testing.T) {
	m := mustParse(t, testMap)
	c := Client{IP: netip.MustParseAddr("192.0.2.1"), Name: "relay.example.com"}
	if h := m.ConnectFrom(c, "spam", "example.org", false); h.Key != "connect:192.0.2.1:from:spam@example.org" {
		t.Errorf("ConnectFrom(spam@example.org) = %q, want the combo", h.Key)
	}
	if h := m.ConnectFrom(c, "ham", "example.org", false); h.Found() {
		t.Errorf("ConnectFrom(ham@example.org) = %q, want no hit (no combo defaults)", h.Key)
	}
	c2 := Client{IP: netip.MustParseAddr("203.0.113.1"), Name: "mail.example.com"}
	if h := m.ConnectTo(c2, "closed", "example.com", false); h.Key != "connect:mail.example.com:to:closed@example.com" {
		t.Errorf("ConnectTo(closed@example.com) = %q, want the combo", h.Key)
	}
	if h := m.FromTo("friend", "example.org", "x", "a.example.com", false); h.Key != "from:friend@example.org:to:example.com" {
		t.Errorf("FromTo(friend@example.org, x@a.example.com) = %q, want the combo via the inner domain chain", h.Key)
	}
}

func TestHeloAndBody(t *testing.T) {
	m := mustParse(t, testMap+"\nBody:example.biz REJECT\nBody:good.example.biz OK\nBody:192.0.2 REJECT\n")
	if h := m.Helo("LOCALHOST."); h.Key != "helo:localhost" {
		t.Errorf("Helo(LOCALHOST.) = %q, want helo:localhost", h.Key)
	}
	tests := []struct {
		host  string
		want  MapAction
		found bool
	}{
		{"www.example.biz", Reject, true},
		{"good.example.biz", OK, true},
		{"x.good.example.biz", OK, true},
		{"192.0.2.33", Reject, true},
		{"[192.0.2.33]", Reject, true},
		{"example.com", None, false},
	}
	for _, tt := range tests {
		v, _, found := m.Body(tt.host)
		if found != tt.found || v.Action != tt.want {
			t.Errorf("Body(%q) = %v, %v, want %v, %v", tt.host, v.Action, found, tt.want, tt.found)
		}
	}
}

func TestPatternLists(t *testing.T) {
	m := mustParse(t, `Connect:192.0.2 [192.0.2.128/25]OK !*.dial.example!REJECT /^mx[0-9]+\./TAG TEMPFAIL
Connect:198.51.100 [198.51.100.0/24]SKIP
To:example.com /^(abuse|postmaster)@/OK REJECT:"550 5.1.1 no such user"
`)
	tests := []struct {
		name string
		subj Subject
		key  string
		want MapAction
	}{
		{"cidr", Subject{IP: netip.MustParseAddr("192.0.2.200")}, "Connect:192.0.2", OK},
		{"glob on client name", Subject{IP: netip.MustParseAddr("192.0.2.1"), Text: "h1.dial.example"}, "Connect:192.0.2", Reject},
		{"regex on client name", Subject{IP: netip.MustParseAddr("192.0.2.1"), Text: "mx12.example.net"}, "Connect:192.0.2", Tag},
		{"trailing default", Subject{IP: netip.MustParseAddr("192.0.2.1"), Text: "host.example.net"}, "Connect:192.0.2", TempFail},
		{"no match and no default", Subject{IP: netip.MustParseAddr("192.0.3.1")}, "Connect:198.51.100", None},
		{"regex on address", Subject{Text: "abuse@example.com"}, "To:example.com", OK},
		{"default with text", Subject{Text: "bob@example.com"}, "To:example.com", Reject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := m.Get(tt.key)
			if !ok {
				t.Fatalf("Get(%q) found nothing", tt.key)
			}
			if got := v.Decide(tt.subj); got.Action != tt.want {
				t.Errorf("Decide(%+v) = %v, want %v", tt.subj, got.Action, tt.want)
			}
		})
	}
	v, _ := m.Get("to:example.com")
	if got := v.Decide(Subject{Text: "x@example.com"}); got.Code != 550 || got.Enhanced != "5.1.1" || got.Text != "no such user" {
		t.Errorf("Decide default = %+v, want 550 5.1.1 no such user", got)
	}
}

func TestNumericValues(t *testing.T) {
	m := mustParse(t, `Concurrent-Connect:192.0.2 5
Rate-Connect: 30
Msg-Limit-From:example.org 100/1h
Msg-Limit-To: 10/60
Length-Connect: 10M
Length-To:small@example.com 512K
Grey-Connect:192.0.2 5m
`)
	tests := []struct {
		key    string
		number int64
		period string
	}{
		{"Concurrent-Connect:192.0.2", 5, "0s"},
		{"Rate-Connect:", 30, "0s"},
		{"Msg-Limit-From:example.org", 100, "1h0m0s"},
		{"Msg-Limit-To:", 10, "1m0s"},
		{"Length-Connect:", 10 << 20, "0s"},
		{"Length-To:small@example.com", 512 << 10, "0s"},
		{"Grey-Connect:192.0.2", 0, "5m0s"},
	}
	for _, tt := range tests {
		v, ok := m.Get(tt.key)
		if !ok || v.Number != tt.number || v.Period.String() != tt.period {
			t.Errorf("Get(%q) = %+v, %v, want number %d period %s", tt.key, v, ok, tt.number, tt.period)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		line  int
		want  string
	}{
		{"no value", "Connect:192.0.2.1", 1, "no value"},
		{"no tag", "# c\n192.0.2.1 OK", 2, "no tag"},
		{"unknown action", "From:a@b FROB", 1, "unknown action"},
		{"bad regex", "To:x /(/OK", 1, "/(/"},
		{"bad cidr", "Connect:x [300.1.1.1/8]OK", 1, "300.1.1.1"},
		{"unclosed quote", `From:x REJECT:"oops`, 1, "unclosed quote"},
		{"tempfail with 5xx", `From:x TEMPFAIL:"550 no"`, 1, "TEMPFAIL with a 550"},
		{"class mismatch", `From:x REJECT:"550 4.7.1 no"`, 1, "reply 550"},
		{"bad rate", "Msg-Limit-To: 10", 1, "N/period"},
		{"bad size", "Length-To: 10X", 1, "not a size"},
		{"bad IPv6", "Connect:2001:db8::zz OK", 1, "IPv6"},
		{"NUL byte", "From:a\x00b OK", 1, "NUL"},
		{"text on OK", `From:a OK:"hi"`, 1, "no reply text"},
		{"long line", "From:a " + strings.Repeat("x", MaxLineLength+1), 1, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.input), "bad.map")
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("Parse(%q) error = %v, want a *LineError", tt.input, err)
			}
			if le.File != "bad.map" || le.Line != tt.line || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %v, want bad.map:%d containing %q", tt.input, err, tt.line, tt.want)
			}
		})
	}
}

func TestLaterKeyWins(t *testing.T) {
	m := mustParse(t, "From:a@b.example REJECT\nFROM:A@B.EXAMPLE OK\n")
	if v, _ := m.Get("from:a@b.example"); v.Verdict.Action != OK {
		t.Errorf("Get(from:a@b.example) = %v, want the later OK", v.Verdict.Action)
	}
	if m.Len() != 1 {
		t.Errorf("Len() = %d, want 1", m.Len())
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "example.com", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*", "", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pat, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pat, tt.s, got, tt.want)
		}
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestComboAnyReading checks that a combo key is found whenever it exists,
// even when its outer part holds the inner tag's separator.
func TestComboAnyReading(t *testing.T) {
	m := mustParse(t, "From:a:to:b@x.example:To:y.example OK\n")
	if h := m.FromTo("a:to:b", "x.example", "c", "y.example", false); h.Key != "from:a:to:b@x.example:to:y.example" {
		t.Errorf("FromTo(a:to:b@x.example, c@y.example) = %q, want the combo", h.Key)
	}
	if h := m.FromTo("a", "x.example", "c", "y.example", false); h.Found() {
		t.Errorf("FromTo(a@x.example, c@y.example) = %q, want no hit", h.Key)
	}
}

// keysOf lists a chain's keys as the lookups build them.
func keysOf(t testing.TB, c chain) []string {
	t.Helper()
	var out []string
	for i := 0; i < c.len(); i++ {
		k := string(c.appendKey(nil, i))
		if len(k) != c.keyLen(i) {
			t.Fatalf("keyLen(%d) = %d, want %d (len of %q)", i, c.keyLen(i), len(k), k)
		}
		out = append(out, k)
	}
	return out
}

// mailKeysOf is mailKeys of an address as the check gives it.
func mailKeysOf(local, domain string) chain {
	l, d := MailKey(local, domain, false)
	return mailKeys(nil, l, d)
}

// TestMailKeysOrder checks that the lookups build a mail address's keys
// in MailChain's order.
func TestMailKeysOrder(t *testing.T) {
	mails := []struct{ name, local, domain string }{
		{"address", "User+tag", "Sub.Example.ORG."},
		{"null sender", "", ""},
		{"local only", "postmaster", ""},
		{"domain only", "", "example.org"},
		{"single label", "u", "localhost"},
	}
	for _, tt := range mails {
		t.Run(tt.name, func(t *testing.T) {
			got, want := keysOf(t, mailKeysOf(tt.local, tt.domain)), MailChain(tt.local, tt.domain, false)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("mail keys(%q, %q) = %q, want %q", tt.local, tt.domain, got, want)
			}
		})
	}
}
