package postfix

import (
	"context"
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
	ctx := context.Background()
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
		{"hash", "a OK\nb FILTER smtp:x\n", 2, "unsupported access action"},
		{"hash", "lonely\n", 1, "no value"},
		{"cidr", "192.0.2.1/24 OK\n", 1, "host bits"},
		{"regexp", "/(/ OK\n", 1, "/(/"},
		{"regexp", "/a/ 550 4.7.1 x\n", 1, "another class"},
		{"pcre", "if /a/\n", 1, "not supported"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.kind, strings.NewReader(tt.text), "access")
		var le *access.LineError
		if !errors.As(err, &le) || le.Line != tt.line || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s, %q) = %v, want access:%d containing %q", tt.kind, tt.text, err, tt.line, tt.want)
		}
	}
}

func FuzzParseTable(f *testing.F) {
	f.Add("hash", "example.com REJECT\n<> 550 no\n  continued\n")
	f.Add("cidr", "192.0.2.0/24 OK\n!::/0 DUNNO\n")
	f.Add("regexp", "/^(.*)@x$/i REJECT $1\n")
	f.Fuzz(func(t *testing.T, kind, text string) {
		tb, err := Parse(kind, strings.NewReader(text), "fuzz")
		if err != nil {
			return
		}
		for _, q := range []string{"a@example.com", "192.0.2.1", "<>", "example.com"} {
			if a, ok := tb.Find(q); ok {
				result(tb, kindSender, q, q, a)
			}
		}
	})
}
