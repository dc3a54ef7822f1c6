package msgauth_test

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dmarc"

	"github.com/smtppolicy/smtppolicy/msgauth"
	"github.com/smtppolicy/smtppolicy/msgauth/arc"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// throughList is what a mailing list at lists.example.org does to a
// message: a subject tag and a footer, which break the author's DKIM
// signature, then its ARC set recording what it found on arrival.
func throughList(t testing.TB, msg, selector, results string) string {
	t.Helper()
	msg = strings.Replace(msg, "Subject: lunch", "Subject: [team] lunch", 1) + "--\r\nteam mailing list\r\n"
	return arcSeal(t, msg, "lists.example.org", selector, arc.None, results)
}

func arcSeal(t testing.TB, msg, domain, selector string, chain arc.State, results string) string {
	t.Helper()
	set, err := arc.Sign(strings.NewReader(msg), &arc.SignOptions{Domain: domain, Selector: selector, Signer: keys().ed,
		Chain: chain, AuthResults: domain + "; arc=" + string(chain) + "; " + results})
	if err != nil {
		t.Fatal(err)
	}
	return set + msg
}

func TestARC(t *testing.T) {
	w := newWorld(t)
	w.txt("_dmarc.example.net", "v=DMARC1; p=reject")
	for _, d := range []string{"lists.example.org", "fwd.example.org"} {
		w.publishKey("ed._domainkey."+d, "ed25519", keys().ed.Public().(ed25519.PublicKey))
	}
	w.dns.ServFail("broken._domainkey.lists.example.org")

	signed := sign(t, plainMessage, "example.net", "ed")
	vouched := "dkim=pass header.d=example.net; dmarc=pass header.from=example.net"
	listed := throughList(t, signed, "ed", vouched)
	trusted := func(c *msgauth.Config) { c.ARC, c.ARCTrustedSealers = true, []string{"lists.example.org"} }
	tests := []struct {
		name   string
		msg    string
		cfg    func(*msgauth.Config)
		arc    msgauth.Result
		action smtpcheck.Action
		reply  string   // prefix of the reply, when refused
		header []string // in Authentication-Results, when not refused
	}{
		{name: "ARC off: the list's change fails DMARC", msg: listed, action: smtpcheck.Reject, reply: "550 5.7.1 message refused: DMARC policy of example.net"},
		{name: "a passing chain from a sealer not trusted changes nothing", msg: listed, cfg: func(c *msgauth.Config) { c.ARC = true },
			arc: msgauth.Pass, action: smtpcheck.Reject, reply: "550 5.7.1 "},
		{name: "a trusted sealer's dmarc=pass overrides DMARC's fail", msg: listed, cfg: trusted, arc: msgauth.Pass, action: smtpcheck.Continue,
			header: []string{"arc=pass smtp.remote-ip=192.0.2.1", "dmarc=fail reason=\"no aligned DKIM or SPF pass; p=reject; overridden: arc=pass sealed by lists.example.org (i=1)\""}},
		{name: "sealer names are folded", msg: listed, cfg: func(c *msgauth.Config) { c.ARC, c.ARCTrustedSealers = true, []string{"Lists.Example.ORG."} },
			arc: msgauth.Pass, action: smtpcheck.Continue},
		{name: "changed after the seal", msg: listed + "unsealed footer\r\n", cfg: trusted, arc: msgauth.Fail, action: smtpcheck.Reject, reply: "550 5.7.1 "},
		{name: "the trusted sealer saw DMARC fail", msg: throughList(t, signed, "ed", "dmarc=fail header.from=example.net"), cfg: trusted,
			arc: msgauth.Pass, action: smtpcheck.Reject, reply: "550 5.7.1 "},
		{name: "dmarc=pass for another domain", msg: throughList(t, signed, "ed", "dmarc=pass header.from=example.com"), cfg: trusted,
			arc: msgauth.Pass, action: smtpcheck.Reject, reply: "550 5.7.1 "},
		{name: "an untrusted hop after the trusted one", msg: arcSeal(t, listed, "fwd.example.org", "ed", arc.Pass, vouched), cfg: trusted,
			arc: msgauth.Pass, action: smtpcheck.Reject, reply: "550 5.7.1 "},
		{name: "two trusted hops", msg: arcSeal(t, listed, "fwd.example.org", "ed", arc.Pass, "dmarc=fail header.from=example.net"),
			cfg: func(c *msgauth.Config) {
				c.ARC, c.ARCTrustedSealers = true, []string{"lists.example.org", "fwd.example.org"}
			}, arc: msgauth.Pass, action: smtpcheck.Continue, header: []string{"sealed by lists.example.org (i=1)"}},
		{name: "the trusted sealer's key fails temporarily: defer, never refuse", msg: throughList(t, signed, "broken", vouched), cfg: trusted,
			arc: msgauth.TempError, action: smtpcheck.TempFail, reply: "451 4.7.1 DMARC evaluation for example.net failed temporarily: ARC chain sealed by lists.example.org"},
		{name: "quarantine a broken chain", msg: throughList(t, strings.Replace(plainMessage, "alice@example.net", "alice@example.org", 1), "ed", vouched) + "x\r\n",
			cfg: func(c *msgauth.Config) {
				c.ARC, c.ARCPolicy = true, msgauth.ResultPolicy{msgauth.Fail: smtpcheck.Quarantine}
			},
			arc: msgauth.Fail, action: smtpcheck.Quarantine, header: []string{"arc=fail"}},
		{name: "tag a message without a chain", msg: strings.Replace(plainMessage, "example.net", "example.org", 1),
			cfg: func(c *msgauth.Config) { c.ARC, c.ARCPolicy = true, msgauth.ResultPolicy{msgauth.None: smtpcheck.Tag} },
			arc: msgauth.None, action: smtpcheck.Tag, header: []string{"arc=none"}},
		{name: "ARC policy defers a temperror", msg: strings.Replace(throughList(t, signed, "broken", vouched), "alice@example.net", "alice@example.org", 1),
			cfg: func(c *msgauth.Config) {
				c.ARC, c.ARCPolicy = true, msgauth.ResultPolicy{msgauth.TempError: smtpcheck.TempFail, msgauth.Fail: smtpcheck.Tag}
			}, arc: msgauth.TempError, action: smtpcheck.TempFail, reply: "451 4.7.1 "},
		{name: "local override reject stays overridden by a trusted sealer", msg: listed, cfg: func(c *msgauth.Config) {
			trusted(c)
			c.Override = map[string]dmarc.Policy{"*": dmarc.PolicyReject}
		}, arc: msgauth.Pass, action: smtpcheck.Continue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := msgauth.Config{Resolver: w.res, AuthServID: "mx.test"}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			v, err := msgauth.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := session(t, tt.msg, "list-bounces@lists.example.org")
			r := v.Check()(t.Context(), s)
			o, _ := msgauth.ResultOf(s)
			if o.ARC.Result != tt.arc {
				t.Errorf("arc=%s (%v), want %s", o.ARC.Result, o.ARC.Err, tt.arc)
			}
			if r.Action != tt.action {
				t.Errorf("action = %v, want %v (reason %s)", r.Action, tt.action, r.Reason)
			}
			if got := r.DefaultReply().Error(); r.Action.Refuses() && !strings.HasPrefix(got, tt.reply) {
				t.Errorf("reply = %q, want prefix %q", got, tt.reply)
			}
			if r.Action.Refuses() {
				return
			}
			if len(r.Headers) != 1 {
				t.Fatalf("headers = %v, want Authentication-Results", r.Headers)
			}
			if cfg.ARC != strings.Contains(r.Headers[0].Value, "arc=") {
				t.Errorf("Authentication-Results: %s\nwith ARC %v", r.Headers[0].Value, cfg.ARC)
			}
			for _, want := range tt.header {
				if !strings.Contains(r.Headers[0].Value, want) {
					t.Errorf("Authentication-Results: %s\nlacks %q", r.Headers[0].Value, want)
				}
			}
		})
	}
}

func TestARCPolicyNeverRejects(t *testing.T) {
	w := newWorld(t)
	for _, cfg := range []msgauth.Config{
		{Resolver: w.res, ARC: true, ARCPolicy: msgauth.ResultPolicy{msgauth.Fail: smtpcheck.Reject}},
		{Resolver: w.res, ARC: true, ARCPolicy: msgauth.ResultPolicy{msgauth.Fail: smtpcheck.TempFail}},
		{Resolver: w.res, ARC: true, ARCPolicy: msgauth.ResultPolicy{msgauth.TempError: smtpcheck.Reject}},
		{Resolver: w.res, ARCTrustedSealers: []string{"lists.example.org"}},
	} {
		if _, err := msgauth.New(cfg); err == nil {
			t.Errorf("New(ARC policy %v, trusted %v) succeeded", cfg.ARCPolicy, cfg.ARCTrustedSealers)
		}
	}
}
