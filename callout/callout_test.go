package callout_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/callout"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/checktest"
)

// A go-smtp server on loopback, found through the MX records the
// in-process DNS server serves, answers RCPT TO; the verdict follows its
// answer, and the probe sends the null sender, never DATA, and says QUIT.
func TestVerifyAgainstGoSMTP(t *testing.T) {
	m := startMailServer(t)
	_, r := newDNS(t, "ok.test. 300 IN MX 10 mx.ok.test.", "mx.ok.test. 300 IN A 127.0.0.1")
	v := newVerifier(t, callout.Config{Resolver: r, Helo: "verify.test"}, m.port)
	for _, tc := range []struct {
		addr   string
		status callout.Status
		said   string
	}{
		{"ok@ok.test", callout.Deliverable, "250"},
		{"nobody@ok.test", callout.Undeliverable, "550 5.1.1 no such user"},
		{"busy@ok.test", callout.Undetermined, "450 4.2.1 mailbox busy"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			vd := v.Verify(t.Context(), addr(tc.addr))
			if vd.Status != tc.status || vd.Step != callout.StepRcpt || !strings.HasPrefix(vd.Said, tc.said) {
				t.Errorf("Verify(%q) = %v step %q said %q, want %v at rcpt saying %q", tc.addr, vd.Status, vd.Step, vd.Said, tc.status, tc.said)
			}
			if want := "mx.ok.test[127.0.0.1]:" + itoa(m.port); vd.Host != want {
				t.Errorf("Verify(%q) host = %q, want %q", tc.addr, vd.Host, want)
			}
		})
	}
	// go-smtp ends its session (Logout) just after answering QUIT.
	got := m.commands()
	for start := time.Now(); strings.Count(got, "QUIT") < 3 && time.Since(start) < 2*time.Second; got = m.commands() {
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(got, "DATA") {
		t.Errorf("the probe sent DATA: %s", got)
	}
	if !strings.Contains(got, "MAIL <>|RCPT <nobody@ok.test>") || strings.Count(got, "QUIT") != 3 {
		t.Errorf("server saw %s; want MAIL <> then RCPT, and a QUIT per probe", got)
	}
}

// Hosts that hang, close, refuse or talk garbage are undetermined, never
// undeliverable, and a hanging host costs no more than the deadlines.
func TestVerifyBrokenHosts(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(net.Conn)
		step string
		said string
	}{
		{"hang", hang, callout.StepGreeting, "timed out"},
		{"hang-after-mail", func(c net.Conn) {
			c.Write([]byte("220 hi\r\n"))
			buf := make([]byte, 512)
			c.Read(buf)
			c.Write([]byte("250 hello\r\n"))
			c.Read(buf)
			hang(c)
		}, callout.StepMail, "timed out"},
		{"close", func(c net.Conn) {}, callout.StepGreeting, "connection closed"},
		{"garbage", func(c net.Conn) { c.Write([]byte("HTTP/1.0 400 Bad\r\n")) }, callout.StepGreeting, "not an SMTP reply"},
		{"refuses-to-talk", func(c net.Conn) { c.Write([]byte("554 5.7.1 go away\r\n")); hang(c) }, callout.StepGreeting, "554 5.7.1 go away"},
		{"endless-reply", func(c net.Conn) {
			for range 100 {
				if _, err := c.Write([]byte("220-more\r\n")); err != nil {
					return
				}
			}
			hang(c)
		}, callout.StepGreeting, "more than 64 lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := startRaw(t, tc.fn)
			_, r := newDNS(t, "broken.test. 300 IN MX 10 mx.broken.test.", "mx.broken.test. 300 IN A 127.0.0.1")
			v := newVerifier(t, callout.Config{Resolver: r, CommandTimeout: 300 * time.Millisecond, Timeout: time.Second}, port)
			start := time.Now()
			vd := v.Verify(t.Context(), addr("someone@broken.test"))
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("Verify took %v past a 1s deadline", el)
			}
			if vd.Status != callout.Undetermined || vd.Step != tc.step || !strings.Contains(vd.Said, tc.said) {
				t.Errorf("Verify = %v at %q saying %q, want undetermined at %q saying %q", vd.Status, vd.Step, vd.Said, tc.step, tc.said)
			}
			s := checktest.NewSession("192.0.2.1").From("someone@broken.test").Session()
			res := newVerifier(t, callout.Config{Resolver: r, CommandTimeout: 300 * time.Millisecond, Timeout: time.Second, OnError: smtpcheck.FailTemp}, port).SenderCheck()(t.Context(), s)
			checktest.AssertVerdict(t, res, smtpcheck.TempFail, 451, "4.4.4", callout.Name)
			checktest.AssertReplyContains(t, res, "no answer from broken.test MX")
		})
	}
}

// The caller's deadline ends a probe of a hanging host, whatever the
// verifier's own timeouts.
func TestVerifyCallerDeadline(t *testing.T) {
	port := startRaw(t, hang)
	_, r := newDNS(t, "slow.test. 300 IN MX 10 mx.slow.test.", "mx.slow.test. 300 IN A 127.0.0.1")
	v := newVerifier(t, callout.Config{Resolver: r, CommandTimeout: time.Minute, Timeout: time.Minute}, port)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	vd := v.Verify(ctx, addr("a@slow.test"))
	if el := time.Since(start); el > 1500*time.Millisecond || vd.Status != callout.Undetermined {
		t.Errorf("Verify under a 300ms deadline = %v after %v", vd.Status, el)
	}
}

// The MX hosts are tried in preference order: one that refuses the
// connection is passed over for the next.
func TestVerifyFallsBackToNextMX(t *testing.T) {
	m := startMailServer(t)
	_, r := newDNS(t,
		"two.test. 300 IN MX 10 down.two.test.", "two.test. 300 IN MX 20 up.two.test.",
		"down.two.test. 300 IN A 127.0.0.2", "up.two.test. 300 IN A 127.0.0.1")
	v := newVerifier(t, callout.Config{Resolver: r}, m.port)
	vd := v.Verify(t.Context(), addr("ok@two.test"))
	if vd.Status != callout.Deliverable || !strings.HasPrefix(vd.Host, "up.two.test[") {
		t.Errorf("Verify = %v via %q (%s), want deliverable via up.two.test", vd.Status, vd.Host, vd)
	}
}

// What DNS alone decides, and the catalog's reply for it at MAIL FROM.
func TestSenderCheckDNS(t *testing.T) {
	m := startMailServer(t)
	srv, r := newDNS(t,
		"ok.test. 300 IN MX 10 mx.ok.test.", "mx.ok.test. 300 IN A 127.0.0.1",
		"private.test. 300 IN MX 10 a.private.test.", "private.test. 300 IN MX 20 b.private.test.", "private.test. 300 IN MX 30 c.private.test.", "private.test. 300 IN MX 40 gone.private.test.",
		"a.private.test. 300 IN A 10.1.2.3", "b.private.test. 300 IN A 127.0.0.1", "c.private.test. 300 IN AAAA ::1",
		"nomail.test. 300 IN MX 0 .",
		"bare.test. 300 IN A 127.0.0.1",
		"nxdom.test. 300 IN SOA ns.nxdom.test. h.nxdom.test. 1 2 3 4 5",
		"broken.test. 300 IN MX 10 mx.broken.test.",
		"flaky.test. 300 IN MX 10 mx.flaky.test.", "flaky.test. 300 IN MX 20 mx2.flaky.test.", "mx2.flaky.test. 300 IN A 10.0.0.1",
	)
	srv.ServFail("broken.test")
	srv.ServFail("mx.flaky.test")
	loop := newVerifier(t, callout.Config{Resolver: r, OnError: smtpcheck.FailTemp}, m.port)
	// The default pruning: loopback and private addresses are no MX.
	public := newVerifier(t, callout.Config{Resolver: r, OnError: smtpcheck.FailTemp, Usable: callout.PublicAddr}, m.port)
	for _, tc := range []struct {
		name   string
		v      *callout.Verifier
		sender string
		action smtpcheck.Action
		code   int
		enh    string
		text   string
		rule   string
	}{
		{"deliverable", loop, "ok@ok.test", smtpcheck.Continue, 250, "", "", "sender-deliverable"},
		{"refused by MX", loop, "nobody@ok.test", smtpcheck.Reject, 550, "5.7.0", "sender <nobody@ok.test> verification failed", "sender-undeliverable"},
		{"4xx from MX", loop, "busy@ok.test", smtpcheck.TempFail, 450, "4.7.0", "sender <busy@ok.test> verification failed", "sender-undetermined"},
		{"implicit MX", loop, "ok@bare.test", smtpcheck.Continue, 250, "", "", "sender-deliverable"},
		{"all MX pruned", public, "x@private.test", smtpcheck.Reject, 550, "5.4.4", "no acceptable MX for private.test", "sender-undeliverable"},
		{"null MX", loop, "x@nomail.test", smtpcheck.Reject, 553, "5.4.4", "nomail.test null MX", "sender-undeliverable"},
		{"no such domain", loop, "x@nowhere.nxdom.test", smtpcheck.Reject, 553, "5.4.4", "x@nowhere.nxdom.test does not exist", "sender-undeliverable"},
		{"MX host lookup fails, the other pruned", public, "x@flaky.test", smtpcheck.TempFail, 451, "4.4.3", "flaky.test MX host lookup failed: server failure", "sender-undetermined"},
		{"SERVFAIL", loop, "x@broken.test", smtpcheck.TempFail, 451, "4.4.3", "broken.test MX lookup error", "sender-undetermined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := checktest.NewSession("192.0.2.1").From(tc.sender).Session()
			res := tc.v.SenderCheck()(t.Context(), s)
			checktest.AssertVerdict(t, res, tc.action, tc.code, tc.enh, callout.Name)
			checktest.AssertRule(t, res, tc.rule, tc.sender)
			if tc.text != "" {
				checktest.AssertReplyContains(t, res, tc.text)
			}
			if res.Reason.Evidence == "" {
				t.Errorf("reason %s has no evidence", res.Reason)
			}
		})
	}
	// The null sender has nothing to verify.
	s := checktest.NewSession("192.0.2.1").From("").Session()
	if res := loop.SenderCheck()(t.Context(), s); !res.IsZero() {
		t.Errorf("SenderCheck(<>) = %v, want no opinion", res.Action)
	}
}

// Under FailOpen an undetermined sender passes (with the error kept for
// the trace); under FailClosed it is refused; the 4xx of FailTemp is the
// catalog's.
func TestSenderCheckErrorPolicy(t *testing.T) {
	port := startRaw(t, hang)
	_, r := newDNS(t, "slow.test. 300 IN MX 10 mx.slow.test.", "mx.slow.test. 300 IN A 127.0.0.1")
	for _, tc := range []struct {
		policy smtpcheck.ErrorPolicy
		action smtpcheck.Action
		code   int
	}{
		{smtpcheck.FailOpen, smtpcheck.Continue, 250},
		{smtpcheck.FailTemp, smtpcheck.TempFail, 451},
		{smtpcheck.FailClosed, smtpcheck.Reject, 554},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			v := newVerifier(t, callout.Config{Resolver: r, OnError: tc.policy, CommandTimeout: 200 * time.Millisecond, Timeout: 500 * time.Millisecond}, port)
			res := v.SenderCheck()(t.Context(), checktest.NewSession("192.0.2.1").From("a@slow.test").Session())
			checktest.AssertVerdict(t, res, tc.action, tc.code, "", callout.Name)
			if res.Err == nil {
				t.Errorf("result has no error for the trace")
			}
		})
	}
}

// The call-ahead asks the configured downstream server, not the MX hosts,
// and answers with the catalog's recipient replies.
func TestRecipientCheckDownstream(t *testing.T) {
	m := startMailServer(t)
	hung := startRaw(t, hang)
	v, err := callout.New(callout.Config{Host: "127.0.0.1:" + itoa(m.port), OnError: smtpcheck.FailTemp})
	if err != nil {
		t.Fatal(err)
	}
	hv, err := callout.New(callout.Config{Host: "127.0.0.1:" + itoa(hung), OnError: smtpcheck.FailTemp, CommandTimeout: 200 * time.Millisecond, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v      *callout.Verifier
		rcpt   string
		action smtpcheck.Action
		code   int
		text   string
	}{
		{v, "ok@example.org", smtpcheck.Continue, 250, ""},
		{v, "nobody@example.org", smtpcheck.Reject, 550, "550 5.7.1 recipient <nobody@example.org> unknown"},
		{v, "busy@example.org", smtpcheck.TempFail, 450, "450 4.1.1 recipient <busy@example.org> denied"},
		{hv, "any@example.org", smtpcheck.TempFail, 451, "451 4.4.2 internal network error for 127.0.0.1"},
	} {
		t.Run(tc.rcpt, func(t *testing.T) {
			s := checktest.NewSession("192.0.2.1").From("a@example.net").To(tc.rcpt).Session()
			res := tc.v.RecipientCheck()(t.Context(), s)
			checktest.AssertVerdict(t, res, tc.action, tc.code, "", callout.Name)
			if tc.text != "" {
				checktest.AssertReplyContains(t, res, tc.text)
			}
		})
	}
}

// Verifications of one address while its probe is under way wait for that
// probe: a burst of mail from a new sender asks its MX host once.
func TestVerifySharesProbe(t *testing.T) {
	var mu sync.Mutex
	rcpts := 0
	port := startRaw(t, func(c net.Conn) {
		io.WriteString(c, "220 slow\r\n")
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "RCPT") {
				mu.Lock()
				rcpts++
				mu.Unlock()
				time.Sleep(200 * time.Millisecond)
			}
			io.WriteString(c, "250 ok\r\n")
		}
	})
	_, r := newDNS(t, "burst.test. 300 IN MX 10 mx.burst.test.", "mx.burst.test. 300 IN A 127.0.0.1")
	v := newVerifier(t, callout.Config{Resolver: r}, port)
	var wg sync.WaitGroup
	statuses := make([]callout.Status, 8)
	for i := range statuses {
		wg.Go(func() { statuses[i] = v.Verify(t.Context(), addr("new@burst.test")).Status })
	}
	wg.Wait()
	for i, st := range statuses {
		if st != callout.Deliverable {
			t.Errorf("verification %d = %v, want deliverable", i, st)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if rcpts != 1 {
		t.Errorf("the MX host was asked %d times, want once", rcpts)
	}
}

// A quoted local part with a blank is probed as given; an address with a
// control character is not probed at all.
func TestVerifyAddressForms(t *testing.T) {
	m := startMailServer(t)
	_, r := newDNS(t, "ok.test. 300 IN MX 10 mx.ok.test.", "mx.ok.test. 300 IN A 127.0.0.1")
	v := newVerifier(t, callout.Config{Resolver: r}, m.port)
	if vd := v.Verify(t.Context(), smtpcheck.Address{Local: `"john doe"`, Domain: "ok.test"}); vd.Step != callout.StepRcpt || vd.Code != 550 {
		t.Errorf("quoted local part: %v at %q (%s), want the server's answer at RCPT", vd.Status, vd.Step, vd)
	}
	if !strings.Contains(m.commands(), "RCPT <john doe@ok.test>") { // go-smtp unquotes it
		t.Errorf("server saw %s", m.commands())
	}
	vd := v.Verify(t.Context(), smtpcheck.Address{Local: "a\r\nDATA", Domain: "ok.test"})
	if vd.Status != callout.Undeliverable || vd.Step != callout.StepAddress || strings.Contains(m.commands(), "DATA") {
		t.Errorf("address with CRLF: %v at %q; server saw %s", vd.Status, vd.Step, m.commands())
	}
}
