// Package ops is what the programs give an administrator beside the
// policy itself: one log line per verdict in the shapes Postfix and
// postgrey users already grep, syslog, Prometheus metrics and the admin
// endpoints of the running daemon.
package ops

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Format is a log line shape, as -log-format names it.
type Format string

// The log formats.
const (
	// FormatPostfix writes each verdict as Postfix (smtpd) or postgrey
	// (policyd) writes it; other records are key=value text.
	FormatPostfix Format = "postfix"
	// FormatText writes every record as slog's key=value text, with a
	// short "verdict" record for each verdict.
	FormatText Format = "text"
	// FormatJSON is FormatText as JSON objects.
	FormatJSON Format = "json"
)

// ParseFormat checks a -log-format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatPostfix, FormatText, FormatJSON:
		return f, nil
	}
	return "", fmt.Errorf("log format %q: want postfix, text or json", s)
}

// Program says whose verdicts a Handler writes: an SMTP server's per
// command (Postfix's smtpd lines) or a policy service's per request
// (postgrey's lines).
type Program int

// The programs.
const (
	SMTPServer Program = iota
	PolicyService
)

// Verdict is one decision as an administrator reads it.
type Verdict struct {
	Session *smtpcheck.Session
	Stage   smtpcheck.Stage
	// Action is the verdict in Postfix's words: reject (any 4xx or 5xx
	// refusal), discard, hold, accept; for a policy service also greylist
	// and pass.
	Action string
	// Reply is the SMTP reply given (an SMTP server's verdicts).
	Reply reply.Reply
	// Answer is the policy protocol answer (a policy service's verdicts).
	Answer string
	Reason smtpcheck.Reason
	// DryRun marks a verdict a dry run did not carry out.
	DryRun bool
}

// Code is the verdict's reply code as text ("554"), or "" without one.
func (v Verdict) Code() string {
	if !v.Reply.IsZero() {
		return fmt.Sprint(v.Reply.Code())
	}
	f, _, _ := strings.Cut(v.Answer, " ")
	if len(f) == 3 && f[0] >= '2' && f[0] <= '5' {
		return f
	}
	// The codes Postfix gives these answers by default
	// (access_map_defer_code, access_map_reject_code).
	switch strings.ToUpper(f) {
	case "DEFER", "DEFER_IF_PERMIT", "DEFER_IF_REJECT":
		return "450"
	case "REJECT":
		return "554"
	}
	return ""
}

// Check is the name of the check that decided, or "-".
func (v Verdict) Check() string {
	if v.Reason.Check == "" {
		return "-"
	}
	return v.Reason.Check
}

// Rule is the rule, list or entry that decided, or "-".
func (v Verdict) Rule() string {
	if v.Reason.Rule == "" {
		return "-"
	}
	return v.Reason.Rule
}

// LogConfig is how a program logs.
type LogConfig struct {
	Format  Format
	Program Program
	// Verbose also writes the library's records at debug level: the whole
	// trace of every decision.
	Verbose bool
	// OnVerdict, when set, is called with every verdict (metrics count
	// them there).
	OnVerdict func(Verdict)
	// OnDecision, when set, is called with every decision the policy
	// logs, verdict or not, while its trace is valid.
	OnDecision func(smtpcheck.Decision)
}

// postmasterOverride is the message the go-smtp adapter logs when it
// accepts mail for the postmaster that the policy refused.
const postmasterOverride = "postmaster accepted over a refusal (RFC 5321 4.5.1)"

// shared is what the handlers derived from one NewHandler share.
type shared struct {
	cfg LogConfig
	mu  sync.Mutex
	out sink
	// reasons keeps, per request being answered, the last reason a
	// policy service's decisions gave, for its answer's line.
	reasons map[*smtpcheck.Session]lastReason
}

// lastReason is the reason a request's last decision gave, and whether
// its check failed (an error, such as a store down) rather than decided.
type lastReason struct {
	smtpcheck.Reason
	failed bool
}

// sink writes finished lines at a level: a stream, or syslog with a
// priority per level.
type sink interface {
	writeLine(level slog.Level, line []byte) error
}

type streamSink struct{ w io.Writer }

func (s streamSink) writeLine(_ slog.Level, line []byte) error {
	_, err := s.w.Write(line)
	return err
}

// Handler is the programs' slog.Handler: the library's structured records
// go through as text or JSON, and each verdict also becomes one line at
// info level, accepts included. Records below info level (the library's
// trace of decisions that change nothing) are written only when Verbose.
type Handler struct {
	sh    *shared
	attrs []slog.Attr
	group string
}

// NewHandler returns a Handler writing to w.
func NewHandler(w io.Writer, cfg LogConfig) *Handler {
	return newHandler(streamSink{w}, cfg)
}

func newHandler(out sink, cfg LogConfig) *Handler {
	if cfg.Format == "" {
		cfg.Format = FormatText
	}
	return &Handler{sh: &shared{cfg: cfg, out: out, reasons: map[*smtpcheck.Session]lastReason{}}}
}

// Enabled reports true at debug level too: accepts arrive as debug
// records from the library, and Handle decides what is written.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelDebug }

// WithAttrs returns a Handler that adds attrs to every record it writes.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	if h.group != "" {
		attrs = []slog.Attr{slog.Group(h.group, anySlice(attrs)...)}
	}
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &n
}

// WithGroup returns a Handler that puts the record's attributes in a group.
func (h *Handler) WithGroup(name string) slog.Handler {
	n := *h
	if n.group != "" {
		name = n.group + "." + name
	}
	n.group = name
	return &n
}

func anySlice(attrs []slog.Attr) []any {
	out := make([]any, len(attrs))
	for i, a := range attrs {
		out[i] = a
	}
	return out
}

// Handle writes the record, and the verdict line it carries, if any.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	cfg := h.sh.cfg
	v, isVerdict, keep := h.verdict(r)
	if isVerdict && cfg.OnVerdict != nil {
		cfg.OnVerdict(v)
	}
	if isVerdict && cfg.Program == PolicyService && cfg.Format != FormatPostfix {
		// The answer's own record is the verdict line, at info level even
		// for DUNNO, with the check and rule that decided.
		ar := r.Clone()
		ar.Level = max(r.Level, slog.LevelInfo)
		ar.AddAttrs(slog.String("check", v.Check()), slog.String("rule", v.Rule()))
		return h.writeRecord(ar)
	}
	write := r.Level >= slog.LevelInfo || cfg.Verbose
	if keep && cfg.Format == FormatPostfix {
		// In Postfix's shape the verdict line replaces the library's
		// record, which is written at debug level with -v.
		write, r.Level = cfg.Verbose, slog.LevelDebug
	}
	if write {
		if err := h.writeRecord(r); err != nil {
			return err
		}
	}
	if !isVerdict {
		return nil
	}
	if cfg.Format == FormatPostfix {
		// One buffer per line from a pool: a policy service writes a line
		// per request, and the sink is done with it when write returns.
		bp := linePool.Get().(*[]byte)
		line := (*bp)[:0]
		if cfg.Program == PolicyService {
			line = appendPostgreyLine(line, v)
		} else {
			line = append(line, PostfixLine(v)...)
		}
		err := h.sh.write(slog.LevelInfo, append(line, '\n'))
		if cap(line) <= 4<<10 {
			*bp = line
			linePool.Put(bp)
		}
		return err
	}
	vr := slog.NewRecord(r.Time, slog.LevelInfo, "verdict", r.PC)
	vr.AddAttrs(verdictAttrs(v)...)
	return h.writeRecord(vr)
}

// linePool holds the buffers verdict lines are built in.
var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func (sh *shared) write(level slog.Level, line []byte) error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.out.writeLine(level, line)
}

// writeRecord formats r with slog's own text or JSON handler.
func (h *Handler) writeRecord(r slog.Record) error {
	var buf bytes.Buffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	if _, ok := h.sh.out.(*syslogSink); ok {
		// syslog stamps the time and carries the level as the priority.
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		}
	}
	var inner slog.Handler
	if h.sh.cfg.Format == FormatJSON {
		inner = slog.NewJSONHandler(&buf, opts)
	} else {
		inner = slog.NewTextHandler(&buf, opts)
	}
	if len(h.attrs) > 0 {
		inner = inner.WithAttrs(h.attrs)
	}
	if h.group != "" {
		inner = inner.WithGroup(h.group)
	}
	if err := inner.Handle(context.Background(), r); err != nil {
		return err
	}
	return h.sh.write(r.Level, buf.Bytes())
}

func verdictAttrs(v Verdict) []slog.Attr {
	s := v.Session
	attrs := []slog.Attr{
		slog.String("stage", v.Stage.String()),
		slog.String("action", v.Action),
	}
	if c := v.Code(); c != "" {
		attrs = append(attrs, slog.String("code", c))
	}
	if !v.Reply.IsZero() {
		attrs = append(attrs, slog.String("reply", replyText(v.Reply)))
	}
	if v.Answer != "" {
		attrs = append(attrs, slog.String("answer", v.Answer))
	}
	attrs = append(attrs, slog.String("check", v.Check()), slog.String("rule", v.Rule()))
	if v.Reason.Matched != "" {
		attrs = append(attrs, slog.String("matched", v.Reason.Matched))
	}
	if v.DryRun {
		attrs = append(attrs, slog.Bool("dry_run", true))
	}
	attrs = append(attrs,
		slog.String("client", s.Conn.Name()+"["+s.Conn.ClientIP.String()+"]"),
		slog.String("helo", s.Helo.Name),
		slog.String("from", sender(s)),
		slog.String("to", recipient(s)),
	)
	return attrs
}

// verdict finds the verdict a record carries. keep reports a record the
// verdict line stands for (the library's "decision" record, a policy
// service's "policy answer").
func (h *Handler) verdict(r slog.Record) (v Verdict, ok, keep bool) {
	var sess *smtpcheck.Session
	var dec *smtpcheck.Decision
	var answer, would string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "session":
			sess, _ = a.Value.Any().(*smtpcheck.Session)
		case "decision":
			switch d := a.Value.Any().(type) {
			case smtpcheck.Decision:
				dec = &d
			case *smtpcheck.Decision:
				dec = d
			}
		case "action":
			answer = a.Value.String()
		case "would_answer":
			would = a.Value.String()
		}
		return true
	})
	if sess == nil {
		return v, false, false
	}
	if dec != nil && r.Message == "decision" && h.sh.cfg.OnDecision != nil {
		h.sh.cfg.OnDecision(*dec)
	}
	switch {
	case r.Message == "decision" && dec != nil:
		if h.sh.cfg.Program == PolicyService {
			// A request's stages are logged at debug; its answer is the
			// verdict. Remember the reason for that line.
			res := dec.Result
			if dec.Would.Action != smtpcheck.Continue {
				res = dec.Would
			}
			if reason := decidingReason(res, dec.Steps); reason.Check != "" {
				h.sh.mu.Lock()
				h.sh.reasons[sess] = lastReason{reason, res.Err != nil}
				h.sh.mu.Unlock()
			}
			return v, false, true
		}
		v, ok = smtpVerdict(sess, *dec)
		return v, ok, true
	case r.Message == postmasterOverride && h.sh.cfg.Program == SMTPServer:
		// The server accepts mail for the postmaster over the policy's
		// refusal, logged just before: the line says so.
		v = Verdict{Session: sess, Stage: smtpcheck.StageRcpt, Action: "accept", Reply: reply.Accept(),
			Reason: smtpcheck.Reason{Check: "postmaster", Rule: "rfc5321-4.5.1"}}
		return v, true, false
	case h.sh.cfg.Program == PolicyService && (r.Message == "policy answer" || r.Message == "dry run: answering DUNNO"):
		h.sh.mu.Lock()
		reason := h.sh.reasons[sess]
		delete(h.sh.reasons, sess)
		if len(h.sh.reasons) > 100000 {
			// answers not logged (a request that failed) leave entries
			clear(h.sh.reasons)
		}
		h.sh.mu.Unlock()
		v = Verdict{Session: sess, Stage: sess.Stage, Answer: answer, Reason: reason.Reason}
		if would != "" {
			v.Answer, v.DryRun = would, true
		}
		v.Action = policyAction(v)
		if reason.failed && v.Action == "greylist" {
			v.Action = "defer" // the greylist could not decide: its store failed
		}
		return v, true, true
	}
	return v, false, false
}

// smtpVerdict is an SMTP server's decision as a verdict: every refusal,
// discard and hold, and the acceptance of a recipient or a message.
// Decisions that let a command go on before RCPT, and refusals held for
// RCPT, are no verdict.
func smtpVerdict(s *smtpcheck.Session, d smtpcheck.Decision) (Verdict, bool) {
	res, dry := d.Result, false
	if d.Would.Action != smtpcheck.Continue {
		res, dry = d.Would, true
	}
	v := Verdict{Session: s, Stage: d.Stage, Reason: decidingReason(res, d.Steps), DryRun: dry}
	switch res.Action {
	case smtpcheck.Reject, smtpcheck.TempFail, smtpcheck.Disconnect, smtpcheck.DeferIfPermit:
		v.Action, v.Reply = "reject", res.DefaultReply()
	case smtpcheck.Discard:
		v.Action, v.Reply = "discard", reply.Accept()
	case smtpcheck.Quarantine:
		v.Action, v.Reply = "hold", reply.Accept()
	default:
		if d.Held || (d.Stage != smtpcheck.StageRcpt && d.Stage != smtpcheck.StageEndOfData) {
			return v, false
		}
		v.Action, v.Reply = "accept", reply.Accept()
	}
	if d.Held {
		return v, false
	}
	return v, true
}

// policyAction names a policy answer in postgrey's words where it has
// them (greylist, pass) and Postfix's otherwise.
func policyAction(v Verdict) string {
	verb, _, _ := strings.Cut(v.Answer, " ")
	verb = strings.ToUpper(verb)
	switch {
	case verb == "DUNNO" || verb == "OK" || verb == "PREPEND" || verb == "":
		return "pass"
	case v.Reason.Check == "greylist" && (verb == "DEFER_IF_PERMIT" || verb == "DEFER" || strings.HasPrefix(verb, "4")):
		return "greylist"
	case verb == "REJECT" || strings.HasPrefix(verb, "5"):
		return "reject"
	case verb == "DEFER" || verb == "DEFER_IF_PERMIT" || strings.HasPrefix(verb, "4"):
		return "defer"
	}
	return strings.ToLower(verb)
}

func sender(s *smtpcheck.Session) string {
	if s.Mail == nil {
		return ""
	}
	return s.Mail.From.String()
}

func recipient(s *smtpcheck.Session) string {
	if s.Stage >= smtpcheck.StageRcpt {
		if !s.Rcpt.IsNull() {
			return s.Rcpt.String()
		}
		if len(s.Rcpts) > 0 {
			return s.Rcpts[0].String()
		}
	}
	return ""
}

// postfixStage is the command a Postfix smtpd line names.
func postfixStage(s *smtpcheck.Session, st smtpcheck.Stage) string {
	switch st {
	case smtpcheck.StageConnect:
		return "CONNECT"
	case smtpcheck.StageHelo:
		if s.Helo.Verb != "" {
			return strings.ToUpper(s.Helo.Verb)
		}
		return "EHLO"
	case smtpcheck.StageMail:
		return "MAIL"
	case smtpcheck.StageRcpt:
		return "RCPT"
	case smtpcheck.StageData:
		return "DATA"
	}
	return "END-OF-MESSAGE"
}

// PostfixLine renders an SMTP server's verdict as Postfix's smtpd logs a
// refusal, "NOQUEUE: reject: RCPT from name[addr]: 554 5.7.1 text;
// from=<a> to=<b> proto=ESMTP helo=<h>", followed by the check and rule
// that decided. After DATA the session's ID stands where Postfix writes
// its queue ID.
func PostfixLine(v Verdict) string {
	s := v.Session
	var b strings.Builder
	if v.Stage >= smtpcheck.StageData && s.Conn.ID != "" {
		b.WriteString(s.Conn.ID)
	} else {
		b.WriteString("NOQUEUE")
	}
	b.WriteString(": ")
	b.WriteString(v.Action)
	b.WriteString(": ")
	b.WriteString(postfixStage(s, v.Stage))
	b.WriteString(" from ")
	b.WriteString(s.Conn.Name())
	b.WriteString("[" + s.Conn.ClientIP.String() + "]: ")
	b.WriteString(replyText(v.Reply))
	b.WriteString("; from=<" + sender(s) + ">")
	if to := recipient(s); to != "" || v.Stage >= smtpcheck.StageRcpt {
		b.WriteString(" to=<" + to + ">")
	}
	switch strings.ToUpper(s.Helo.Verb) {
	case "EHLO":
		b.WriteString(" proto=ESMTP")
	case "HELO":
		b.WriteString(" proto=SMTP")
	}
	if s.Helo.Name != "" {
		b.WriteString(" helo=<" + s.Helo.Name + ">")
	}
	b.WriteString(" check=" + v.Check() + " rule=" + v.Rule())
	if v.DryRun {
		b.WriteString(" dry_run=yes")
	}
	return b.String()
}

// PostgreyLine renders a policy service's verdict as postgrey logs one,
// "action=greylist, reason=new, client_name=n, client_address=a,
// sender=s, recipient=r", followed by the check, the rule and the answer
// given to Postfix.
func PostgreyLine(v Verdict) string {
	return string(appendPostgreyLine(nil, v))
}

// appendPostgreyLine appends PostgreyLine(v) to b.
func appendPostgreyLine(b []byte, v Verdict) []byte {
	s := v.Session
	reason := v.Reason.Rule
	if reason == "" {
		reason = "-"
	}
	b = append(b, "action="...)
	b = append(b, v.Action...)
	b = append(b, ", reason="...)
	b = append(b, reason...)
	b = append(b, ", client_name="...)
	b = append(b, s.Conn.Name()...)
	b = append(b, ", client_address="...)
	if s.Conn.ClientIP.IsValid() {
		b = s.Conn.ClientIP.AppendTo(b)
	} else {
		b = append(b, s.Conn.ClientIP.String()...) // as fmt wrote it
	}
	b = append(b, ", sender="...)
	if s.Mail != nil {
		b = append(b, s.Mail.From.String()...)
	}
	b = append(b, ", recipient="...)
	b = append(b, recipient(s)...)
	b = append(b, ", check="...)
	b = append(b, v.Check()...)
	b = append(b, ", rule="...)
	b = append(b, v.Rule()...)
	b = append(b, ", answer="...)
	b = append(b, v.Answer...)
	if v.DryRun {
		b = append(b, ", dry_run=yes"...)
	}
	return b
}

// replyText is a reply on one line: "554 5.7.1 text; more text".
func replyText(r reply.Reply) string {
	s := fmt.Sprint(r.Code())
	if e := r.Enhanced(); !e.IsZero() {
		s += " " + e.String()
	}
	return s + " " + strings.Join(r.Text(), "; ")
}

// decidingReason is the verdict's reason, or for a verdict that carries
// none (a request no check refused) the last check's in the trace that
// said why it let it pass (greylisting's "known").
func decidingReason(res smtpcheck.Result, steps []smtpcheck.Step) smtpcheck.Reason {
	if res.Reason.Check != "" {
		return res.Reason
	}
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Result.Reason.Check != "" {
			return steps[i].Result.Reason
		}
	}
	return smtpcheck.Reason{}
}
