package checktest

import (
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

func TestBuilderStages(t *testing.T) {
	b := NewSession("2001:db8::1").PTR("mx.example.net").Helo("mx.example.net").From("").To("a@example.org").To("b@example.org")
	s := b.Session()
	if s.Stage != smtpcheck.StageRcpt || s.Rcpt.String() != "b@example.org" || len(s.Rcpts) != 1 || s.Rcpts[0].String() != "a@example.org" {
		t.Errorf("after two To: stage %v rcpt %v rcpts %v", s.Stage, s.Rcpt, s.Rcpts)
	}
	if !s.Mail.From.IsNull() || s.Conn.Name() != "mx.example.net" || s.Helo.Verb != "EHLO" {
		t.Errorf("session facts wrong: from %q name %q verb %q", s.Mail.From, s.Conn.Name(), s.Helo.Verb)
	}
	b.Message("Subject: x\nX-Long: a\n b\n\nbody\n")
	if v, _ := s.Header.Get("x-long"); v != "a\r\n b" || s.Stage != smtpcheck.StageEndOfData || len(s.Rcpts) != 2 {
		t.Errorf("Message: header %q stage %v rcpts %d", v, s.Stage, len(s.Rcpts))
	}
	if s.Body.Size() != int64(len("body\r\n")) {
		t.Errorf("body size %d", s.Body.Size())
	}
	if want := int64(len("Subject: x\r\nX-Long: a\r\n b\r\n\r\nbody\r\n")); s.Message == nil || s.Message.Size() != want {
		t.Errorf("Message = %v, want the whole message of %d bytes", s.Message, want)
	}
}

// The assertions must fail on a wrong verdict: a helper that cannot fail
// would make every downstream test pass.
func TestAssertionsFail(t *testing.T) {
	r := smtpcheck.RelayControl("example.org")(t.Context(), NewSession("192.0.2.1").To("x@other.example").Session())
	cases := []func(tb testing.TB){
		func(tb testing.TB) { AssertVerdict(tb, r, smtpcheck.Accept, 0, "", "") },
		func(tb testing.TB) { AssertVerdict(tb, r, smtpcheck.Reject, 554, "", "") },
		func(tb testing.TB) { AssertVerdict(tb, r, smtpcheck.Reject, 550, "5.7.2", "") },
		func(tb testing.TB) { AssertVerdict(tb, r, smtpcheck.Reject, 550, "5.7.1", "dnsbl") },
		func(tb testing.TB) { AssertReplyContains(tb, r, "greylisted") },
		func(tb testing.TB) { AssertRule(tb, r, "other-rule", "") },
	}
	for i, c := range cases {
		ft := &testing.T{}
		c(ft)
		if !ft.Failed() {
			t.Errorf("case %d: the assertion passed on a wrong expectation", i)
		}
	}
}
