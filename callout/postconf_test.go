package callout_test

import (
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/callout"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// The verifier plugs into the Postfix vocabulary's
// reject_unverified_recipient: a recipient the downstream server refuses
// gets Postfix's reply with the verdict in its words; one it takes passes.
func TestVerifyFuncInPostconf(t *testing.T) {
	m := startMailServer(t)
	v, err := callout.New(callout.Config{Host: "127.0.0.1:" + itoa(m.port)})
	if err != nil {
		t.Fatal(err)
	}
	f, err := postconf.Parse(strings.NewReader("smtpd_recipient_restrictions = reject_unverified_recipient\nunverified_recipient_reject_code = 550\n"), "main.cf")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := postconf.Build(f, postconf.Env{Domains: []string{"example.org"}, VerifyRecipient: v.VerifyFunc(postconf.ErrUndeliverable)})
	if err != nil {
		t.Fatal(err)
	}
	s := checktest.NewSession("192.0.2.1").Helo("mx.example.net").From("a@example.net").To("nobody@example.org").Session()
	r := cfg.Policy.Rcpt(t.Context(), s)
	got := r.DefaultReply().String()
	if r.Reply.Code() != 550 || !strings.Contains(got, "undeliverable address: host 127.0.0.1[127.0.0.1]:"+itoa(m.port)+" said: 550 5.1.1 no such user (in reply to RCPT TO command)") {
		t.Errorf("unknown recipient: %v %q", r.Action, got)
	}
	s = checktest.NewSession("192.0.2.1").Helo("mx.example.net").From("a@example.net").To("ok@example.org").Session()
	if r := cfg.Policy.Rcpt(t.Context(), s); r.Action.Refuses() {
		t.Errorf("known recipient refused: %q", r.DefaultReply().String())
	}
}
