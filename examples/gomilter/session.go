package gomilter

import (
	"cmp"
	"context"
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/d--j/go-milter"

	"github.com/smtppolicy/smtppolicy/examples/internal/deadline"
	"github.com/smtppolicy/smtppolicy/examples/internal/spool"
	"github.com/smtppolicy/smtppolicy/examples/internal/verdict"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// marks are what the checks of some stages asked of the messages: header
// fields to add and, when one quarantined them, why.
type marks struct {
	headers    []smtpcheck.HeaderField
	quarantine string
}

// errTempName is PTRErr when the MTA's reverse lookup failed for now
// ({client_resolve} TEMP).
var errTempName = errors.New("reverse name lookup failed temporarily (MTA's {client_resolve} TEMP)")

// session is one MTA connection's filter: one SMTP session's facts and
// the message in progress.
type session struct {
	milter.NoOpMilter
	f   *Filter
	neg *negotiator
	// protocol is what the MTA agreed at negotiation: the events it
	// sends and the replies it awaits.
	protocol milter.OptProtocol
	ctx      context.Context
	cancel   context.CancelFunc
	s        *smtpcheck.Session
	// policy and trusted are the ones in force when the SMTP session
	// began (Config.Current).
	policy  *smtpcheck.Policy
	trusted []netip.Prefix

	sp        *spool.Spool // the message in progress, nil outside DATA
	content   bool         // the policy reads the message: spool it
	size      int64        // the message's size so far, spooled or not
	headerEnd int64        // where the body starts in the spool, once the header is parsed; -1 before
	headed    bool         // the blank line ending the header is spooled
	tooBig    bool         // the message outgrew Config.MaxMessageBytes
	closed    bool
	connID    string // the session's own ID, until the MTA gives a queue ID

	// What the checks asked of the messages (headers to add, quarantine),
	// by how long it lasts: the connect stage's, for every message of the
	// connection; the HELO stage's, until the next HELO; the
	// transaction's. The milter protocol lets the filter add headers and
	// quarantine only at end of message, so those of connect and HELO are
	// given at the end of each message they last for.
	connMarks, heloMarks, txMarks marks

	// Verdicts of stages whose reply the MTA does not await (delayed
	// rejection's SMFIP_NR_CONN, NR_HELO, NR_MAIL and NR_DATA), held for
	// the next stage it awaits: RCPT, or the end of message for DATA's.
	// Each lasts as long as the command would have held: the connection's,
	// the current HELO's, the transaction's.
	heldConn, heldHelo, heldTx *milter.Response
}

var _ milter.Milter = (*session)(nil)

// NewConnection implements milter.Milter: a new SMTP session (a milter
// connection may serve several, one after another).
func (ss *session) NewConnection(m milter.Modifier) error {
	ss.end()
	ss.ctx, ss.cancel = context.WithCancel(context.Background())
	ss.connID = newID()
	ss.s = &smtpcheck.Session{Conn: smtpcheck.Conn{ID: ss.connID}}
	pf := ss.neg.fitting(ss.protocol)
	ss.policy, ss.trusted = pf.policy, pf.trusted
	// Only header and end-of-message checks, and Config.Accepted, read the
	// message: for other policies it is counted, not kept.
	ss.content = ss.policy.Headers != nil || ss.policy.EndOfData != nil || ss.f.cfg.acceptedReads(ss.policy)
	ss.headerEnd = -1
	ss.closed = false
	ss.heldConn, ss.heldHelo, ss.heldTx = nil, nil, nil
	ss.connMarks, ss.heloMarks = marks{}, marks{}
	return nil
}

// evaluate runs the policy at stage st under the callback's deadline,
// containing any panic, and turns the decision into the milter's answer.
func (ss *session) evaluate(st smtpcheck.Stage) (resp *milter.Response) {
	defer func() {
		if v := recover(); v != nil {
			ss.f.log.Error("panic in policy", "session", ss.s.Conn.ID, "stage", st, "panic", v)
			resp = replyResponse(reply.InternalError())
		}
	}()
	ss.s.Stage = st
	if !ss.decides(st) {
		return milter.RespContinue
	}
	ctx, stop := deadline.WithTimeout(ss.ctx, ss.f.cfg.CommandTimeout)
	defer stop()
	ss.s.Now = ss.f.cfg.Now()
	d := ss.policy.Evaluate(ctx, ss.s)
	return ss.apply(d.Result)
}

// decides reports whether the policy can reach a verdict at stage st: a
// stage without a check has none to give, except RCPT, which gives those
// held from the stages before it. The others go without an evaluation
// (and without the debug line of an empty one).
func (ss *session) decides(st smtpcheck.Stage) bool {
	p := ss.policy
	if st == smtpcheck.StageRcpt {
		return p.Rcpt != nil || p.Connect != nil || p.Helo != nil || p.Mail != nil
	}
	return p.StageCheck(st) != nil
}

// answer returns what the MTA is told of resp, the verdict at a stage whose
// reply it does not await when nr was negotiated: there, a verdict other
// than go-on is kept in slot (the first one stands, as the MTA would have
// acted on it) for the next stage it awaits, and the answer is go-on,
// which it does not read. The library is never handed a refusal it would
// not send (it would forget the transaction's macros on it).
func (ss *session) answer(nr milter.OptProtocol, slot **milter.Response, resp *milter.Response) *milter.Response {
	if ss.protocol&nr == 0 {
		return resp
	}
	if !resp.Continue() && *slot == nil {
		*slot = resp
	}
	return milter.RespContinue
}

// held returns the verdict held from a stage the MTA awaited no reply
// for, the earliest in the conversation first (the MTA would have acted on
// it first), or nil. It is given at each stage the MTA awaits, in place of
// that stage's own: had it been given where it was reached, the command
// (and so what follows it) would have been refused.
func (ss *session) held() *milter.Response {
	for _, r := range [...]*milter.Response{ss.heldConn, ss.heldHelo, ss.heldTx} {
		if r != nil {
			return r
		}
	}
	return nil
}

// stageMarks returns where the marks of the current stage's results are
// kept: the connect stage's last the connection, the HELO stage's until
// the next HELO, the others' the transaction.
func (ss *session) stageMarks() *marks {
	switch ss.s.Stage {
	case smtpcheck.StageConnect:
		return &ss.connMarks
	case smtpcheck.StageHelo:
		return &ss.heloMarks
	}
	return &ss.txMarks
}

// apply turns a result into the milter's answer for the current stage.
func (ss *session) apply(r smtpcheck.Result) *milter.Response {
	mk := ss.stageMarks()
	if !r.Action.Refuses() {
		// A refused recipient's headers (X-Greylist of a deferred one)
		// never reach the message.
		mk.headers = append(mk.headers, r.Headers...)
	}
	switch r.Action {
	case smtpcheck.Continue, smtpcheck.Accept, smtpcheck.Tag, smtpcheck.DeferIfPermit:
		// Accept ends a list of checks, not the milter's part: later
		// stages still run (and headers are still added).
		return milter.RespContinue
	case smtpcheck.Quarantine:
		mk.quarantine = cmp.Or(r.Reason.String(), "smtppolicy")
		return milter.RespContinue
	case smtpcheck.Discard:
		return milter.RespDiscard
	}
	rep := r.DefaultReply()
	if r.Action == smtpcheck.Disconnect && rep.Code() != 421 && !rep.IsPermanent() {
		rep = reply.InternalErrorClosing()
	}
	return replyResponse(rep)
}

// replyResponse is SMFIR_REPLYCODE for a catalog reply: every line with
// its enhanced code, as the reply is written on the wire. The text is
// taken from the wire form, folded and sanitised; the library repeats the
// first line's enhanced code on the others, so they go without it.
func replyResponse(r reply.Reply) *milter.Response {
	wire := strings.TrimSuffix(string(r.AppendTo(nil)), "\r\n")
	lines := strings.Split(wire, "\r\n")
	enh := ""
	if e := r.Enhanced(); !e.IsZero() {
		enh = e.String() + " "
	}
	for i, l := range lines {
		if len(l) >= 4 {
			l = l[4:] // "550-" or "550 "
		} else {
			l = ""
		}
		if i > 0 {
			l = strings.TrimPrefix(l, enh)
		}
		lines[i] = l
	}
	resp, err := milter.RejectWithCodeAndReason(uint16(r.Code()), strings.Join(lines, "\n"))
	if err != nil {
		// Only an over-long text gets here; the code alone still refuses.
		if r.IsPermanent() {
			return milter.RespReject
		}
		return milter.RespTempFail
	}
	return resp
}

// macro returns a macro's value, "" when not sent.
func macro(m milter.Modifier, name string) (string, bool) {
	v, ok := m.GetEx(name)
	return strings.TrimSpace(v), ok
}

// known is a name the MTA sends, in lower case without a trailing dot, or
// "" for its placeholders of no name.
func known(name string) string {
	if name == "" || name == "unknown" || strings.HasPrefix(name, "[") {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// reverseNames fills the PTR facts as smtpcheck.Conn's contract says, from
// the MTA's verified name (Postfix's client_name), its reverse name
// (client_ptr) and the lookup's status (client_resolve: OK, FORGED, FAIL or
// TEMP). Without the reverse macros, a verified name still tells that the
// lookup was made; "unknown" alone tells nothing (Postfix may not have
// looked, smtpd_peername_lookup = no), and the checks may look it up.
func reverseNames(c *smtpcheck.Conn, name, ptr string, macros bool, status string) {
	if ptr == "" {
		ptr = name
	}
	if !macros && name == "" {
		return
	}
	c.PTRLooked = true
	if ptr != "" {
		c.PTR = []string{ptr}
	}
	if name != "" {
		c.Confirmed = []string{name}
		if name != ptr {
			c.PTR = append(c.PTR, name)
		}
	}
	if status == "TEMP" {
		c.PTRErr = errTempName
	}
}

// Connect implements milter.Milter: the client's facts and the connect stage.
func (ss *session) Connect(host, family string, port uint16, addr string, m milter.Modifier) (*milter.Response, error) {
	c := &ss.s.Conn
	if a, err := netip.ParseAddr(addr); err == nil {
		c.ClientIP = a.Unmap()
	}
	c.ClientPort = port
	name := host
	if v, ok := macro(m, "{client_name}"); ok {
		name = v
	}
	ptr, hasPTR := macro(m, "{client_ptr}")
	res, hasRes := macro(m, "{client_resolve}")
	reverseNames(c, known(name), known(ptr), hasPTR || hasRes, res)
	if da, ok := macro(m, "{daemon_addr}"); ok {
		if a, err := netip.ParseAddr(da); err == nil {
			p, _ := macro(m, "{daemon_port}")
			n, _ := strconv.ParseUint(p, 10, 16)
			c.Local = netip.AddrPortFrom(a.Unmap(), uint16(n))
		}
	}
	for _, p := range ss.trusted {
		if c.ClientIP.IsValid() && p.Contains(c.ClientIP) {
			c.Trusted = true
		}
	}
	return ss.answer(milter.OptNoConnReply, &ss.heldConn, ss.evaluate(smtpcheck.StageConnect)), nil
}

// Helo implements milter.Milter. The milter protocol does not tell HELO
// from EHLO: the verb is recorded as EHLO. TLS facts arrive with it
// (Postfix sends HELO again after STARTTLS).
func (ss *session) Helo(name string, m milter.Modifier) (*milter.Response, error) {
	if v, ok := macro(m, "{tls_version}"); ok && v != "" {
		ss.s.Conn.TLS = true
		ss.s.Conn.TLSVersion = strings.Replace(v, "TLSv", "TLS", 1)
	}
	ss.s.SetHelo("EHLO", name)
	// A new HELO is judged anew (what was held from the previous one
	// goes, as the MTA lets a client retry a refused HELO, and so do the
	// headers and quarantine its checks asked for).
	ss.heldHelo, ss.heloMarks = nil, marks{}
	return ss.answer(milter.OptNoHeloReply, &ss.heldHelo, ss.evaluate(smtpcheck.StageHelo)), nil
}

// MailFrom implements milter.Milter: a new transaction.
func (ss *session) MailFrom(from, esmtpArgs string, m milter.Modifier) (*milter.Response, error) {
	ss.resetTransaction()
	if v, _ := macro(m, "{auth_authen}"); v != "" {
		ss.s.Conn.AuthUser = v
	}
	// The queue ID names the transaction in the log lines; Postfix may
	// assign it only at the first accepted RCPT, so until then the session's
	// own ID stands in (not the previous transaction's queue ID).
	ss.s.Conn.ID = ss.connID
	ss.queueID(m)
	mail := mailFacts(from, esmtpArgs)
	ss.s.Mail = mail
	return ss.answer(milter.OptNoMailReply, &ss.heldTx, ss.evaluate(smtpcheck.StageMail)), nil
}

// mailFacts builds the MAIL facts from the sender and its ESMTP
// parameters as the MTA passes them (blank-separated KEY=VALUE words). A
// malformed SIZE counts as absent: the MTA has already judged it.
func mailFacts(from, esmtpArgs string) *smtpcheck.Mail {
	mail := &smtpcheck.Mail{From: smtpcheck.ParseAddress(from), Raw: "MAIL FROM:<" + from + ">"}
	if esmtpArgs != "" {
		mail.Raw += " " + esmtpArgs
	}
	for _, p := range strings.Fields(esmtpArgs) {
		k, v, _ := strings.Cut(p, "=")
		switch strings.ToUpper(k) {
		case "SIZE":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
				mail.Size = n
			}
		case "BODY":
			mail.Body = strings.ToUpper(v)
		case "SMTPUTF8":
			mail.SMTPUTF8 = true
		}
	}
	return mail
}

// RcptTo implements milter.Milter: a refusal refuses this recipient only.
// A verdict held from connect, HELO or MAIL, whose reply the MTA did not
// await, is given to every recipient instead.
func (ss *session) RcptTo(rcptTo, esmtpArgs string, m milter.Modifier) (*milter.Response, error) {
	ss.queueID(m)
	ss.s.Rcpt = smtpcheck.ParseAddress(rcptTo)
	if h := ss.held(); h != nil && ss.protocol&milter.OptNoRcptReply == 0 {
		return h, nil
	}
	resp := ss.evaluate(smtpcheck.StageRcpt)
	if resp.Continue() {
		ss.s.Rcpts = append(ss.s.Rcpts, ss.s.Rcpt)
	}
	return resp, nil
}

// queueID takes the MTA's queue ID as the session's ID once it is sent.
func (ss *session) queueID(m milter.Modifier) {
	if v, _ := macro(m, "i"); v != "" {
		ss.s.Conn.ID = v
	}
}

// Data implements milter.Milter. Under delayed rejection the MTA awaits
// no reply: the verdict is held for the end of message.
func (ss *session) Data(m milter.Modifier) (*milter.Response, error) {
	ss.queueID(m)
	if h := ss.held(); h != nil && ss.protocol&milter.OptNoDataReply == 0 {
		return h, nil
	}
	return ss.answer(milter.OptNoDataReply, &ss.heldTx, ss.evaluate(smtpcheck.StageData)), nil
}

// Header implements milter.Milter: the field is spooled as received.
func (ss *session) Header(name, value string, m milter.Modifier) (*milter.Response, error) {
	// The field is spooled as name ":" value CRLF, the continuation
	// lines, which arrive with bare LF, ending in CRLF too.
	n := int64(len(name)+1+len(value)+2) + int64(strings.Count(value, "\n")-strings.Count(value, "\r\n"))
	if ss.content && !ss.tooBig {
		sp := ss.spool()
		sp.WriteString(name)
		sp.WriteString(":")
		for {
			line, rest, more := strings.Cut(value, "\n")
			if !more {
				sp.WriteString(line)
				break
			}
			sp.WriteString(strings.TrimSuffix(line, "\r"))
			sp.WriteString("\r\n")
			value = rest
		}
		sp.WriteString("\r\n")
	}
	ss.size += n
	return ss.checkSize(), nil
}

// endHeader spools the blank line that ends the header, once: at end of
// header, or at the first body chunk or end of message where the MTA
// sends no end-of-header event.
func (ss *session) endHeader() {
	if ss.headed {
		return
	}
	ss.headed = true
	ss.size += 2
	if ss.content && !ss.tooBig {
		ss.spool().WriteString("\r\n")
	}
}

// Headers implements milter.Milter: the end of header, which the filter
// asks the MTA not to send (SMFIP_NOEOH); one that sends it is answered
// go-on. The header checks give their verdict at end of message, where the
// MTA awaits one anyway: a refusal reaches the client at the end of DATA
// either way.
func (ss *session) Headers(m milter.Modifier) (*milter.Response, error) {
	ss.endHeader()
	return milter.RespContinue, nil
}

// parseHeader parses the spooled header into the session, once per
// message: the end-of-message checks get the fields parsed at end of
// header, and the body is found where the header ended.
func (ss *session) parseHeader() bool {
	if ss.headerEnd >= 0 {
		return true
	}
	sp := ss.spool()
	if sp.Err() != nil {
		return false
	}
	whole := sp.Body()
	h, body, err := smtpcheck.SplitMessage(whole)
	if err != nil {
		return false
	}
	ss.s.Header, ss.headerEnd = h, whole.Size()-body.Size()
	return true
}

// BodyChunk implements milter.Milter: the chunk is spooled.
func (ss *session) BodyChunk(chunk []byte, m milter.Modifier) (*milter.Response, error) {
	ss.endHeader()
	if ss.content && !ss.tooBig {
		ss.spool().Write(chunk)
	}
	ss.size += int64(len(chunk))
	return ss.checkSize(), nil
}

// checkSize stops spooling a message past Config.MaxMessageBytes; it is
// refused at end of message (the MTA asks for no answer to each field and
// chunk).
func (ss *session) checkSize() *milter.Response {
	limit := ss.f.cfg.MaxMessageBytes
	if limit > 0 && ss.size > limit && !ss.tooBig {
		ss.tooBig = true
		if ss.sp != nil {
			ss.sp.Close()
		}
	}
	return milter.RespContinue
}

// refuseTooBig is the verdict on a message past Config.MaxMessageBytes.
func (ss *session) refuseTooBig() *milter.Response {
	limit := strconv.FormatInt(ss.f.cfg.MaxMessageBytes, 10)
	return ss.decided(smtpcheck.StageEndOfData, smtpcheck.Result{
		Action: smtpcheck.Reject, Reply: reply.MessageTooBig(),
		Reason: smtpcheck.Reason{Check: "message-size", Rule: "max-message-bytes", Matched: ">" + limit, Evidence: "max " + limit},
	})
}

// EndOfMessage implements milter.Milter: the verdict held from DATA, the
// header stage on the header, the end-of-data stage on the whole message,
// then the headers checks added, and the quarantine.
func (ss *session) EndOfMessage(m milter.Modifier) (*milter.Response, error) {
	defer ss.resetTransaction()
	ss.queueID(m)
	ss.endHeader()
	if h := ss.held(); h != nil {
		// DATA's verdict (a message the MTA would not have taken).
		return h, nil
	}
	if ss.tooBig {
		return ss.refuseTooBig(), nil
	}
	if ss.content && !ss.parseHeader() {
		return ss.spoolError(), nil
	}
	if ss.decides(smtpcheck.StageHeaders) {
		if resp := ss.evaluate(smtpcheck.StageHeaders); !resp.Continue() {
			return resp, nil
		}
	}
	if ss.content {
		ss.s.Message = ss.sp.Body()
		ss.s.Body = ss.sp.BodyFrom(ss.headerEnd)
	}
	resp := ss.evaluate(smtpcheck.StageEndOfData)
	if resp == milter.RespDiscard {
		ss.accepted() // the client is told it was taken
	}
	if !resp.Continue() {
		return resp, nil
	}
	// The connection's marks, then the HELO's, then the transaction's,
	// in the order of the conversation; the first quarantine's reason
	// stands.
	quarantine := ""
	for _, mk := range [...]*marks{&ss.connMarks, &ss.heloMarks, &ss.txMarks} {
		for _, hf := range mk.headers {
			// Under the leading-space option the MTA writes the value as
			// given, blank included; without it, it adds the blank itself.
			v := strings.TrimLeft(hf.Value, " \t")
			if m.Protocol()&milter.OptHeaderLeadingSpace != 0 {
				v = " " + v
			}
			if err := m.AddHeader(hf.Name, v); err != nil {
				return nil, err
			}
		}
		quarantine = cmp.Or(quarantine, mk.quarantine)
	}
	if quarantine != "" {
		if err := m.Quarantine(quarantine); err != nil {
			return nil, err
		}
	}
	ss.accepted()
	return milter.RespAccept, nil
}

// accepted tells Config.Accepted about the message the filter lets
// through. The MTA may still fail to queue it (and answer 4xx): Postfix
// tells a filter nothing of that.
func (ss *session) accepted() {
	verdict.Accepted(ss.ctx, ss.f.cfg.CommandTimeout, ss.f.cfg.Accepted, ss.s)
}

// spoolError answers a message that could not be kept (a full disk): 451
// 4.3.0, logged.
func (ss *session) spoolError() *milter.Response {
	ss.f.log.Error("message not spooled", "session", ss.s.Conn.ID, "dir", ss.f.cfg.SpoolDir, "error", ss.sp.Err())
	return replyResponse(reply.InternalError())
}

// decided logs and counts a verdict the adapter reached itself (a server
// limit, not a check), the way Policy.Evaluate does for the checks', and
// returns its answer.
func (ss *session) decided(st smtpcheck.Stage, r smtpcheck.Result) *milter.Response {
	verdict.Decided(ss.ctx, ss.policy, ss.f.log, ss.s, st, r)
	return replyResponse(r.DefaultReply())
}

func (ss *session) spool() *spool.Spool {
	if ss.sp == nil {
		ss.sp = spool.New(ss.f.cfg.SpoolDir, ss.f.cfg.MemoryPerMessage, "smtppolicy-milter-*")
	}
	return ss.sp
}

// resetTransaction ends the transaction: the message and what checks
// attached to it go.
func (ss *session) resetTransaction() {
	if ss.sp != nil {
		ss.sp.Close()
		ss.sp = nil
	}
	ss.s.ResetTransaction()
	ss.heldTx, ss.txMarks, ss.tooBig = nil, marks{}, false
	ss.size, ss.headerEnd, ss.headed = 0, -1, false
}

// Abort implements milter.Milter: the MTA dropped the transaction (RSET,
// a refusal by another filter, the client gone).
func (ss *session) Abort(m milter.Modifier) error {
	if ss.s != nil {
		ss.resetTransaction()
	}
	return nil
}

// Cleanup implements milter.Milter: the MTA's connection ended, at any
// point of the session.
func (ss *session) Cleanup(m milter.Modifier) { ss.end() }

// end releases the session once.
func (ss *session) end() {
	if ss.s == nil || ss.closed {
		return
	}
	ss.closed = true
	if ss.sp != nil {
		ss.sp.Close()
		ss.sp = nil
	}
	ss.cancel()
	if ss.f.cfg.OnClose != nil {
		ss.f.cfg.OnClose(ss.s)
	}
}
