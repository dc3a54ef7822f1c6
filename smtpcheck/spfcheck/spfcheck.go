// Package spfcheck checks the HELO and MAIL FROM identities of an SMTP
// session with SPF (RFC 7208, through blitiri.com.ar/go/spf and the shared
// resolver) and turns each result into a verdict by a policy: fail is
// refused with 550 5.7.23, softfail scored, temperror deferred with 451
// 4.7.24, and permerror, a broken record of the sender's, let through
// unless the administrator asks otherwise. The outcome is kept in the
// session (ResultOf) for later checks, such as an access map's SPF-PASS
// action, and a Received-SPF header (RFC 7208 9.1) is attached.
package spfcheck

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"

	"blitiri.com.ar/go/spf"

	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// Identity is the identity SPF checks (RFC 7208 2.3, 2.4).
type Identity string

// Identities.
const (
	IdentityHelo     Identity = "helo"
	IdentityMailFrom Identity = "mailfrom"
)

// ResultAction is what the policy does with one SPF result.
type ResultAction uint8

// Actions. The zero value, Default, is the result's default action (see
// Policy).
const (
	Default ResultAction = iota
	Ignore               // no verdict; the result is only recorded
	Mark                 // accept, add the result's score (a Tag verdict)
	Defer                // temporary refusal, 451
	Refuse               // permanent refusal, 550
)

var actionNames = [...]string{"default", "ignore", "mark", "defer", "refuse"}

// String returns the action's name.
func (a ResultAction) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action"
}

// ParseAction parses the names String returns.
func ParseAction(s string) (ResultAction, error) {
	for i, n := range actionNames {
		if strings.EqualFold(s, n) {
			return ResultAction(i), nil
		}
	}
	return 0, errors.New("spfcheck: unknown action " + s + " (want ignore, mark, defer or refuse)")
}

// ResultPolicy maps results to actions. The zero value is what an experienced
// administrator would choose: fail refused, softfail marked with a score
// of 2, temperror deferred, permerror ignored (a sender's broken record
// must not lose its mail), neutral, none and pass ignored.
type ResultPolicy struct {
	Fail, SoftFail, Neutral, None, TempError, PermError ResultAction
	// Scores added by Mark, per result; zero means 5 for fail, 2 for
	// softfail, 1 for permerror and 0 otherwise.
	FailScore, SoftFailScore, NeutralScore, PermErrorScore float64
}

func (p ResultPolicy) action(r spf.Result) ResultAction {
	var a ResultAction
	switch r {
	case spf.Fail:
		if a = p.Fail; a == Default {
			a = Refuse
		}
	case spf.SoftFail:
		if a = p.SoftFail; a == Default {
			a = Mark
		}
	case spf.Neutral:
		a = p.Neutral
	case spf.None:
		a = p.None
	case spf.TempError:
		if a = p.TempError; a == Default {
			a = Defer
		}
	case spf.PermError:
		a = p.PermError
	}
	if a == Default {
		a = Ignore
	}
	return a
}

func (p ResultPolicy) score(r spf.Result) float64 {
	pick := func(v, def float64) float64 {
		if v != 0 {
			return v
		}
		return def
	}
	switch r {
	case spf.Fail:
		return pick(p.FailScore, 5)
	case spf.SoftFail:
		return pick(p.SoftFailScore, 2)
	case spf.Neutral:
		return p.NeutralScore
	case spf.PermError:
		return pick(p.PermErrorScore, 1)
	}
	return 0
}

// Config configures a check.
type Config struct {
	// Resolver is the shared resolver; nil turns the check off.
	Resolver *resolver.Resolver
	// Policy maps results to actions.
	Policy ResultPolicy
	// SmtpfReplies answers refusals in smtpf's forms (smtpf#701 for HELO,
	// #702 for MAIL FROM: "sender <a@b> via helo (host [ip]) SPF result
	// fail; ...") with X.7.1, instead of the RFC 7372 codes.
	SmtpfReplies bool
	// Receiver is this server's name for the Received-SPF header; "" leaves
	// the receiver out.
	Receiver string
	// NoHeader leaves out the Received-SPF header.
	NoHeader bool
	// Logger receives the SPF library's trace at debug level; nil discards.
	Logger *slog.Logger
}

// Outcome is one SPF evaluation, kept in the session.
type Outcome struct {
	Identity Identity
	Domain   string     // the domain checked
	Result   spf.Result // none, neutral, pass, fail, softfail, temperror, permerror
	Err      error      // the library's explanation of the result, may be nil
	Header   smtpcheck.HeaderField
}

// Pass reports an SPF pass.
func (o Outcome) Pass() bool { return o.Result == spf.Pass }

type outcomeKey struct{ id Identity }

// ResultOf returns the SPF outcome of the MAIL FROM identity (for the null
// sender, of the HELO identity checked in its place), as Mail stored it.
func ResultOf(s *smtpcheck.Session) (Outcome, bool) {
	o, ok := s.Value(outcomeKey{IdentityMailFrom}).(Outcome)
	return o, ok
}

// HeloResultOf returns the SPF outcome of the HELO identity, as Helo
// stored it.
func HeloResultOf(s *smtpcheck.Session) (Outcome, bool) {
	o, ok := s.Value(outcomeKey{IdentityHelo}).(Outcome)
	return o, ok
}

// Check names.
const (
	NameHelo = "spf-helo"
	NameMail = "spf-mail"
)

// Helo checks the HELO identity (RFC 7208 2.3): the HELO name must be a
// domain; address literals and dotless names give none and are left
// alone.
func Helo(cfg Config) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		h := strings.TrimSuffix(s.Helo.Name, ".")
		if cfg.Resolver == nil || h == "" || strings.HasPrefix(h, "[") || !strings.Contains(h, ".") || net.ParseIP(h) != nil {
			return smtpcheck.Result{}
		}
		return cfg.evaluate(ctx, s, IdentityHelo, h, "postmaster@"+h)
	}
}

// Mail checks the MAIL FROM identity (RFC 7208 2.4); for the null sender
// it checks postmaster@ the HELO name, as the RFC says. It runs at MAIL or
// any later stage, and evaluates once per transaction.
func Mail(cfg Config) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if cfg.Resolver == nil || s.Mail == nil {
			return smtpcheck.Result{}
		}
		sender := s.Mail.From.String()
		domain := s.Mail.From.DomainFold()
		if s.Mail.From.IsNull() {
			domain = strings.TrimSuffix(strings.ToLower(s.Helo.Name), ".")
			sender = "postmaster@" + domain
		}
		if domain == "" || strings.HasPrefix(domain, "[") {
			return smtpcheck.Result{}
		}
		if o, ok := ResultOf(s); ok && o.Domain == domain {
			return cfg.verdict(s, o) // already evaluated for this sender
		}
		return cfg.evaluate(ctx, s, IdentityMailFrom, domain, sender)
	}
}

func (cfg Config) evaluate(ctx context.Context, s *smtpcheck.Session, id Identity, domain, sender string) smtpcheck.Result {
	opts := []spf.Option{spf.WithContext(ctx), spf.WithResolver(cfg.Resolver.Net())}
	if cfg.Logger != nil {
		log := cfg.Logger
		opts = append(opts, spf.WithTraceFunc(func(f string, a ...any) { log.Debug("spf", "trace", f, "args", a) }))
	}
	ip := net.IP(s.Conn.ClientIP.Unmap().AsSlice())
	res, err := spf.CheckHostWithSender(ip, s.Helo.Name, sender, opts...)
	o := Outcome{Identity: id, Domain: domain, Result: res, Err: err}
	o.Header = receivedSPF(cfg.Receiver, s, o, sender)
	if ctx.Err() == nil || res != spf.TempError {
		s.SetValue(outcomeKey{id}, o)
	}
	return cfg.verdict(s, o)
}

// verdict applies the policy to an outcome.
func (cfg Config) verdict(s *smtpcheck.Session, o Outcome) smtpcheck.Result {
	name := NameMail
	if o.Identity == IdentityHelo {
		name = NameHelo
	}
	reason := smtpcheck.Reason{Check: name, Rule: "spf-" + string(o.Identity) + "-policy", Matched: string(o.Result), Evidence: o.Domain}
	if o.Err != nil && o.Result != spf.Pass {
		reason.Evidence += ": " + o.Err.Error()
	}
	var headers []smtpcheck.HeaderField
	if !cfg.NoHeader {
		headers = []smtpcheck.HeaderField{o.Header}
	}
	switch cfg.Policy.action(o.Result) {
	case Mark:
		return smtpcheck.Result{Action: smtpcheck.Tag, Score: cfg.Policy.score(o.Result), Headers: headers, Reason: reason}
	case Defer:
		return smtpcheck.Refuse(cfg.reply(s, o, 451), reason)
	case Refuse:
		return smtpcheck.Refuse(cfg.reply(s, o, 550), reason)
	}
	return smtpcheck.Result{Headers: headers, Reason: reason}
}

const defaultExplanation = "see https://www.rfc-editor.org/rfc/rfc7208"

// reply picks the catalog reply for a refusal with the basic code.
func (cfg Config) reply(s *smtpcheck.Session, o Outcome, code int) reply.Reply {
	ip := s.Conn.ClientIP.String()
	if cfg.SmtpfReplies {
		if o.Identity == IdentityHelo {
			return reply.SPFHeloResult(code, s.Helo.Name, s.Conn.Name(), ip, string(o.Result), defaultExplanation)
		}
		return reply.SPFMailResult(code, s.Mail.From.String(), s.Helo.Name, s.Conn.Name(), ip, string(o.Result), defaultExplanation)
	}
	detail := string(o.Result)
	if o.Err != nil {
		detail = o.Err.Error()
	}
	switch {
	case o.Result == spf.TempError:
		return reply.SPFTempError(o.Domain, detail)
	case o.Result == spf.PermError && code >= 500:
		return reply.SPFPermError(o.Domain, detail)
	case code < 500:
		// A deferred fail, softfail or neutral: smtpf's form carries the
		// result and the 4xx code.
		if o.Identity == IdentityHelo {
			return reply.SPFHeloResult(code, s.Helo.Name, s.Conn.Name(), ip, string(o.Result), defaultExplanation)
		}
		return reply.SPFMailResult(code, s.Mail.From.String(), s.Helo.Name, s.Conn.Name(), ip, string(o.Result), defaultExplanation)
	}
	return reply.SPFFail(o.Domain, ip)
}

// receivedSPF builds the RFC 7208 9.1 Received-SPF header field.
func receivedSPF(receiver string, s *smtpcheck.Session, o Outcome, sender string) smtpcheck.HeaderField {
	var b strings.Builder
	b.WriteString(string(o.Result))
	b.WriteString(" (")
	if receiver != "" {
		b.WriteString(receiver)
		b.WriteString(": ")
	}
	ip := s.Conn.ClientIP.String()
	switch o.Result {
	case spf.Pass:
		b.WriteString("domain of " + o.Domain + " designates " + ip + " as permitted sender")
	case spf.Fail:
		b.WriteString("domain of " + o.Domain + " does not designate " + ip + " as permitted sender")
	case spf.SoftFail:
		b.WriteString("domain of transitioning " + o.Domain + " does not designate " + ip + " as permitted sender")
	case spf.Neutral:
		b.WriteString(ip + " is neither permitted nor denied by domain of " + o.Domain)
	case spf.None:
		b.WriteString("domain of " + o.Domain + " does not publish SPF")
	default:
		b.WriteString("error in processing during lookup of " + o.Domain)
	}
	b.WriteString(") client-ip=" + ip + ";")
	b.WriteString(" envelope-from=\"" + quoteSafe(sender) + "\";")
	if s.Helo.Name != "" {
		b.WriteString(" helo=" + tokenSafe(s.Helo.Name) + ";")
	}
	if receiver != "" {
		b.WriteString(" receiver=" + tokenSafe(receiver) + ";")
	}
	b.WriteString(" identity=" + string(o.Identity) + ";")
	return smtpcheck.HeaderField{Name: "Received-SPF", Value: b.String()}
}

// quoteSafe keeps printable ASCII other than quote and backslash, so that a
// hostile sender cannot break the header.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, s)
}

func tokenSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x21 || r > 0x7e || r == ';' || r == '"' || r == '(' || r == ')' || r == '\\' {
			return '_'
		}
		return r
	}, s)
}
