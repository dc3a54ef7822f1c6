package gosmtp

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/reply"
)

// maxTrackedLine is how much of one command line the listener keeps: enough
// for any legal command (RFC 5321 allows 512 octets) and the start of an
// illegal one.
const maxTrackedLine = 1024

// maxCommandLine bounds a command line, CRLF included (Postfix's
// line_length_limit); a longer one ends the connection with go-smtp's 500.
// Message lines are not bounded: go-smtp's own limit, which would bound
// them too, is off (Backend.Configure).
const maxCommandLine = 2048

// postmasterStandIn is the domain the listener gives RCPT TO:<Postmaster>
// before go-smtp reads it: go-smtp's path parser refuses a mailbox without
// a domain with 501, while RFC 5321 4.5.1 says this one MUST be accepted.
// Session.Rcpt takes the domain off again. The .invalid TLD (RFC 2606)
// cannot be anyone's real domain.
const postmasterStandIn = "postmaster.smtppolicy.invalid"

// trackedConn wraps a client's connection. It runs the connect stage before
// the greeting goes out, and watches the bytes both ways for the protocol
// facts go-smtp does not expose: talk before the greeting, pipelining, the raw
// command lines, and the error replies sent.
type trackedConn struct {
	net.Conn
	sess *session

	mu           sync.Mutex
	started      bool // the greeting write has begun
	greeted      bool // the greeting has gone out
	greetErr     error
	pending      []byte // bytes observed but not yet handed to go-smtp
	line         []byte // the command line being received
	lineTooLong  bool
	queued       int  // complete commands received since our last reply
	sawData      bool // DATA received, 354 not yet sent
	inData       bool // between 354 and the final dot
	opaque       bool // BDAT or TLS: the bytes are no lines, stop following them
	readAny      bool // the client has sent something
	detached     bool // go-smtp reads the connection directly (no Listener)
	lastVerb     string
	closeOnWrite bool
	lineLen      int  // octets of the current line so far
	dataDeadline bool // the DATA deadline is set on the connection
	dataTimedOut bool // and it expired: the reply to DATA becomes 421 4.4.2
	// held keeps the start of a command line that may turn out to be
	// RCPT TO:<Postmaster> until the line is complete; passLine is set
	// once the current line is known not to be one (or is message data).
	// Under TLS and after BDAT (opaque) nothing is held or rewritten, so
	// a bare <Postmaster> gets go-smtp's 501 there.
	held         []byte
	passLine     bool
	out          []byte        // what Read hands to go-smtp, reused between reads
	commandPause time.Duration // before each reply to a command
	screen       *screenState  // postscreen's tests under way; nil: none

	// The latest raw MAIL, HELO and EHLO lines: the ones the session
	// reads back (lastLine).
	lastMail, lastHelo, lastEhlo string
}

func newTrackedConn(c net.Conn, s *session) *trackedConn {
	return &trackedConn{Conn: c, sess: s}
}

// Read passes bytes to go-smtp and follows the command lines in them.
func (c *trackedConn) Read(p []byte) (int, error) {
	for {
		if c.screenDrop() {
			// A test failed under drop, maybe on talk before the greeting.
			c.dropReply()
			return 0, net.ErrClosed
		}
		c.mu.Lock()
		if len(c.pending) > 0 {
			n := copy(p, c.pending)
			c.pending = c.pending[n:]
			c.mu.Unlock()
			return n, nil
		}
		c.mu.Unlock()
		n, err := c.Conn.Read(p)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.mu.Lock()
				c.dataTimedOut = c.dataDeadline
				c.mu.Unlock()
			}
		}
		if n == 0 {
			return 0, err
		}
		out, tooLong := c.observe(p[:n])
		if c.screenDrop() {
			c.dropReply()
			return 0, net.ErrClosed
		}
		if tooLong {
			return 0, smtp.ErrTooLongLine
		}
		if len(out) == 0 && err == nil {
			continue // all held: the rest of the line is still to come
		}
		k := copy(p, out)
		if k < len(out) {
			c.mu.Lock()
			c.pending = append(c.pending[:0], out[k:]...)
			c.mu.Unlock()
		}
		return k, err
	}
}

// startData sets the deadline for the whole of DATA; the reply to DATA
// lifts it.
func (c *trackedConn) startData(d time.Duration) {
	if c.detached {
		return // the reply to DATA would not lift it
	}
	c.mu.Lock()
	c.dataDeadline = true
	c.mu.Unlock()
	c.Conn.SetReadDeadline(time.Now().Add(d))
}

// observe follows the lines in b and returns the bytes to hand to go-smtp:
// b itself, except that the start of a command line that may be
// RCPT TO:<Postmaster> is held until the line is complete, and such a line
// gets postmasterStandIn as its domain. Message lines, BDAT chunks and TLS
// pass untouched. tooLong reports a command line over maxCommandLine.
func (c *trackedConn) observe(b []byte) (out []byte, tooLong bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.greeted {
		c.sess.s.Proto.PreGreeting = true
	}
	if !c.readAny && len(b) > 0 && b[0] == 0x16 {
		// A TLS handshake record: TLS from the first byte, under a TLS
		// listener wrapped around this one.
		c.opaque = true
	}
	c.readAny = true
	if c.opaque {
		return b, false
	}
	out = c.out[:0]
	if cap(out) < len(b) {
		// Room for the commands, then once at the size of go-smtp's
		// reads of a message, instead of doubling up to it.
		out = make([]byte, 0, max(512, len(b)+len(postmasterStandIn)+1))
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		raw := b
		if i >= 0 {
			raw = b[:i]
		}
		if c.lineLen == 0 && len(c.held) == 0 && !c.passLine {
			// A new line: only commands are candidates. After DATA,
			// before its reply, a client that does not wait for the 354
			// may already be sending the message: leave it alone too.
			c.passLine = c.inData || c.sawData
		}
		if c.passLine {
			out = append(out, raw...)
		} else {
			c.held = append(c.held, raw...)
			if may, _ := bareRcptPostmaster(c.held); !may || len(c.held) > maxTrackedLine {
				out = append(out, c.held...)
				c.held, c.passLine = c.held[:0], true
			}
		}
		c.lineLen += len(raw) // with the CR, when there is one
		if c.lineLen+1 > maxCommandLine && !c.inData {
			tooLong = true
		}
		part := raw
		keep := maxTrackedLine
		if c.inData {
			// Enough of a message line to tell the final dot.
			keep = len(".\r")
		}
		if room := keep - len(c.line); room > 0 {
			if len(part) > room {
				part, c.lineTooLong = part[:room], true
			}
			c.line = append(c.line, part...)
		} else if len(part) > 0 {
			c.lineTooLong = true
		}
		if i < 0 {
			break
		}
		if !c.passLine {
			out = append(out, withStandIn(c.held)...)
			c.held = c.held[:0]
		}
		out = append(out, '\n')
		c.passLine = false
		c.endLine()
		b = b[i+1:]
		if c.opaque {
			// BDAT: the chunk that follows is binary.
			out = append(out, b...)
			break
		}
	}
	c.out = out
	return out, tooLong
}

// bareRcptPostmaster reports whether line (without its LF) may still
// become, or is, RCPT TO:<Postmaster> with any parameters, in any case.
func bareRcptPostmaster(line []byte) (may, is bool) {
	const verb, path = "RCPT TO:", "<POSTMASTER>"
	i := 0
	match := func(want string) bool {
		for j := 0; j < len(want); j, i = j+1, i+1 {
			if i >= len(line) {
				i = len(line) + 1 // ran out: a prefix
				return true
			}
			if ch := line[i]; ch != want[j] && !('a' <= ch && ch <= 'z' && ch-'a'+'A' == want[j]) {
				return false
			}
		}
		return true
	}
	if !match(verb) {
		return false, false
	}
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if !match(path) {
		return false, false
	}
	if i > len(line) {
		return true, false // the line so far is a prefix
	}
	if i == len(line) || line[i] == ' ' || line[i] == '\r' {
		return true, true
	}
	return false, false
}

// withStandIn returns line with postmasterStandIn added to a bare
// <Postmaster>, or line itself.
func withStandIn(line []byte) []byte {
	if _, is := bareRcptPostmaster(line); !is {
		return line
	}
	gt := bytes.IndexByte(line, '>')
	out := make([]byte, 0, len(line)+len(postmasterStandIn)+1)
	out = append(out, line[:gt]...)
	out = append(out, '@')
	out = append(out, postmasterStandIn...)
	return append(out, line[gt:]...)
}

// endLine handles one complete line from the client.
func (c *trackedConn) endLine() {
	bare := !c.lineTooLong && (len(c.line) == 0 || c.line[len(c.line)-1] != '\r')
	raw := bytes.TrimRight(c.line, "\r")
	c.line = c.line[:0]
	c.lineTooLong = false
	c.lineLen = 0
	if c.inData {
		// A message line matters only as the final dot: no copy of it.
		if len(raw) == 1 && raw[0] == '.' {
			c.inData = false
		}
		return
	}
	line := string(raw)
	c.queued++
	if c.queued > 1 && !c.sess.s.Proto.PipeliningOffered {
		c.sess.s.Proto.Pipelined = true
	}
	verb, _, _ := strings.Cut(line, " ")
	verb = upper(verb)
	c.lastVerb = verb
	if p := c.lastLineOf(verb); p != nil {
		*p = line
	}
	c.screenLine(line, verb, bare)
	switch verb {
	case "DATA":
		c.sawData = true
	case "BDAT":
		c.opaque = true
	}
}

// upper maps a-z to A-Z and nothing else (a verb is ASCII; Unicode case
// rules would make "\u017ftarttls" STARTTLS); s itself when already upper,
// as clients mostly send their verbs.
func upper(s string) string {
	i := 0
	for i < len(s) && !('a' <= s[i] && s[i] <= 'z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if ch := b[i]; 'a' <= ch && ch <= 'z' {
			b[i] = ch - 'a' + 'A'
		}
	}
	return string(b)
}

// lastLineOf is where the latest line with verb is kept; nil for the verbs
// nothing reads back.
func (c *trackedConn) lastLineOf(verb string) *string {
	switch verb {
	case "MAIL":
		return &c.lastMail
	case "HELO":
		return &c.lastHelo
	case "EHLO":
		return &c.lastEhlo
	}
	return nil
}

// lastLine returns the latest raw command line with the given verb.
func (c *trackedConn) lastLine(verb string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.lastLineOf(verb); p != nil {
		return *p
	}
	return ""
}

// Write sends go-smtp's replies. The first write is the greeting: the connect
// stage runs before it, and a refusal replaces it.
func (c *trackedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	first := !c.started
	c.started = true
	c.mu.Unlock()
	if first {
		refusal := c.sess.connect(c)
		c.mu.Lock()
		c.greeted = true
		c.mu.Unlock()
		if refusal != nil {
			c.Conn.Write(refusal)
			c.Conn.Close()
			c.mu.Lock()
			c.greetErr = net.ErrClosed
			c.mu.Unlock()
			return 0, net.ErrClosed
		}
	}
	if replaced, ok := c.afterData(p); ok {
		c.observeReply(replaced)
		c.Conn.Write(replaced)
		c.Conn.Close()
		return len(p), nil
	}
	c.mu.Lock()
	// Not while the DATA deadline is on the connection: the pause reads
	// with a deadline of its own.
	pause := c.commandPause > 0 && c.queued > 0 && !c.inData && !c.dataDeadline
	c.mu.Unlock()
	if pause {
		// Commands the client sends while it should be waiting for this
		// reply are seen (and counted as pipelining) here.
		c.watch(c.commandPause)
	}
	c.observeReply(p)
	if bytes.HasPrefix(p, []byte("221 ")) {
		// The reply to QUIT: the client may reconnect as soon as it has
		// it, so what this connection showed is recorded first.
		c.screenFinish()
	}
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	closeNow := c.closeOnWrite && bytes.HasSuffix(p, []byte("\r\n"))
	max := c.sess.b.cfg.MaxErrors
	tooMany := max > 0 && c.sess.s.Proto.Errors >= max && !c.closeOnWrite
	if tooMany {
		c.closeOnWrite = true
	}
	c.mu.Unlock()
	if tooMany {
		// Postfix's smtpd_hard_error_limit: say why, then hang up.
		c.Conn.Write(reply.TooManyErrors().AppendTo(nil))
		closeNow = true
	}
	if closeNow {
		c.Conn.Close()
	}
	return n, err
}

// observeReply follows our own replies: each one answers the oldest queued
// command; 354 starts the message; error codes are counted.
func (c *trackedConn) observeReply(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for rest := p; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(line) < 4 || line[3] != ' ' {
			if len(line) >= 4 && line[3] == '-' && bytes.Contains(line, []byte("PIPELINING")) {
				c.sess.s.Proto.PipeliningOffered = true
			}
			continue // continuation lines and partial writes
		}
		if c.queued > 0 {
			c.queued--
		}
		switch {
		case bytes.HasPrefix(line, []byte("354")):
			c.inData, c.sawData = true, false
		case bytes.HasPrefix(line, []byte("220")) && c.lastVerb == "STARTTLS":
			// TLS from the next byte: go-smtp's line limit, which Configure
			// sets for a server with TLS, bounds the command lines, and
			// nothing is held back waiting for a line end (the handshake
			// would hang).
			c.opaque = true
		case line[0] == '5' || line[0] == '4':
			c.sawData = false
			c.sess.s.Proto.Errors++
			if bytes.HasPrefix(line, []byte("500")) || bytes.HasPrefix(line, []byte("502")) {
				c.sess.s.Proto.UnknownCommands++
			}
		}
		if bytes.Contains(line, []byte("PIPELINING")) {
			c.sess.s.Proto.PipeliningOffered = true
		}
	}
}

// afterData lifts the DATA deadline when the reply to DATA goes out. When
// the deadline expired while go-smtp read the rest of a refused message,
// it returns the 421 4.4.2 to send instead (the connection then closes).
func (c *trackedConn) afterData(p []byte) ([]byte, bool) {
	c.mu.Lock()
	active, expired := c.dataDeadline, c.dataTimedOut
	c.dataDeadline, c.dataTimedOut = false, false
	if expired {
		c.closeOnWrite = true
	}
	c.mu.Unlock()
	if !active {
		return nil, false
	}
	c.Conn.SetReadDeadline(time.Time{}) // go-smtp sets its own per command
	if !expired || bytes.HasPrefix(p, []byte("421")) {
		return nil, false
	}
	var se *smtp.SMTPError
	errors.As(c.sess.dataTimeout(), &se)
	return []byte(wireOf(se)), true
}

// greetPause waits up to d for the client to talk first, keeping whatever it
// sends for go-smtp to read later.
func (c *trackedConn) greetPause(d time.Duration) { c.watch(d) }

// setCommandPause sets the pause before each reply to a command.
func (c *trackedConn) setCommandPause(d time.Duration) {
	c.mu.Lock()
	c.commandPause = d
	c.mu.Unlock()
}

// watch waits d, reading whatever the client sends meanwhile and keeping
// it for go-smtp to read later. It returns early on anything read: one
// early line is proof enough, and the rest of the pause would only delay
// the refusal.
func (c *trackedConn) watch(d time.Duration) {
	buf := make([]byte, 512)
	c.Conn.SetReadDeadline(time.Now().Add(d))
	n, _ := c.Conn.Read(buf)
	c.Conn.SetReadDeadline(time.Time{})
	if n > 0 {
		// 512 octets cannot overrun maxCommandLine; the count goes on
		// in Read.
		out, _ := c.observe(buf[:n])
		c.mu.Lock()
		c.pending = append(c.pending, out...)
		c.mu.Unlock()
	}
}

// markCloseAfterReply closes the connection once the next reply is written.
func (c *trackedConn) markCloseAfterReply() {
	c.mu.Lock()
	c.closeOnWrite = true
	c.mu.Unlock()
}

// Close ends the connection and the session's state with it, whether or not
// the client ever said HELO.
func (c *trackedConn) Close() error {
	c.screenFinish()
	err := c.Conn.Close()
	c.sess.close()
	return err
}
