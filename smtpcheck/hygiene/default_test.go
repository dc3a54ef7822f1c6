package hygiene

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

func TestFirstMatchFoldsLikeCore(t *testing.T) {
	refusal := refuse(reply.SyntaxError(), "a", "r", "m")
	tag := smtpcheck.Result{Action: smtpcheck.Tag, Score: 1, Reason: smtpcheck.Reason{Check: "t"}}
	undecided := smtpcheck.Result{Err: errors.New("store down"), Reason: smtpcheck.Reason{Check: "e"}}
	deferred := smtpcheck.Result{Action: smtpcheck.DeferIfPermit, Reason: smtpcheck.Reason{Check: "d"}}
	accept := smtpcheck.Result{Action: smtpcheck.Accept}
	noted := smtpcheck.Result{Reason: smtpcheck.Reason{Check: "n", Evidence: "looked"}}
	scored := smtpcheck.Result{Score: 2.5}
	results := []smtpcheck.Result{{}, refusal, tag, undecided, deferred, accept, noted, scored}
	fixed := func(r smtpcheck.Result) test {
		return func(context.Context, *smtpcheck.Session) *smtpcheck.Result {
			if r.IsZero() {
				return nil
			}
			return &r
		}
	}
	for i, a := range results {
		for j, b := range results {
			for k, c := range results {
				list := []test{fixed(a), fixed(b), fixed(c)}
				s := checktest.NewSession("192.0.2.1").Session()
				want := smtpcheck.FirstMatch(list[0].check(), list[1].check(), list[2].check())(t.Context(), s)
				got := firstMatch(t.Context(), s, list)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("firstMatch(%d, %d, %d) = %+v, want %+v", i, j, k, got, want)
				}
			}
		}
	}
}

func TestDefaultTrustedSkipsOnlyPresentationChecks(t *testing.T) {
	st := Default(DefaultConfig{Names: []string{"mx.our.example"}})
	rcpt := smtpcheck.FirstMatch(st.Rcpt...)
	helo := smtpcheck.FirstMatch(st.Helo...)
	tests := []struct {
		name string
		b    *checktest.Builder
		c    smtpcheck.Check
		want smtpcheck.Action
	}{
		{"trusted dotless helo", checktest.NewSession("10.0.0.5").Trusted().Helo("printer"), helo, smtpcheck.Continue},
		{"untrusted dotless helo", checktest.NewSession("192.0.2.5").Helo("printer"), helo, smtpcheck.Reject},
		{"trusted bad recipient", checktest.NewSession("10.0.0.5").Trusted().Helo("printer").From("a@alpha-mail.de").To("bob@-x.fr"), rcpt, smtpcheck.Reject},
		{"authenticated reserved recipient", checktest.NewSession("192.0.2.5").Auth("alice").Helo("laptop").From("a@alpha-mail.de").To("bob@example.com"), rcpt, smtpcheck.Reject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c(t.Context(), tt.b.Session()).Action; got != tt.want {
				t.Errorf("Default(%s) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}
