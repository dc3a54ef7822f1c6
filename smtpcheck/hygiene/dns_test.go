package hygiene

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver/dnstest"
)

// testDNS serves a small world of sender domains and clients.
func testDNS(t *testing.T) *resolver.Resolver {
	t.Helper()
	srv := dnstest.New(t)
	srv.Zone("mail.test", 60)
	srv.Zone("in-addr.arpa", 60)
	srv.Add(
		"good.mail.test. MX 10 mx.good.mail.test.",
		"mx.good.mail.test. A 198.51.200.10",
		"aonly.mail.test. A 198.51.200.11",
		"nullmx.mail.test. MX 0 .",
		"loopmx.mail.test. MX 10 lo.mail.test.",
		"lo.mail.test. A 127.0.0.1",
		"privmx.mail.test. MX 10 priv.mail.test.",
		"priv.mail.test. A 10.1.2.3",
		"deadmx.mail.test. MX 10 nowhere.mail.test.",
		"mixmx.mail.test. MX 10 lo.mail.test.",
		"mixmx.mail.test. MX 20 mx.good.mail.test.",
		"helo.mail.test. A 198.51.200.12",
		// An MX host without reverse DNS, and the forged client as an MX.
		"noptrmx.mail.test. MX 10 mx.noptr.mail.test.",
		"mx.noptr.mail.test. A 198.51.200.31",
		"forgedmx.mail.test. MX 10 forged-mx.mail.test.",
		"forged-mx.mail.test. A 198.51.200.21",
		// Clients: 198.51.200.10 is good's MX with a dynamic-looking name.
		"10.200.51.198.in-addr.arpa. PTR 198-51-200-10.dsl.mail.test.",
		"198-51-200-10.dsl.mail.test. A 198.51.200.10",
		"20.200.51.198.in-addr.arpa. PTR mx.client.mail.test.",
		"mx.client.mail.test. A 198.51.200.20",
		"21.200.51.198.in-addr.arpa. PTR forged.mail.test.",
		"forged.mail.test. A 203.0.113.99",
	)
	srv.ServFail("broken.mail.test")
	srv.ServFail("22.200.51.198.in-addr.arpa")
	r := srv.Resolver(resolver.Config{Timeout: 300 * time.Millisecond, Attempts: 1})
	return r
}

func TestSenderMX(t *testing.T) {
	res := testDNS(t)
	tests := []struct {
		name, from string
		cfg        MXConfig
		want       verdict
	}{
		{"good", "a@good.mail.test", MXConfig{}, pass},
		{"null sender", "", MXConfig{}, pass},
		{"no mx", "a@aonly.mail.test", MXConfig{}, verdict{smtpcheck.Reject, 553, "5.1.8"}},
		{"no mx implicit", "a@aonly.mail.test", MXConfig{ImplicitMX: true}, pass},
		{"nxdomain", "a@gone.mail.test", MXConfig{}, verdict{smtpcheck.Reject, 553, "5.1.8"}},
		{"null mx", "a@nullmx.mail.test", MXConfig{}, verdict{smtpcheck.Reject, 550, "5.7.27"}},
		{"loopback mx", "a@loopmx.mail.test", MXConfig{}, verdict{smtpcheck.Reject, 553, "5.1.8"}},
		{"private mx", "a@privmx.mail.test", MXConfig{}, verdict{smtpcheck.Reject, 553, "5.1.8"}},
		{"private mx allowed", "a@privmx.mail.test", MXConfig{AllowUnroutable: true}, pass},
		{"mx without address", "a@deadmx.mail.test", MXConfig{}, verdict{smtpcheck.Reject, 553, "5.1.8"}},
		{"one good mx of two", "a@mixmx.mail.test", MXConfig{}, pass},
		{"servfail", "a@broken.mail.test", MXConfig{}, verdict{smtpcheck.TempFail, 451, "4.4.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Resolver = res
			s := checktest.NewSession("192.0.2.1").Helo("mx.client.mail.test").From(tt.from).Session()
			expect(t, "SenderMX("+tt.from+")", run(t, SenderMX(tt.cfg), s), tt.want, NameSenderMX)
		})
	}
	s := checktest.NewSession("192.0.2.1").From("a@aonly.mail.test").Session()
	expect(t, "SenderMX(no resolver)", run(t, SenderMX(MXConfig{}), s), pass, "")
}

func TestSenderDomainAndHeloHostname(t *testing.T) {
	res := testDNS(t)
	tests := []struct {
		name  string
		check smtpcheck.Check
		cname string
		helo  string
		from  string
		want  verdict
	}{
		{"sender with mx", SenderDomain(DomainConfig{Resolver: res}), NameSenderDomain, "x.mail.test", "a@good.mail.test", pass},
		{"sender with A only", SenderDomain(DomainConfig{Resolver: res}), NameSenderDomain, "x.mail.test", "a@aonly.mail.test", pass},
		{"sender nxdomain", SenderDomain(DomainConfig{Resolver: res}), NameSenderDomain, "x.mail.test", "a@gone.mail.test", verdict{smtpcheck.TempFail, 450, "4.1.8"}},
		{"sender nxdomain permanent", SenderDomain(DomainConfig{Resolver: res, Permanent: true}), NameSenderDomain, "x.mail.test", "a@gone.mail.test", verdict{smtpcheck.Reject, 554, "5.1.8"}},
		{"sender null mx", SenderDomain(DomainConfig{Resolver: res}), NameSenderDomain, "x.mail.test", "a@nullmx.mail.test", verdict{smtpcheck.Reject, 550, "5.7.27"}},
		{"sender servfail", SenderDomain(DomainConfig{Resolver: res}), NameSenderDomain, "x.mail.test", "a@broken.mail.test", verdict{smtpcheck.DeferIfPermit, 450, "4.1.8"}},
		{"helo resolves", HeloHostname(DomainConfig{Resolver: res}), NameHeloHostname, "helo.mail.test", "a@good.mail.test", pass},
		{"helo literal skipped", HeloHostname(DomainConfig{Resolver: res}), NameHeloHostname, "[192.0.2.1]", "a@good.mail.test", pass},
		{"helo unknown", HeloHostname(DomainConfig{Resolver: res}), NameHeloHostname, "nohost.mail.test", "a@good.mail.test", verdict{smtpcheck.TempFail, 450, "4.7.1"}},
		{"helo servfail", HeloHostname(DomainConfig{Resolver: res}), NameHeloHostname, "x.broken.mail.test", "a@good.mail.test", verdict{smtpcheck.DeferIfPermit, 450, "4.7.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checktest.NewSession("192.0.2.1").Helo(tt.helo).From(tt.from).Session()
			expect(t, tt.cname, run(t, tt.check, s), tt.want, tt.cname)
		})
	}
}

func TestClientChecks(t *testing.T) {
	res := testDNS(t)
	cc := ClientConfig{Resolver: res}
	mxExempt := ClientConfig{Resolver: res, ExemptSenderMX: true}
	tests := []struct {
		name  string
		check smtpcheck.Check
		cname string
		ip    string
		from  string
		rcpt  bool
		want  verdict
	}{
		{"ptr present", ClientPTR(cc), NameClientPTR, "198.51.200.20", "a@good.mail.test", false, pass},
		{"ptr missing", ClientPTR(cc), NameClientPTR, "198.51.200.30", "a@good.mail.test", false, verdict{smtpcheck.Reject, 554, "5.7.1"}},
		{"ptr missing at rcpt", ClientPTR(cc), NameClientPTR, "198.51.200.30", "a@good.mail.test", true, verdict{smtpcheck.Reject, 550, "5.7.1"}},
		{"ptr servfail", ClientPTR(cc), NameClientPTR, "198.51.200.22", "a@good.mail.test", false, verdict{smtpcheck.DeferIfPermit, 421, "4.4.3"}},
		{"ptr servfail ignored", ClientPTR(ClientConfig{Resolver: res, IgnoreDNSErrors: true}), NameClientPTR, "198.51.200.22", "a@good.mail.test", false, pass},
		{"fcrdns confirmed", ClientFCrDNS(FCrDNSConfig{ClientConfig: cc}), NameClientFCrDNS, "198.51.200.20", "a@good.mail.test", false, pass},
		{"fcrdns forged", ClientFCrDNS(FCrDNSConfig{ClientConfig: cc}), NameClientFCrDNS, "198.51.200.21", "a@good.mail.test", false, verdict{smtpcheck.TempFail, 450, "4.7.1"}},
		{"fcrdns forged permanent", ClientFCrDNS(FCrDNSConfig{ClientConfig: cc, Permanent: true}), NameClientFCrDNS, "198.51.200.21", "a@good.mail.test", false, verdict{smtpcheck.Reject, 550, "5.7.1"}},
		{"fcrdns no ptr", ClientFCrDNS(FCrDNSConfig{ClientConfig: cc}), NameClientFCrDNS, "198.51.200.30", "a@good.mail.test", false, verdict{smtpcheck.TempFail, 450, "4.7.1"}},
		{"fcrdns no ptr permanent", ClientFCrDNS(FCrDNSConfig{ClientConfig: cc, Permanent: true}), NameClientFCrDNS, "198.51.200.30", "a@good.mail.test", true, verdict{smtpcheck.Reject, 550, "5.7.1"}},
		{"fcrdns no ptr but sender's mx", ClientFCrDNS(FCrDNSConfig{ClientConfig: mxExempt}), NameClientFCrDNS, "198.51.200.31", "a@noptrmx.mail.test", true, pass},
		{"fcrdns no ptr not sender's mx", ClientFCrDNS(FCrDNSConfig{ClientConfig: mxExempt}), NameClientFCrDNS, "198.51.200.30", "a@good.mail.test", true, verdict{smtpcheck.TempFail, 450, "4.7.1"}},
		{"fcrdns forged but sender's mx", ClientFCrDNS(FCrDNSConfig{ClientConfig: mxExempt}), NameClientFCrDNS, "198.51.200.21", "a@forgedmx.mail.test", true, pass},
		{"fcrdns servfail", ClientFCrDNS(FCrDNSConfig{ClientConfig: cc}), NameClientFCrDNS, "198.51.200.22", "a@good.mail.test", false, verdict{smtpcheck.DeferIfPermit, 450, "4.7.1"}},
		{"ip in ptr", ClientIPInName(ClientIPInNameConfig{ClientConfig: cc}), NameClientIPInName, "198.51.200.10", "a@other.mail.test", false, verdict{smtpcheck.Reject, 550, "5.7.1"}},
		{"ip in ptr but sender's mx", ClientIPInName(ClientIPInNameConfig{ClientConfig: mxExempt}), NameClientIPInName, "198.51.200.10", "a@good.mail.test", true, pass},
		{"ip in ptr not sender's mx", ClientIPInName(ClientIPInNameConfig{ClientConfig: mxExempt}), NameClientIPInName, "198.51.200.10", "a@aonly.mail.test", true, verdict{smtpcheck.Reject, 550, "5.7.1"}},
		{"ip in ptr clean name", ClientIPInName(ClientIPInNameConfig{ClientConfig: cc}), NameClientIPInName, "198.51.200.20", "a@good.mail.test", false, pass},
		{"client reserved .test name", ClientReserved(ClientReservedConfig{ClientConfig: cc}), NameClientReserved, "198.51.200.20", "a@good.mail.test", false, verdict{smtpcheck.Reject, 550, "5.7.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := checktest.NewSession(tt.ip).Helo("mx.client.mail.test").From(tt.from)
			if tt.rcpt {
				b.To("postmaster@our.mail.test")
			}
			expect(t, tt.cname+"("+tt.ip+")", run(t, tt.check, b.Session()), tt.want, tt.cname)
		})
	}
}

func TestClientChecksUseSessionFacts(t *testing.T) {
	// The server looked the names up: no resolver needed.
	s := checktest.NewSession("192.0.2.1").PTR("host.mail.lan").Helo("mx.x.de").Session()
	expect(t, "ClientUnknownTLD(session facts)", run(t, ClientUnknownTLD(ClientUnknownTLDConfig{}), s), verdict{smtpcheck.Reject, 550, "5.7.1"}, NameClientUnknownTLD)
	s = checktest.NewSession("192.0.2.1").PTR("host.localhost").Helo("mx.x.de").Session()
	expect(t, "ClientReserved(session facts)", run(t, ClientReserved(ClientReservedConfig{}), s), verdict{smtpcheck.Reject, 550, "5.7.1"}, NameClientReserved)
	// No PTR is an answer, even when a front-end stored the NXDOMAIN as
	// the lookup's error; a failed lookup defers; a name is enough for
	// ClientPTR even when its forward lookup failed.
	nx := &resolver.Error{Name: "1.2.0.192.in-addr.arpa.", Err: resolver.ErrNotFound}
	s = checktest.NewSession("192.0.2.1").PTRFailed(nx).Helo("mx.x.de").Session()
	expect(t, "ClientPTR(NXDOMAIN stored as error)", run(t, ClientPTR(ClientConfig{}), s), verdict{smtpcheck.Reject, 554, "5.7.1"}, NameClientPTR)
	s = checktest.NewSession("192.0.2.1").PTRFailed(errors.New("SERVFAIL")).Helo("mx.x.de").Session()
	expect(t, "ClientPTR(SERVFAIL)", run(t, ClientPTR(ClientConfig{}), s), verdict{smtpcheck.DeferIfPermit, 421, "4.4.3"}, NameClientPTR)
	s = checktest.NewSession("192.0.2.1").PTRUnverified("host.example.net").Helo("mx.x.de").Session()
	s.Conn.PTRErr = errors.New("SERVFAIL on the forward lookup")
	expect(t, "ClientPTR(name, forward lookup failed)", run(t, ClientPTR(ClientConfig{}), s), pass, "")
	expect(t, "ClientFCrDNS(name, forward lookup failed)", run(t, ClientFCrDNS(FCrDNSConfig{}), s), verdict{smtpcheck.DeferIfPermit, 450, "4.7.1"}, NameClientFCrDNS)
	// No facts, no resolver: no opinion.
	s = checktest.NewSession("192.0.2.1").Helo("mx.x.de").Session()
	expect(t, "ClientPTR(no facts)", run(t, ClientPTR(ClientConfig{}), s), pass, "")
}

func TestSilentDNSKeepsDeadline(t *testing.T) {
	srv := dnstest.New(t)
	srv.Silence("mail.test")
	res := srv.Resolver(resolver.Config{Timeout: 100 * time.Millisecond, Attempts: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	s := checktest.NewSession("192.0.2.1").Helo("mx.x.de").From("a@quiet.mail.test").Session()
	r := SenderMX(MXConfig{Resolver: res})(ctx, s)
	if time.Since(start) > 2*time.Second {
		t.Errorf("SenderMX(silent DNS) took %v, past the deadline", time.Since(start))
	}
	if r.Action != smtpcheck.TempFail || r.Err == nil {
		t.Errorf("SenderMX(silent DNS) = %v, err %v, want tempfail with error", r.Action, r.Err)
	}
}
