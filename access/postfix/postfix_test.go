package postfix

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

func mustTable(t *testing.T, kind, text string) Table {
	t.Helper()
	tb, err := Parse(kind, strings.NewReader(text), "access")
	if err != nil {
		t.Fatalf("Parse(%s): %v", kind, err)
	}
	return tb
}

func TestQueries(t *testing.T) {
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"address with extension", AddressQueries(smtpcheck.ParseAddress("User+Ext@Sub.Example.COM"), DefaultOptions),
			[]string{"user+ext@sub.example.com", "user@sub.example.com", "sub.example.com", "example.com", "com", "user+ext@", "user@"}},
		{"dot-parent form", AddressQueries(smtpcheck.ParseAddress("a@sub.example.com"), Options{}),
			[]string{"a@sub.example.com", "sub.example.com", ".example.com", ".com", "a@"}},
		{"null sender", AddressQueries(smtpcheck.Address{}, DefaultOptions), []string{"<>"}},
		{"IPv4", IPQueries(netip.MustParseAddr("192.0.2.1")), []string{"192.0.2.1", "192.0.2", "192.0", "192"}},
		{"IPv6", IPQueries(netip.MustParseAddr("2001:db8::1")), []string{"2001:db8::1", "2001:db8:0:0:0:0:0:1", "2001:db8:0:0:0:0:0", "2001:db8:0:0:0:0", "2001:db8:0:0:0", "2001:db8:0:0", "2001:db8:0", "2001:db8", "2001"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestChecks(t *testing.T) {
	ctx := t.Context()
	hash := mustTable(t, "hash", `
192.0.2            REJECT
192.0.2.25         OK
2001:db8:0:0:0:0:0 DEFER try later
example.com        REJECT
.example.net       REJECT 5.7.2 no subdomains
friend@example.com OK
postmaster@        OK
<>                 550 5.7.1 no bounces here
spam.example       DISCARD
held.example       HOLD
tagged.example     PREPEND X-Tag: yes
soft.example       DEFER_IF_PERMIT
`)
	cidr := mustTable(t, "cidr", "198.51.100.0/24 REJECT cidr says no\n!0.0.0.0/0 DUNNO\n")
	re := mustTable(t, "regexp", `/^(.*)@bad\.example$/ REJECT $1 is not welcome
/^[0-9.]+\.dyn\./ 450 dynamic host
`)
	tests := []struct {
		name    string
		check   smtpcheck.Check
		sess    *smtpcheck.Session
		action  smtpcheck.Action
		code    int
		contain string
	}{
		{"client network reject", CheckClientAccess(hash, DefaultOptions), checktest.NewSession("192.0.2.9").Session(), smtpcheck.Reject, 554, "554 5.7.1 <unknown[192.0.2.9]>: Client host rejected: Access denied"},
		{"client address OK wins", CheckClientAccess(hash, DefaultOptions), checktest.NewSession("192.0.2.25").Session(), smtpcheck.Accept, 0, ""},
		{"client name parent domain", CheckClientAccess(hash, DefaultOptions), checktest.NewSession("203.0.113.1").PTR("mx.example.com").Session(), smtpcheck.Reject, 554, "<mx.example.com[203.0.113.1]>: Client host rejected"},
		{"IPv6 group truncation", CheckClientAccess(hash, DefaultOptions), checktest.NewSession("2001:db8::7").Session(), smtpcheck.TempFail, 450, "450 4.7.1 <unknown[2001:db8::7]>: Client host rejected: try later"},
		{"cidr table", CheckClientAccess(cidr, DefaultOptions), checktest.NewSession("198.51.100.3").Session(), smtpcheck.Reject, 554, "cidr says no"},
		{"regexp client name", CheckClientAccess(re, DefaultOptions), checktest.NewSession("203.0.113.9").PTR("203.0.113.9.dyn.example.org").Session(), smtpcheck.TempFail, 450, "dynamic host"},
		{"sender with extension", CheckSenderAccess(hash, DefaultOptions), checktest.NewSession("203.0.113.1").From("friend+x@example.com").Session(), smtpcheck.Accept, 0, ""},
		{"sender domain", CheckSenderAccess(hash, DefaultOptions), checktest.NewSession("203.0.113.1").From("a@example.com").Session(), smtpcheck.Reject, 554, "<a@example.com>: Sender address rejected: Access denied"},
		{"null sender", CheckSenderAccess(hash, DefaultOptions), checktest.NewSession("203.0.113.1").From("").Session(), smtpcheck.Reject, 550, "no bounces here"},
		{"dot subdomain with parent matching off", CheckSenderAccess(hash, Options{}), checktest.NewSession("203.0.113.1").From("a@x.example.net").Session(), smtpcheck.Reject, 554, "554 5.7.2"},
		{"regexp sender with $1", CheckSenderAccess(re, DefaultOptions), checktest.NewSession("203.0.113.1").From("joe@bad.example").Session(), smtpcheck.Reject, 554, "joe is not welcome"},
		{"postmaster exemption", CheckRecipientAccess(hash, DefaultOptions), checktest.NewSession("203.0.113.1").From("a@b.example").To("postmaster@example.org").Session(), smtpcheck.Accept, 0, ""},
		{"discard", CheckSenderAccess(hash, DefaultOptions), checktest.NewSession("203.0.113.1").From("a@spam.example").Session(), smtpcheck.Discard, 0, ""},
		{"hold", CheckSenderAccess(hash, DefaultOptions), checktest.NewSession("203.0.113.1").From("a@held.example").Session(), smtpcheck.Quarantine, 0, ""},
		{"defer_if_permit", CheckSenderAccess(hash, DefaultOptions), checktest.NewSession("203.0.113.1").From("a@soft.example").Session(), smtpcheck.DeferIfPermit, 450, ""},
		{"helo", CheckHeloAccess(hash, DefaultOptions), checktest.NewSession("203.0.113.1").Helo("mail.example.com").Session(), smtpcheck.Reject, 554, "<mail.example.com>: Helo command rejected: Access denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.check(ctx, tt.sess)
			checktest.AssertVerdict(t, r, tt.action, tt.code, "", "")
			if tt.contain != "" {
				checktest.AssertReplyContains(t, r, tt.contain)
			}
		})
	}
	r := CheckSenderAccess(hash, DefaultOptions)(ctx, checktest.NewSession("203.0.113.1").From("a@tagged.example").Session())
	if len(r.Headers) != 1 || r.Headers[0].Name != "X-Tag" || r.Headers[0].Value != "yes" {
		t.Errorf("PREPEND headers = %+v, want X-Tag: yes", r.Headers)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		kind, text string
		line       int
		want       string
	}{
		{"hash", "a OK\nb FILTER smtpx\n", 2, "transport:destination"},
		{"hash", "a OK\n\nb REDIRECT nobody\n", 3, "user@domain"},
		{"hash", "a hash:/etc/postfix/other\n", 1, "unsupported access action"},
		{"hash", "lonely\n", 1, "no value"},
		{"cidr", "192.0.2.1/24 OK\n", 1, "host bits"},
		{"regexp", "/(/ OK\n", 1, "/(/"},
		{"pcre", "/a/ OK\nif /a/\n/b/ OK\n", 2, "if without endif"},
		{"pcre", "/a/ OK\nendif\n", 2, "endif without if"},
		{"regexp", "if /a/ OK\n/b/ OK\nendif\n", 1, "text after the pattern"},
		{"pcre", "# lookbehind\n/(?<=@)example\\.com$/ REJECT\n", 2, "lookbehind (?<=...) is a PCRE-only construct"},
		{"pcre", "/^a++b/ REJECT\n", 1, "possessive quantifier ++"},
		{"pcre", "/^user@\\Kexample/ REJECT\n", 1, `\K (reset match start)`},
		{"pcre", "/^(a)\\1$/ REJECT\n", 1, `back-reference \1`},
		{"pcre", "/(?!x)y/ REJECT\n", 1, "negative lookahead"},
		{"pcre", "/a b/x REJECT\n", 1, "flag x"},
		{"regexp", "/a/U REJECT\n", 1, "unknown flag"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.kind, strings.NewReader(tt.text), "access")
		var le *access.LineError
		if !errors.As(err, &le) || le.Line != tt.line || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s, %q) = %v, want access:%d containing %q", tt.kind, tt.text, err, tt.line, tt.want)
		}
	}
}

// if/endif blocks guard the rules inside them, nested and negated, as in
// Postfix's regexp_table(5) and pcre_table(5).
func TestRegexpIfEndif(t *testing.T) {
	tb := mustTable(t, "pcre", `
if /@example\.com$/
/^postmaster@/      OK
if !/^admin/
/^a/                REJECT inner
endif
/./                 DUNNO
endif
/^a/                REJECT outer
/^b/A               REJECT anchored
/^(q|z)+?/U         REJECT ungreedy
`)
	tests := []struct{ q, want string }{
		{"postmaster@example.com", "OK"},
		{"alice@example.com", "REJECT inner"},
		{"admin@example.com", "DUNNO"},
		{"alice@example.net", "REJECT outer"},
		{"bob@example.net", "REJECT anchored"},
		{"qbob@example.net", "REJECT ungreedy"},
		{"carl@example.net", ""},
	}
	for _, tt := range tests {
		a, ok := tb.Find(tt.q)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tt.want {
			t.Errorf("Find(%q) = %q, want %q", tt.q, got, tt.want)
		}
	}
}

func FuzzParseTable(f *testing.F) {
	f.Add("pcre", "if /@example\\.com$/\n/^a/ REJECT\nif !/^b/i\n/c/ OK\nendif\nendif\n")
	f.Add("pcre", "/(?<=x)y/ REJECT\n/a++/ OK\n/\\K/ OK\n")
	f.Add("regexp", "endif\nif/x/\n")
	f.Add("hash", "example.com REJECT\n<> 550 no\n  continued\n")
	f.Add("cidr", "192.0.2.0/24 OK\n!::/0 DUNNO\n")
	f.Add("regexp", "/^(.*)@x$/i REJECT $1\n")
	f.Add("hash", "a FILTER smtp:[127.0.0.1]:10025\nb REDIRECT x@y\nc permit_mynetworks, reject\nd 450\ne 421 4.7.1 bye\n")
	f.Fuzz(func(t *testing.T, kind, text string) {
		// The same text as a map (results kept as written).
		if m, err := ParseMap(kind, strings.NewReader(text), "fuzz"); err == nil {
			m.Find("a@example.com")
		}
		tb, err := Parse(kind, strings.NewReader(text), "fuzz")
		if err != nil {
			return
		}
		for _, q := range []string{"a@example.com", "192.0.2.1", "<>", "example.com"} {
			if a, ok := tb.Find(q); ok {
				result(tb, DefaultOptions, kindSender, q, q, a)
				_ = a.String()
			}
		}
	})
}

// Each access(5) result answers with the code, enhanced code and text
// Postfix's smtpd gives it (check_table_result in smtpd_check.c).
func TestTableReplies(t *testing.T) {
	ctx := t.Context()
	tb := mustTable(t, "hash", `
later.example     450 4.7.1 come back later
away.example      550 5.7.1 go away
bye.example       421 closing
plain.example     DEFER
text.example      DEFER text here
rej.example       REJECT
rejtext.example   REJECT 5.7.2 no thanks
perm.example      DEFER_IF_PERMIT
code.example      550 wrong class 4.7.1
cls.example       550 4.7.1 other class
rcptdsn.example   550 5.1.1 no such user
stamp.example     450
relay.example     RELAY
`)
	custom := Options{RejectCode: 550, DeferCode: 451}
	tests := []struct {
		name   string
		o      Options
		from   string
		action smtpcheck.Action
		want   string
	}{
		{"explicit 450 kept", DefaultOptions, "a@later.example", smtpcheck.TempFail, "450 4.7.1 <a@later.example>: Sender address rejected: come back later"},
		{"explicit 550 kept", DefaultOptions, "a@away.example", smtpcheck.Reject, "550 5.7.1 <a@away.example>: Sender address rejected: go away"},
		{"421 kept and ends the session", DefaultOptions, "a@bye.example", smtpcheck.Disconnect, "421 4.7.1 <a@bye.example>: Sender address rejected: closing"},
		{"DEFER takes access_map_defer_code", DefaultOptions, "a@plain.example", smtpcheck.TempFail, "450 4.7.1 <a@plain.example>: Sender address rejected: Access denied"},
		{"DEFER text", DefaultOptions, "a@text.example", smtpcheck.TempFail, "450 4.7.1 <a@text.example>: Sender address rejected: text here"},
		{"REJECT takes access_map_reject_code", DefaultOptions, "a@rej.example", smtpcheck.Reject, "554 5.7.1 <a@rej.example>: Sender address rejected: Access denied"},
		{"REJECT with enhanced code", DefaultOptions, "a@rejtext.example", smtpcheck.Reject, "554 5.7.2 <a@rejtext.example>: Sender address rejected: no thanks"},
		{"access_map_reject_code set", custom, "a@rej.example", smtpcheck.Reject, "550 5.7.1 <a@rej.example>: Sender address rejected: Access denied"},
		{"access_map_defer_code set", custom, "a@plain.example", smtpcheck.TempFail, "451 4.7.1 <a@plain.example>: Sender address rejected: Access denied"},
		{"reject code of the other class", Options{RejectCode: 450}, "a@rej.example", smtpcheck.TempFail, "450 4.7.1 <a@rej.example>: Sender address rejected: Access denied"},
		{"DEFER_IF_PERMIT", DefaultOptions, "a@perm.example", smtpcheck.DeferIfPermit, "450 4.7.1 <a@perm.example>: Sender address rejected: Service unavailable"},
		{"text that is not an enhanced code", DefaultOptions, "a@code.example", smtpcheck.Reject, "550 5.7.1 <a@code.example>: Sender address rejected: wrong class 4.7.1"},
		{"enhanced class follows the reply code", DefaultOptions, "a@cls.example", smtpcheck.Reject, "550 5.7.1 <a@cls.example>: Sender address rejected: other class"},
		{"recipient status fitted to a sender", DefaultOptions, "a@rcptdsn.example", smtpcheck.Reject, "550 5.1.7 <a@rcptdsn.example>: Sender address rejected: no such user"},
		{"a number alone is OK", DefaultOptions, "a@stamp.example", smtpcheck.Accept, ""},
		{"RELAY is OK", DefaultOptions, "a@relay.example", smtpcheck.Accept, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := CheckSenderAccess(tb, tt.o)(ctx, checktest.NewSession("203.0.113.1").From(tt.from).Session())
			if r.Action != tt.action {
				t.Fatalf("CheckSenderAccess(%s) action = %v, want %v", tt.from, r.Action, tt.action)
			}
			if tt.want == "" {
				return
			}
			if got := r.Reply.Error(); got != tt.want {
				t.Errorf("CheckSenderAccess(%s) = %q, want %q", tt.from, got, tt.want)
			}
		})
	}
	// The same status in a client table is not an address status.
	r := CheckClientAccess(mustTable(t, "cidr", "192.0.2.0/24 550 5.1.1 no\n"), DefaultOptions)(ctx, checktest.NewSession("192.0.2.1").Session())
	if got, want := r.Reply.Error(), "550 5.0.0 <unknown[192.0.2.1]>: Client host rejected: no"; got != want {
		t.Errorf("client table 5.1.1 = %q, want %q", got, want)
	}
}

// Every access(5) action Postfix has parses, with its line, and prints back
// as written; those only an MTA carries out say so.
func TestActionGrammar(t *testing.T) {
	tests := []struct {
		in        string
		verb      Verb
		out       string
		delegated bool
	}{
		{"OK", OK, "OK", false},
		{"relay", OK, "OK", false},
		{"1712345678", OK, "OK", false},
		{"REJECT 5.7.2 go away", Reject, "REJECT 5.7.2 go away", false},
		{"defer", Defer, "DEFER", false},
		{"450 4.7.1 later", Code, "450 4.7.1 later", false},
		{"HOLD spam?", Hold, "HOLD spam?", false},
		{"DISCARD", Discard, "DISCARD", false},
		{"WARN odd sender", Warn, "WARN odd sender", false},
		{"INFO seen", Info, "INFO seen", false},
		{"PREPEND X-Tag: yes", Prepend, "PREPEND X-Tag: yes", false},
		{"FILTER smtp:[127.0.0.1]:10025", Filter, "FILTER smtp:[127.0.0.1]:10025", true},
		{"REDIRECT abuse@example.org", Redirect, "REDIRECT abuse@example.org", true},
		{"BCC archive@example.org", Bcc, "BCC archive@example.org", true},
		{"reject_unknown_sender_domain", Restrictions, "reject_unknown_sender_domain", true},
		{"permit_mynetworks, reject", Restrictions, "permit_mynetworks, reject", true},
		{"my_class", Restrictions, "my_class", true},
	}
	for _, tt := range tests {
		a, err := ParseAction(tt.in)
		if err != nil {
			t.Errorf("ParseAction(%q) = %v", tt.in, err)
			continue
		}
		if a.Verb != tt.verb || a.String() != tt.out || a.Delegated() != tt.delegated {
			t.Errorf("ParseAction(%q) = %v %q delegated=%v, want %v %q delegated=%v", tt.in, a.Verb, a.String(), a.Delegated(), tt.verb, tt.out, tt.delegated)
		}
	}
	tb := mustTable(t, "regexp", "# comment\n/^a@/ OK\n\n/^b@/ BCC copy@example.org\n")
	var lines []int
	for _, a := range Entries(tb) {
		lines = append(lines, a.Line)
	}
	if !reflect.DeepEqual(lines, []int{2, 4}) {
		t.Errorf("Entries lines = %v, want [2 4]", lines)
	}
}

// ReplyFor never panics and never sends a code it cannot: no enhanced code
// at all gets X.7.1, a code outside 4xx/5xx Postfix's 450 fallback.
func TestReplyForEdges(t *testing.T) {
	if got, want := ReplyFor(Helo, "h", 550, "", "", "", "Access denied").Error(), "550 5.7.1 <h>: Helo command rejected: Access denied"; got != want {
		t.Errorf("ReplyFor without enhanced codes = %q, want %q", got, want)
	}
	if got, want := ReplyFor(Sender, "a@b", 250, "5.7.1", "", "x", "").Error(), "450 4.7.1 Service unavailable"; got != want {
		t.Errorf("ReplyFor(250) = %q, want %q", got, want)
	}
	if got, want := ReplyFor(Data, "DATA", 554, "5.1.1", "", "no", "").Error(), "554 5.0.0 <DATA>: Data command rejected: no"; got != want {
		t.Errorf("ReplyFor(Data, 5.1.1) = %q, want %q", got, want)
	}
}
