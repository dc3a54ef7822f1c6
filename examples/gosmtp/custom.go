package gosmtp

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Checks runs a Policy for one session of a go-smtp Backend of your own, the
// way this package's Backend runs it for its sessions. Run is the one call
// that turns a stage's checks into the error a Session method returns: it
// goes through Policy.Evaluate, so a greylisting check's defer-if-permit
// becomes a 4xx at RCPT, refusals held by Policy.DelayReject are given at
// RCPT, and the headers checks add (X-Greylist, Received-SPF) are kept for
// the message. Calling a stage's Check directly bypasses all three: a
// defer-if-permit Result does not refuse (Action.Refuses is false), so a
// greylisted message would pass.
//
// Hello, Mail, Rcpt and Data record the command's facts in Session and call
// Run; a Backend that sets the facts itself calls Run directly. What the
// Backend of this package adds (the connect stage before the greeting,
// reverse DNS, per-command deadlines, RFC 5321's postmaster rule, closing
// the connection after a 421, spooling large messages to disk) is not done
// here.
type Checks struct {
	Policy  *smtpcheck.Policy
	Session *smtpcheck.Session
	// Hostname names this server in the Received line (default "localhost").
	Hostname string
	// Now is the clock of the Received line and of Session.Now (default
	// time.Now).
	Now func() time.Time

	// Headers are the fields the checks of this transaction's accepted
	// commands asked to add; Data puts them in the Message after those
	// of the connect stage (kept for every message of the connection)
	// and the HELO stage (kept until the next HELO).
	Headers []smtpcheck.HeaderField
	// Quarantine and Discard are set when a verdict of this transaction
	// said so (smtpf SAVE/TRAP, Postfix DISCARD); a connect or HELO
	// verdict that said so applies to each message it lasts for.
	Quarantine, Discard bool

	connectDone          bool
	connMarks, heloMarks marks
}

// NewChecks returns the Checks of the session go-smtp opened on c, with
// the connection's facts (ConnFacts) and a new session ID.
func NewChecks(p *smtpcheck.Policy, c *smtp.Conn) *Checks {
	s := &smtpcheck.Session{Conn: ConnFacts(c)}
	if s.Conn.ID == "" {
		s.Conn.ID = newID()
	}
	return &Checks{Policy: p, Session: s}
}

// Run evaluates the policy at stage st on the facts in Session and returns
// the error for go-smtp: nil to go on, or an unwrapped *smtp.SMTPError from
// the catalog. A refused command's headers are dropped; an accepted one's
// are added to Headers.
func (c *Checks) Run(ctx context.Context, st smtpcheck.Stage) error {
	c.Session.Stage = st
	c.Session.Now = c.now()
	p := c.Policy
	if p == nil {
		p = &smtpcheck.Policy{}
	}
	r := p.Evaluate(ctx, c.Session).Result
	switch st {
	case smtpcheck.StageConnect:
		c.connMarks.add(r)
	case smtpcheck.StageHelo:
		c.heloMarks.add(r)
	default:
		tx := marks{headers: c.Headers, quarantine: c.Quarantine, discard: c.Discard}
		tx.add(r)
		c.Headers, c.Quarantine, c.Discard = tx.headers, tx.quarantine, tx.discard
	}
	if rep, _ := refusal(r); !rep.IsZero() {
		return ReplyError(rep)
	}
	return nil
}

// Hello runs the connect stage (at the first call) and the HELO stage for
// the name the client gave (go-smtp's Conn.Hostname), as NewSession needs.
func (c *Checks) Hello(ctx context.Context, name string) error {
	if !c.connectDone {
		c.connectDone = true
		if err := c.Run(ctx, smtpcheck.StageConnect); err != nil {
			return err
		}
	}
	c.Session.SetHelo("EHLO", name)
	c.heloMarks = marks{} // a new HELO is judged anew
	return c.Run(ctx, smtpcheck.StageHelo)
}

// Mail starts a transaction: it forgets the previous one's facts and
// headers, records the sender and runs the MAIL stage.
func (c *Checks) Mail(ctx context.Context, from string, opts *smtp.MailOptions) error {
	c.Session.ResetTransaction()
	c.Headers, c.Quarantine, c.Discard = nil, false, false
	m := &smtpcheck.Mail{From: smtpcheck.ParseAddress(from)}
	if opts != nil {
		m.Size, m.Body, m.SMTPUTF8 = opts.Size, string(opts.Body), opts.UTF8
	}
	c.Session.Mail = m
	return c.Run(ctx, smtpcheck.StageMail)
}

// Rcpt runs the RCPT stage for one recipient and, when it is accepted,
// adds it to the transaction's recipients.
func (c *Checks) Rcpt(ctx context.Context, to string) error {
	c.Session.Rcpt = smtpcheck.ParseAddress(to)
	if err := c.Run(ctx, smtpcheck.StageRcpt); err != nil {
		return err
	}
	c.Session.Rcpts = append(c.Session.Rcpts, c.Session.Rcpt)
	return nil
}

// Data runs the DATA stage, reads the message into memory, runs the header
// and end-of-data stages and returns the message to store: nil with a nil
// error when a check discarded it. Set go-smtp's Server.MaxMessageBytes
// (unlimited by default) to bound the memory a message takes; this
// package's Backend spools large messages to disk instead.
func (c *Checks) Data(ctx context.Context, r io.Reader) (*Message, error) {
	if err := c.Run(ctx, smtpcheck.StageData); err != nil {
		io.Copy(io.Discard, r)
		return nil, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	msg := smtpcheck.BytesBody(b)
	h, body, err := smtpcheck.SplitMessage(msg)
	if err != nil {
		return nil, err
	}
	c.Session.Header = h
	if err := c.Run(ctx, smtpcheck.StageHeaders); err != nil {
		return nil, err
	}
	c.Session.Body, c.Session.Message = body, msg
	if err := c.Run(ctx, smtpcheck.StageEndOfData); err != nil {
		return nil, err
	}
	mk := joinMarks(&c.connMarks, &c.heloMarks, &marks{headers: c.Headers, quarantine: c.Quarantine, discard: c.Discard})
	if mk.discard {
		return nil, nil
	}
	host := c.Hostname
	if host == "" {
		host = "localhost"
	}
	return &Message{Session: c.Session, Received: receivedLine(c.Session, host, c.now()),
		Headers: mk.headers, Data: msg, Quarantine: mk.quarantine}, nil
}

func (c *Checks) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// WriteTo writes the message as it is to be stored: the Received line, the
// header fields the checks added, then the data as received. It reads
// m.Data, so call it before Deliver returns. It implements io.WriterTo.
func (m *Message) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	b.WriteString(m.Received)
	for _, h := range m.Headers {
		// A value is unfolded text; a line break in it would start a
		// header field of its own.
		b.WriteString(noBreaks(h.Name))
		b.WriteString(": ")
		b.WriteString(noBreaks(h.Value))
		b.WriteString("\r\n")
	}
	n, err := io.WriteString(w, b.String())
	written := int64(n)
	if err != nil || m.Data == nil {
		return written, err
	}
	rc, err := m.Data.Open()
	if err != nil {
		return written, err
	}
	defer rc.Close()
	n64, err := io.Copy(w, rc)
	return written + n64, err
}

func noBreaks(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
