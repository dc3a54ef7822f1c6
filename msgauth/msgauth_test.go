package msgauth_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/msgauth"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/spfcheck"
)

// keys are generated once per test binary: RSA generation is slow.
var keys = sync.OnceValue(func() struct {
	ed  ed25519.PrivateKey
	rsa *rsa.PrivateKey
} {
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return struct {
		ed  ed25519.PrivateKey
		rsa *rsa.PrivateKey
	}{ed, rk}
})

// world is a DNS with DKIM keys published for example.net: selector "ed"
// (ed25519) and "rsa" (RSA 2048), in the in-process server.
type world struct {
	dns *dnstest.Server
	res *resolver.Resolver
}

func newWorld(t testing.TB) *world {
	t.Helper()
	srv := dnstest.New(t)
	srv.Zone("example.net", 60)
	srv.Zone("example.org", 60)
	w := &world{dns: srv}
	w.publishKey("ed._domainkey.example.net", "ed25519", keys().ed.Public().(ed25519.PublicKey))
	der, err := x509.MarshalPKIXPublicKey(&keys().rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	w.publishKey("rsa._domainkey.example.net", "rsa", der)
	r := srv.Resolver(resolver.Config{Timeout: 200 * time.Millisecond, Attempts: 1})
	w.res = r
	return w
}

// publishKey serves a DKIM key record (RFC 6376 3.6.1), its base64 cut
// into 255-octet strings as a zone file would.
func (w *world) publishKey(name, algo string, pub []byte) {
	rec := "v=DKIM1; k=" + algo + "; p=" + base64.StdEncoding.EncodeToString(pub)
	w.txt(name, rec)
}

func (w *world) txt(name, rec string) {
	var parts []string
	for len(rec) > 255 {
		parts, rec = append(parts, rec[:255]), rec[255:]
	}
	parts = append(parts, rec)
	w.dns.AddRR(&dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: parts})
}

const plainMessage = "From: Alice <alice@example.net>\r\nTo: Bob <bob@example.org>\r\nSubject: lunch\r\n" +
	"Date: Fri, 04 Dec 2026 17:00:00 +0000\r\nMessage-ID: <auth-1@example.net>\r\n\r\nShall we meet on Tuesday?\r\n"

// sign returns msg with a DKIM-Signature by d= domain and the selector's key.
func sign(t testing.TB, msg, domain, selector string) string {
	t.Helper()
	var signer crypto.Signer = keys().ed
	if strings.HasPrefix(selector, "rsa") {
		signer = keys().rsa
	}
	var out bytes.Buffer
	if err := dkim.Sign(&out, strings.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: selector, Signer: signer}); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// session is an end-of-data session for msg from mailFrom via 192.0.2.1.
func session(t testing.TB, msg, mailFrom string) *smtpcheck.Session {
	t.Helper()
	h, body, err := smtpcheck.SplitMessage(smtpcheck.BytesBody(msg))
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpcheck.Session{Stage: smtpcheck.StageEndOfData, Header: h, Body: body, Message: smtpcheck.BytesBody(msg)}
	s.Conn.ID = "T1"
	s.Conn.ClientIP = netip.MustParseAddr("192.0.2.1")
	s.SetHelo("EHLO", "mx.example.net")
	s.Mail = &smtpcheck.Mail{From: smtpcheck.ParseAddress(mailFrom)}
	return s
}

func TestVerify(t *testing.T) {
	w := newWorld(t)
	w.txt("_dmarc.example.net", "v=DMARC1; p=reject")
	w.txt("_dmarc.quarantine.example", "v=DMARC1; p=quarantine")
	w.txt("_dmarc.none.example", "v=DMARC1; p=none")
	w.txt("_dmarc.strict.example", "v=DMARC1; p=reject; adkim=s")
	w.txt("_dmarc.sampled.example", "v=DMARC1; p=reject; pct=20")
	w.txt("_dmarc.parent.example", "v=DMARC1; p=none; sp=reject")
	// Keys for the other domains: the same ed25519 key.
	for _, d := range []string{"quarantine.example", "none.example", "strict.example", "mail.strict.example", "mail.example.net"} {
		w.publishKey("ed._domainkey."+d, "ed25519", keys().ed.Public().(ed25519.PublicKey))
	}
	w.dns.Silence("slow._domainkey.example.net")

	from := func(msg, addr string) string { return strings.Replace(msg, "alice@example.net", addr, 1) }
	tamper := func(msg string) string { return strings.Replace(msg, "Tuesday", "Friday", 1) }
	tests := []struct {
		name     string
		msg      string
		cfg      func(*msgauth.Config)
		dkim     msgauth.Result
		dmarc    msgauth.Result
		action   smtpcheck.Action
		reply    string   // prefix of the reply, when refused
		header   []string // in Authentication-Results, when not refused
		evidence string   // in the reason
	}{
		{name: "ed25519 pass, p=reject", msg: sign(t, plainMessage, "example.net", "ed"), dkim: msgauth.Pass, dmarc: msgauth.Pass,
			action: smtpcheck.Continue, header: []string{"mx.test;\r\n\tdkim=pass header.d=example.net header.i=@example.net;\r\n\tdmarc=pass header.from=example.net"}},
		{name: "rsa pass", msg: sign(t, plainMessage, "example.net", "rsa"), dkim: msgauth.Pass, dmarc: msgauth.Pass, action: smtpcheck.Continue},
		{name: "relaxed alignment of a subdomain signature", msg: sign(t, plainMessage, "mail.example.net", "ed"), dkim: msgauth.Pass, dmarc: msgauth.Pass,
			action: smtpcheck.Continue, header: []string{"dkim=pass header.d=mail.example.net"}},
		{name: "strict alignment refuses a subdomain signature", msg: sign(t, from(plainMessage, "a@strict.example"), "mail.strict.example", "ed"),
			dkim: msgauth.Pass, dmarc: msgauth.Fail, action: smtpcheck.Reject, reply: "550 5.7.1 message refused: DMARC policy of strict.example says reject"},
		{name: "body hash fail, p=reject", msg: tamper(sign(t, plainMessage, "example.net", "ed")), dkim: msgauth.Fail, dmarc: msgauth.Fail,
			action: smtpcheck.Reject, reply: "550 5.7.1 message refused: DMARC policy of example.net says reject", evidence: "p=reject"},
		{name: "missing key, p=quarantine", msg: sign(t, from(plainMessage, "a@quarantine.example"), "quarantine.example", "gone"),
			dkim: msgauth.PermError, dmarc: msgauth.Fail, action: smtpcheck.Quarantine,
			header: []string{"dkim=permerror reason=\"dkim: no key for signature", "header.d=quarantine.example", "dmarc=fail"}},
		{name: "unsigned, p=none", msg: from(plainMessage, "a@none.example"), dkim: msgauth.None, dmarc: msgauth.Fail,
			action: smtpcheck.Continue, header: []string{"dkim=none;", "dmarc=fail reason=\"no aligned DKIM or SPF pass; p=none\" header.from=none.example"}},
		{name: "no DMARC record", msg: from(plainMessage, "a@example.org"), dkim: msgauth.None, dmarc: msgauth.None, action: smtpcheck.Continue,
			header: []string{"dmarc=none reason=\"no DMARC record\" header.from=example.org"}},
		{name: "DNS timeout is a temporary failure, never 5xx", msg: sign(t, plainMessage, "example.net", "slow"),
			cfg:  func(c *msgauth.Config) { c.DKIM = msgauth.ResultPolicy{msgauth.TempError: smtpcheck.Reject} },
			dkim: msgauth.TempError, dmarc: msgauth.TempError, action: smtpcheck.TempFail, reply: "451 4."},
		{name: "DKIM policy refuses an unsigned message", msg: from(plainMessage, "a@example.org"),
			cfg:  func(c *msgauth.Config) { c.DKIM = msgauth.ResultPolicy{msgauth.None: smtpcheck.Reject} },
			dkim: msgauth.None, dmarc: msgauth.None, action: smtpcheck.Reject, reply: "550 5.7.20 no passing DKIM signature for example.org: no signature"},
		{name: "local override none", msg: tamper(sign(t, plainMessage, "example.net", "ed")),
			cfg:  func(c *msgauth.Config) { c.Override = map[string]dmarc.Policy{"*": dmarc.PolicyNone} },
			dkim: msgauth.Fail, dmarc: msgauth.Fail, action: smtpcheck.Continue, evidence: "applied as none"},
		{name: "local override reject for a p=none domain", msg: from(plainMessage, "a@none.example"),
			cfg:  func(c *msgauth.Config) { c.Override = map[string]dmarc.Policy{"none.example": dmarc.PolicyReject} },
			dkim: msgauth.None, dmarc: msgauth.Fail, action: smtpcheck.Reject, reply: "550 5.7.1 "},
		{name: "pct sampled out: reject becomes quarantine", msg: from(plainMessage, "a@sampled.example"),
			cfg: func(c *msgauth.Config) { c.Sample = func() int { return 50 } }, dkim: msgauth.None, dmarc: msgauth.Fail, action: smtpcheck.Quarantine, evidence: "pct=20"},
		{name: "pct sampled in", msg: from(plainMessage, "a@sampled.example"),
			cfg: func(c *msgauth.Config) { c.Sample = func() int { return 10 } }, dkim: msgauth.None, dmarc: msgauth.Fail, action: smtpcheck.Reject, reply: "550 5.7.1 "},
		{name: "sp= for a subdomain", msg: from(plainMessage, "a@sub.parent.example"), dkim: msgauth.None, dmarc: msgauth.Fail, action: smtpcheck.Reject, reply: "550 5.7.1 ", evidence: "sp=reject"},
		{name: "Barracuda spoofing of our domain", msg: from(plainMessage, "ceo@example.org"),
			cfg:  func(c *msgauth.Config) { c.SpoofDomains = []string{"example.org"} },
			dkim: msgauth.None, dmarc: msgauth.None, action: smtpcheck.Reject, reply: "550 5.7.1 Rejecting spoofed message."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := msgauth.Config{Resolver: w.res, AuthServID: "mx.test", Timeout: 2 * time.Second}
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			v, err := msgauth.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := session(t, tt.msg, "bounce@elsewhere.example")
			r := v.Check()(t.Context(), s)
			o, ok := msgauth.ResultOf(s)
			if !ok {
				t.Fatalf("no outcome stored; result %v", r.LogValue())
			}
			if o.DKIM != tt.dkim || o.DMARC.Result != tt.dmarc {
				t.Errorf("dkim=%s dmarc=%s (%s), want dkim=%s dmarc=%s", o.DKIM, o.DMARC.Result, o.DMARC.Reason, tt.dkim, tt.dmarc)
			}
			if r.Action != tt.action {
				t.Errorf("action = %v, want %v (reason %s)", r.Action, tt.action, r.Reason)
			}
			if got := r.DefaultReply().Error(); tt.reply != "" && !strings.HasPrefix(got, tt.reply) {
				t.Errorf("reply = %q, want prefix %q", got, tt.reply)
			}
			if r.Action.Refuses() != (tt.reply != "") {
				t.Errorf("refuses = %v with reply %q", r.Action.Refuses(), r.DefaultReply().Error())
			}
			if r.Reason.Check != msgauth.Name || !strings.Contains(r.Reason.String(), tt.evidence) {
				t.Errorf("reason = %s, want check %s naming %q", r.Reason, msgauth.Name, tt.evidence)
			}
			if r.Action.Refuses() {
				if len(r.Headers) != 0 {
					t.Errorf("refused with headers %v", r.Headers)
				}
				return
			}
			if len(r.Headers) != 1 || r.Headers[0].Name != "Authentication-Results" {
				t.Fatalf("headers = %v, want Authentication-Results", r.Headers)
			}
			for _, want := range tt.header {
				if !strings.Contains(r.Headers[0].Value, want) {
					t.Errorf("Authentication-Results: %s\nlacks %q", r.Headers[0].Value, want)
				}
			}
		})
	}
}

// An aligned SPF pass satisfies DMARC without a signature, and the SPF
// result spfcheck left in the session appears in Authentication-Results.
func TestSPFAlignment(t *testing.T) {
	w := newWorld(t)
	w.txt("_dmarc.example.net", "v=DMARC1; p=reject")
	w.txt("example.net", "v=spf1 ip4:192.0.2.1 -all")
	w.txt("bounces.example.net", "v=spf1 ip4:192.0.2.1 -all")
	w.txt("elsewhere.example", "v=spf1 ip4:192.0.2.1 -all")
	w.txt("mx.example.net", "v=spf1 ip4:192.0.2.1 -all")
	v, err := msgauth.New(msgauth.Config{Resolver: w.res, AuthServID: "mx.test"})
	if err != nil {
		t.Fatal(err)
	}
	spf := spfcheck.Mail(spfcheck.Config{Resolver: w.res})
	for _, tt := range []struct {
		mailFrom string
		dmarc    msgauth.Result
		action   smtpcheck.Action
	}{
		{"alice@example.net", msgauth.Pass, smtpcheck.Continue},
		{"b@bounces.example.net", msgauth.Pass, smtpcheck.Continue}, // relaxed: same organisational domain
		{"b@elsewhere.example", msgauth.Fail, smtpcheck.Reject},     // SPF passes, but not aligned
		{"", msgauth.Pass, smtpcheck.Continue},                      // null sender: the HELO name mx.example.net
	} {
		s := session(t, plainMessage, tt.mailFrom)
		if r := spf(t.Context(), s); r.Action != smtpcheck.Continue {
			t.Fatalf("%s: SPF verdict %v", tt.mailFrom, r.Action)
		}
		r := v.Check()(t.Context(), s)
		o, _ := msgauth.ResultOf(s)
		if o.DMARC.Result != tt.dmarc || r.Action != tt.action {
			t.Errorf("MAIL FROM %s: dmarc=%s action=%v, want %s %v", tt.mailFrom, o.DMARC.Result, r.Action, tt.dmarc, tt.action)
		}
		if tt.action == smtpcheck.Continue {
			want := "spf=pass smtp.mailfrom=" + tt.mailFrom
			if tt.mailFrom == "" {
				want = "spf=pass smtp.helo=mx.example.net"
			}
			if !strings.Contains(r.Headers[0].Value, want) {
				t.Errorf("Authentication-Results: %s\nlacks %q", r.Headers[0].Value, want)
			}
		}
	}
}

// A trusted or authenticated client may send as our own domain.
func TestSpoofExemptions(t *testing.T) {
	w := newWorld(t)
	v, err := msgauth.New(msgauth.Config{Resolver: w.res, SpoofDomains: []string{"example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.Replace(plainMessage, "alice@example.net", "ceo@example.org", 1)
	for _, tt := range []struct {
		name   string
		set    func(*smtpcheck.Session)
		action smtpcheck.Action
	}{
		{"outside", func(*smtpcheck.Session) {}, smtpcheck.Reject},
		{"envelope only", func(s *smtpcheck.Session) { s.Mail.From = smtpcheck.ParseAddress("x@lists.example.org") }, smtpcheck.Reject},
		{"trusted", func(s *smtpcheck.Session) { s.Conn.Trusted = true }, smtpcheck.Continue},
		{"authenticated", func(s *smtpcheck.Session) { s.Conn.AuthUser = "ceo" }, smtpcheck.Continue},
	} {
		m := msg
		if tt.name == "envelope only" {
			m = plainMessage
		}
		s := session(t, m, "ceo@example.net")
		tt.set(s)
		if r := v.Check()(t.Context(), s); r.Action != tt.action {
			t.Errorf("%s: action %v, want %v (%s)", tt.name, r.Action, tt.action, r.Reason)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := msgauth.New(msgauth.Config{}); err == nil {
		t.Error("New without a resolver succeeded")
	}
	w := newWorld(t)
	if _, err := msgauth.New(msgauth.Config{Resolver: w.res, Override: map[string]dmarc.Policy{"*": "drop"}}); err == nil {
		t.Error("New with override policy \"drop\" succeeded")
	}
}

// Before end of data there is nothing to verify.
func TestNoMessage(t *testing.T) {
	w := newWorld(t)
	v, _ := msgauth.New(msgauth.Config{Resolver: w.res})
	s := &smtpcheck.Session{Stage: smtpcheck.StageRcpt}
	if r := v.Check()(t.Context(), s); !r.IsZero() {
		t.Errorf("result before end of data = %v, want none", r.LogValue())
	}
}
