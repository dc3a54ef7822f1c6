// Package gomilter adapts an smtpcheck.Policy to the milter protocol
// (Sendmail's mail filter API, spoken by Postfix's smtpd_milters and
// Sendmail), through github.com/d--j/go-milter: the MTA runs the SMTP
// conversation and asks the filter at every stage, so the whole policy,
// the checks of the message included, serves an MTA that stays as it is.
//
// # Facts
//
// The milter events carry the client's address and port, its verified name
// (the connect event's host name; "unknown" or an [address] means none),
// the HELO argument, the envelope with its ESMTP parameters, the header
// fields as received and the body in chunks. The rest comes from macros:
//
//	fact              macro                            list (Postfix parameter)   Postfix default
//	reverse-name      {client_ptr} {client_resolve}    milter_connect_macros      not sent
//	local-address     {daemon_addr} {daemon_port}      milter_connect_macros      {daemon_port} not sent
//	tls               {tls_version}                    milter_helo_macros         sent
//	auth              {auth_authen}                    milter_mail_macros         sent
//	queue-id          i                                milter_mail_macros         sent
//	protocol          (none: pre-greeting, pipelining) -                          never
//
// reverse-name fills smtpcheck.Conn's PTR fields as its contract says:
// {client_name} (or the connect event's name) is the forward-confirmed name
// (Confirmed), {client_ptr} the name the address maps to (PTR), and
// {client_resolve} TEMP a temporary failure (PTRErr); "unknown" is no name.
// Checks of the client's reverse DNS need it. auth sets Conn.AuthUser, which
// most checks skip on; tls sets Conn.TLS and TLSVersion ("TLSv1.3" becomes
// "TLS1.3"); queue-id becomes the session ID, so the decision log lines
// carry Postfix's queue ID.
//
// The Filter asks for every macro it reads at option negotiation
// (Requested), which Postfix (milter_protocol 6, the default) and Sendmail
// 8.14 honour for this filter whatever milter_*_macros say. Where the MTA
// does not honour it, the admin adds the macros to the lists named above;
// CheckFacts tells a program at start-up whether the lists it was given
// carry what its checks need, and which macro to add where.
//
// # Verdicts
//
// A refusal is SMFIR_REPLYCODE with the catalog reply's code, enhanced code
// and text, every line of a multi-line reply kept; a refusal at RCPT refuses
// that recipient only. Disconnect answers its 421, on which Postfix closes
// the connection. Discard is SMFIR_DISCARD (the whole transaction).
// Quarantine, from any stage, is SMFIR_QUARANTINE at end of message, which
// puts the message in Postfix's hold queue. Headers the checks add
// (X-Greylist, Received-SPF...) are added to an accepted message. The
// protocol allows both at end of message only, so those asked for at
// connect apply to every message of the connection, and those asked for
// at HELO to every message until the next HELO; those of MAIL on, to
// their transaction's. Delayed rejection and defer-if-permit work across
// the stages as in the other front-ends (Policy.Evaluate holds and gives
// them), and Policy.Evaluate logs each decision.
//
// Under delayed rejection (Policy.DelayReject, smtpd_delay_reject in a
// Postfix-style file) the MTA awaits no reply to connect, HELO, MAIL and
// DATA (see Negotiation), so the verdicts Policy.Evaluate gives there anyway
// (an Immediate refusal, a disconnect, a discard) are held by the filter
// and given, with the same reply, at each RCPT, for as long as the command
// would have lasted (the connection, the HELO, the transaction); DATA's are
// given at end of message. The header checks give theirs at end of message,
// before the end-of-message checks: a refusal of the message reaches the
// client at the end of DATA either way.
//
// # Message
//
// The header fields and the body chunks are written, as received, to a
// spool (Config.MemoryPerMessage in memory, the rest in an unlinked 0600
// temporary file) and handed to the checks through smtpcheck.SplitMessage,
// as the go-smtp front-end does, at end of message: Header to the header
// checks, then Body and Message too to the end-of-message checks.
//
// # Negotiation
//
// At option negotiation the filter asks the MTA to leave out what the policy
// in force does not use (LeftOut): the events whose facts no check reads
// (a policy without a header or end-of-message check gets no header and no
// body; none gets the end of header), and the replies of the stages where
// no verdict need be given: a stage without a check; under a dry run, all of
// them; under delayed rejection, connect, HELO, MAIL and DATA; and each
// header field and body chunk. The MTA then waits for the filter at RCPT
// and at end of message only (Postfix writes the events it awaits no reply
// for with the next one it does, so a message costs it two round trips
// besides the negotiation). A policy reloaded while a connection is open
// serves that connection's next SMTP session only if the events and replies
// agreed serve it; otherwise the session keeps the policy they were agreed
// for.
//
// # Failure modes
//
// Every callback that awaits an answer gets one (the filter asks for none
// to each header field and body chunk, which it only spools); each runs its
// checks under a deadline
// (Config.CommandTimeout, below Postfix's milter_command_timeout); a panic
// in a check becomes a 451 4.3.0 for that stage. An MTA that disconnects
// mid-message ends the session: the spool is released and no goroutine
// stays. What Postfix does when the filter is away is its
// milter_default_action.
package gomilter

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/d--j/go-milter"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Config configures a Filter. Zero fields take the defaults noted.
type Config struct {
	Policy *smtpcheck.Policy

	// Trusted networks (Postfix's mynetworks, which no macro carries) set
	// Conn.Trusted, which most checks skip on.
	Trusted []netip.Prefix
	// Current, when set, is asked at the start of each SMTP session for
	// the policy and trusted networks in force, so that a program that
	// reloads its configuration swaps them for new sessions while those
	// under way finish with theirs; a nil policy leaves Policy and Trusted.
	Current func() (*smtpcheck.Policy, []netip.Prefix)

	// CommandTimeout bounds the checks of one callback (default 20 s:
	// below Postfix's milter_command_timeout of 30 s, so the filter
	// answers before Postfix gives up on it).
	CommandTimeout time.Duration
	// MemoryPerMessage is how much of a message is held in memory; the
	// rest goes to a temporary file (mode 0600) in SpoolDir, released
	// however the transaction ends. Default 1 MiB.
	MemoryPerMessage int
	// SpoolDir is where larger messages are kept while checked (default
	// os.TempDir()).
	SpoolDir string
	// MaxMessageBytes refuses a larger message with the catalog's 552
	// 5.3.4 (default 0: the MTA's own limit, Postfix's
	// message_size_limit, is the only one).
	MaxMessageBytes int64

	// Accepted, when set, is called when the filter lets a message through
	// at its end (accepted, or discarded), while the message is still
	// readable: for checks that must remember only what was taken
	// (duplicate refusal), never a message a check turned away.
	Accepted func(ctx context.Context, s *smtpcheck.Session)
	// AcceptedReads, when set, tells whether Accepted has anything to do
	// with the messages of policy p (a program whose hooks come and go
	// with its configuration); where it has not, the MTA need not send
	// the message to a policy that does not read it. Unset, Accepted
	// reads every message.
	AcceptedReads func(p *smtpcheck.Policy) bool

	// OnClose is called once when the MTA's connection for a session
	// ends, for checks that hold per-connection state.
	OnClose func(s *smtpcheck.Session)

	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Filter is a milter server running a policy.
type Filter struct {
	cfg Config
	log *slog.Logger
	srv *milter.Server
}

// New returns a Filter for cfg.
func New(cfg Config) *Filter {
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 20 * time.Second
	}
	if cfg.MemoryPerMessage <= 0 {
		cfg.MemoryPerMessage = 1 << 20
	}
	cfg.SpoolDir = cmp.Or(cfg.SpoolDir, os.TempDir())
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Policy = cmp.Or(cfg.Policy, &smtpcheck.Policy{})
	log := cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler))
	f := &Filter{cfg: cfg, log: log}
	n := &negotiator{f: f, fits: map[milter.OptProtocol]policyInForce{}}
	opts := []milter.Option{
		milter.WithDynamicMilter(func(_ uint32, _ milter.OptAction, protocol milter.OptProtocol, _ milter.DataSize) milter.Milter {
			return &session{f: f, neg: n, protocol: protocol}
		}),
		milter.WithActions(milter.OptAddHeader | milter.OptQuarantine),
		// The header values as received, leading blank included, so that
		// the header checks see the field as the client wrote it; no
		// answer to each header field and body chunk (the filter only
		// spools them; its verdicts come at end of message), and no
		// unknown-command events: one round trip fewer per field and
		// chunk. The rest is the policy's (LeftOut).
		milter.WithProtocol(required),
		milter.WithNegotiationCallback(n.negotiate),
		// The MTA's write deadline: a peer that stops reading must not
		// hold a session.
		milter.WithWriteTimeout(10 * time.Second),
	}
	for st, names := range Requested() {
		opts = append(opts, milter.WithMacroRequest(st.wire(), names))
	}
	f.srv = milter.NewServer(opts...)
	return f
}

// Serve answers the MTA's connections on ln until Shutdown or Close.
func (f *Filter) Serve(ln net.Listener) error {
	err := f.srv.Serve(bufferedListener{ln})
	if errors.Is(err, milter.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits, up to ctx, for the
// sessions in progress to end.
func (f *Filter) Shutdown(ctx context.Context) error { return f.srv.Shutdown(ctx) }

// Close stops the filter at once, closing every session.
func (f *Filter) Close() error { return f.srv.Close() }

// Listen opens the listener an MTA configuration names the way Postfix
// writes a milter's address: inet:HOST:PORT, inet6:[HOST]:PORT (or
// inet:[HOST]:PORT), unix:/path, or a bare /path. A unix socket left by an
// earlier run is replaced; the new one is made 0660 so that the MTA's group
// can reach it.
func Listen(spec string) (net.Listener, error) {
	kind, addr, ok := strings.Cut(spec, ":")
	if !ok && strings.HasPrefix(spec, "/") {
		kind, addr = "unix", spec
	}
	switch kind {
	case "inet", "inet6", "tcp":
		if addr == "" || !strings.Contains(addr, ":") {
			return nil, fmt.Errorf("gomilter: %q: want inet:HOST:PORT", spec)
		}
		return net.Listen("tcp", addr)
	case "unix", "local":
		if addr == "" {
			return nil, fmt.Errorf("gomilter: %q: want unix:/path", spec)
		}
		if fi, err := os.Stat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(addr)
		}
		ln, err := net.Listen("unix", addr)
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(addr, 0o660); err != nil {
			ln.Close()
			return nil, err
		}
		return ln, nil
	}
	return nil, fmt.Errorf("gomilter: %q: want inet:HOST:PORT or unix:/path", spec)
}

// bufferedListener buffers what its connections read and write. The
// milter library reads each packet as a 4-byte length and then its body,
// two system calls a packet; the MTA writes a command and its macros at
// once, so one buffered read takes several packets. It writes each packet
// as its length and then its body, setting and clearing a write deadline
// around each: the connection sends the packets of one answer (the
// headers added and the quarantine at end of message, then the verdict)
// in one write, under one deadline.
type bufferedListener struct{ net.Listener }

func (l bufferedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	r, answered := quickAck(c)
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(r, 8<<10), answered: answered}, nil
}

type bufferedConn struct {
	net.Conn
	r *bufio.Reader
	// w holds the packets written and not yet sent; sent, the deadline
	// the connection has; asked, the one asked for since.
	w           []byte
	sent, asked time.Time
	// answered, when set, is told of each write (see quickAck).
	answered func()
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Write keeps p until what is kept ends an answer: whole packets, the last
// a verdict or another packet the MTA acts on at once (not a change to
// the message, which a verdict follows).
func (c *bufferedConn) Write(p []byte) (int, error) {
	c.w = append(c.w, p...)
	if !answerEnds(c.w) {
		return len(p), nil
	}
	if !c.asked.Equal(c.sent) {
		if err := c.Conn.SetWriteDeadline(c.asked); err != nil {
			return 0, err
		}
		c.sent = c.asked
	}
	_, err := c.Conn.Write(c.w)
	c.w = c.w[:0]
	if c.answered != nil {
		c.answered()
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// SetWriteDeadline sets the deadline of the next write the connection
// makes. A deadline cleared is left as it is on the connection, where it
// has passed or will be set anew before the next write: the library clears
// it after each packet, and the filter writes only to answer.
func (c *bufferedConn) SetWriteDeadline(t time.Time) error {
	if !t.IsZero() {
		c.asked = t
	}
	return nil
}

// SetDeadline sets the read deadline and, as SetWriteDeadline, the write
// deadline.
func (c *bufferedConn) SetDeadline(t time.Time) error {
	c.SetWriteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

// answerEnds reports whether b is whole milter packets (a 4-byte length,
// then a code and its data) of which the last is not a change to the
// message (SMFIR_ADDHEADER, SMFIR_QUARANTINE...), which the filter sends
// before its verdict at end of message.
func answerEnds(b []byte) bool {
	var code byte
	for len(b) > 0 {
		if len(b) < 5 {
			return false
		}
		n := uint64(binary.BigEndian.Uint32(b))
		if n == 0 {
			return true // no packet: sent as it is
		}
		if uint64(len(b)-4) < n {
			return false
		}
		code, b = b[4], b[4+n:]
	}
	return !strings.ContainsRune("+-bhmiqe2", rune(code))
}

func newID() string {
	var b [6]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}
