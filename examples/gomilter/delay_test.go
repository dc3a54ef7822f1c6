package gomilter

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/d--j/go-milter"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// wantReply fails unless a is the SMTP reply rep as the client would get
// it: its code, enhanced code and text.
func wantReply(t *testing.T, what string, a *milter.Action, rep reply.Reply) {
	t.Helper()
	want := string(rep.AppendTo(nil))
	want = want[:len(want)-2] // the final CRLF
	if a.Type != milter.ActionRejectWithCode || int(a.SMTPCode) != rep.Code() || a.SMTPReply != want {
		t.Fatalf("%s = %v, want the reply %q", what, a, want)
	}
}

// TestDelayedRejectionHoldsWhatCannotBeHeld checks the verdicts of the
// stages whose reply the MTA does not await under delayed rejection (the
// refusals Policy.Evaluate does not hold itself: Immediate ones and
// disconnects): each is given at RCPT, with its code, enhanced code and
// text, to every recipient and for as long as the refused command would
// have lasted: the connection's, the HELO's, the transaction's.
func TestDelayedRejectionHoldsWhatCannotBeHeld(t *testing.T) {
	listed, err := reply.New(550, "5.7.1", "client 192.0.2.66 listed", "see https://example.org/why")
	if err != nil {
		t.Fatal(err)
	}
	busy := reply.InternalErrorClosing()
	later := reply.TryAgainLater()
	var rcptChecks atomic.Int32
	c := serve(t, Config{Policy: &smtpcheck.Policy{
		DelayReject: true,
		Connect: check(func(s *smtpcheck.Session) smtpcheck.Result {
			if s.Conn.ClientIP.String() == "192.0.2.66" {
				return smtpcheck.Result{Action: smtpcheck.Reject, Reply: listed, Immediate: true, Reason: smtpcheck.Reason{Check: "listed"}}
			}
			return smtpcheck.Result{}
		}),
		Helo: check(func(s *smtpcheck.Session) smtpcheck.Result {
			if s.Helo.Name == "busy.example" {
				return smtpcheck.Result{Action: smtpcheck.Disconnect, Reply: busy, Reason: smtpcheck.Reason{Check: "busy"}}
			}
			return smtpcheck.Result{}
		}),
		Mail: check(func(s *smtpcheck.Session) smtpcheck.Result {
			if s.Mail.From.Local == "later" {
				return smtpcheck.Result{Action: smtpcheck.TempFail, Reply: later, Immediate: true, Reason: smtpcheck.Reason{Check: "later"}}
			}
			return smtpcheck.Result{}
		}),
		Rcpt: check(func(s *smtpcheck.Session) smtpcheck.Result {
			rcptChecks.Add(1)
			if s.Rcpt.Local == "postmaster" {
				return smtpcheck.Permit(smtpcheck.Reason{Check: "postmaster"})
			}
			return smtpcheck.Result{}
		}),
	}})

	t.Run("connect", func(t *testing.T) {
		m := open(t, c)
		if sent, awaited := negotiated(m.s); sent != "connect helo mail rcpt" || awaited != "rcpt" {
			t.Fatalf("MTA sends %q and awaits %q, want every envelope event and RCPT's reply only", sent, awaited)
		}
		m.act(m.s.Conn("x", milter.FamilyInet, 1, "192.0.2.66"))
		m.act(m.s.Helo("mx.client.example"))
		m.act(m.s.Mail("<a@client.example>", ""))
		wantReply(t, "RCPT b", m.act(m.s.Rcpt("<b@example.org>", "")), listed)
		// An immediate refusal would have refused the connection's every
		// command: postmaster gets no exemption.
		wantReply(t, "RCPT postmaster", m.act(m.s.Rcpt("<postmaster@example.org>", "")), listed)
		if err := m.s.Abort(nil); err != nil {
			t.Fatal(err)
		}
		m.act(m.s.Mail("<a@client.example>", ""))
		wantReply(t, "RCPT in the next transaction", m.act(m.s.Rcpt("<b@example.org>", "")), listed)
		if n := rcptChecks.Load(); n != 0 {
			t.Errorf("%d recipient checks ran, want none: the held verdict stands", n)
		}
	})

	t.Run("helo", func(t *testing.T) {
		m := open(t, c)
		m.act(m.s.Conn("x", milter.FamilyInet, 1, "192.0.2.7"))
		m.act(m.s.Helo("busy.example"))
		m.act(m.s.Mail("<a@client.example>", ""))
		wantReply(t, "RCPT after a disconnecting HELO", m.act(m.s.Rcpt("<b@example.org>", "")), busy)
		// A new HELO is judged anew.
		if err := m.s.Abort(nil); err != nil {
			t.Fatal(err)
		}
		m.act(m.s.Helo("mx.client.example"))
		m.act(m.s.Mail("<a@client.example>", ""))
		if a := m.act(m.s.Rcpt("<b@example.org>", "")); a.Type != milter.ActionContinue {
			t.Fatalf("RCPT after a good HELO = %v, want continue", a)
		}
	})

	t.Run("mail", func(t *testing.T) {
		m := open(t, c)
		m.act(m.s.Conn("x", milter.FamilyInet, 1, "192.0.2.7"))
		m.act(m.s.Helo("mx.client.example"))
		m.act(m.s.Mail("<later@client.example>", ""))
		wantReply(t, "RCPT after a deferred MAIL", m.act(m.s.Rcpt("<b@example.org>", "")), later)
		// The refusal was the transaction's.
		if err := m.s.Abort(nil); err != nil {
			t.Fatal(err)
		}
		m.upToDataAfterHelo("a@client.example", "b@example.org")
		if _, a := m.send(message); a.Type != milter.ActionAccept {
			t.Fatalf("next message = %v, want accept", a)
		}
	})
}

// upToDataAfterHelo runs MAIL and one RCPT, failing on any refusal.
func (m *mta) upToDataAfterHelo(from, to string) {
	m.t.Helper()
	if a := m.act(m.s.Mail("<"+from+">", "")); a.Type != milter.ActionContinue {
		m.t.Fatalf("MAIL = %v, want continue", a)
	}
	if a := m.act(m.s.Rcpt("<"+to+">", "")); a.Type != milter.ActionContinue {
		m.t.Fatalf("RCPT = %v, want continue", a)
	}
}

// TestRefusingAtOnceWithoutDelay checks that without delayed rejection
// the MTA awaits the verdict where it is reached.
func TestRefusingAtOnceWithoutDelay(t *testing.T) {
	c := serve(t, Config{Policy: &smtpcheck.Policy{Connect: check(func(s *smtpcheck.Session) smtpcheck.Result {
		return smtpcheck.Refuse(reply.TransactionFailed(), smtpcheck.Reason{Check: "listed"})
	})}})
	m := open(t, c)
	wantReply(t, "connect", m.act(m.s.Conn("x", milter.FamilyInet, 1, "192.0.2.66")), reply.TransactionFailed())
}

// TestDataVerdictGivenAtEndOfMessage checks the DATA stage under delayed
// rejection: the MTA awaits no reply to DATA, and its verdict is given at
// end of message, before any check of the message; a discard there is not
// a message let through (Config.Accepted does not hear of it).
func TestDataVerdictGivenAtEndOfMessage(t *testing.T) {
	var messageChecks, accepted atomic.Int32
	c := serve(t, Config{
		Policy: &smtpcheck.Policy{
			DelayReject: true,
			Data: check(func(s *smtpcheck.Session) smtpcheck.Result {
				switch s.Mail.From.Local {
				case "refused":
					return smtpcheck.Refuse(reply.TransactionFailed(), smtpcheck.Reason{Check: "data"})
				case "dropped":
					return smtpcheck.Result{Action: smtpcheck.Discard, Reason: smtpcheck.Reason{Check: "data"}}
				}
				return smtpcheck.Result{}
			}),
			Headers: check(func(s *smtpcheck.Session) smtpcheck.Result {
				messageChecks.Add(1)
				return smtpcheck.Result{}
			}),
			EndOfData: check(func(s *smtpcheck.Session) smtpcheck.Result {
				messageChecks.Add(1)
				return smtpcheck.Result{}
			}),
		},
		Accepted: func(context.Context, *smtpcheck.Session) { accepted.Add(1) },
	})
	m := open(t, c)
	if _, awaited := negotiated(m.s); awaited != "" {
		t.Fatalf("MTA awaits %q, want the end of message only", awaited)
	}
	m.upToData("refused@client.example", "b@example.org")
	_, a := m.send(message)
	wantReply(t, "end of a message refused at DATA", a, reply.TransactionFailed())
	m.upToDataAfterHelo("dropped@client.example", "b@example.org")
	if _, a := m.send(message); a.Type != milter.ActionDiscard {
		t.Fatalf("end of a message discarded at DATA = %v, want discard", a)
	}
	if n := messageChecks.Load(); n != 0 || accepted.Load() != 0 {
		t.Fatalf("%d message checks ran and %d messages accepted after DATA refused, want none", n, accepted.Load())
	}
	m.upToDataAfterHelo("a@client.example", "b@example.org")
	if _, a := m.send(message); a.Type != milter.ActionAccept {
		t.Fatalf("end of a good message = %v, want accept", a)
	}
	if n := messageChecks.Load(); n != 2 || accepted.Load() != 1 {
		t.Fatalf("%d message checks ran and %d messages accepted, want 2 and 1", n, accepted.Load())
	}
}

// TestHeaderVerdictBeforeTheBodyChecks checks the header stage at end of
// message: a refusal there is given with its reply and the end-of-message
// checks do not run; the header checks see the header, not yet the body.
func TestHeaderVerdictBeforeTheBodyChecks(t *testing.T) {
	var bodyChecks atomic.Int32
	var bodySeen atomic.Bool
	c := serve(t, Config{Policy: &smtpcheck.Policy{
		Headers: check(func(s *smtpcheck.Session) smtpcheck.Result {
			bodySeen.Store(s.Body != nil || s.Message != nil)
			if v, _ := s.Header.Get("Subject"); v == "refuse me" {
				return smtpcheck.Refuse(reply.MissingRequiredHeaders(), smtpcheck.Reason{Check: "headers"})
			}
			return smtpcheck.Result{}
		}),
		EndOfData: check(func(s *smtpcheck.Session) smtpcheck.Result {
			bodyChecks.Add(1)
			return smtpcheck.Result{}
		}),
	}})
	m := open(t, c)
	m.upToData("a@client.example", "b@example.org")
	_, a := m.send("Subject: refuse me\r\n\r\nbody\r\n")
	wantReply(t, "end of message", a, reply.MissingRequiredHeaders())
	if bodyChecks.Load() != 0 || bodySeen.Load() {
		t.Fatalf("end-of-message checks ran %d times, header checks saw the body %v; want neither", bodyChecks.Load(), bodySeen.Load())
	}
	m.upToDataAfterHelo("a@client.example", "b@example.org")
	if _, a := m.send(message); a.Type != milter.ActionAccept || bodyChecks.Load() != 1 {
		t.Fatalf("good message = %v after %d end-of-message checks, want accept after 1", a, bodyChecks.Load())
	}
}
