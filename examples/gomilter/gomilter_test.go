package gomilter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/d--j/go-milter"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// serve runs a Filter for cfg on loopback and returns a milter client
// (the MTA's side) for it.
func serve(t *testing.T, cfg Config) *milter.Client {
	t.Helper()
	f := New(cfg)
	ln, err := Listen("inet:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Serve(ln) }()
	t.Cleanup(func() {
		f.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return milter.NewClient("tcp", ln.Addr().String(),
		milter.WithActions(milter.AllClientSupportedActionMasks),
		milter.WithReadTimeout(5*time.Second))
}

// mta is one SMTP session as the MTA tells it to the filter.
type mta struct {
	t      *testing.T
	s      *milter.ClientSession
	macros *milter.MacroBag
}

func open(t *testing.T, c *milter.Client) *mta {
	t.Helper()
	bag := milter.NewMacroBag()
	s, err := c.Session(bag)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &mta{t: t, s: s, macros: bag}
}

func (m *mta) act(a *milter.Action, err error) *milter.Action {
	m.t.Helper()
	if err != nil {
		m.t.Fatal(err)
	}
	return a
}

// upToData runs connect, HELO, MAIL and one RCPT, failing on any refusal.
func (m *mta) upToData(from, to string) {
	m.t.Helper()
	for i, a := range []func() (*milter.Action, error){
		func() (*milter.Action, error) {
			return m.s.Conn("mx.client.example", milter.FamilyInet, 40000, "192.0.2.7")
		},
		func() (*milter.Action, error) { return m.s.Helo("mx.client.example") },
		func() (*milter.Action, error) { return m.s.Mail("<"+from+">", "") },
		func() (*milter.Action, error) { return m.s.Rcpt("<"+to+">", "") },
	} {
		if got := m.act(a()); got.Type != milter.ActionContinue {
			m.t.Fatalf("step %d = %v, want continue", i, got)
		}
	}
}

const message = "From: <a@client.example>\r\nTo: <b@example.org>\r\nSubject: hi\r\n\tthere\r\n\r\nbody line 1\r\nbody line 2\r\n"

// send sends message's header fields and body, and returns the filter's
// answers at end of message.
func (m *mta) send(msg string) ([]milter.ModifyAction, *milter.Action) {
	m.t.Helper()
	if a := m.act(m.s.DataStart()); a.Type != milter.ActionContinue {
		return nil, a
	}
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	for _, line := range strings.Split(unfoldForWire(head), "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		if a := m.act(m.s.HeaderField(name, value, nil)); a.Type != milter.ActionContinue {
			return nil, a
		}
	}
	if a := m.act(m.s.HeaderEnd()); a.Type != milter.ActionContinue {
		return nil, a
	}
	mods, a, err := m.s.BodyReadFrom(strings.NewReader(body))
	if err != nil {
		m.t.Fatal(err)
	}
	return mods, a
}

// unfoldForWire joins continuation lines to their field with LF, as
// Postfix sends a folded field.
func unfoldForWire(head string) string { return strings.ReplaceAll(head, "\r\n\t", "\n\t") }

func check(f func(s *smtpcheck.Session) smtpcheck.Result) smtpcheck.Check {
	return func(_ context.Context, s *smtpcheck.Session) smtpcheck.Result { return f(s) }
}

func TestRefusalCarriesTheCatalogReplyLineByLine(t *testing.T) {
	rep, err := reply.New(550, "5.7.1", "first line of the reason", "second line")
	if err != nil {
		t.Fatal(err)
	}
	c := serve(t, Config{Policy: &smtpcheck.Policy{Rcpt: check(func(s *smtpcheck.Session) smtpcheck.Result {
		if s.Rcpt.Local == "spamtrap" {
			return smtpcheck.Refuse(rep, smtpcheck.Reason{Check: "test"})
		}
		return smtpcheck.Result{}
	})}})
	m := open(t, c)
	m.upToData("a@client.example", "b@example.org")
	a := m.act(m.s.Rcpt("<spamtrap@example.org>", ""))
	want := "550-5.7.1 first line of the reason\r\n550 5.7.1 second line"
	if a.Type != milter.ActionRejectWithCode || a.SMTPCode != 550 || a.SMTPReply != want {
		t.Fatalf("RCPT spamtrap = %v, want reply code %q", a, want)
	}
	// The refusal was the recipient's only: the transaction goes on.
	mods, a := m.send(message)
	if a.Type != milter.ActionAccept {
		t.Fatalf("end of message = %v, want accept (mods %v)", a, mods)
	}
}

func TestTempFailIs4xxAndDiscardIsDiscard(t *testing.T) {
	c := serve(t, Config{Policy: &smtpcheck.Policy{Mail: check(func(s *smtpcheck.Session) smtpcheck.Result {
		switch s.Mail.From.Local {
		case "later":
			return smtpcheck.Result{Action: smtpcheck.TempFail, Reply: reply.TryAgainLater()}
		case "drop":
			return smtpcheck.Result{Action: smtpcheck.Discard}
		}
		return smtpcheck.Result{}
	})}})
	m := open(t, c)
	m.act(m.s.Conn("mx.client.example", milter.FamilyInet, 40000, "192.0.2.7"))
	m.act(m.s.Helo("mx.client.example"))
	a := m.act(m.s.Mail("<later@client.example>", ""))
	if a.Type != milter.ActionRejectWithCode || a.SMTPCode/100 != 4 || !strings.Contains(a.SMTPReply, " 4.") {
		t.Fatalf("MAIL later = %v, want a 4xx reply with a 4.x.x code", a)
	}
	// Postfix aborts the refused transaction before the next MAIL.
	if err := m.s.Abort(nil); err != nil {
		t.Fatal(err)
	}
	a = m.act(m.s.Mail("<drop@client.example>", ""))
	if a.Type != milter.ActionDiscard {
		t.Fatalf("MAIL drop = %v, want discard", a)
	}
}

func TestHeadersAddedAndQuarantineAtEndOfMessage(t *testing.T) {
	c := serve(t, Config{Policy: &smtpcheck.Policy{
		Rcpt: check(func(s *smtpcheck.Session) smtpcheck.Result {
			return smtpcheck.Result{Headers: []smtpcheck.HeaderField{{Name: "X-Greylist", Value: " delayed 0 seconds"}}}
		}),
		EndOfData: check(func(s *smtpcheck.Session) smtpcheck.Result {
			if v, _ := s.Header.Get("Subject"); strings.Contains(v, "quarantine me") {
				return smtpcheck.Result{Action: smtpcheck.Quarantine, Reason: smtpcheck.Reason{Check: "test", Rule: "subject"}}
			}
			return smtpcheck.Result{}
		}),
	}})
	m := open(t, c)
	m.upToData("a@client.example", "b@example.org")
	mods, a := m.send(strings.Replace(message, "Subject: hi", "Subject: quarantine me", 1))
	if a.Type != milter.ActionAccept {
		t.Fatalf("end of message = %v, want accept", a)
	}
	var added, quarantined string
	for _, mod := range mods {
		switch mod.Type {
		case milter.ActionAddHeader:
			added += mod.HeaderName + ":" + mod.HeaderValue
		case milter.ActionQuarantine:
			quarantined = mod.Reason
		}
	}
	// One blank after the colon: the MTA writes the value as given.
	if added != "X-Greylist: delayed 0 seconds" {
		t.Errorf("added headers = %q, want %q", added, "X-Greylist: delayed 0 seconds")
	}
	if !strings.Contains(quarantined, "test rule=subject") {
		t.Errorf("quarantine reason = %q, want the check's reason", quarantined)
	}
}

// TestConnectAndHeloMarksLastBeyondTheTransaction checks that what the
// connect and HELO checks ask of the messages, which the filter can give
// only at end of message, reaches every message they last for: the
// connect stage's each message of the connection, the HELO stage's each
// message until the next HELO; a transaction's own marks reach its
// message only.
func TestConnectAndHeloMarksLastBeyondTheTransaction(t *testing.T) {
	hdr := func(name string) []smtpcheck.HeaderField {
		return []smtpcheck.HeaderField{{Name: name, Value: " yes"}}
	}
	c := serve(t, Config{Policy: &smtpcheck.Policy{
		Connect: check(func(s *smtpcheck.Session) smtpcheck.Result {
			return smtpcheck.Result{Action: smtpcheck.Quarantine, Reason: smtpcheck.Reason{Check: "connect-test"}, Headers: hdr("X-Connect")}
		}),
		Helo: check(func(s *smtpcheck.Session) smtpcheck.Result {
			if s.Helo.Name == "first.client.example" {
				return smtpcheck.Result{Headers: hdr("X-Helo")}
			}
			return smtpcheck.Result{}
		}),
		Mail: check(func(s *smtpcheck.Session) smtpcheck.Result {
			if s.Mail.From.Local == "tagged" {
				return smtpcheck.Result{Headers: hdr("X-Mail")}
			}
			return smtpcheck.Result{}
		}),
	}})
	m := open(t, c)
	m.act(m.s.Conn("mx.client.example", milter.FamilyInet, 40000, "192.0.2.7"))
	m.act(m.s.Helo("first.client.example"))
	for _, tc := range []struct {
		helo, from string
		want       string // the headers added
	}{
		{"", "tagged@client.example", "X-Connect X-Helo X-Mail"},
		{"", "a@client.example", "X-Connect X-Helo"},
		{"second.client.example", "a@client.example", "X-Connect"},
	} {
		if tc.helo != "" {
			m.act(m.s.Helo(tc.helo))
		}
		m.act(m.s.Mail("<"+tc.from+">", ""))
		m.act(m.s.Rcpt("<b@example.org>", ""))
		mods, a := m.send(message)
		if a.Type != milter.ActionAccept {
			t.Fatalf("end of message = %v, want accept", a)
		}
		var added []string
		quarantined := ""
		for _, mod := range mods {
			switch mod.Type {
			case milter.ActionAddHeader:
				added = append(added, mod.HeaderName)
			case milter.ActionQuarantine:
				quarantined = mod.Reason
			}
		}
		if got := strings.Join(added, " "); got != tc.want {
			t.Errorf("HELO %q, MAIL %q: added %q, want %q", tc.helo, tc.from, got, tc.want)
		}
		if !strings.Contains(quarantined, "connect-test") {
			t.Errorf("HELO %q, MAIL %q: quarantine reason %q, want the connect check's", tc.helo, tc.from, quarantined)
		}
	}
}

func TestMessageAsReceivedAndMissingHeaderRefusedAtEndOfMessage(t *testing.T) {
	var got, gotBody []byte
	var gotSubject string
	c := serve(t, Config{
		MemoryPerMessage: 16, // the message goes to a file
		SpoolDir:         t.TempDir(),
		Policy: &smtpcheck.Policy{
			Headers: check(func(s *smtpcheck.Session) smtpcheck.Result {
				if _, ok := s.Header.Get("Date"); !ok && s.Header.Count("Subject") == 0 {
					return smtpcheck.Refuse(reply.TransactionFailed(), smtpcheck.Reason{Check: "headers"})
				}
				return smtpcheck.Result{}
			}),
			EndOfData: check(func(s *smtpcheck.Session) smtpcheck.Result {
				got, gotBody = readAll(t, s.Message), readAll(t, s.Body)
				gotSubject, _ = s.Header.Get("Subject")
				return smtpcheck.Result{}
			}),
		}})
	m := open(t, c)
	m.upToData("a@client.example", "b@example.org")
	if _, a := m.send(message); a.Type != milter.ActionAccept {
		t.Fatalf("end of message = %v, want accept", a)
	}
	if string(got) != message {
		t.Errorf("Message = %q, want %q", got, message)
	}
	if want := "body line 1\r\nbody line 2\r\n"; string(gotBody) != want {
		t.Errorf("Body = %q, want %q", gotBody, want)
	}
	if gotSubject != "hi\r\n\tthere" {
		t.Errorf("Subject = %q, want the folded value as received", gotSubject)
	}

	// The next transaction of the same session.
	m.act(m.s.Mail("<a@client.example>", ""))
	m.act(m.s.Rcpt("<b@example.org>", ""))
	_, a := m.send("From: <a@client.example>\r\n\r\nbody\r\n")
	if a.Type != milter.ActionRejectWithCode || a.SMTPCode != 554 {
		t.Fatalf("message without Subject and Date = %v, want the header check's 554", a)
	}
}

func readAll(t *testing.T, b smtpcheck.Body) []byte {
	t.Helper()
	rc, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFactsFromMacros(t *testing.T) {
	var conn smtpcheck.Conn
	c := serve(t, Config{
		Trusted: mustPrefixes(t, "192.0.2.0/24"),
		Policy: &smtpcheck.Policy{Rcpt: check(func(s *smtpcheck.Session) smtpcheck.Result {
			conn = s.Conn
			return smtpcheck.Result{}
		})}})
	for _, tc := range []struct {
		name                string
		clientName, ptr     string
		resolve             string
		wantPTR, wantConfrm string
		wantErr             bool
	}{
		{"confirmed", "MX.Client.Example.", "mx.client.example", "OK", "mx.client.example", "mx.client.example", false},
		{"forged", "unknown", "fake.client.example", "FORGED", "fake.client.example", "", false},
		{"no name", "unknown", "unknown", "FAIL", "", "", false},
		{"temporary failure", "unknown", "unknown", "TEMP", "", "", true},
		{"temporary failure of the forward lookup", "unknown", "slow.client.example", "TEMP", "slow.client.example", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := open(t, c)
			m.macros.Set("{client_name}", tc.clientName)
			m.macros.Set("{client_ptr}", tc.ptr)
			m.macros.Set("{client_resolve}", tc.resolve)
			m.macros.Set("{daemon_addr}", "198.51.100.1")
			m.macros.Set("{daemon_port}", "25")
			m.macros.Set("{tls_version}", "TLSv1.3")
			m.macros.Set("{auth_authen}", "alice")
			m.macros.Set("i", "4ABCDE1234")
			m.upToData("a@client.example", "b@example.org")
			if got := strings.Join(conn.PTR, ","); got != tc.wantPTR || !conn.PTRLooked {
				t.Errorf("PTR = %q (looked %v), want %q", got, conn.PTRLooked, tc.wantPTR)
			}
			if got := strings.Join(conn.Confirmed, ","); got != tc.wantConfrm {
				t.Errorf("Confirmed = %q, want %q", got, tc.wantConfrm)
			}
			if (conn.PTRErr != nil) != tc.wantErr {
				t.Errorf("PTRErr = %v, want error %v", conn.PTRErr, tc.wantErr)
			}
			if conn.ClientIP.String() != "192.0.2.7" || conn.ClientPort != 40000 || !conn.Trusted {
				t.Errorf("client = %v:%d trusted %v, want 192.0.2.7:40000 trusted", conn.ClientIP, conn.ClientPort, conn.Trusted)
			}
			if conn.Local.String() != "198.51.100.1:25" || !conn.TLS || conn.TLSVersion != "TLS1.3" || conn.AuthUser != "alice" || conn.ID != "4ABCDE1234" {
				t.Errorf("conn = %+v, want local 198.51.100.1:25, TLS1.3, alice, ID 4ABCDE1234", conn)
			}
		})
	}
}

func mustPrefixes(t *testing.T, s ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func TestDelayedRejectionAndDeferIfPermit(t *testing.T) {
	c := serve(t, Config{Policy: &smtpcheck.Policy{
		DelayReject: true,
		Connect: check(func(s *smtpcheck.Session) smtpcheck.Result {
			return smtpcheck.Refuse(reply.TransactionFailed(), smtpcheck.Reason{Check: "listed"})
		}),
		Rcpt: check(func(s *smtpcheck.Session) smtpcheck.Result {
			if s.Rcpt.Local == "postmaster" {
				return smtpcheck.Permit(smtpcheck.Reason{Check: "postmaster"})
			}
			return smtpcheck.Result{}
		}),
	}})
	m := open(t, c)
	for i, a := range []func() (*milter.Action, error){
		func() (*milter.Action, error) { return m.s.Conn("x", milter.FamilyInet, 1, "192.0.2.9") },
		func() (*milter.Action, error) { return m.s.Helo("x.example") },
		func() (*milter.Action, error) { return m.s.Mail("<a@client.example>", "") },
	} {
		if got := m.act(a()); got.Type != milter.ActionContinue {
			t.Fatalf("step %d = %v, want continue: the refusal is held for RCPT", i, got)
		}
	}
	if a := m.act(m.s.Rcpt("<b@example.org>", "")); a.Type != milter.ActionRejectWithCode || a.SMTPCode != 554 {
		t.Fatalf("RCPT b = %v, want the held 554", a)
	}
	if a := m.act(m.s.Rcpt("<postmaster@example.org>", "")); a.Type != milter.ActionContinue {
		t.Fatalf("RCPT postmaster = %v, want continue", a)
	}
}

func TestEveryCallbackAnsweredWithinTheDeadline(t *testing.T) {
	c := serve(t, Config{
		CommandTimeout: 200 * time.Millisecond,
		Policy: &smtpcheck.Policy{Helo: smtpcheck.Guard(func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			<-ctx.Done() // a check waiting on a dead DNS server
			return smtpcheck.Result{Err: ctx.Err()}
		}, smtpcheck.Options{Name: "slow", OnError: smtpcheck.FailTemp})},
	})
	m := open(t, c)
	m.act(m.s.Conn("x", milter.FamilyInet, 1, "192.0.2.9"))
	start := time.Now()
	a := m.act(m.s.Helo("x.example"))
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("HELO answered after %v", took)
	}
	// The check's temporary failure defers only if nothing rejects: it
	// is given at RCPT.
	if a.Type != milter.ActionContinue {
		t.Fatalf("HELO = %v, want continue (the failure held for RCPT)", a)
	}
	m.act(m.s.Mail("<a@client.example>", ""))
	if a := m.act(m.s.Rcpt("<b@example.org>", "")); a.Type != milter.ActionRejectWithCode || a.SMTPCode/100 != 4 {
		t.Fatalf("RCPT = %v, want the check's temp-fail", a)
	}
}

func TestMTAGoneMidMessageLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	closed := make(chan *smtpcheck.Session, 1)
	c := serve(t, Config{
		MemoryPerMessage: 8,
		SpoolDir:         dir,
		OnClose:          func(s *smtpcheck.Session) { closed <- s },
		Policy: &smtpcheck.Policy{Headers: check(func(s *smtpcheck.Session) smtpcheck.Result {
			return smtpcheck.Result{}
		})},
	})
	before := runtime.NumGoroutine()
	m := open(t, c)
	m.upToData("a@client.example", "b@example.org")
	m.act(m.s.DataStart())
	m.act(m.s.HeaderField("Subject", " big", nil))
	m.act(m.s.HeaderEnd())
	m.act(m.s.BodyChunk(bytes.Repeat([]byte("x"), 4096)))
	// The MTA awaits no reply to the chunk: the filter spools it in its
	// own time, to a file past MemoryPerMessage.
	for deadline := time.Now().Add(5 * time.Second); openSpoolFiles(t) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the message was not spooled to a file")
		}
	}
	// The MTA's process dies: the socket closes with no QUIT.
	if err := m.s.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Logf("close: %v", err)
	}
	select {
	case s := <-closed:
		if s.Conn.ClientIP.String() != "192.0.2.7" {
			t.Errorf("OnClose for %v", s.Conn.ClientIP)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose not called after the MTA left")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("spool dir holds %d files after the session", len(ents))
	}
	if n := openSpoolFiles(t); n != 0 {
		t.Errorf("%d spool files still open", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("goroutines: %d after the session, %d before", n, before)
	}
}

// openSpoolFiles counts this process's open descriptors on spool files
// (unlinked, so only /proc/self/fd still names them).
func openSpoolFiles(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd to count open files")
	}
	n := 0
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if strings.Contains(target, "smtppolicy-milter-") {
			n++
		}
	}
	return n
}

func TestMessageTooBig(t *testing.T) {
	c := serve(t, Config{MaxMessageBytes: 100})
	m := open(t, c)
	m.upToData("a@client.example", "b@example.org")
	_, a := m.send("Subject: x\r\n\r\n" + strings.Repeat("y", 200) + "\r\n")
	if a.Type != milter.ActionRejectWithCode || a.SMTPCode != 552 || !strings.Contains(a.SMTPReply, "5.3.4") {
		t.Fatalf("oversize = %v, want 552 5.3.4", a)
	}
}

func TestListen(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "milter.sock")
	for _, tc := range []struct {
		spec    string
		network string
		wantErr bool
	}{
		{"inet:127.0.0.1:0", "tcp", false},
		{"inet6:[::1]:0", "tcp", false},
		{"unix:" + sock, "unix", false},
		{sock, "unix", false}, // a stale socket is replaced
		{"inet:127.0.0.1", "", true},
		{"unix:", "", true},
		{"smtp:127.0.0.1:25", "", true},
		{"127.0.0.1:25", "", true},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			ln, err := Listen(tc.spec)
			if tc.wantErr {
				if err == nil {
					ln.Close()
					t.Fatalf("Listen(%q) = nil error, want one", tc.spec)
				}
				return
			}
			if err != nil {
				if strings.Contains(tc.spec, "::1") {
					t.Skip("no IPv6 loopback")
				}
				t.Fatalf("Listen(%q) = %v", tc.spec, err)
			}
			defer ln.Close()
			if ln.Addr().Network() != tc.network {
				t.Errorf("Listen(%q) network = %s, want %s", tc.spec, ln.Addr().Network(), tc.network)
			}
			if tc.network == "unix" {
				fi, err := os.Stat(sock)
				if err != nil || fi.Mode().Perm() != 0o660 {
					t.Errorf("socket mode = %v (%v), want 0660", fi.Mode().Perm(), err)
				}
			}
		})
	}
}

func TestCheckFacts(t *testing.T) {
	for _, tc := range []struct {
		name string
		need []Fact
		sent MacroLists
		want string // "" for no error, else a part of it
	}{
		{"postfix defaults carry auth, tls and queue id", []Fact{FactAuth, FactTLS, FactQueueID}, nil, ""},
		{"postfix defaults lack client_ptr", []Fact{FactReverseName}, nil, "add {client_ptr} {client_resolve} to milter_connect_macros"},
		{"requested lists carry it", []Fact{FactReverseName, FactLocal}, PostfixDefaults().Union(Requested()), ""},
		{"protocol facts never", []Fact{FactProtocol}, Requested(), "protocol: no MTA sends it"},
		{"admin's own list", []Fact{FactReverseName}, MacroLists{MacrosConnect: ParseMacroList("j, {client_ptr} {client_resolve}")}, ""},
		{"admin's list without the queue id", []Fact{FactQueueID}, MacroLists{MacrosMail: ParseMacroList("{auth_authen}")}, "add i to milter_mail_macros"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckFacts(tc.need, tc.sent)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckFacts(%v) = %v, want nil", tc.need, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CheckFacts(%v) = %v, want %q", tc.need, err, tc.want)
			}
		})
	}
}

func TestReverseNamesFollowConnContract(t *testing.T) {
	for _, tc := range []struct {
		name, client, ptr string
		macros            bool
		status            string
		looked            bool
		wantPTR, wantConf string
		wantErr           bool
	}{
		{"no macros, no name: nothing known", "", "", false, "", false, "", "", false},
		{"no macros, verified name", "mx.client.example", "", false, "", true, "mx.client.example", "mx.client.example", false},
		{"ptr differs from the verified name", "mx.client.example", "other.client.example", true, "OK", true, "other.client.example,mx.client.example", "mx.client.example", false},
		{"no PTR record", "", "", true, "FAIL", true, "", "", false},
		{"lookup failed for now", "", "", true, "TEMP", true, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c smtpcheck.Conn
			reverseNames(&c, tc.client, tc.ptr, tc.macros, tc.status)
			if c.PTRLooked != tc.looked || strings.Join(c.PTR, ",") != tc.wantPTR || strings.Join(c.Confirmed, ",") != tc.wantConf || (c.PTRErr != nil) != tc.wantErr {
				t.Errorf("reverseNames(%q, %q, %v, %q) = looked %v PTR %q Confirmed %q err %v; want %v %q %q err %v",
					tc.client, tc.ptr, tc.macros, tc.status, c.PTRLooked, c.PTR, c.Confirmed, c.PTRErr, tc.looked, tc.wantPTR, tc.wantConf, tc.wantErr)
			}
			for _, n := range c.Confirmed {
				if !slices.Contains(c.PTR, n) {
					t.Errorf("confirmed %q not in PTR %q", n, c.PTR)
				}
			}
		})
	}
}

func TestQueueIDNamesItsTransactionOnly(t *testing.T) {
	var ids []string
	c := serve(t, Config{Policy: &smtpcheck.Policy{Mail: check(func(s *smtpcheck.Session) smtpcheck.Result {
		ids = append(ids, s.Conn.ID)
		return smtpcheck.Result{}
	})}})
	m := open(t, c)
	m.macros.Set("i", "4QUEUE1")
	m.upToData("a@client.example", "b@example.org")
	if _, a := m.send(message); a.Type != milter.ActionAccept {
		t.Fatalf("end of message = %v", a)
	}
	// Postfix has no queue ID yet at the next MAIL.
	m.macros.Set("i", "")
	m.act(m.s.Mail("<a@client.example>", ""))
	if len(ids) != 2 || ids[0] != "4QUEUE1" || ids[1] == "4QUEUE1" || ids[1] == "" {
		t.Fatalf("IDs at MAIL = %q, want 4QUEUE1 then the session's own", ids)
	}
}
