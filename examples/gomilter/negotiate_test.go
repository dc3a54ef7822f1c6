package gomilter

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/d--j/go-milter"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// negotiated describes what the MTA agreed with the filter: the stages it
// sends and the stages where it awaits the filter's reply (end of message
// always).
func negotiated(s *milter.ClientSession) (sent, awaited string) {
	var ev, re []string
	for _, st := range []struct {
		name      string
		no, noRep milter.OptProtocol
	}{
		{"connect", milter.OptNoConnect, milter.OptNoConnReply},
		{"helo", milter.OptNoHelo, milter.OptNoHeloReply},
		{"mail", milter.OptNoMailFrom, milter.OptNoMailReply},
		{"rcpt", milter.OptNoRcptTo, milter.OptNoRcptReply},
		{"data", milter.OptNoData, milter.OptNoDataReply},
		{"header", milter.OptNoHeaders, milter.OptNoHeaderReply},
		{"body", milter.OptNoBody, milter.OptNoBodyReply},
		{"eoh", milter.OptNoEOH, milter.OptNoEOHReply},
	} {
		if s.ProtocolOption(st.no) {
			continue
		}
		ev = append(ev, st.name)
		if !s.ProtocolOption(st.noRep) {
			re = append(re, st.name)
		}
	}
	return strings.Join(ev, " "), strings.Join(re, " ")
}

// TestMTAWaitsOnlyWhereThePolicyMayRefuse checks the options the filter
// negotiates with the MTA for each shape of policy: events only where a
// check reads their facts (a policy with no body check gets no body, and
// none gets the end of header: the header checks run at end of message),
// and replies awaited only at the stages where a verdict must be given
// there: RCPT (also for the verdicts held from connect, HELO and MAIL),
// and, without delayed rejection, the stages whose checks may refuse; and
// that a whole session runs to an accepted message under each.
func TestMTAWaitsOnlyWhereThePolicyMayRefuse(t *testing.T) {
	pass := check(func(*smtpcheck.Session) smtpcheck.Result { return smtpcheck.Result{} })
	all := "connect helo mail rcpt data header body"
	for _, tc := range []struct {
		name          string
		cfg           Config
		sent, awaited string
	}{
		{"empty policy", Config{Policy: &smtpcheck.Policy{}}, "", ""},
		{"recipient check", Config{Policy: &smtpcheck.Policy{Rcpt: pass}}, "connect helo mail rcpt", "rcpt"},
		{"HELO check, its refusals held for RCPT", Config{Policy: &smtpcheck.Policy{Helo: pass, DelayReject: true}},
			"connect helo mail rcpt", "rcpt"},
		{"HELO check, refusing at once", Config{Policy: &smtpcheck.Policy{Helo: pass}},
			"connect helo mail rcpt", "helo rcpt"},
		{"header check, no body check", Config{Policy: &smtpcheck.Policy{Headers: pass}},
			"connect helo mail rcpt data header", ""},
		{"end-of-message check", Config{Policy: &smtpcheck.Policy{EndOfData: pass}},
			"connect helo mail rcpt data header body", ""},
		{"the default policy's shape: checks at every stage but connect, delayed rejection", Config{Policy: &smtpcheck.Policy{
			Helo: pass, Mail: pass, Rcpt: pass, Data: pass, Headers: pass, EndOfData: pass, DelayReject: true}},
			all, "rcpt"},
		{"checks at every stage, delayed rejection", Config{Policy: &smtpcheck.Policy{
			Connect: pass, Helo: pass, Mail: pass, Rcpt: pass, Data: pass, Headers: pass, EndOfData: pass, DelayReject: true}},
			all, "rcpt"},
		{"checks at every stage, refusing at once", Config{Policy: &smtpcheck.Policy{
			Connect: pass, Helo: pass, Mail: pass, Rcpt: pass, Data: pass, Headers: pass, EndOfData: pass}},
			all, "connect helo mail rcpt data"},
		{"dry run: no stage refuses", Config{Policy: &smtpcheck.Policy{
			Connect: pass, Helo: pass, Mail: pass, Rcpt: pass, Data: pass, Headers: pass, EndOfData: pass, DryRun: true}},
			all, ""},
		{"empty policy, the accepted message recorded", Config{Policy: &smtpcheck.Policy{}, Accepted: func(context.Context, *smtpcheck.Session) {}},
			all, ""},
		{"empty policy, a hook with nothing to record for it", Config{Policy: &smtpcheck.Policy{},
			Accepted:      func(context.Context, *smtpcheck.Session) {},
			AcceptedReads: func(*smtpcheck.Policy) bool { return false }}, "", ""},
		{"empty policy, a size limit", Config{Policy: &smtpcheck.Policy{}, MaxMessageBytes: 1 << 20}, "header body", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := open(t, serve(t, tc.cfg))
			if sent, awaited := negotiated(m.s); sent != tc.sent || awaited != tc.awaited {
				t.Fatalf("MTA sends %q and awaits %q, want %q and %q", sent, awaited, tc.sent, tc.awaited)
			}
			m.upToData("a@client.example", "b@example.org")
			if _, a := m.send(message); a.Type != milter.ActionAccept {
				t.Fatalf("end of message = %v, want accept", a)
			}
		})
	}
}

// TestMessageAsReceivedWhateverTheStagesSent checks that the end-of-message
// checks see the same header, body and message whether a header check
// parsed the fields before them or not.
func TestMessageAsReceivedWhateverTheStagesSent(t *testing.T) {
	for _, headerCheck := range []bool{false, true} {
		var seen string
		p := &smtpcheck.Policy{EndOfData: check(func(s *smtpcheck.Session) smtpcheck.Result {
			subject, _ := s.Header.Get("Subject")
			seen = subject + "|" + string(readAll(t, s.Body)) + "|" + string(readAll(t, s.Message))
			return smtpcheck.Result{}
		})}
		if headerCheck {
			p.Headers = check(func(*smtpcheck.Session) smtpcheck.Result { return smtpcheck.Result{} })
		}
		m := open(t, serve(t, Config{Policy: p}))
		m.upToData("a@client.example", "b@example.org")
		if _, a := m.send(message); a.Type != milter.ActionAccept {
			t.Fatalf("end of message = %v, want accept", a)
		}
		_, body, _ := strings.Cut(message, "\r\n\r\n")
		if want := "hi\r\n\tthere|" + body + "|" + message; seen != want {
			t.Errorf("header check %v: the end-of-message check saw %q, want %q", headerCheck, seen, want)
		}
	}
}

// TestSizeLimitWithoutTheMessageKept checks that a policy that reads no
// message still has Config.MaxMessageBytes enforced, the message counted
// rather than kept.
func TestSizeLimitWithoutTheMessageKept(t *testing.T) {
	m := open(t, serve(t, Config{Policy: &smtpcheck.Policy{}, MaxMessageBytes: int64(len(message) - 1)}))
	m.upToData("a@client.example", "b@example.org")
	if _, a := m.send(message); a.Type != milter.ActionRejectWithCode || a.SMTPCode != 552 {
		t.Fatalf("end of message = %v, want the 552 of a message too big", a)
	}
	m = open(t, serve(t, Config{Policy: &smtpcheck.Policy{}, MaxMessageBytes: int64(len(message))}))
	m.upToData("a@client.example", "b@example.org")
	if _, a := m.send(message); a.Type != milter.ActionAccept {
		t.Fatalf("end of message at the limit = %v, want accept", a)
	}
}

// TestReloadNeedingMoreWaitsForANewConnection checks a policy swapped in
// (Config.Current) that needs events the MTA was asked to leave out on a
// connection already open: an SMTP session on that connection keeps the
// policy negotiated (the new end-of-message check would see no header and
// refuse a good message), and a new connection negotiates for the new
// policy and runs it.
func TestReloadNeedingMoreWaitsForANewConnection(t *testing.T) {
	var checks atomic.Int32
	needsDate := check(func(s *smtpcheck.Session) smtpcheck.Result {
		checks.Add(1)
		if _, ok := s.Header.Get("Date"); !ok {
			return smtpcheck.Refuse(reply.TransactionFailed(), smtpcheck.Reason{Check: "date"})
		}
		return smtpcheck.Result{}
	})
	dated := "Date: Sat, 5 Dec 2026 12:00:00 +0000\r\n" + message
	var live atomic.Pointer[smtpcheck.Policy]
	live.Store(&smtpcheck.Policy{})
	c := serve(t, Config{Current: func() (*smtpcheck.Policy, []netip.Prefix) { return live.Load(), nil }})
	old := open(t, c)
	live.Store(&smtpcheck.Policy{EndOfData: needsDate})
	// The MTA starts a new SMTP session on the open connection.
	if err := old.s.Reset(milter.NewMacroBag()); err != nil {
		t.Fatal(err)
	}
	old.upToData("a@client.example", "b@example.org")
	if _, a := old.send(dated); a.Type != milter.ActionAccept || checks.Load() != 0 {
		t.Fatalf("on the connection negotiated before: end of message = %v after %d checks, want accept and none", a, checks.Load())
	}
	fresh := open(t, c)
	fresh.upToData("a@client.example", "b@example.org")
	if _, a := fresh.send(dated); a.Type != milter.ActionAccept || checks.Load() != 1 {
		t.Fatalf("on a new connection: end of message = %v after %d checks, want accept after the new check", a, checks.Load())
	}
}
