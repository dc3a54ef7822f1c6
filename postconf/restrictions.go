package postconf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
)

// aliases are the older restriction names the DNSBL tutorial (and many
// old main.cf files) use, with their current names.
var aliases = map[string]string{
	"reject_unknown_client":    "reject_unknown_client_hostname",
	"reject_unknown_hostname":  "reject_unknown_helo_hostname",
	"reject_invalid_hostname":  "reject_invalid_helo_hostname",
	"reject_non_fqdn_hostname": "reject_non_fqdn_helo_hostname",
	"check_relay_domains":      "reject_unauth_destination",
}

// unimplemented are Postfix restrictions this package does not offer; naming
// one is an error that says so, never a silent permit.
var unimplemented = map[string]bool{
	"check_policy_service": true, "check_sasl_access": true, "check_ccert_access": true,
	"check_etrn_access":                          true,
	"reject_authenticated_sender_login_mismatch": true, "reject_known_sender_login_mismatch": true,
	"reject_sender_login_mismatch": true, "reject_unauthenticated_sender_login_mismatch": true,
	"reject_unknown_forward_client_hostname": true, "reject_multi_recipient_bounce": true,
	"reject_plaintext_session": true, "permit_tls_clientcerts": true, "permit_tls_all_clientcerts": true,
	"permit_auth_destination": true, "permit_mx_backup": true,
	"defer_if_reject_unauth_pipelining": true, "reject_unauth_sender_login_mismatch": true,
	"permit_naked_ip_address": true, "reject_maps_rbl": true, "reject_non_fqdn_address": true,
}

// takesArg lists the restrictions followed by an argument.
var takesArg = map[string]bool{
	"reject_rbl_client": true, "reject_rhsbl_client": true, "reject_rhsbl_reverse_client": true,
	"reject_rhsbl_helo": true, "reject_rhsbl_sender": true, "reject_rhsbl_recipient": true,
	"permit_dnswl_client": true, "permit_rhswl_client": true,
	"check_client_access": true, "check_helo_access": true, "check_sender_access": true,
	"check_recipient_access": true, "check_reverse_client_hostname_access": true,
	"check_policy_service": true, "check_sasl_access": true, "check_ccert_access": true,
	"check_sender_mx_access": true, "check_sender_ns_access": true, "check_sender_a_access": true,
	"check_recipient_mx_access": true, "check_recipient_ns_access": true, "check_recipient_a_access": true,
	"check_client_mx_access": true, "check_client_ns_access": true, "check_client_a_access": true,
	"check_helo_mx_access": true, "check_helo_ns_access": true, "check_helo_a_access": true,
	"check_etrn_access": true,
}

// compileWords compiles the restrictions of list, in order.
func (b *builder) compileWords(name string, words []string) ([]smtpcheck.Check, error) {
	var checks []smtpcheck.Check
	warnNext := false
	for i := 0; i < len(words); i++ {
		w := strings.ToLower(words[i])
		if alias, ok := aliases[w]; ok {
			w = alias
		}
		arg := ""
		if takesArg[w] {
			if i+1 >= len(words) {
				return nil, b.errorAt(name, fmt.Sprintf("%s needs an argument", w))
			}
			i++
			arg = words[i]
		}
		if w == "warn_if_reject" {
			warnNext = true
			continue
		}
		c, err := b.restriction(name, w, arg)
		if err != nil {
			return nil, err
		}
		c = b.tableVerbs(smtpcheck.Named(w, c))
		if warnNext {
			c = b.warnOnly(w, c)
			warnNext = false
		}
		checks = append(checks, c)
	}
	if warnNext {
		return nil, b.errorAt(name, "warn_if_reject must be followed by a restriction")
	}
	return checks, nil
}

// restrictionClasses reads smtpd_restriction_classes: each name is a
// parameter of the file holding a list of restrictions, usable as a
// restriction and as an access table's result.
func (b *builder) restrictionClasses() error {
	v, err := b.value("smtpd_restriction_classes")
	if err != nil {
		return err
	}
	b.classes, b.inClass = map[string]string{}, map[string]bool{}
	for _, n := range Fields(v) {
		def, err := b.value(n)
		if err != nil {
			return err
		}
		if strings.TrimSpace(def) == "" {
			return b.errorAt("smtpd_restriction_classes", fmt.Sprintf("restriction class %q needs a definition", n))
		}
		// Postfix looks classes up as written; names are matched here
		// in lower case, as restriction names are.
		b.classes[strings.ToLower(n)] = def
	}
	return nil
}

// restrictionClass compiles a restriction class where list uses it: its
// refusals name what list's do, as Postfix evaluates a class in place. A
// permit in the class ends the list that used it.
func (b *builder) restrictionClass(list, name string) (smtpcheck.Check, error) {
	if b.inClass[name] {
		return nil, b.errorAt(name, fmt.Sprintf("restriction class %q uses itself", name))
	}
	b.inClass[name] = true
	defer delete(b.inClass, name)
	checks, err := b.compileWords(list, Fields(b.classes[name]))
	if err != nil {
		return nil, err
	}
	if len(checks) == 0 {
		return func(context.Context, *smtpcheck.Session) smtpcheck.Result { return smtpcheck.Result{} }, nil
	}
	return smtpcheck.FirstMatch(checks...), nil
}

// restrictionList compiles one smtpd_*_restrictions parameter.
func (b *builder) restrictionList(name string) (smtpcheck.Check, error) {
	v, err := b.value(name)
	if err != nil {
		return nil, err
	}
	checks, err := b.compileWords(name, Fields(v))
	if err != nil {
		return nil, err
	}
	if len(checks) == 0 {
		return nil, nil
	}
	list := smtpcheck.FirstMatch(checks...)
	// A permit ends this list only; the next list still runs.
	// Postfix starts each list with no defer_if_reject pending, but for
	// smtpd_relay_restrictions and smtpd_recipient_restrictions, which it
	// evaluates as one.
	shared := name == "smtpd_relay_restrictions" || name == "smtpd_recipient_restrictions"
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if _, ok := ctx.Value(listStateKey{}).(*listState); !ok || !shared {
			ctx = context.WithValue(ctx, listStateKey{}, &listState{})
		}
		r := list(ctx, s)
		if r.Action == smtpcheck.Accept {
			r.Action = smtpcheck.Continue
		}
		return r
	}, nil
}

// warnOnly is warn_if_reject: the restriction's refusal is logged as a
// "reject_warning" and the request goes on.
func (b *builder) warnOnly(name string, c smtpcheck.Check) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := c(context.WithValue(ctx, warnKey{}, true), s)
		if !r.Action.Refuses() {
			return r
		}
		b.log.LogAttrs(ctx, slog.LevelWarn, "reject_warning",
			slog.Any("session", s), slog.String("restriction", name),
			slog.String("would_reply", r.DefaultReply().Error()), slog.String("reason", r.Reason.String()))
		return smtpcheck.Result{Headers: r.Headers, Reason: smtpcheck.Reason{
			Check: r.Reason.Check, Rule: "warn_if_reject " + name, Matched: r.Reason.Matched,
			Evidence: "would " + r.Action.String() + ": " + r.DefaultReply().Error(),
		}}
	}
}

type warnKey struct{}

// warnOnlyIn reports a restriction evaluated under warn_if_reject.
func warnOnlyIn(ctx context.Context) bool {
	w, _ := ctx.Value(warnKey{}).(bool)
	return w
}

// listState is what one evaluation of a restriction list learns as it
// goes: a defer_if_reject (the restriction, or an access table's
// DEFER_IF_REJECT) turns the next permanent rejection into its own
// temporary reply, as Postfix does for the rest of the list.
type listState struct{ deferReply reply.Reply }

type listStateKey struct{}

// withRecipientState gives the relay and recipient lists of one RCPT
// their shared state.
func withRecipientState(c smtpcheck.Check) smtpcheck.Check {
	return withFresh[listState](c, listStateKey{})
}

// withFresh gives each evaluation of c a new zero S in its context under
// key, for the state one evaluation of a list learns as it goes.
func withFresh[S any](c smtpcheck.Check, key any) smtpcheck.Check {
	if c == nil {
		return nil
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		return c(context.WithValue(ctx, key, new(S)), s)
	}
}

// tableVerbs carries out the verbs that act beyond their own restriction:
// DEFER_IF_REJECT and defer_if_reject (the next permanent rejection
// becomes temporary) and WARN and INFO (a logged line, the request goes
// on).
func (b *builder) tableVerbs(c smtpcheck.Check) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := c(ctx, s)
		st, _ := ctx.Value(listStateKey{}).(*listState)
		if st == nil {
			return r
		}
		if !st.deferReply.IsZero() && r.Action == smtpcheck.Reject {
			rep := st.deferReply
			st.deferReply = reply.Reply{}
			r.Reason.Evidence = strings.TrimSpace(r.Reason.Evidence + " (defer_if_reject: would " + r.DefaultReply().Error() + ")")
			r.Action, r.Reply = smtpcheck.TempFail, rep
			return r
		}
		if r.Action == smtpcheck.Continue {
			verb, text, _ := strings.Cut(r.Reason.Evidence, " ")
			switch verb {
			case "DEFER_IF_REJECT":
				if st.deferReply.IsZero() {
					st.deferReply = r.Reply
				}
			case "WARN", "INFO":
				b.log.LogAttrs(ctx, slog.LevelWarn, "access table "+strings.ToLower(verb),
					slog.Any("session", s), slog.String("table", r.Reason.Rule), slog.String("text", text))
			}
		}
		return r
	}
}

// deferIfReject is the defer_if_reject restriction.
func deferIfReject(list string) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if st, _ := ctx.Value(listStateKey{}).(*listState); st != nil && st.deferReply.IsZero() {
			k, who := subjectOf(list, s)
			st.deferReply = postfix.ReplyFor(k, who, 450, "4.7.0", "", "defer_if_reject requested", "")
		}
		return smtpcheck.Result{}
	}
}

// coded wraps a check so its refusals carry the code from parameter param.
func (b *builder) coded(param string, c smtpcheck.Check) (smtpcheck.Check, error) {
	code, err := b.code(param)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		return c(ctx, s).WithCode(code)
	}, nil
}

var errNeedsDNS = errors.New("needs a DNS resolver, and none is configured")

// restriction builds one restriction of list.
func (b *builder) restriction(list, name, arg string) (smtpcheck.Check, error) {
	needDNS := func() error {
		if b.env.Resolver == nil {
			return b.errorAt(list, fmt.Sprintf("%s %v", name, errNeedsDNS))
		}
		return nil
	}
	res := b.env.Resolver
	switch name {
	case "permit":
		return func(context.Context, *smtpcheck.Session) smtpcheck.Result {
			return smtpcheck.Permit(smtpcheck.Reason{Rule: "permit"})
		}, nil
	case "dunno":
		return func(context.Context, *smtpcheck.Session) smtpcheck.Result { return smtpcheck.Result{} }, nil
	case "reject":
		return b.listRefusal(list, "reject_code", "5.7.1", "Access denied", "reject")
	case "defer":
		return b.listRefusal(list, "defer_code", "4.3.2", "Try again later", "defer")
	case "defer_if_reject":
		return deferIfReject(list), nil
	case "defer_if_permit":
		return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			k, who := subjectOf(list, s)
			r := smtpcheck.Refuse(postfix.ReplyFor(k, who, 450, "4.7.0", "", "defer_if_permit requested", ""),
				smtpcheck.Reason{Rule: "defer_if_permit"})
			r.Action = smtpcheck.DeferIfPermit
			return r
		}, nil
	case "permit_mynetworks":
		return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			if b.inMyNetworks(s.Conn.ClientIP) {
				return smtpcheck.Permit(smtpcheck.Reason{Rule: "permit_mynetworks", Matched: s.Conn.ClientIP.String()})
			}
			return smtpcheck.Result{}
		}, nil
	case "permit_sasl_authenticated":
		return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			if s.Conn.AuthUser != "" {
				return smtpcheck.Permit(smtpcheck.Reason{Rule: "permit_sasl_authenticated", Matched: s.Conn.AuthUser})
			}
			return smtpcheck.Result{}
		}, nil
	case "reject_unauth_destination", "defer_unauth_destination":
		// Postfix: relay_domains_reject_code with 5.7.1, and for the defer
		// form that code less 100 with 4.7.1.
		code, err := b.code("relay_domains_reject_code")
		if err != nil {
			return nil, err
		}
		if name == "defer_unauth_destination" {
			code -= 100
		}
		return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			if s.Stage != smtpcheck.StageRcpt || b.authDestination(s.Rcpt) {
				return smtpcheck.Result{}
			}
			return smtpcheck.Refuse(reply.RelayAccessDenied(s.Rcpt.String()),
				smtpcheck.Reason{Rule: name, Matched: s.Rcpt.DomainFold()}).WithCode(code)
		}, nil
	case "reject_unauth_pipelining":
		// Postfix answers 503 5.5.0 whatever the codes say.
		return rephrase(hygiene.Pipelining(hygiene.PipeliningConfig{}), func(s *smtpcheck.Session) reply.Reply {
			k, who := subjectOf(list, s)
			return postfix.ReplyFor(k, who, 503, "5.5.0", "", "Improper use of SMTP command pipelining", "")
		}), nil
	case "reject_invalid_helo_hostname":
		code, err := b.code("invalid_hostname_reject_code")
		if err != nil {
			return nil, err
		}
		return hygiene.PostfixInvalidHelo(hygiene.PostfixConfig{InvalidHostnameCode: code}), nil
	case "reject_non_fqdn_helo_hostname":
		code, err := b.code("non_fqdn_reject_code")
		if err != nil {
			return nil, err
		}
		bad, err := b.code("invalid_hostname_reject_code")
		if err != nil {
			return nil, err
		}
		return hygiene.PostfixNonFQDNHelo(hygiene.PostfixConfig{NonFQDNCode: code, InvalidHostnameCode: bad}), nil
	case "reject_unknown_helo_hostname":
		if err := needDNS(); err != nil {
			return nil, err
		}
		code, err := b.code("unknown_hostname_reject_code")
		if err != nil {
			return nil, err
		}
		bad, err := b.code("invalid_hostname_reject_code")
		if err != nil {
			return nil, err
		}
		tf, err := b.tempfailAction("unknown_helo_hostname_tempfail_action")
		if err != nil {
			return nil, err
		}
		return hygiene.PostfixUnknownHelo(hygiene.PostfixConfig{Resolver: res,
			UnknownHostnameCode: code, InvalidHostnameCode: bad, HeloTempFail: tf}), nil
	case "reject_non_fqdn_sender", "reject_non_fqdn_recipient":
		code, err := b.code("non_fqdn_reject_code")
		if err != nil {
			return nil, err
		}
		return hygiene.PostfixNonFQDNAddress(hygiene.PostfixConfig{NonFQDNCode: code}, name == "reject_non_fqdn_recipient"), nil
	case "reject_unknown_sender_domain", "reject_unknown_recipient_domain":
		if err := needDNS(); err != nil {
			return nil, err
		}
		code, err := b.code("unknown_address_reject_code")
		if err != nil {
			return nil, err
		}
		tf, err := b.tempfailAction("unknown_address_tempfail_action")
		if err != nil {
			return nil, err
		}
		return hygiene.PostfixUnknownDomain(hygiene.PostfixConfig{Resolver: res, UnknownAddressCode: code, AddressTempFail: tf,
			Origin: b.access.Origin, Final: b.finalDestination}, name == "reject_unknown_recipient_domain"), nil
	case "reject_unknown_client_hostname":
		if err := needDNS(); err != nil {
			return nil, err
		}
		code, err := b.code("unknown_client_reject_code")
		if err != nil {
			return nil, err
		}
		// Postfix refuses both a client without a PTR name and one whose
		// name does not lead back to its address: unknown_client_reject_code
		// when DNS said so, 450 when DNS could not say (4.7.25, RFC 7372).
		cc := hygiene.ClientConfig{Resolver: res}
		check := smtpcheck.FirstMatch(hygiene.ClientPTR(cc), hygiene.ClientFCrDNS(hygiene.FCrDNSConfig{ClientConfig: cc}))
		return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			return clientNameOutcome(check(ctx, s), reply.ClientNoHostnameAuth(s.Conn.ClientIP.String()), code)
		}, nil
	case "reject_unknown_reverse_client_hostname":
		if err := needDNS(); err != nil {
			return nil, err
		}
		code, err := b.code("unknown_client_reject_code")
		if err != nil {
			return nil, err
		}
		check := hygiene.ClientPTR(hygiene.ClientConfig{Resolver: res})
		return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			return clientNameOutcome(check(ctx, s), reply.ClientNoReverseHostname(s.Conn.ClientIP.String()), code)
		}, nil
	case "reject_rbl_client", "reject_rhsbl_client", "reject_rhsbl_reverse_client", "reject_rhsbl_helo",
		"reject_rhsbl_sender", "reject_rhsbl_recipient", "permit_dnswl_client", "permit_rhswl_client":
		if err := needDNS(); err != nil {
			return nil, err
		}
		return b.dnsList(list, name, arg)
	case "reject_unverified_recipient":
		if b.env.VerifyRecipient == nil {
			return nil, b.errorAt(list, "reject_unverified_recipient needs a recipient verifier, and none is configured")
		}
		return b.unverified(true)
	case "reject_unlisted_recipient", "check_recipient_maps":
		return b.unlisted(true, false), nil
	case "reject_unlisted_sender":
		return b.unlisted(false, false), nil
	case "reject_unverified_sender":
		if b.env.VerifySender == nil {
			return nil, b.errorAt(list, "reject_unverified_sender needs a sender verifier, and none is configured")
		}
		return b.unverified(false)
	case "check_client_access", "check_helo_access", "check_sender_access", "check_recipient_access",
		"check_reverse_client_hostname_access":
		subjectList := "smtpd_recipient_restrictions"
		var mk func(postfix.Table) smtpcheck.Check
		switch name {
		case "check_client_access":
			mk, subjectList = func(t postfix.Table) smtpcheck.Check { return postfix.CheckClientAccess(t, b.access) }, "smtpd_client_restrictions"
		case "check_reverse_client_hostname_access":
			if err := needDNS(); err != nil {
				return nil, err
			}
			mk, subjectList = b.reverseClientAccess, "smtpd_client_restrictions"
		case "check_helo_access":
			mk, subjectList = func(t postfix.Table) smtpcheck.Check { return postfix.CheckHeloAccess(t, b.access) }, "smtpd_helo_restrictions"
		case "check_sender_access":
			mk, subjectList = func(t postfix.Table) smtpcheck.Check { return postfix.CheckSenderAccess(t, b.access) }, "smtpd_sender_restrictions"
		default:
			mk = func(t postfix.Table) smtpcheck.Check { return postfix.CheckRecipientAccess(t, b.access) }
		}
		return b.tableCheck(list, name, arg, subjectList, mk)
	}
	if what, typ, ok := serverCheckName(name); ok {
		if err := needDNS(); err != nil {
			return nil, err
		}
		subjectList := "smtpd_" + what + "_restrictions"
		return b.tableCheck(list, name, arg, subjectList, func(t postfix.Table) smtpcheck.Check {
			return b.serverAccess(name, t, typ, b.serverSubjectFor(what))
		})
	}
	if unimplemented[name] {
		return nil, b.errorAt(list, fmt.Sprintf("restriction %q is not implemented by smtppolicy", name))
	}
	if _, ok := b.classes[name]; ok {
		return b.restrictionClass(list, name)
	}
	return nil, b.errorAt(list, fmt.Sprintf("unknown restriction %q", name))
}

// serverCheckName reads check_{client,helo,sender,recipient}_{mx,ns,a}_access.
func serverCheckName(name string) (what string, typ serverType, ok bool) {
	rest, ok := strings.CutPrefix(name, "check_")
	if !ok {
		return "", 0, false
	}
	rest, ok = strings.CutSuffix(rest, "_access")
	if !ok {
		return "", 0, false
	}
	what, kind, ok := strings.Cut(rest, "_")
	switch what {
	case "client", "helo", "sender", "recipient":
	default:
		return "", 0, false
	}
	switch kind {
	case "mx":
		return what, serverMX, true
	case "ns":
		return what, serverNS, true
	case "a":
		return what, serverA, true
	}
	return "", 0, false
}

// tableCheck builds a restriction that looks a table up (mk makes the
// check from the loaded table): entries naming restrictions are evaluated
// in place, for the subject of subjectList, as Postfix does. A policy
// service evaluates them too where its file can (a class it defines), so
// that the rest of its lists sees their verdict, as in Postfix; the others
// it passes to Postfix.
func (b *builder) tableCheck(list, name, arg, subjectList string, mk func(postfix.Table) smtpcheck.Check) (smtpcheck.Check, error) {
	t, err := loadTable(arg)
	if err != nil {
		return nil, b.errorAt(list, fmt.Sprintf("%s %s: %v", name, arg, err))
	}
	c := mk(t)
	inPlace, err := b.tableRestrictions(arg, subjectList, t)
	if err != nil {
		return nil, b.errorAt(list, fmt.Sprintf("%s %s: %v", name, arg, err))
	}
	// A hash: table read again after postmap may name restrictions the
	// load did not see: they are compiled when first met. One that does not
	// compile answers as Postfix answers an unknown restriction in a table,
	// or, for a policy service (Env.PassActions), goes to Postfix as
	// written.
	mu := &b.late
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := c(ctx, s)
		words, ok := strings.CutPrefix(r.Reason.Evidence, postfix.Restrictions.String()+" ")
		if !ok || r.Action != smtpcheck.Continue {
			return r
		}
		mu.Lock()
		rc, seen := inPlace[words]
		if !seen {
			checks, err := b.compileWords(subjectList, Fields(words))
			switch {
			case err != nil && b.env.PassActions:
				inPlace[words] = nil
			case err != nil:
				mu.Unlock()
				b.log.LogAttrs(ctx, slog.LevelError, "access table names a restriction that cannot be used",
					slog.String("table", arg), slog.String("result", words), slog.String("error", err.Error()))
				return smtpcheck.Refuse(reply.MustNew(451, "4.3.5", "Server configuration error"),
					smtpcheck.Reason{Rule: r.Reason.Rule, Matched: r.Reason.Matched, Evidence: err.Error()})
			default:
				rc = smtpcheck.FirstMatch(checks...)
				inPlace[words] = rc
			}
		}
		mu.Unlock()
		if rc == nil {
			return r // passed to Postfix as written
		}
		// Evaluated here, in place, as Postfix evaluates it: what follows
		// in the list sees its verdict, and Postfix is not asked again.
		postfix.Withdraw(s, words)
		return rc(ctx, s)
	}, nil
}

// tableRestrictions compiles, once at load, the restriction names a
// table's entries give (evaluated in place of the entry, for the subject
// of list, as Postfix does), and refuses a table holding an action this
// server cannot carry out (FILTER, REDIRECT, BCC, a restriction class, a
// "$1" restriction), naming each line. For a policy service
// (Env.PassActions) nothing is refused: what does not compile here (a
// class its file does not define, reject_unverified_sender without a
// verifier) is left out, for Postfix to carry out as written.
func (b *builder) tableRestrictions(spec, list string, t postfix.Table) (map[string]smtpcheck.Check, error) {
	_, file, _ := strings.Cut(spec, ":")
	var errs access.LoadError
	fail := func(line int, err error) {
		if len(errs.Errs) == 20 {
			errs.More++
			return
		}
		errs.Errs = append(errs.Errs, &access.LineError{File: file, Line: line, Err: err})
	}
	inPlace := map[string]smtpcheck.Check{}
	for _, a := range postfix.Entries(t) {
		switch {
		case !a.Delegated():
			continue
		case a.Verb != postfix.Restrictions && b.env.PassActions:
			continue
		case a.Verb != postfix.Restrictions:
			fail(a.Line, fmt.Errorf("%q is carried out by Postfix only; this server cannot (it does HOLD, DISCARD, PREPEND, WARN, restriction names and the refusals)", a.String()))
			continue
		case inPlace[a.Text] != nil:
			continue
		}
		// No lookup table can appear here (access(5) refuses a ":" in an
		// action), so this never recurses into the table itself.
		checks, err := b.compileWords(list, Fields(a.Text))
		if err != nil && b.env.PassActions {
			inPlace[a.Text] = nil
			continue
		}
		if err != nil {
			var pe *Error
			if errors.As(err, &pe) {
				err = errors.New(pe.Msg)
			}
			fail(a.Line, fmt.Errorf("%q: %v", a.Text, err))
			continue
		}
		inPlace[a.Text] = smtpcheck.FirstMatch(checks...)
	}
	if len(errs.Errs) > 0 {
		return nil, &errs
	}
	return inPlace, nil
}

// rephrase gives a check's refusals Postfix's wording for the restriction,
// keeping the check's verdict, reason and trace.
func rephrase(c smtpcheck.Check, wording func(*smtpcheck.Session) reply.Reply) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := c(ctx, s)
		// A lookup that failed is a defer-if-permit: worded as well.
		if r.Action.Refuses() || r.Action == smtpcheck.DeferIfPermit {
			r.Reply = wording(s)
			r.Action = postfix.Refuse(r.Reply, r.Reason).Action
		}
		return r
	}
}

// listRefusal is the reject and defer restrictions: a refusal of whatever
// the list is about, with the code from codeParam.
func (b *builder) listRefusal(list, codeParam, enh, text, rule string) (smtpcheck.Check, error) {
	code, err := b.code(codeParam)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		k, who := subjectOf(list, s)
		return postfix.Refuse(postfix.ReplyFor(k, who, code, enh, "", text, ""), smtpcheck.Reason{Rule: rule})
	}, nil
}

// subjectOf is what a list's own refusals name, as Postfix's reply_name and
// reply_class: "<name[addr]>: Client host rejected: ..." in the client
// list, the HELO name, sender or recipient in theirs, "<DATA>: Data command
// rejected: ..." at DATA.
func subjectOf(list string, s *smtpcheck.Session) (postfix.Kind, string) {
	switch list {
	case "smtpd_recipient_restrictions", "smtpd_relay_restrictions":
		return postfix.Recipient, s.Rcpt.String()
	case "smtpd_sender_restrictions":
		if s.Mail != nil {
			return postfix.Sender, s.Mail.From.String()
		}
		return postfix.Sender, ""
	case "smtpd_helo_restrictions":
		return postfix.Helo, s.Helo.Name
	case "smtpd_data_restrictions":
		return postfix.Data, "DATA"
	case "smtpd_end_of_data_restrictions":
		return postfix.EndOfData, "END-OF-MESSAGE"
	}
	return postfix.Client, clientName(s)
}

// clientName is Postfix's "name[address]" for the client.
func clientName(s *smtpcheck.Session) string {
	return s.Conn.Name() + "[" + s.Conn.ClientIP.String() + "]"
}

// authDestination is Postfix's permit_auth_destination: a recipient this
// server takes mail for (relay_domains, mydestination). One without a
// domain is judged as trivial-rewrite completes it, user@$myorigin: a
// destination here only when $myorigin is (it is local when
// append_at_myorigin = no).
func (b *builder) authDestination(a smtpcheck.Address) bool {
	d := a.Domain
	if d == "" {
		if b.access.Origin == "" {
			return true
		}
		d = b.access.Origin
	}
	return b.localDomain(d) || b.finalDestination(d)
}

// tempfailAction reads a *_tempfail_action parameter: what a restriction
// does when DNS cannot answer now.
func (b *builder) tempfailAction(name string) (smtpcheck.Action, error) {
	v, err := b.value(name)
	if err != nil {
		return 0, err
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "defer_if_permit":
		return smtpcheck.DeferIfPermit, nil
	case "defer":
		return smtpcheck.TempFail, nil
	}
	return 0, b.errorAt(name, fmt.Sprintf("expected defer_if_permit or defer, got %q", v))
}

// clientNameOutcome is the answer of reject_unknown_client_hostname and
// reject_unknown_reverse_client_hostname: rep with code when DNS said the
// name is missing or false, with 450 when DNS could not say.
func clientNameOutcome(r smtpcheck.Result, rep reply.Reply, code int) smtpcheck.Result {
	if !r.Action.Refuses() && r.Action != smtpcheck.DeferIfPermit {
		return r
	}
	if r.Err != nil {
		code = 450
		r.Reason.Evidence = strings.TrimSpace(r.Reason.Evidence + " " + r.Err.Error())
	}
	return smtpcheck.Refuse(rep, r.Reason).WithCode(code)
}

// unverified is reject_unverified_recipient (rcpt) or
// reject_unverified_sender, with Postfix's replies: an address the verifier
// calls undeliverable gets unverified_*_reject_code, one it cannot verify
// now unverified_*_defer_code. A 5xx code answers "undeliverable address:
// why"; a 4xx code (the default 450, so a mistake in the verifier costs a
// delay, not mail) answers "unverified address: why" as
// unverified_*_tempfail_action says. unverified_*_reject_reason, when set,
// replaces why. The enhanced code is 4.1.1 for a recipient, 4.1.7 for a
// sender (its class follows the reply code); the null sender is never
// verified.
func (b *builder) unverified(rcpt bool) (smtpcheck.Check, error) {
	role, rule, kind, enh := "sender", "reject_unverified_sender", postfix.Sender, "4.1.7"
	verify := b.env.VerifySender
	if rcpt {
		role, rule, kind, enh = "recipient", "reject_unverified_recipient", postfix.Recipient, "4.1.1"
		verify = b.env.VerifyRecipient
	}
	rejectCode, err := b.code("unverified_" + role + "_reject_code")
	if err != nil {
		return nil, err
	}
	deferCode, err := b.code("unverified_" + role + "_defer_code")
	if err != nil {
		return nil, err
	}
	tf, err := b.tempfailAction("unverified_" + role + "_tempfail_action")
	if err != nil {
		return nil, err
	}
	alt, err := b.value("unverified_" + role + "_reject_reason")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		a, ok := roleAddress(s, rcpt)
		if !ok {
			return smtpcheck.Result{}
		}
		err := verify(ctx, a)
		if err == nil {
			return smtpcheck.Result{}
		}
		reason := smtpcheck.Reason{Rule: rule, Matched: a.String(), Evidence: err.Error()}
		code, why := deferCode, err.Error()
		if errors.Is(err, ErrUndeliverable) {
			code = rejectCode
			if err == ErrUndeliverable {
				why = fmt.Sprintf("unknown user: %q", a.String())
			}
		}
		if alt != "" {
			why = alt
		}
		if code < 500 {
			r := smtpcheck.Refuse(postfix.ReplyFor(kind, a.String(), code, enh, "", "unverified address: "+why, ""), reason)
			r.Action = tf
			return r
		}
		return postfix.Refuse(postfix.ReplyFor(kind, a.String(), code, enh, "", "undeliverable address: "+why, ""), reason)
	}, nil
}

// refusedCodes are the answers that mean the list refused the query, less
// those the list's own filter names: Postfix counts any answer the filter
// matches, and an administrator who writes
// zen.spamhaus.org=127.255.255.[1..255] (often under warn_if_reject) asks
// for exactly those answers.
func refusedCodes(l dnsbl.List) []netip.Addr {
	if l.Filter == nil {
		return nil
	}
	out := []netip.Addr{}
	for _, a := range dnsbl.DefaultRefusedCodes {
		if !l.Match(a) {
			out = append(out, a)
		}
	}
	return out
}

// allowlistGuard is Postfix's safety for permit_dnswl_client and
// permit_rhswl_client: at RCPT, for a recipient this server does not take
// mail for, the allowlist is not even looked up, so a listed client can
// never relay through a later reject_unauth_destination. A policy service
// whose file names no domain (and whose Env gives none) cannot tell, and
// need not: it never answers Postfix OK, so Postfix's own relay control
// stands whatever the allowlist says.
func (b *builder) allowlistGuard(c smtpcheck.Check) smtpcheck.Check {
	knows := len(b.domains) > 0 || len(b.parents) > 0
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if knows && s.Stage == smtpcheck.StageRcpt && !s.Rcpt.IsNull() && !b.authDestination(s.Rcpt) {
			return smtpcheck.Pass(smtpcheck.Reason{Rule: "allowlist skipped", Matched: s.Rcpt.DomainFold(),
				Evidence: "not a permit for a recipient this server does not take mail for"})
		}
		return c(ctx, s)
	}
}

// dnswlClient is permit_dnswl_client's lookup: a listed client is
// permitted; a list that cannot answer now turns a later rejection in the
// same list into Postfix's 450 4.7.1 "<address>: Client host rejected:
// Service unavailable", as DEFER_IF_REJECT does, so an allowlisted client
// is not refused for good while its allowlist is down.
func dnswlClient(c *dnsbl.ClientLists) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		ip := s.Conn.ClientIP
		if !ip.IsValid() {
			return smtpcheck.Result{}
		}
		v := c.CheckIP(ctx, ip)
		r := c.Decide(ctx, s, v, dnsbl.SubjectClient)
		if r.Action == smtpcheck.Continue && len(v.Errors()) > 0 {
			if st, _ := ctx.Value(listStateKey{}).(*listState); st != nil && st.deferReply.IsZero() {
				st.deferReply = postfix.ReplyFor(postfix.Client, ip.String(), 450, "4.7.1", "", "Service unavailable", "")
			}
		}
		return r
	}
}

// dnsList builds reject_rbl_client and its relatives from a list spec.
func (b *builder) dnsList(list, name, spec string) (smtpcheck.Check, error) {
	l, err := dnsbl.ParseList(spec)
	if err != nil {
		return nil, b.errorAt(list, fmt.Sprintf("%s %s: %v", name, spec, err))
	}
	kind := dnsbl.DomainList
	if name == "reject_rbl_client" || name == "permit_dnswl_client" {
		kind = dnsbl.IPList
	}
	th := smtpcheck.Thresholds{Reject: 1}
	if strings.HasPrefix(name, "permit_") {
		// an allowlist: any listing permits
		l.Weight = -1
		th = smtpcheck.Thresholds{Allow: -1} // and no Reject: a permit list never refuses
	}
	tmpl, err := b.templateFor(l.Zone)
	if err != nil {
		return nil, b.errorAt(list, fmt.Sprintf("reply for %s: %v", l.Zone, err))
	}
	c, err := dnsbl.New(dnsbl.Config{
		Resolver:     b.env.Resolver,
		Lists:        []dnsbl.List{l},
		RefusedCodes: refusedCodes(l),
		Kind:         kind,
		Timeout:      b.env.DNSTimeout,
		Thresholds:   th,
		OnError:      b.dnsErr,
		Style:        dnsbl.StylePostfix,
		Reply:        tmpl,
		Logger:       b.env.Logger,
	})
	if err != nil {
		return nil, b.errorAt(list, fmt.Sprintf("%s %s: %v", name, spec, err))
	}
	switch name {
	case "permit_dnswl_client":
		return b.allowlistGuard(dnswlClient(c)), nil
	case "permit_rhswl_client":
		return b.allowlistGuard(c.ClientNameCheck()), nil
	case "reject_rbl_client":
		return c.ClientCheck(), nil
	case "reject_rhsbl_client":
		return c.ClientNameCheck(), nil
	case "reject_rhsbl_reverse_client":
		return c.ReverseClientNameCheck(), nil
	case "reject_rhsbl_helo":
		return c.HeloCheck(), nil
	case "reject_rhsbl_sender":
		return addressRHSBL(c, dnsbl.SubjectSender), nil
	case "reject_rhsbl_recipient":
		return addressRHSBL(c, dnsbl.SubjectRecipient), nil
	}
	return nil, b.errorAt(list, fmt.Sprintf("restriction %q is not implemented by smtppolicy", name))
}

// addressRHSBL is reject_rhsbl_sender and reject_rhsbl_recipient as
// Postfix's reject_rbl_domain has them: the address's domain (the whole
// address when it has none) is looked up, an address literal or a name
// whose last label is all digits is not, and the reply's $rbl_what is the
// whole address: "Recipient address [bob@example.com] blocked using ...".
// The null sender is not looked up.
func addressRHSBL(c *dnsbl.ClientLists, subj dnsbl.Subject) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		var a smtpcheck.Address
		switch {
		case subj == dnsbl.SubjectRecipient && s.Stage == smtpcheck.StageRcpt:
			a = s.Rcpt
		case subj == dnsbl.SubjectSender && s.Mail != nil:
			a = s.Mail.From
		}
		if a.IsNull() {
			return smtpcheck.Result{}
		}
		d := a.Domain
		if d == "" {
			d = a.Local
		}
		last := d[strings.LastIndexByte(d, '.')+1:]
		if strings.HasPrefix(d, "[") || strings.Trim(last, "0123456789") == "" {
			return smtpcheck.Result{}
		}
		v := c.CheckDomain(ctx, d)
		if v.Err == nil {
			v.Subject = a.String()
		}
		return c.Decide(ctx, s, v, subj)
	}
}
