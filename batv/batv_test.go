package batv_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/batv"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

var (
	now  = time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)
	cur  = batv.Key{ID: '2', Secret: []byte("current secret, 32 octets long!!")}
	prev = batv.Key{ID: '1', Secret: []byte("previous secret of sixteen+")}
)

func signer(t testing.TB, keys ...batv.Key) *batv.Signer {
	t.Helper()
	s, err := batv.NewSigner(0, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignVerify(t *testing.T) {
	old := signer(t, prev)
	rotated := signer(t, cur, prev)
	tagged := rotated.Sign("alice@example.org", now)
	if !strings.HasPrefix(tagged, "prvs=2") || !strings.HasSuffix(tagged, "=alice@example.org") || len(tagged) != len("prvs=2DDDSSSSSS=alice@example.org") {
		t.Fatalf("Sign = %q, want prvs=2DDDSSSSSS=alice@example.org", tagged)
	}
	byOld := old.Sign("alice@example.org", now)
	flip := func(s string) string { // change one hex digit of the signature
		b := []byte(s)
		if b[14] == '0' {
			b[14] = '1'
		} else {
			b[14] = '0'
		}
		return string(b)
	}
	tests := []struct {
		name string
		addr string
		at   time.Time
		want error
	}{
		{"fresh", tagged, now, nil},
		{"case-folded by a relay", strings.ToUpper(tagged[:16]) + strings.ToUpper(tagged[16:]), now, nil},
		{"signed with the previous key", byOld, now, nil},
		{"at the TTL", tagged, now.Add(batv.DefaultTTL), nil},
		{"past the TTL", tagged, now.Add(batv.DefaultTTL + 24*time.Hour), batv.ErrExpired},
		{"across the day-number wrap", signer(t, cur).Sign("a@example.org", time.Unix(999*86400, 0)), time.Unix(1001*86400, 0), nil},
		{"untagged", "alice@example.org", now, batv.ErrUntagged},
		{"forged signature", flip(tagged), now, batv.ErrBadSignature},
		{"tag moved to another address", strings.Replace(tagged, "alice@", "bob@", 1), now, batv.ErrBadSignature},
		{"unknown key", "prvs=9" + tagged[6:], now, batv.ErrBadSignature},
		{"short tag", "prvs=2001abc=alice@example.org", now, batv.ErrBadSignature},
		{"no address", "prvs=2001abcdef=", now, batv.ErrBadSignature},
		{"bad day", "prvs=2x01abcdef=alice@example.org", now, batv.ErrBadSignature},
	}
	for _, tt := range tests {
		_, err := rotated.Verify(tt.addr, tt.at)
		if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
			t.Errorf("%s: Verify(%q) = %v, want %v", tt.name, tt.addr, err, tt.want)
		}
	}
	if _, err := old.Verify(tagged, now); !errors.Is(err, batv.ErrBadSignature) {
		t.Errorf("a signer without the new key verified its tag: %v", err)
	}
	if got := rotated.Sign(tagged, now); got != tagged {
		t.Errorf("Sign of a tagged address = %q, want it unchanged", got)
	}
	if got := rotated.Sign("", now); got != "" {
		t.Errorf("Sign of the null sender = %q", got)
	}
}

func TestNewSigner(t *testing.T) {
	for _, keys := range [][]batv.Key{nil, {{ID: 'a', Secret: cur.Secret}}, {{ID: '1', Secret: []byte("short")}}, {cur, cur}} {
		if _, err := batv.NewSigner(0, keys...); err == nil {
			t.Errorf("NewSigner(%v) succeeded", keys)
		}
	}
}

func TestCheck(t *testing.T) {
	sg := signer(t, cur, prev)
	tagged := smtpcheck.ParseAddress(sg.Sign("alice@example.org", now))
	tests := []struct {
		name   string
		from   string
		rcpt   smtpcheck.Address
		at     time.Time
		action smtpcheck.Action
		reply  string
	}{
		{"bounce to a tagged address", "", tagged, now, smtpcheck.Continue, ""},
		{"bounce to an untagged address", "", smtpcheck.ParseAddress("alice@example.org"), now, smtpcheck.Reject, "550 5.7.1 DSN or MDN for message that did not originate here"},
		{"bounce to an expired tag", "", tagged, now.Add(30 * 24 * time.Hour), smtpcheck.Reject, "550 5.7.1 DSN or MDN in response to an old message"},
		{"mail with a sender", "carol@example.net", smtpcheck.ParseAddress("alice@example.org"), now, smtpcheck.Continue, ""},
		{"bounce to another domain", "", smtpcheck.ParseAddress("alice@elsewhere.example"), now, smtpcheck.Continue, ""},
	}
	for _, tt := range tests {
		s := &smtpcheck.Session{Stage: smtpcheck.StageRcpt, Now: tt.at, Mail: &smtpcheck.Mail{From: smtpcheck.ParseAddress(tt.from)}, Rcpt: tt.rcpt}
		r := batv.Check(batv.Config{Signer: sg, Domains: []string{"example.org"}})(t.Context(), s)
		if r.Action != tt.action || tt.reply != "" && r.DefaultReply().Error() != tt.reply {
			t.Errorf("%s: %v %q (%s), want %v %q", tt.name, r.Action, r.DefaultReply().Error(), r.Reason, tt.action, tt.reply)
		}
	}
	s := &smtpcheck.Session{Stage: smtpcheck.StageRcpt, Now: now, Mail: &smtpcheck.Mail{}, Rcpt: smtpcheck.ParseAddress("alice@example.org")}
	if r := batv.Check(batv.Config{Signer: sg, Action: smtpcheck.Tag})(t.Context(), s); r.Action != smtpcheck.Tag || r.Reason.Rule != "not-ours" {
		t.Errorf("policy tag: %v %s, want tag not-ours", r.Action, r.Reason)
	}
}

// FuzzVerify: no input makes Verify panic, and what it accepts is what
// Sign makes.
func FuzzVerify(f *testing.F) {
	sg := signer(f, cur, prev)
	f.Add(sg.Sign("alice@example.org", now))
	f.Add("prvs=2001abcdef=alice@example.org")
	f.Add("prvs==")
	f.Add("PRVS=1999ffffff=x@y")
	f.Fuzz(func(t *testing.T, addr string) {
		orig, err := sg.Verify(addr, now)
		if err == nil {
			if again, err := sg.Verify(sg.Sign(orig, now), now); err != nil || again != orig {
				t.Errorf("Verify(%q) accepted %q, but its own tag of it gives %q, %v", addr, orig, again, err)
			}
		}
	})
}

// Outgoing tells the mail a relay sends on (a trusted or authenticated
// client writing to another domain) from everything else.
func TestOutgoing(t *testing.T) {
	ours := []string{"example.org", "Example.NET."}
	tests := []struct {
		name string
		s    *smtpcheck.Session
		want bool
	}{
		{"trusted client to another domain", checktest.NewSession("192.0.2.1").Trusted().From("alice@example.org").To("bob@elsewhere.example").Message("Subject: x\n\nhi\n").Session(), true},
		{"authenticated client to another domain", checktest.NewSession("198.51.100.7").Auth("alice").From("alice@example.org").To("bob@elsewhere.example").Message("Subject: x\n\nhi\n").Session(), true},
		{"one recipient of many elsewhere", checktest.NewSession("192.0.2.1").Trusted().From("alice@example.org").To("carol@example.org").To("bob@elsewhere.example").Message("Subject: x\n\nhi\n").Session(), true},
		{"only our domains (case, trailing dot)", checktest.NewSession("192.0.2.1").Trusted().From("alice@example.org").To("carol@EXAMPLE.org").To("dave@example.net").Message("Subject: x\n\nhi\n").Session(), false},
		{"untrusted client", checktest.NewSession("203.0.113.9").From("alice@example.org").To("bob@elsewhere.example").Message("Subject: x\n\nhi\n").Session(), false},
		{"null sender", checktest.NewSession("192.0.2.1").Trusted().From("").To("bob@elsewhere.example").Message("Subject: x\n\nhi\n").Session(), false},
		{"before MAIL", checktest.NewSession("192.0.2.1").Trusted().Session(), false},
		{"no session", nil, false},
	}
	for _, tt := range tests {
		if got := batv.Outgoing(tt.s, ours); got != tt.want {
			t.Errorf("%s: Outgoing = %v, want %v", tt.name, got, tt.want)
		}
	}
}
