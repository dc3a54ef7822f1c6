package arc_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smtppolicy/smtppolicy/msgauth/arc"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// keys are generated once per test binary: RSA generation is slow.
type testKeys struct {
	ed  ed25519.PrivateKey
	rsa *rsa.PrivateKey
}

var keys = sync.OnceValue(func() testKeys {
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return testKeys{ed, rk}
})

// Sealers whose keys the DNS serves, selectors "rsa" and "ed".
const (
	list = "lists.example.org"
	fwd  = "fwd.example.com"
)

// world is the in-process DNS server with the sealers' keys, and a
// resolver on it.
type world struct {
	dns *dnstest.Server
	res *resolver.Resolver
}

func newWorld(t testing.TB) *world {
	t.Helper()
	srv := dnstest.New(t)
	srv.Zone("example.org", 60)
	srv.Zone("example.com", 60)
	w := &world{dns: srv}
	der, err := x509.MarshalPKIXPublicKey(&keys().rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{list, fwd} {
		w.txt("rsa._domainkey."+d, "v=DKIM1; k=rsa; p="+base64.StdEncoding.EncodeToString(der))
		w.txt("ed._domainkey."+d, "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(keys().ed.Public().(ed25519.PublicKey)))
	}
	r := srv.Resolver(resolver.Config{Timeout: 300 * time.Millisecond, Attempts: 1})
	w.res = r
	return w
}

// txt serves a TXT record, cut into 255-octet strings as a zone file would.
func (w *world) txt(name, rec string) {
	var parts []string
	for len(rec) > 255 {
		parts, rec = append(parts, rec[:255]), rec[255:]
	}
	parts = append(parts, rec)
	w.dns.AddRR(&dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: parts})
}

const original = "DKIM-Signature: v=1; a=rsa-sha256; d=example.net; s=s1; h=from:subject; bh=AAAA; b=BBBB\r\n" +
	"From: Alice <alice@example.net>\r\nTo: dev@lists.example.org\r\nSubject: release\r\n" +
	"Date: Fri, 04 Dec 2026 17:00:00 +0000\r\nMessage-ID: <arc-1@example.net>\r\n\r\n" +
	"The release is out.  \r\nThanks\tall.\r\n\r\n\r\n"

func signer(sel string) crypto.Signer {
	if sel == "ed" {
		return keys().ed
	}
	return keys().rsa
}

// seal adds a set by domain d with selector sel to msg, recording chain as
// the arriving chain's state.
func seal(t testing.TB, msg, d, sel string, chain arc.State) string {
	t.Helper()
	set, err := arc.Sign(strings.NewReader(msg), &arc.SignOptions{
		Domain: d, Selector: sel, Signer: signer(sel), Chain: chain,
		AuthResults: d + "; arc=" + string(chain) + "; dkim=pass header.d=example.net; dmarc=pass header.from=example.net",
		Now:         func() time.Time { return time.Unix(1764867600, 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return set + msg
}

// listed is what a mailing list does: a subject tag and a footer, then
// its seal.
func listed(t testing.TB, msg, sel string, chain arc.State) string {
	t.Helper()
	msg = strings.Replace(msg, "Subject: release", "Subject: [dev] release", 1)
	msg = strings.Replace(msg, "Message-ID:", "List-Id: <dev.lists.example.org>\r\nMessage-ID:", 1)
	return seal(t, msg+"--\r\ndev mailing list\r\n", list, sel, chain)
}

// twoHops is the original through the list (which changes it) and then a
// forwarder.
func twoHops(t testing.TB, sel string) string {
	t.Helper()
	return seal(t, listed(t, original, sel, arc.None), fwd, sel, arc.Pass)
}

func verify(t testing.TB, w *world, msg string) arc.Result {
	t.Helper()
	r, err := arc.Verify(t.Context(), strings.NewReader(msg), w.res)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestChainPasses(t *testing.T) {
	w := newWorld(t)
	for _, sel := range []string{"rsa", "ed"} {
		one := listed(t, original, sel, arc.None)
		three := seal(t, twoHops(t, sel), list, sel, arc.Pass)
		for _, tt := range []struct {
			name    string
			msg     string
			sealers []string
		}{
			{"one hop", one, []string{list}},
			{"two hops", twoHops(t, sel), []string{list, fwd}},
			{"three hops", three, []string{list, fwd, list}},
			{"LF line endings", strings.ReplaceAll(twoHops(t, sel), "\r\n", "\n"), []string{list, fwd}},
			{"refolded seals", strings.ReplaceAll(twoHops(t, sel), "; cv=", ";\r\n  cv="), []string{list, fwd}},
		} {
			t.Run(sel+"/"+tt.name, func(t *testing.T) {
				r := verify(t, w, tt.msg)
				if r.State != arc.Pass || r.Err != nil {
					t.Fatalf("Verify = %s (%v), want pass", r.State, r.Err)
				}
				if len(r.Sets) != len(tt.sealers) {
					t.Fatalf("%d sets, want %d", len(r.Sets), len(tt.sealers))
				}
				for i, s := range r.Sets {
					wantCV := arc.Pass
					if i == 0 {
						wantCV = arc.None
					}
					if s.Instance != i+1 || s.Sealer != tt.sealers[i] || s.Signer != tt.sealers[i] || s.CV != wantCV || s.AuthServID != tt.sealers[i] {
						t.Errorf("set %d = %+v, want i=%d sealed by %s cv=%s", i, s, i+1, tt.sealers[i], wantCV)
					}
					if !strings.Contains(s.Results, "dmarc=pass header.from=example.net") {
						t.Errorf("set %d results %q lack the sealer's dmarc=pass", i, s.Results)
					}
				}
			})
		}
	}
}

func TestNoChain(t *testing.T) {
	w := newWorld(t)
	if r := verify(t, w, original); r.State != arc.None || r.Err != nil || len(r.Sets) != 0 {
		t.Errorf("Verify(unsealed) = %+v, want none", r)
	}
}

// errKind names the error type a failing chain reports.
func errKind(err error) string {
	var (
		pe *arc.ParseError
		ce *arc.ChainError
		se *arc.SignatureError
		ke *arc.KeyError
	)
	switch {
	case errors.As(err, &pe):
		return "parse"
	case errors.As(err, &ce):
		return "chain"
	case errors.As(err, &se):
		return "signature"
	case errors.As(err, &ke):
		return "key"
	}
	return "none"
}

func TestChainFails(t *testing.T) {
	w := newWorld(t)
	w.txt("revoked._domainkey."+list, "v=DKIM1; k=rsa; p=")
	w.txt("short._domainkey."+list, "v=DKIM1; k=rsa; p=MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMHj6gB0MCS39HNbNYtajUxf3uzB1ypvOujx4G1bFCAlz5BF0dbG3kmB9KOAZaz2ZEuEwVDNhPTmgD3uYF5eO5cCAwEAAQ==")
	w.txt("wrongtype._domainkey."+list, "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(keys().ed.Public().(ed25519.PublicKey)))
	w.dns.ServFail("broken._domainkey." + list)
	w.dns.Silence("slow._domainkey." + list)

	two := twoHops(t, "rsa")
	// withSel reseals the second hop with the list's selector sel.
	withSel := func(sel string) string {
		return strings.Replace(seal(t, listed(t, original, "rsa", arc.None), list, "rsa", arc.Pass), "s=rsa;", "s="+sel+";", 2)
	}
	tests := []struct {
		name      string
		msg       string
		kind      string // the error's type
		temporary bool
		want      string // in the error
	}{
		{"body changed after the last seal", strings.Replace(two, "The release is out.", "The release is late.", 1), "signature", false, "ARC-Message-Signature i=2 d=fwd.example.com: body hash"},
		{"signed header changed", strings.Replace(two, "Subject: [dev] release", "Subject: [dev] RELEASE", 1), "signature", false, "ARC-Message-Signature i=2"},
		{"earlier results changed", strings.Replace(two, "ARC-Authentication-Results: i=1; lists.example.org; arc=none; dkim=pass", "ARC-Authentication-Results: i=1; lists.example.org; arc=none; dkim=fail", 1), "signature", false, "ARC-Seal i=2"},
		{"first set removed", removeSet(two, 1), "chain", false, "i=1: incomplete"},
		{"seal duplicated", strings.Replace(two, "ARC-Seal: i=2", "ARC-Seal: i=2; cv=pass; a=rsa-sha256; d=x; s=y; b=\r\nARC-Seal: i=2", 1), "chain", false, "two ARC-Seal"},
		{"instance out of range", strings.Replace(two, "ARC-Seal: i=2", "ARC-Seal: i=51", 1), "parse", false, "i=51"},
		{"instance not a number", strings.Replace(two, "ARC-Message-Signature: i=2", "ARC-Message-Signature: i=two", 1), "parse", false, "i=two"},
		{"seal without cv", strings.Replace(two, "; cv=pass", "", 1), "parse", false, "no cv= tag"},
		{"seal with h=", strings.Replace(two, "; cv=pass", "; cv=pass; h=from", 1), "parse", false, "h= tag in a seal"},
		{"bad tag list", strings.Replace(two, "ARC-Seal: i=2;", "ARC-Seal: i=2;; ", 1), "parse", false, "empty tag"},
		{"results without i=", strings.Replace(two, "ARC-Authentication-Results: i=1;", "ARC-Authentication-Results: lists.example.org;", 1), "parse", false, "ARC-Authentication-Results"},
		{"first seal says pass", strings.Replace(two, "; cv=none", "; cv=pass", 1), "chain", false, "i=1: cv=pass, want none"},
		{"sealer found it failed", seal(t, listed(t, original, "rsa", arc.None), fwd, "rsa", arc.Fail), "chain", false, "cv=fail"},
		{"unknown algorithm", strings.Replace(two, "ARC-Seal: i=2; cv=pass; a=rsa-sha256", "ARC-Seal: i=2; cv=pass; a=rsa-sha1", 1), "signature", false, "unknown algorithm"},
		{"no key", withSel("gone"), "key", false, "gone._domainkey.lists.example.org"},
		{"revoked key", withSel("revoked"), "signature", false, "revoked"},
		{"key too short", withSel("short"), "signature", false, "512 bits"},
		{"key of another type", withSel("wrongtype"), "signature", false, "k=ed25519 cannot verify rsa-sha256"},
		{"SERVFAIL on the key", withSel("broken"), "key", true, "broken._domainkey"},
		{"key lookup times out", withSel("slow"), "key", true, "slow._domainkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := verify(t, w, tt.msg)
			if r.State != arc.Fail {
				t.Fatalf("Verify = %s (%v), want fail", r.State, r.Err)
			}
			if k := errKind(r.Err); k != tt.kind {
				t.Errorf("error %v is a %s error, want %s", r.Err, k, tt.kind)
			}
			if r.Temporary() != tt.temporary || arc.IsTemporary(r.Err) != tt.temporary {
				t.Errorf("Temporary() = %v for %v, want %v", r.Temporary(), r.Err, tt.temporary)
			}
			if r.Err == nil || !strings.Contains(r.Err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %q", r.Err, tt.want)
			}
		})
	}
}

// removeSet drops the three fields of instance i.
func removeSet(msg string, i int) string {
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	var kept []string
	lines := strings.Split(head, "\r\n")
	drop := false
	for _, l := range lines {
		if l[0] != ' ' && l[0] != '\t' {
			drop = strings.HasPrefix(l, "ARC-") && strings.Contains(l, ": i="+string(rune('0'+i))+";")
		}
		if !drop {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\r\n") + "\r\n\r\n" + body
}

// A failed chain is sealed with cv=fail over the new set alone: its seal
// verifies, and the chain stays failed for every later receiver.
func TestSealFailedChain(t *testing.T) {
	w := newWorld(t)
	broken := strings.Replace(twoHops(t, "ed"), "The release", "A release", 1)
	if r := verify(t, w, broken); r.State != arc.Fail {
		t.Fatalf("tampered chain = %s, want fail", r.State)
	}
	sealed := seal(t, broken, list, "ed", arc.Fail)
	if !strings.HasPrefix(sealed, "ARC-Seal: i=3; cv=fail;") {
		t.Fatalf("seal of a failed chain starts %q, want i=3 cv=fail", sealed[:40])
	}
	r := verify(t, w, sealed)
	if r.State != arc.Fail || errKind(r.Err) != "chain" || len(r.Sets) != 3 {
		t.Errorf("Verify = %s %v with %d sets, want a chain error over 3 sets", r.State, r.Err, len(r.Sets))
	}
}

func TestSignRefuses(t *testing.T) {
	opts := func(chain arc.State) *arc.SignOptions {
		return &arc.SignOptions{Domain: list, Selector: "ed", Signer: keys().ed, AuthResults: list + "; arc=none", Chain: chain}
	}
	full := original
	for i := 0; i < arc.MaxInstance; i++ {
		full = "ARC-Seal: i=" + itoa(i+1) + "; cv=pass\r\nARC-Message-Signature: i=" + itoa(i+1) + "; a=x\r\nARC-Authentication-Results: i=" + itoa(i+1) + "; x\r\n" + full
	}
	for _, tt := range []struct {
		name string
		msg  string
		o    *arc.SignOptions
	}{
		{"no key", original, &arc.SignOptions{Domain: list, Selector: "ed", AuthResults: "x"}},
		{"no results", original, &arc.SignOptions{Domain: list, Selector: "ed", Signer: keys().ed}},
		{"no From:", strings.Replace(original, "From:", "X-From:", 1), opts(arc.None)},
		{"a chain of unknown state", listed(t, original, "ed", arc.None), opts(arc.None)},
		{"a chain at its longest", full, opts(arc.Pass)},
	} {
		if set, err := arc.Sign(strings.NewReader(tt.msg), tt.o); err == nil {
			t.Errorf("%s: Sign = %q, want an error", tt.name, set)
		}
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
