// Package gosmtp adapts an smtpcheck.Policy to github.com/emersion/go-smtp:
// a Backend whose sessions evaluate the policy at every stage, and a
// net.Listener wrapper that runs the connect stage before the greeting
// (go-smtp's NewSession only runs at HELO).
//
// Every verdict reaches the client as an unwrapped *smtp.SMTPError built from
// the catalog reply; each connection has its own context with a deadline per
// command; a panic inside a check becomes 451 4.3.0 for that command. Mail
// for RCPT TO:<Postmaster> (and postmaster@ Config.PostmasterDomains) is
// accepted whatever the policy says (RFC 5321 4.5.1).
package gosmtp

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/examples/internal/deadline"
	"github.com/smtppolicy/smtppolicy/examples/internal/spool"
	"github.com/smtppolicy/smtppolicy/examples/internal/verdict"
	"github.com/smtppolicy/smtppolicy/postscreen"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// Message is an accepted message handed to Config.Deliver.
type Message struct {
	Session *smtpcheck.Session // facts of the session, including From and Rcpts
	// Received is the trace header line this server prepends (with CRLF).
	Received string
	// Headers are the fields checks asked to add (X-Greylist, Received-SPF...).
	Headers []smtpcheck.HeaderField
	// Data is the message exactly as received, after dot-unstuffing (and
	// Config.Normalize when set). It may be in a temporary file: open it
	// as often as needed, but only until Deliver returns.
	Data smtpcheck.Body
	// Quarantine is set when the verdict was quarantine (smtpf SAVE/TRAP).
	Quarantine bool
}

// Config configures a Backend. Zero fields take the defaults noted.
type Config struct {
	Policy *smtpcheck.Policy
	// Current, when set, returns the policy for each new connection in
	// place of Policy, so a program can swap in a reloaded configuration;
	// a connection keeps the policy it started with to its end.
	Current  func() *smtpcheck.Policy
	Hostname string // this server's name, for Received lines (default "localhost")

	// Trusted networks are exempt from the policy where checks say so
	// (relay control, most checks' Skip conditions).
	Trusted []netip.Prefix

	// CommandTimeout bounds the checks of one command (default 30 s).
	CommandTimeout time.Duration
	// GreetPause, when set, waits this long before the greeting to catch
	// clients that talk first (postscreen's pregreet test).
	GreetPause time.Duration
	// GreetPauseFor, when set, gives one client its own pause before the
	// greeting (such as the access map's GreetPause:); ok false keeps
	// GreetPause, zero turns the pause off. It sees the client's address
	// and reverse names.
	GreetPauseFor func(ctx context.Context, s *smtpcheck.Session) (d time.Duration, ok bool)
	// CommandPauseFor, when set, gives one client a pause before each
	// reply to its commands (the access map's CommandPause:), watching for
	// commands sent early without PIPELINING, as the pre-greeting pause
	// watches for talk before the greeting.
	CommandPauseFor func(ctx context.Context, s *smtpcheck.Session) (d time.Duration, ok bool)
	// LookupPTR fills the client's reverse names before the connect stage;
	// nil leaves them unknown. An error that says the address has no PTR
	// record (resolver.IsNotFound: NXDOMAIN, NODATA) is an answer, recorded
	// as no names; only other errors (SERVFAIL, timeouts) are lookup
	// failures (see smtpcheck.Conn).
	LookupPTR func(ctx context.Context, ip netip.Addr) (names, confirmed []string, err error)
	// PostmasterDomains are the domains whose postmaster@ is accepted
	// whatever the policy says, as RCPT TO:<Postmaster> (no domain) always
	// is (RFC 5321 4.5.1): a sender whose mail is refused must be able to
	// reach a person. A leading dot (".example.org") takes in the
	// subdomains, as smtpcheck.RelayControl does.
	PostmasterDomains []string
	// MaxMessageBytes limits DATA (default 25 MiB); larger messages get the
	// catalog's 552 5.3.4, and the session goes on. Configure hands it to
	// go-smtp, which advertises it in EHLO (SIZE) and refuses a larger
	// MAIL FROM SIZE= with 552 5.3.4.
	MaxMessageBytes int64
	// DataTimeout bounds the whole of DATA, from the 354 to the final
	// dot (default 10 minutes: a 25 MiB message at 40 KiB/s). A client
	// still sending then gets the catalog's 421 4.4.2 and is disconnected,
	// so a client dripping a byte at a time cannot hold a session. It
	// needs the Listener, which sees the reply to DATA.
	DataTimeout time.Duration
	// MemoryPerMessage is how much of a message is held in memory; the
	// rest goes to a temporary file (mode 0600) in SpoolDir, removed
	// whatever ends the transaction. Default 1 MiB.
	MemoryPerMessage int
	// SpoolDir is where messages larger than MemoryPerMessage are kept
	// while checked and delivered (default os.TempDir()).
	SpoolDir string
	// MaxErrors disconnects a client after this many error replies with the
	// catalog's 421 4.7.0 (default 20; negative: never).
	MaxErrors int

	// Normalize, when set, rewrites an accepted message before delivery
	// (the checks saw it as received), such as bare LF to CRLF.
	Normalize func(io.Reader) io.Reader

	// Deliver stores an accepted message; nil accepts and drops it.
	Deliver func(ctx context.Context, m *Message) error
	// Accepted, when set, is called once a message has been accepted and
	// delivered (Deliver returned nil, or the message was discarded),
	// before the client gets its 250, while the message is still
	// readable: for checks that must remember only what was really taken
	// (duplicate refusal), never a message a later check or a failed
	// delivery turned away.
	Accepted func(ctx context.Context, s *smtpcheck.Session)
	// Postscreen, when set, runs postscreen's tests in the listener: the
	// access list and the pass cache at connect (a client that passed
	// recently pays no test, and the DNS lists can skip it through
	// postscreen.Passed), the pregreet test with GreetPause, and the deep
	// tests (bare newline, non-SMTP commands, pipelining) on each command
	// line, each with its action. The enforce action needs
	// postscreen.EnforceCheck in the RCPT stage.
	Postscreen *postscreen.Screen

	// OnClose is called once when a connection ends, for checks that hold
	// per-connection state (concurrency limits).
	OnClose func(s *smtpcheck.Session)

	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Backend is a go-smtp Backend running a policy.
type Backend struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn]*session
}

var _ smtp.Backend = (*Backend)(nil)

// New returns a Backend for cfg.
func New(cfg Config) *Backend {
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 30 * time.Second
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 25 << 20
	}
	if cfg.DataTimeout <= 0 {
		cfg.DataTimeout = DefaultDataTimeout
	}
	if cfg.MemoryPerMessage <= 0 {
		cfg.MemoryPerMessage = 1 << 20
	}
	cfg.SpoolDir = cmp.Or(cfg.SpoolDir, os.TempDir())
	if cfg.MaxErrors == 0 {
		cfg.MaxErrors = 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Policy = cmp.Or(cfg.Policy, &smtpcheck.Policy{})
	log := cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	return &Backend{cfg: cfg, log: log, conns: make(map[net.Conn]*session)}
}

// DefaultDataTimeout is Config.DataTimeout's default.
const DefaultDataTimeout = 10 * time.Minute

// Configure sets the limits of srv that the Backend enforces with it: the
// message size (advertised in EHLO as SIZE) and the line length. Call it
// after setting srv.TLSConfig. Body lines may be of any length up to the
// message size, as Postfix accepts them; command lines stay bounded (2048
// octets) by the Listener, which srv must serve on. Under TLS the Listener
// sees no lines: there go-smtp's limit, set to the message size, bounds
// command lines (its limit applies to message lines too, so it cannot be
// lower).
func (b *Backend) Configure(srv *smtp.Server) {
	srv.MaxMessageBytes = b.cfg.MaxMessageBytes
	srv.MaxLineLength = 0
	if srv.TLSConfig != nil {
		srv.MaxLineLength = int(min(b.cfg.MaxMessageBytes, math.MaxInt32))
	}
}

// Listener wraps l so that every accepted connection runs the connect stage
// before go-smtp greets it. Serve the go-smtp server on the returned listener.
func (b *Backend) Listener(l net.Listener) net.Listener { return &listener{Listener: l, b: b} }

type listener struct {
	net.Listener
	b *Backend
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	s := l.b.newSession(c)
	tc := newTrackedConn(c, s)
	s.conn = tc
	l.b.mu.Lock()
	l.b.conns[tc] = s
	l.b.mu.Unlock()
	return tc, nil
}

// ConnFacts returns the connection facts of a go-smtp connection: client and
// local addresses, TLS state and, when it came through Listener, the ID.
func ConnFacts(c *smtp.Conn) smtpcheck.Conn {
	var f smtpcheck.Conn
	if nc := c.Conn(); nc != nil {
		f = addrFacts(nc)
		if tc, ok := nc.(*trackedConn); ok {
			f.ID = tc.sess.s.Conn.ID
		}
	}
	if st, ok := c.TLSConnectionState(); ok {
		f.TLS = true
		f.TLSVersion = tlsVersionName(st.Version)
	}
	return f
}

func addrFacts(nc net.Conn) smtpcheck.Conn {
	var f smtpcheck.Conn
	if ap, ok := addrPort(nc.RemoteAddr()); ok {
		f.ClientIP, f.ClientPort = ap.Addr().Unmap(), ap.Port()
	}
	if ap, ok := addrPort(nc.LocalAddr()); ok {
		f.Local = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return f
}

// addrPort is a's address and port: read off a TCP address without a
// round trip through its text, parsed from the text for other kinds.
func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return ap, ap.IsValid()
	}
	if a == nil {
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return ap, err == nil
}

func tlsVersionName(v uint16) string {
	switch v {
	case 0x0301:
		return "TLS1.0"
	case 0x0302:
		return "TLS1.1"
	case 0x0303:
		return "TLS1.2"
	case 0x0304:
		return "TLS1.3"
	}
	return fmt.Sprintf("TLS(0x%04x)", v)
}

func newID() string {
	const digits = "0123456789ABCDEF"
	var b [6]byte
	rand.Read(b[:])
	var id [12]byte
	for i, x := range b {
		id[2*i], id[2*i+1] = digits[x>>4], digits[x&0xf]
	}
	return string(id[:])
}

func (b *Backend) newSession(c net.Conn) *session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{b: b, ctx: ctx, cancel: cancel, s: &smtpcheck.Session{Conn: addrFacts(c)}, policy: b.cfg.Policy}
	if b.cfg.Current != nil {
		if p := b.cfg.Current(); p != nil {
			s.policy = p
		}
	}
	s.s.Conn.ID = newID()
	for _, p := range b.cfg.Trusted {
		if p.Contains(s.s.Conn.ClientIP) {
			s.s.Conn.Trusted = true
		}
	}
	return s
}

// NewSession is called by go-smtp at the first HELO/EHLO.
func (b *Backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	s := b.conns[c.Conn()]
	b.mu.Unlock()
	if s == nil {
		// Served without Listener: no connect stage, but the rest works.
		s = b.newSession(c.Conn())
		s.conn = newTrackedConn(c.Conn(), s)
		s.conn.detached = true
		s.connectDone = true
	}
	if st, ok := c.TLSConnectionState(); ok {
		s.s.Conn.TLS, s.s.Conn.TLSVersion = true, tlsVersionName(st.Version)
	}
	verb := s.conn.lastVerbOr("EHLO")
	if err := s.helo(verb, c.Hostname()); err != nil {
		return nil, err
	}
	return s, nil
}

func (c *trackedConn) lastVerbOr(def string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastVerb == "HELO" || c.lastVerb == "EHLO" {
		return c.lastVerb
	}
	return def
}

// session is one SMTP session: go-smtp's Session and the policy's facts.
type session struct {
	b      *Backend
	conn   *trackedConn
	ctx    context.Context
	cancel context.CancelFunc
	s      *smtpcheck.Session
	policy *smtpcheck.Policy // in force for the whole connection

	connectDone bool
	// What the checks asked of the messages, by how long it lasts: the
	// connect stage's, every message of the connection (under Postfix's
	// default smtpd_delay_reject its client restrictions run again at each
	// RCPT, so their PREPEND reaches each message); the HELO stage's, until
	// the next HELO; the transaction's.
	connMarks, heloMarks, txMarks marks
	pendingErr                    *smtp.SMTPError // a HELO-stage refusal found at a repeated EHLO
	closeOnce                     sync.Once
}

// evaluate runs the policy at stage and turns the decision into an error for
// go-smtp (nil to go on).
func (s *session) evaluate(st smtpcheck.Stage) error { return s.apply(s.decide(st)) }

// decide runs the policy at stage with a deadline for the command and
// containment of any panic.
func (s *session) decide(st smtpcheck.Stage) (r smtpcheck.Result) {
	defer func() {
		if v := recover(); v != nil {
			s.b.log.Error("panic in policy", "session", s.s.Conn.ID, "stage", st, "panic", v)
			r = smtpcheck.Result{Action: smtpcheck.TempFail, Reply: reply.InternalError()}
		}
	}()
	ctx, cancel := deadline.WithTimeout(s.ctx, s.b.cfg.CommandTimeout)
	defer cancel()
	s.s.Stage = st
	s.s.Now = s.b.cfg.Now()
	return s.policy.Evaluate(ctx, s.s).Result
}

func (s *session) apply(r smtpcheck.Result) error {
	if rep := s.settle(r); !rep.IsZero() {
		return ReplyError(rep)
	}
	return nil
}

// settle records what a stage's result means for the transaction (its
// headers, quarantine, discard, closing the connection) and returns the
// reply to refuse the command with, or the zero Reply to go on.
func (s *session) settle(r smtpcheck.Result) reply.Reply {
	mk := &s.txMarks
	switch s.s.Stage {
	case smtpcheck.StageConnect:
		mk = &s.connMarks
	case smtpcheck.StageHelo:
		mk = &s.heloMarks
	}
	mk.add(r)
	rep, closeAfter := refusal(r)
	if closeAfter {
		s.conn.markCloseAfterReply()
	}
	return rep
}

// marks are what results asked of the message: headers to add, and
// whether it is quarantined or discarded.
type marks struct {
	headers             []smtpcheck.HeaderField
	quarantine, discard bool
}

// add records what r asks of the message: its headers, none for a
// refused command (a greylisted recipient's never reach the message), and
// whether it quarantines or discards it.
func (m *marks) add(r smtpcheck.Result) {
	if !r.Action.Refuses() {
		m.headers = append(m.headers, r.Headers...)
	}
	m.quarantine = m.quarantine || r.Action == smtpcheck.Quarantine
	m.discard = m.discard || r.Action == smtpcheck.Discard
}

// joinMarks are the marks of a message: the connection's, the HELO's and
// the transaction's, headers in the order of the conversation.
func joinMarks(conn, helo, tx *marks) marks {
	all := marks{headers: make([]smtpcheck.HeaderField, 0, len(conn.headers)+len(helo.headers)+len(tx.headers))}
	for _, mk := range [...]*marks{conn, helo, tx} {
		all.headers = append(all.headers, mk.headers...)
		all.quarantine = all.quarantine || mk.quarantine
		all.discard = all.discard || mk.discard
	}
	return all
}

// refusal turns the result of a stage, as Policy.Evaluate gives it, into
// the reply that refuses the command: the zero Reply when the command goes
// on (accepted, tagged, quarantined or discarded mail is taken in), and
// whether the connection closes after the reply.
func refusal(r smtpcheck.Result) (rep reply.Reply, closeAfter bool) {
	switch r.Action {
	case smtpcheck.Continue, smtpcheck.Accept, smtpcheck.DeferIfPermit,
		smtpcheck.Tag, smtpcheck.Quarantine, smtpcheck.Discard:
		return reply.Reply{}, false
	}
	closeAfter = r.Action == smtpcheck.Disconnect
	rep = r.DefaultReply()
	if r.Action == smtpcheck.Disconnect && rep.Code() != 421 && !rep.IsPermanent() {
		rep = reply.InternalError()
	}
	if rep.Code() == 421 {
		// 421 says the service is closing the channel (RFC 5321 3.8): a
		// deferred 421 (a PTR lookup that failed) closes it too.
		closeAfter = true
	}
	return rep, closeAfter
}

// ReplyError returns the go-smtp error that gives reply r to the client,
// folded as r is on the wire, with the enhanced code on every line (go-smtp
// writes it only before the last line, so the others carry it in their
// text). Return it unwrapped from a Session method: go-smtp finds
// *smtp.SMTPError by type assertion, and any other error reaches the
// client as 451 4.0.0 with its text.
func ReplyError(r reply.Reply) *smtp.SMTPError {
	lines := r.Lines()
	enh := r.Enhanced()
	if !enh.IsZero() {
		for i := range len(lines) - 1 {
			if lines[i] == "" {
				lines[i] = enh.String()
			} else {
				lines[i] = enh.String() + " " + lines[i]
			}
		}
	}
	e := &smtp.SMTPError{Code: r.Code(), Message: strings.Join(lines, "\n")}
	if enh.IsZero() {
		e.EnhancedCode = smtp.NoEnhancedCode
	} else {
		e.EnhancedCode = smtp.EnhancedCode{int(enh.Class), int(enh.Subject), int(enh.Detail)}
	}
	return e
}

// connect runs before the greeting: the greet pause, the PTR lookup and the
// connect-stage checks. It returns the wire reply to send instead of the
// greeting, or nil.
func (s *session) connect(c *trackedConn) []byte {
	if s.connectDone {
		return nil
	}
	s.connectDone = true
	if s.b.cfg.LookupPTR != nil {
		ctx, cancel := deadline.WithTimeout(s.ctx, s.b.cfg.CommandTimeout)
		names, confirmed, err := s.b.cfg.LookupPTR(ctx, s.s.Conn.ClientIP)
		cancel()
		if resolver.IsNotFound(err) {
			// No PTR record is an answer, not a lookup failure.
			names, confirmed, err = nil, nil, nil
		}
		s.s.Conn.PTR, s.s.Conn.Confirmed, s.s.Conn.PTRLooked, s.s.Conn.PTRErr = names, confirmed, true, err
	}
	refusal, noPause := s.screenConnect(c)
	if refusal != nil {
		s.close()
		return refusal
	}
	// The per-client pauses are looked up after the PTR lookup, so that
	// they can be keyed by the client's name as well as its address.
	pause := s.b.cfg.GreetPause
	if f := s.b.cfg.GreetPauseFor; f != nil {
		if d, ok := f(s.ctx, s.s); ok {
			pause = d
		}
	}
	if f := s.b.cfg.CommandPauseFor; f != nil {
		if d, ok := f(s.ctx, s.s); ok {
			c.setCommandPause(d)
		}
	}
	if noPause {
		pause = 0
	}
	if pause > 0 {
		c.screenBanner()
		c.greetPause(pause)
		if c.screenPregreet() {
			s.close()
			return reply.ProtocolErrorDrop().AppendTo(nil)
		}
	}
	rep := s.settle(s.decide(smtpcheck.StageConnect))
	c.screenConnected(pause > 0, rep.IsZero())
	if rep.IsZero() {
		return nil
	}
	// The connection ends here: a refusal before the greeting is final.
	s.close()
	return rep.AppendTo(nil)
}

func wireOf(se *smtp.SMTPError) string {
	var b strings.Builder
	lines := strings.Split(se.Message, "\n")
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		if i == len(lines)-1 && se.EnhancedCode != smtp.NoEnhancedCode {
			fmt.Fprintf(&b, "%d%s%d.%d.%d %s\r\n", se.Code, sep, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], l)
		} else {
			fmt.Fprintf(&b, "%d%s%s\r\n", se.Code, sep, l)
		}
	}
	return b.String()
}

func (s *session) helo(verb, name string) error {
	s.s.SetHelo(verb, name)
	s.heloMarks = marks{} // a new HELO is judged anew
	return s.evaluate(smtpcheck.StageHelo)
}

// Mail implements smtp.Session.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if s.pendingErr != nil {
		err := s.pendingErr
		s.pendingErr = nil
		return err
	}
	s.resetTransaction()
	m := &smtpcheck.Mail{From: smtpcheck.ParseAddress(from), Raw: s.conn.lastLine("MAIL")}
	if opts != nil {
		m.Size, m.Body, m.SMTPUTF8 = opts.Size, string(opts.Body), opts.UTF8
	}
	s.s.Mail = m
	if m.Size > s.b.cfg.MaxMessageBytes {
		return ReplyError(reply.MessageTooBig())
	}
	return s.evaluate(smtpcheck.StageMail)
}

// Rcpt implements smtp.Session. Mail for the postmaster is accepted
// whatever the policy says (RFC 5321 4.5.1); the policy still runs, and a
// refusal it would have given is logged.
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	a := smtpcheck.ParseAddress(to)
	if strings.EqualFold(a.Domain, postmasterStandIn) {
		a.Domain = "" // RCPT TO:<Postmaster>, see trackedConn
	}
	s.s.Rcpt = a
	r := s.decide(smtpcheck.StageRcpt)
	// The client limits (anvil) apply to the postmaster too, as in
	// Postfix: their 450 defers the mail, never loses it.
	if s.isPostmaster(a) && r.Action.Refuses() && r.Reason.Check != access.AnvilName {
		s.b.log.Info("postmaster accepted over a refusal (RFC 5321 4.5.1)", "session", s.s,
			"rcpt", a.String(), "refusal", r.DefaultReply().String(), "reason", r.Reason.String())
		r = smtpcheck.Result{Action: smtpcheck.Accept, Headers: r.Headers,
			Reason: smtpcheck.Reason{Check: "postmaster", Rule: "RFC 5321 4.5.1", Matched: a.String()}}
	}
	if err := s.apply(r); err != nil {
		return err
	}
	s.s.Rcpts = append(s.s.Rcpts, s.s.Rcpt)
	return nil
}

// isPostmaster reports the recipients RFC 5321 4.5.1 says must be
// accepted: <Postmaster> without a domain, and postmaster@ a served domain
// (Config.PostmasterDomains), in any case.
func (s *session) isPostmaster(a smtpcheck.Address) bool {
	if !strings.EqualFold(a.Local, "postmaster") {
		return false
	}
	if a.Domain == "" {
		return true
	}
	d := a.DomainFold()
	for _, pd := range s.b.cfg.PostmasterDomains {
		pd = strings.ToLower(strings.TrimSuffix(pd, "."))
		if pd == d || (strings.HasPrefix(pd, ".") && strings.HasSuffix(d, pd)) {
			return true
		}
	}
	return false
}

// Data implements smtp.Session: the DATA, header and end-of-data stages run
// once the message is in, then an accepted message is delivered. The
// message is spooled (memory, then a file) and removed on every path.
func (s *session) Data(r io.Reader) error {
	s.conn.startData(s.b.cfg.DataTimeout)
	if err := s.evaluate(smtpcheck.StageData); err != nil {
		io.Copy(io.Discard, r)
		return err
	}
	sp := spool.New(s.b.cfg.SpoolDir, s.b.cfg.MemoryPerMessage, "smtppolicy-spool-*")
	defer sp.Close()
	limit := s.b.cfg.MaxMessageBytes
	n, err := io.Copy(sp, io.LimitReader(r, limit+1))
	if err == nil && n > limit || err == smtp.ErrDataTooLarge {
		// go-smtp reads the rest of the message before the reply.
		return s.decided(smtpcheck.StageEndOfData, smtpcheck.Result{
			Action: smtpcheck.Reject, Reply: reply.MessageTooBig(),
			Reason: smtpcheck.Reason{Check: "message-size", Rule: "max-message-bytes",
				Matched: ">" + strconv.FormatInt(limit, 10), Evidence: "max " + strconv.FormatInt(limit, 10)},
		})
	}
	if err != nil {
		return s.dataError(err, sp)
	}
	msg := sp.Body()
	h, body, err := smtpcheck.SplitMessage(msg)
	if err != nil {
		return s.dataError(err, sp)
	}
	s.s.Header = h
	if err := s.evaluate(smtpcheck.StageHeaders); err != nil {
		return err
	}
	s.s.Body, s.s.Message = body, msg
	if err := s.evaluate(smtpcheck.StageEndOfData); err != nil {
		return err
	}
	mk := joinMarks(&s.connMarks, &s.heloMarks, &s.txMarks)
	if mk.discard || s.b.cfg.Deliver == nil {
		s.accepted()
		return nil
	}
	if s.b.cfg.Normalize != nil {
		norm := spool.New(s.b.cfg.SpoolDir, s.b.cfg.MemoryPerMessage, "smtppolicy-spool-*")
		defer norm.Close()
		rc, err := msg.Open()
		if err == nil {
			_, err = io.Copy(norm, s.b.cfg.Normalize(rc))
			rc.Close()
		}
		if err != nil {
			return s.dataError(err, norm)
		}
		msg = norm.Body()
	}
	m := &Message{Session: s.s, Received: s.received(), Headers: mk.headers, Data: msg, Quarantine: mk.quarantine}
	ctx, cancel := deadline.WithTimeout(s.ctx, s.b.cfg.CommandTimeout)
	defer cancel()
	if err := s.b.cfg.Deliver(ctx, m); err != nil {
		s.b.log.Error("delivery failed", "session", s.s.Conn.ID, "error", err)
		return ReplyError(reply.InternalError())
	}
	s.accepted()
	return nil
}

// accepted tells Config.Accepted about the message just taken.
func (s *session) accepted() {
	verdict.Accepted(s.ctx, s.b.cfg.CommandTimeout, s.b.cfg.Accepted, s.s)
}

// dataError answers a failure while the message was read or spooled: the
// DATA deadline (421 4.4.2, then the connection closes), the client gone,
// or a local fault such as a full disk (451 4.3.0, logged).
func (s *session) dataError(err error, sp *spool.Spool) error {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return s.dataTimeout()
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed):
		s.b.log.Info("client left during DATA", "session", s.s.Conn.ID, "error", err)
		return ReplyError(reply.InternalError())
	}
	s.b.log.Error("message not spooled", "session", s.s.Conn.ID, "dir", s.b.cfg.SpoolDir, "in_file", sp.InFile(), "error", err)
	return ReplyError(reply.InternalError())
}

// dataTimeout ends a session whose DATA outlasted Config.DataTimeout.
func (s *session) dataTimeout() error {
	s.conn.markCloseAfterReply()
	return s.decided(smtpcheck.StageEndOfData, smtpcheck.Result{
		Action: smtpcheck.Disconnect, Reply: reply.TimeoutExceeded(),
		Reason: smtpcheck.Reason{Check: "data-timeout", Rule: "max-data-time",
			Evidence: "limit " + s.b.cfg.DataTimeout.String()},
	})
}

// decided logs and counts a verdict the adapter reached itself (a server
// limit, not a check), the way Policy.Evaluate does for the checks', and
// returns its reply.
func (s *session) decided(st smtpcheck.Stage, r smtpcheck.Result) error {
	verdict.Decided(s.ctx, s.b.cfg.Policy, s.b.log, s.s, st, r)
	return ReplyError(r.DefaultReply())
}

// received builds this hop's Received: field (RFC 5321 4.4).
func (s *session) received() string { return receivedLine(s.s, s.b.cfg.Hostname, s.b.cfg.Now()) }

// receivedLine builds the Received: field (RFC 5321 4.4) of session s
// received by host at now.
func receivedLine(s *smtpcheck.Session, host string, now time.Time) string {
	// Built by appending: it is written for every message, and Sprintf
	// with its arguments boxed was a tenth of the adapter's own CPU.
	c := &s.Conn
	b := make([]byte, 0, 256)
	b = append(b, "Received: from "...)
	b = appendClean(b, s.Helo.Name)
	b = append(b, " ("...)
	b = appendClean(b, c.Name())
	b = append(b, " ["...)
	b = append(b, c.ClientIP.String()...)
	b = append(b, "])\r\n\tby "...)
	b = append(b, host...)
	b = append(b, " (smtppolicy) with "...)
	switch {
	case s.Helo.Verb == "EHLO" && c.TLS:
		b = append(b, "ESMTPS"...)
	case s.Helo.Verb == "EHLO":
		b = append(b, "ESMTP"...)
	case c.TLS:
		b = append(b, "SMTPS"...)
	default:
		b = append(b, "SMTP"...)
	}
	b = append(b, " id "...)
	b = append(b, c.ID...)
	if len(s.Rcpts) == 1 {
		b = append(b, "\r\n\tfor <"...)
		b = appendClean(b, s.Rcpts[0].String())
		b = append(b, '>')
	}
	b = append(b, ";\r\n\t"...)
	b = now.AppendFormat(b, time.RFC1123Z)
	b = append(b, "\r\n"...)
	return string(b)
}

// appendClean appends client-supplied text s to b, printable and
// unfoldable in a header: cut to 256 octets, every character that is not
// printable ASCII as '?'.
func appendClean(b []byte, s string) []byte {
	if len(s) > 256 {
		s = s[:256]
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			r = '?'
		}
		b = append(b, byte(r))
	}
	return b
}

func (s *session) resetTransaction() {
	s.s.ResetTransaction()
	s.txMarks = marks{}
}

// Reset implements smtp.Session. go-smtp also calls it for a repeated
// EHLO; a changed name is checked again and any refusal is given at MAIL.
func (s *session) Reset() {
	s.resetTransaction()
	if v := s.conn.lastVerbOr(""); v != "" {
		line := s.conn.lastLine(v)
		_, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		if arg != "" && arg != s.s.Helo.Name {
			// The new HELO is the one judged: a refusal found for the
			// previous one is forgotten.
			s.pendingErr = nil
			if err := s.helo(v, arg); err != nil {
				var se *smtp.SMTPError
				if errors.As(err, &se) {
					s.pendingErr = se
				}
			}
		}
	}
}

// Logout implements smtp.Session.
func (s *session) Logout() error {
	s.close()
	return nil
}

func (s *session) close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.b.mu.Lock()
		delete(s.b.conns, s.conn)
		s.b.mu.Unlock()
		if s.b.cfg.OnClose != nil {
			s.b.cfg.OnClose(s.s)
		}
	})
}
