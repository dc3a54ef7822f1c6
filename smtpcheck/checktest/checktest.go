// Package checktest helps test policies built on smtpcheck: build a session in
// one line, run a check or a whole policy through the stages, and assert the
// verdict, its reply and its reason.
//
//	s := checktest.NewSession("192.0.2.1").Helo("mx.example.org").From("a@example.org").To("b@example.net")
//	r := check(ctx, s.At(smtpcheck.StageRcpt))
//	checktest.AssertVerdict(t, r, smtpcheck.Reject, 550, "5.7.1", "relay")
package checktest

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Builder builds a *smtpcheck.Session fluently.
type Builder struct {
	s *smtpcheck.Session
}

// NewSession starts a session from the client IP (IPv4 or IPv6 text; an
// unparsable string panics, as test input is fixed). The session is at the
// connect stage, with ID "test" and Now fixed at 2026-01-01 00:00:00 UTC.
func NewSession(clientIP string) *Builder {
	ip := netip.MustParseAddr(clientIP).Unmap()
	return &Builder{s: &smtpcheck.Session{
		Stage: smtpcheck.StageConnect,
		Now:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Conn: smtpcheck.Conn{
			ID:         "test",
			ClientIP:   ip,
			ClientPort: 40000,
			Local:      netip.MustParseAddrPort("127.0.0.1:25"),
		},
	}}
}

// PTR sets the client's reverse names; all of them are forward-confirmed.
// With no names it records that the address has no PTR record (NXDOMAIN or
// NODATA), an answer that checks requiring reverse DNS refuse. The facts
// mean what smtpcheck.Conn documents, as when a server filled them.
func (b *Builder) PTR(names ...string) *Builder {
	b.s.Conn.PTR, b.s.Conn.Confirmed, b.s.Conn.PTRLooked, b.s.Conn.PTRErr = names, names, true, nil
	return b
}

// PTRUnverified sets reverse names none of which leads back to the client's
// address (Postfix: reverse_client_name set, client_name "unknown").
func (b *Builder) PTRUnverified(names ...string) *Builder {
	b.s.Conn.PTR, b.s.Conn.Confirmed, b.s.Conn.PTRLooked, b.s.Conn.PTRErr = names, nil, true, nil
	return b
}

// PTRFailed records a reverse lookup that failed temporarily (SERVFAIL, a
// timeout) with err: whether the client has names is unknown.
func (b *Builder) PTRFailed(err error) *Builder {
	b.s.Conn.PTR, b.s.Conn.Confirmed, b.s.Conn.PTRLooked, b.s.Conn.PTRErr = nil, nil, true, err
	return b
}

// Trusted marks the client as in a trusted network.
func (b *Builder) Trusted() *Builder { b.s.Conn.Trusted = true; return b }

// Auth marks the client as authenticated as user.
func (b *Builder) Auth(user string) *Builder { b.s.Conn.AuthUser = user; return b }

// TLS marks the connection as under TLS 1.3.
func (b *Builder) TLS() *Builder { b.s.Conn.TLS, b.s.Conn.TLSVersion = true, "TLS1.3"; return b }

// Helo records an EHLO with name and moves to the helo stage.
func (b *Builder) Helo(name string) *Builder {
	b.s.SetHelo("EHLO", name)
	b.s.Stage = smtpcheck.StageHelo
	return b
}

// From records MAIL FROM:<addr> ("" for the null sender) and moves to the mail stage.
func (b *Builder) From(addr string) *Builder {
	b.s.Mail = &smtpcheck.Mail{From: smtpcheck.ParseAddress(addr), Raw: "MAIL FROM:<" + addr + ">"}
	b.s.Stage = smtpcheck.StageMail
	return b
}

// To records RCPT TO:<addr> as the recipient being checked; the previous
// current recipient, if any, joins the accepted ones.
func (b *Builder) To(addr string) *Builder {
	if b.s.Stage == smtpcheck.StageRcpt {
		b.s.Rcpts = append(b.s.Rcpts, b.s.Rcpt)
	}
	b.s.Rcpt = smtpcheck.ParseAddress(addr)
	b.s.Stage = smtpcheck.StageRcpt
	return b
}

// Message sets the message from raw (header, empty line, body; LF or CRLF
// line breaks, sent as CRLF) the way a server front-end does, through
// smtpcheck.SplitMessage: Header the fields, Body what follows the empty
// line, Message the whole. It moves to the end-of-data stage; the current
// recipient joins the accepted ones.
func (b *Builder) Message(raw string) *Builder {
	if b.s.Stage == smtpcheck.StageRcpt {
		b.s.Rcpts = append(b.s.Rcpts, b.s.Rcpt)
	}
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	m := smtpcheck.BytesBody(raw)
	// An in-memory message cannot fail to read.
	b.s.Header, b.s.Body, _ = smtpcheck.SplitMessage(m)
	b.s.Message = m
	b.s.Stage = smtpcheck.StageEndOfData
	return b
}

// At sets the stage explicitly and returns the session.
func (b *Builder) At(st smtpcheck.Stage) *smtpcheck.Session { b.s.Stage = st; return b.s }

// Session returns the session as built.
func (b *Builder) Session() *smtpcheck.Session { return b.s }

// AssertVerdict fails t unless r has the action, the basic and enhanced codes
// (code 0 or enhanced "" skip those) and, when check is not empty, a reason
// naming that check.
func AssertVerdict(t testing.TB, r smtpcheck.Result, action smtpcheck.Action, code int, enhanced, check string) {
	t.Helper()
	if r.Action != action {
		t.Errorf("action = %v, want %v (result: reason %q, reply %q, err %v)", r.Action, action, r.Reason.String(), r.Reply.Error(), r.Err)
		return
	}
	rep := r.DefaultReply()
	if code != 0 && rep.Code() != code {
		t.Errorf("reply code = %d, want %d (%q)", rep.Code(), code, rep.Error())
	}
	if enhanced != "" && rep.Enhanced().String() != enhanced {
		t.Errorf("enhanced code = %q, want %q (%q)", rep.Enhanced().String(), enhanced, rep.Error())
	}
	if check != "" && r.Reason.Check != check {
		t.Errorf("reason check = %q, want %q (reason: %s)", r.Reason.Check, check, r.Reason.String())
	}
}

// AssertReplyContains fails t unless the result's reply text contains want.
func AssertReplyContains(t testing.TB, r smtpcheck.Result, want string) {
	t.Helper()
	got := r.DefaultReply().String()
	if !strings.Contains(got, want) {
		t.Errorf("reply %q does not contain %q", got, want)
	}
}

// AssertRule fails t unless the result's reason names rule (and, when matched
// is not empty, what matched).
func AssertRule(t testing.TB, r smtpcheck.Result, rule, matched string) {
	t.Helper()
	if r.Reason.Rule != rule {
		t.Errorf("reason rule = %q, want %q (reason: %s)", r.Reason.Rule, rule, r.Reason.String())
	}
	if matched != "" && r.Reason.Matched != matched {
		t.Errorf("reason matched = %q, want %q (reason: %s)", r.Reason.Matched, matched, r.Reason.String())
	}
}
