// Package msgauth authenticates a message at end of data: DKIM signatures
// (RFC 6376) and the From: domain's DMARC policy (RFC 7489), through
// github.com/emersion/go-msgauth with every DNS lookup on the shared
// resolver. Each result goes through a per-result policy; DMARC's published
// p=/sp=/pct= are honoured unless a local override replaces them; an
// Authentication-Results header (RFC 8601) records the DKIM, SPF (from
// spfcheck) and DMARC results; and, as an option, mail claiming one of
// this site's own domains from outside without authenticating is refused
// as spoofed (Barracuda's 5XX_SPOOFED).
//
// ARC chains (RFC 8617) are validated by package arc when Config.ARC is
// set: arc= joins Authentication-Results, a chain that passes and was
// sealed by a trusted sealer lets a message DMARC fails through (the
// mailing list case), and the ARC result alone only tags or quarantines.
package msgauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"

	"github.com/smtppolicy/smtppolicy/msgauth/arc"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/spfcheck"
)

// Name is the check's name in reasons and traces.
const Name = "msgauth"

// DefaultTimeout bounds one message's verification, DNS lookups included.
const DefaultTimeout = 10 * time.Second

// maxSignatures bounds the signatures verified per message: each costs a
// key lookup and a pass over the body, and a message may carry hundreds.
const maxSignatures = 8

// Result is an authentication result, spelled as in Authentication-Results
// (RFC 8601 2.7).
type Result string

// Results.
const (
	None      Result = "none"
	Pass      Result = "pass"
	Fail      Result = "fail"
	TempError Result = "temperror"
	PermError Result = "permerror"
)

// ResultPolicy maps a result to an action: Continue (only recorded), Tag,
// Quarantine, TempFail or Reject. A result not in the map is only
// recorded. A temperror is never refused permanently: Reject for it acts
// as TempFail.
type ResultPolicy map[Result]smtpcheck.Action

// Config configures a Verifier.
type Config struct {
	// Resolver answers the DKIM key and DMARC policy lookups. Required.
	Resolver *resolver.Resolver
	// AuthServID names this server in Authentication-Results (RFC 8601
	// 2.5), usually its host name. Required for the header.
	AuthServID string
	// DKIM maps the message's DKIM result (pass when one signature
	// verifies; else temperror, fail, permerror, none in that order) to an
	// action. Nil: only recorded, DMARC decides.
	DKIM ResultPolicy
	// DMARC maps DMARC's temperror and permerror to an action; fail is
	// governed by the domain's published policy (or Override). Nil:
	// temperror defers (451), permerror is recorded.
	DMARC ResultPolicy
	// Override replaces the policy a domain publishes with a local one,
	// keyed by From: domain or its organisational domain, "*" for every
	// domain: "none" to only record, "quarantine", "reject".
	Override map[string]dmarc.Policy
	// NoDMARC turns off DMARC evaluation (DKIM results and the header
	// remain).
	NoDMARC bool
	// SpoofDomains, when set, are this site's own domains: a message whose
	// From: or envelope sender domain is one of them (or below one), from
	// a client neither trusted nor authenticated, that DMARC does not pass,
	// is refused with 550 5.7.1 "Rejecting spoofed message." (Barracuda's
	// sender spoof protection).
	SpoofDomains []string
	// ARC turns on ARC chain validation (RFC 8617); its result is arc= in
	// Authentication-Results.
	ARC bool
	// ARCTrustedSealers are the domains (an ARC-Seal's d=) whose word on
	// a message's arrival this site takes: when the chain passes, the
	// latest sets are sealed by them and one of those sets recorded
	// dmarc=pass for the From: domain, a DMARC failure is overridden
	// (RFC 7489 local policy), as mail through a mailing list that alters
	// messages needs. A temporary key failure for such a chain defers
	// what DMARC would refuse. Needs ARC.
	ARCTrustedSealers []string
	// ARCPolicy maps the ARC result (none, pass, fail, temperror) to an
	// action: Continue, Tag or Quarantine, and TempFail for temperror. New
	// refuses Reject: ARC alone never refuses a message. Nil: only
	// recorded.
	ARCPolicy ResultPolicy
	// Timeout bounds one message's verification; 0 means DefaultTimeout.
	Timeout time.Duration
	// Sample returns a number in [0, 100) to apply DMARC's pct=; nil uses
	// math/rand/v2.
	Sample func() int
	// Logger receives one line per verdict; nil discards.
	Logger *slog.Logger
}

// Verifier verifies messages by its Config.
type Verifier struct {
	cfg     Config
	log     *slog.Logger
	spoof   map[string]bool
	trusted map[string]bool
}

// New returns a Verifier, or an error when cfg lacks a resolver or has an
// unknown override policy.
func New(cfg Config) (*Verifier, error) {
	if cfg.Resolver == nil {
		return nil, errors.New("msgauth: no resolver")
	}
	for d, p := range cfg.Override {
		switch p {
		case dmarc.PolicyNone, dmarc.PolicyQuarantine, dmarc.PolicyReject:
		default:
			return nil, fmt.Errorf("msgauth: override for %q: unknown policy %q (want none, quarantine or reject)", d, p)
		}
	}
	for res, a := range cfg.ARCPolicy {
		switch {
		case a == smtpcheck.Continue || a == smtpcheck.Tag || a == smtpcheck.Quarantine:
		case a == smtpcheck.TempFail && res == TempError:
		default:
			return nil, fmt.Errorf("msgauth: ARC policy %s=%s: ARC alone only tags or quarantines (and defers a temperror)", res, a)
		}
	}
	if (len(cfg.ARCTrustedSealers) > 0 || len(cfg.ARCPolicy) > 0) && !cfg.ARC {
		return nil, errors.New("msgauth: ARC trusted sealers or policy without ARC verification")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Sample == nil {
		cfg.Sample = func() int { return rand.IntN(100) }
	}
	if cfg.DMARC == nil {
		cfg.DMARC = ResultPolicy{TempError: smtpcheck.TempFail}
	}
	v := &Verifier{cfg: cfg, log: cfg.Logger, spoof: map[string]bool{}, trusted: map[string]bool{}}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	for _, d := range cfg.SpoofDomains {
		v.spoof[fold(d)] = true
	}
	for _, d := range cfg.ARCTrustedSealers {
		v.trusted[fold(d)] = true
	}
	return v, nil
}

// Signature is one DKIM signature's verification.
type Signature struct {
	Domain     string // d=
	Identifier string // i=, or "@" d= when absent
	Result     Result // pass, fail, temperror or permerror
	Err        error  // why it did not pass
}

// DMARC is the DMARC evaluation of one message.
type DMARC struct {
	Result    Result       // pass, fail, none (no policy), temperror, permerror
	From      string       // the From: domain
	Published dmarc.Policy // p= (or sp= for a subdomain), "" when no record
	Applied   dmarc.Policy // the policy acted on, after pct= and Override
	Aligned   string       // "dkim" or "spf": what passed aligned
	Reason    string       // how the result came about
	// ARCOverride names the trusted sealer whose ARC set vouched for the
	// message DMARC failed, when it did (Applied is then none).
	ARCOverride string
}

// ARC is the ARC validation of one message.
type ARC struct {
	Result Result    // none, pass, fail or temperror; "" when not verified
	Sets   []arc.Set // the chain's sets, in instance order
	Err    error     // why it did not pass
}

// Sealer is the domain of the latest seal, "" without one.
func (a ARC) Sealer() string {
	if len(a.Sets) == 0 {
		return ""
	}
	return a.Sets[len(a.Sets)-1].Sealer
}

// Outcome is what Verify found, kept in the session (ResultOf).
type Outcome struct {
	DKIM       Result // the message's DKIM result
	Signatures []Signature
	SPF        *spfcheck.Outcome // the MAIL FROM SPF outcome, when spfcheck ran
	DMARC      DMARC
	ARC        ARC
	Header     smtpcheck.HeaderField // Authentication-Results
}

type outcomeKey struct{}

// ResultOf returns the outcome Check stored in the session.
func ResultOf(s *smtpcheck.Session) (Outcome, bool) {
	o, ok := s.Value(outcomeKey{}).(Outcome)
	return o, ok
}

// Check returns the end-of-data check. Before end of data (no message) it
// has no opinion. Reading the message failing is the check's error, for
// the guard's error policy; DNS failures are results (temperror), acted on
// by the policy and never refused permanently.
func (v *Verifier) Check() smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Message == nil {
			return smtpcheck.Result{}
		}
		o, err := v.Verify(ctx, s)
		if err != nil {
			return smtpcheck.Result{Err: err, Reason: smtpcheck.Reason{Check: Name, Rule: "message", Evidence: err.Error()}}
		}
		s.SetValue(outcomeKey{}, o)
		r := v.decide(s, o)
		v.log.LogAttrs(ctx, slog.LevelInfo, "msgauth: message verified",
			slog.String("session", s.Conn.ID), slog.String("dkim", string(o.DKIM)),
			slog.String("dmarc", string(o.DMARC.Result)), slog.String("from", o.DMARC.From),
			slog.String("action", r.Action.String()))
		return r
	}
}

// Verify verifies the session's message (Session.Message) and evaluates
// DMARC for its From: domain with the session's SPF outcome, without
// deciding. The error is only for a message that cannot be read.
func (v *Verifier) Verify(ctx context.Context, s *smtpcheck.Session) (Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	var o Outcome
	if spf, ok := spfcheck.ResultOf(s); ok {
		o.SPF = &spf
	}
	sigs, err := v.verifyDKIM(ctx, s.Message)
	if err != nil {
		return Outcome{}, err
	}
	o.Signatures = sigs
	o.DKIM = dkimResult(sigs)
	if v.cfg.ARC {
		if o.ARC, err = v.verifyARC(ctx, s.Message); err != nil {
			return Outcome{}, err
		}
	}
	o.DMARC = v.evaluateDMARC(ctx, s, sigs, o.SPF)
	if o.DMARC.Result == Fail && o.DMARC.Applied != dmarc.PolicyNone {
		if sealer, ok := v.vouched(o.ARC, o.DMARC.From); ok {
			o.DMARC.ARCOverride = sealer
			o.DMARC.Reason += "; overridden: arc=pass sealed by " + sealer
			o.DMARC.Applied = dmarc.PolicyNone
		}
	}
	o.Header = v.header(s, o)
	return o, nil
}

func (v *Verifier) verifyARC(ctx context.Context, m smtpcheck.Body) (ARC, error) {
	rc, err := m.Open()
	if err != nil {
		return ARC{}, fmt.Errorf("msgauth: open message: %w", err)
	}
	defer rc.Close()
	r, err := arc.Verify(ctx, rc, v.cfg.Resolver)
	if err != nil {
		return ARC{}, fmt.Errorf("msgauth: %w", err)
	}
	a := ARC{Result: Result(r.State), Sets: r.Sets, Err: r.Err}
	if r.Temporary() {
		a.Result = TempError
	}
	return a, nil
}

// trustedTop returns the sets at the top of the chain sealed by trusted
// sealers, latest first: a set below an untrusted one may have been
// altered by it.
func (v *Verifier) trustedTop(a ARC) []arc.Set {
	var top []arc.Set
	for i := len(a.Sets) - 1; i >= 0 && v.trusted[a.Sets[i].Sealer]; i-- {
		top = append(top, a.Sets[i])
	}
	return top
}

// vouched reports a passing chain whose trusted sealers recorded
// dmarc=pass for the From: domain on the message's arrival, and names
// the sealer.
func (v *Verifier) vouched(a ARC, from string) (string, bool) {
	if a.Result != Pass {
		return "", false
	}
	for _, s := range v.trustedTop(a) {
		_, results, err := authres.Parse(s.Results)
		if err != nil {
			continue
		}
		for _, r := range results {
			if d, ok := r.(*authres.DMARCResult); ok && d.Value == authres.ResultPass && (d.From == "" || fold(d.From) == from) {
				return fmt.Sprintf("%s (i=%d)", s.Sealer, s.Instance), true
			}
		}
	}
	return "", false
}

func (v *Verifier) verifyDKIM(ctx context.Context, m smtpcheck.Body) ([]Signature, error) {
	rc, err := m.Open()
	if err != nil {
		return nil, fmt.Errorf("msgauth: open message: %w", err)
	}
	defer rc.Close()
	nr := v.cfg.Resolver.Net()
	verifs, err := dkim.VerifyWithOptions(rc, &dkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return nr.LookupTXT(ctx, name) },
		MaxVerifications: maxSignatures,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		return nil, fmt.Errorf("msgauth: read message: %w", err)
	}
	sigs := make([]Signature, 0, len(verifs))
	for _, vf := range verifs {
		sg := Signature{Domain: fold(vf.Domain), Identifier: vf.Identifier, Result: Pass, Err: vf.Err}
		switch {
		case vf.Err == nil:
		case dkim.IsTempFail(vf.Err):
			sg.Result = TempError
		case dkim.IsPermFail(vf.Err):
			sg.Result = PermError
		default:
			sg.Result = Fail
		}
		sigs = append(sigs, sg)
	}
	return sigs, nil
}

// dkimResult is the message's DKIM result: the best of its signatures.
func dkimResult(sigs []Signature) Result {
	best := None
	rank := map[Result]int{None: 0, PermError: 1, Fail: 2, TempError: 3, Pass: 4}
	for _, s := range sigs {
		if rank[s.Result] > rank[best] {
			best = s.Result
		}
	}
	return best
}

// fromDomain returns the domain of the single author in From: (RFC 7489
// 6.6.1), or "" with the reason there is none.
func fromDomain(h smtpcheck.Header) (string, string) {
	if h.Count("From") != 1 {
		return "", fmt.Sprintf("%d From: fields", h.Count("From"))
	}
	v, _ := h.Get("From")
	list, err := mail.ParseAddressList(strings.ReplaceAll(v, "\r\n", ""))
	if err != nil || len(list) == 0 {
		return "", "From: unparsable"
	}
	d := ""
	for _, a := range list {
		ad := fold(a.Address[strings.LastIndexByte(a.Address, '@')+1:])
		if d != "" && ad != d {
			return "", "From: names several domains"
		}
		d = ad
	}
	return d, ""
}

// orgDomain is the organisational domain (RFC 7489 3.2): the public suffix
// plus one label.
func orgDomain(d string) string {
	if o, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return o
	}
	return d
}

// aligned reports identifier alignment (RFC 7489 3.1): equal domains when
// strict, equal organisational domains when relaxed.
func aligned(a, b string, mode dmarc.AlignmentMode) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	return mode != dmarc.AlignmentStrict && orgDomain(a) == orgDomain(b)
}

// lookupDMARC finds the policy record for the From: domain, falling back
// to its organisational domain (RFC 7489 6.6.3). sub reports that the
// record came from the organisational domain, so sp= applies.
func (v *Verifier) lookupDMARC(ctx context.Context, from string) (rec *dmarc.Record, sub bool, res Result, reason string) {
	names := []string{from}
	if org := orgDomain(from); org != from {
		names = append(names, org)
	}
	for i, d := range names {
		txts, err := v.cfg.Resolver.LookupTXT(ctx, "_dmarc."+d)
		switch {
		case resolver.IsNotFound(err):
			continue
		case err != nil && (resolver.IsTemporary(err) || ctx.Err() != nil):
			return nil, false, TempError, "policy lookup: " + err.Error()
		case err != nil:
			return nil, false, PermError, "policy lookup: " + err.Error()
		}
		var found []string
		for _, t := range txts {
			if strings.HasPrefix(t, "v=DMARC1") {
				found = append(found, t)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
		default:
			// RFC 7489 6.6.3: several records are no record.
			return nil, false, None, fmt.Sprintf("%d DMARC records at _dmarc.%s", len(found), d)
		}
		rec, err := dmarc.Parse(found[0])
		if err != nil {
			return nil, false, PermError, "_dmarc." + d + ": " + err.Error()
		}
		return rec, i > 0, "", ""
	}
	return nil, false, None, "no DMARC record"
}

func (v *Verifier) evaluateDMARC(ctx context.Context, s *smtpcheck.Session, sigs []Signature, spf *spfcheck.Outcome) DMARC {
	from, why := fromDomain(s.Header)
	d := DMARC{From: from}
	if v.cfg.NoDMARC {
		d.Result, d.Reason = None, "not evaluated"
		return d
	}
	if from == "" {
		d.Result, d.Reason = PermError, why
		return d
	}
	rec, sub, res, reason := v.lookupDMARC(ctx, from)
	if rec == nil {
		d.Result, d.Reason = res, reason
		if res == None {
			d.Applied = v.override(from, "")
		}
		return d
	}
	label := "p="
	d.Published = rec.Policy
	if sub && rec.SubdomainPolicy != "" {
		d.Published, label = rec.SubdomainPolicy, "sp="
	}
	temp := false
	for _, sg := range sigs {
		if !aligned(sg.Domain, from, rec.DKIMAlignment) {
			continue
		}
		if sg.Result == Pass {
			d.Result, d.Aligned, d.Reason = Pass, "dkim", "aligned DKIM signature of "+sg.Domain
			return d
		}
		temp = temp || sg.Result == TempError
	}
	// spfcheck checks the HELO name in place of a null sender, which is
	// the identity DMARC aligns then (RFC 7489 4.1).
	if spf != nil && spf.Identity == spfcheck.IdentityMailFrom {
		if spf.Pass() && aligned(spf.Domain, from, rec.SPFAlignment) {
			d.Result, d.Aligned, d.Reason = Pass, "spf", "aligned SPF pass for "+spf.Domain
			return d
		}
		temp = temp || string(spf.Result) == string(TempError)
	}
	if temp {
		d.Result, d.Reason = TempError, "an aligned identifier's check failed temporarily"
		return d
	}
	d.Result = Fail
	d.Applied = d.Published
	if rec.Percent != nil && *rec.Percent < 100 && v.cfg.Sample() >= *rec.Percent {
		// RFC 7489 6.6.4: outside the sample, the next policy down.
		switch d.Applied {
		case dmarc.PolicyReject:
			d.Applied = dmarc.PolicyQuarantine
		case dmarc.PolicyQuarantine:
			d.Applied = dmarc.PolicyNone
		}
		d.Reason = fmt.Sprintf("pct=%d sampled out; ", *rec.Percent)
	}
	d.Applied = v.override(from, d.Applied)
	d.Reason += "no aligned DKIM or SPF pass; " + label + string(d.Published)
	if d.Applied != d.Published {
		d.Reason += " applied as " + string(d.Applied)
	}
	return d
}

// override returns the local policy for the domain, or p.
func (v *Verifier) override(from string, p dmarc.Policy) dmarc.Policy {
	for _, k := range []string{from, orgDomain(from), "*"} {
		if o, ok := v.cfg.Override[k]; ok {
			return o
		}
	}
	return p
}

// spoofed reports a message claiming one of this site's domains.
func (v *Verifier) spoofed(s *smtpcheck.Session, o Outcome) (string, bool) {
	if len(v.spoof) == 0 || s.Conn.Trusted || s.Conn.AuthUser != "" || o.DMARC.Result == Pass {
		return "", false
	}
	claims := []string{o.DMARC.From}
	if s.Mail != nil {
		claims = append(claims, s.Mail.From.DomainFold())
	}
	for _, d := range claims {
		for p := d; p != ""; {
			if v.spoof[p] {
				return d, true
			}
			_, rest, ok := strings.Cut(p, ".")
			if !ok {
				break
			}
			p = rest
		}
	}
	return "", false
}

// decide turns an outcome into a verdict: the spoofing rule, then DMARC,
// then the DKIM policy; the strongest action wins, and a message not
// refused gets the Authentication-Results header.
func (v *Verifier) decide(s *smtpcheck.Session, o Outcome) smtpcheck.Result {
	if d, ok := v.spoofed(s, o); ok {
		return smtpcheck.Refuse(reply.SpoofedMessage(), smtpcheck.Reason{Check: Name, Rule: "spoof", Matched: d,
			Evidence: "own domain from outside; dmarc=" + string(o.DMARC.Result)})
	}
	dm := o.DMARC
	dreason := smtpcheck.Reason{Check: Name, Rule: "dmarc", Matched: string(dm.Result), Evidence: dm.From + ": " + dm.Reason}
	best := smtpcheck.Result{Reason: smtpcheck.Reason{Check: Name, Rule: "dkim+dmarc",
		Matched: "dkim=" + string(o.DKIM) + " dmarc=" + string(dm.Result), Evidence: dreason.Evidence}}
	consider := func(r smtpcheck.Result) {
		if r.Action > best.Action {
			best = r
		}
	}
	switch dm.Result {
	case Fail:
		top := v.trustedTop(o.ARC)
		switch {
		case dm.Applied == dmarc.PolicyReject && o.ARC.Result == TempError && len(top) > 0:
			// A trusted sealer's chain might vouch for it once its key
			// can be fetched: defer rather than refuse for good.
			consider(smtpcheck.Refuse(reply.DMARCTempError(dm.From, "ARC chain sealed by "+top[0].Sealer+" not verifiable now"), dreason))
		case dm.Applied == dmarc.PolicyReject:
			consider(smtpcheck.Refuse(reply.DMARCReject(dm.From, dm.Reason), dreason))
		case dm.Applied == dmarc.PolicyQuarantine:
			consider(smtpcheck.Result{Action: smtpcheck.Quarantine, Reason: dreason})
		}
	case TempError, PermError:
		consider(v.act(v.cfg.DMARC[dm.Result], dm.Result, dreason, dm.From, dm.Reason, true))
	}
	// DKIM.
	if a, ok := v.cfg.DKIM[o.DKIM]; ok {
		domain, why := dm.From, "no signature"
		for _, sg := range o.Signatures {
			if sg.Result == o.DKIM {
				domain, why = sg.Domain, "signature"
				if sg.Err != nil {
					why = sg.Err.Error()
				}
				break
			}
		}
		consider(v.act(a, o.DKIM, smtpcheck.Reason{Check: Name, Rule: "dkim", Matched: string(o.DKIM), Evidence: domain + ": " + why}, domain, why, false))
	}
	// ARC: tag or quarantine only, defer a temperror when asked.
	if a, ok := v.cfg.ARCPolicy[o.ARC.Result]; ok && o.ARC.Result != "" {
		why := "no chain"
		if o.ARC.Err != nil {
			why = o.ARC.Err.Error()
		}
		areason := smtpcheck.Reason{Check: Name, Rule: "arc", Matched: string(o.ARC.Result), Evidence: o.ARC.Sealer() + ": " + why}
		switch a {
		case smtpcheck.Tag, smtpcheck.Quarantine:
			consider(smtpcheck.Result{Action: a, Reason: areason})
		case smtpcheck.TempFail:
			consider(smtpcheck.Refuse(reply.DMARCTempError(o.ARC.Sealer(), "ARC chain not verifiable now: "+why), areason))
		}
	}
	if !best.Action.Refuses() {
		best.Headers = append(best.Headers, o.Header)
	}
	return best
}

// act is the verdict for an action the policy gives a result.
func (v *Verifier) act(a smtpcheck.Action, res Result, reason smtpcheck.Reason, domain, why string, isDMARC bool) smtpcheck.Result {
	if res == TempError && a == smtpcheck.Reject {
		a = smtpcheck.TempFail // a DNS failure is never a permanent refusal
	}
	switch a {
	case smtpcheck.Reject:
		return smtpcheck.Refuse(reply.DKIMFail(domain, why), reason)
	case smtpcheck.TempFail:
		if isDMARC {
			return smtpcheck.Refuse(reply.DMARCTempError(domain, why), reason)
		}
		return smtpcheck.Refuse(reply.DKIMTempError(domain, why), reason)
	case smtpcheck.Tag, smtpcheck.Quarantine:
		return smtpcheck.Result{Action: a, Reason: reason}
	}
	return smtpcheck.Result{}
}

// header builds Authentication-Results (RFC 8601) with one line per
// method, folded so no line runs long.
func (v *Verifier) header(s *smtpcheck.Session, o Outcome) smtpcheck.HeaderField {
	var rs []authres.Result
	for _, sg := range o.Signatures {
		r := &authres.DKIMResult{Value: authres.ResultValue(sg.Result), Domain: sg.Domain, Identifier: sg.Identifier}
		if sg.Err != nil {
			r.Reason = sg.Err.Error()
		}
		rs = append(rs, r)
	}
	if len(o.Signatures) == 0 {
		rs = append(rs, &authres.DKIMResult{Value: authres.ResultNone})
	}
	if o.SPF != nil {
		r := &authres.SPFResult{Value: authres.ResultValue(o.SPF.Result)}
		if s.Mail != nil && !s.Mail.From.IsNull() {
			r.From = s.Mail.From.String()
		} else {
			r.Helo = s.Helo.Name
		}
		rs = append(rs, r)
	}
	if v.cfg.ARC {
		// go-msgauth's ARCResult has no method name in Format.
		r := &authres.GenericResult{Method: "arc", Value: authres.ResultValue(o.ARC.Result), Params: map[string]string{}}
		if s.Conn.ClientIP.IsValid() {
			r.Params["smtp.remote-ip"] = s.Conn.ClientIP.String()
		}
		rs = append(rs, r)
	}
	if !v.cfg.NoDMARC {
		r := &authres.DMARCResult{Value: authres.ResultValue(o.DMARC.Result), From: o.DMARC.From}
		if o.DMARC.Result != Pass && o.DMARC.Reason != "" {
			r.Reason = o.DMARC.Reason
		}
		rs = append(rs, r)
	}
	id := v.cfg.AuthServID
	if id == "" {
		id = "localhost"
	}
	parts := []string{id}
	for _, r := range rs {
		f := authres.Format(id, []authres.Result{r})
		parts = append(parts, strings.TrimSpace(strings.TrimPrefix(f, id+";")))
	}
	return smtpcheck.HeaderField{Name: "Authentication-Results", Value: strings.Join(parts, ";\r\n\t")}
}

func fold(d string) string { return strings.TrimSuffix(strings.ToLower(d), ".") }
