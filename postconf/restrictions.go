package postconf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/envelope"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
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
	"check_sender_mx_access": true, "check_sender_ns_access": true, "check_sender_a_access": true,
	"check_recipient_mx_access": true, "check_recipient_ns_access": true, "check_recipient_a_access": true,
	"check_client_mx_access": true, "check_client_ns_access": true, "check_client_a_access": true,
	"check_helo_mx_access": true, "check_helo_ns_access": true, "check_helo_a_access": true,
	"check_reverse_client_hostname_access": true, "check_etrn_access": true,
	"reject_unverified_sender": true, "reject_unlisted_recipient": true, "reject_unlisted_sender": true,
	"reject_authenticated_sender_login_mismatch": true, "reject_known_sender_login_mismatch": true,
	"reject_sender_login_mismatch": true, "reject_unauthenticated_sender_login_mismatch": true,
	"reject_unknown_forward_client_hostname": true, "reject_multi_recipient_bounce": true,
	"reject_plaintext_session": true, "permit_tls_clientcerts": true, "permit_tls_all_clientcerts": true,
	"permit_auth_destination": true, "permit_mx_backup": true, "reject_rhsbl_recipient": true,
	"permit_rhswl_client": true, "defer_if_reject_unauth_pipelining": true, "reject_unauth_sender_login_mismatch": true,
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
	"check_sender_mx_access": true, "check_sender_ns_access": true, "check_recipient_mx_access": true,
	"check_recipient_ns_access": true,
}

// restrictionList compiles one smtpd_*_restrictions parameter.
func (b *builder) restrictionList(name string) (smtpcheck.Check, error) {
	v, err := b.value(name)
	if err != nil {
		return nil, err
	}
	words := Fields(v)
	var checks []smtpcheck.Check
	warnNext, deferIfReject := false, false
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
		switch w {
		case "warn_if_reject":
			warnNext = true
			continue
		case "defer_if_reject":
			deferIfReject = true
			continue
		}
		c, err := b.restriction(name, w, arg)
		if err != nil {
			return nil, err
		}
		c = b.tableVerbs(smtpcheck.Named(w, c))
		if deferIfReject {
			c = deferRejects(c)
		}
		if warnNext {
			c = b.warnOnly(w, c)
			warnNext = false
		}
		checks = append(checks, c)
	}
	if warnNext {
		return nil, b.errorAt(name, "warn_if_reject must be followed by a restriction")
	}
	if len(checks) == 0 {
		return nil, nil
	}
	list := smtpcheck.FirstMatch(checks...)
	// A permit ends this list only; the next list still runs.
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		ctx = context.WithValue(ctx, listStateKey{}, &listState{})
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
		r := c(ctx, s)
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

// listState is what one evaluation of a restriction list learns as it
// goes: an access table's DEFER_IF_REJECT applies to the rest of the list.
type listState struct{ deferRejects bool }

type listStateKey struct{}

// tableVerbs carries out the access(5) verbs that act beyond their own
// lookup: DEFER_IF_REJECT (later rejections in this list become
// temporary) and WARN (a logged warning, the request goes on).
func (b *builder) tableVerbs(c smtpcheck.Check) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := c(ctx, s)
		st, _ := ctx.Value(listStateKey{}).(*listState)
		if st == nil {
			return r
		}
		if st.deferRejects && r.Action == smtpcheck.Reject {
			return deferred(r)
		}
		if r.Action == smtpcheck.Continue {
			verb, text, _ := strings.Cut(r.Reason.Evidence, " ")
			switch verb {
			case "DEFER_IF_REJECT":
				st.deferRejects = true
			case "WARN":
				b.log.LogAttrs(ctx, slog.LevelWarn, "access table warning",
					slog.Any("session", s), slog.String("table", r.Reason.Rule), slog.String("text", text))
			}
		}
		return r
	}
}

// deferred turns a permanent refusal into a temporary one (450).
func deferred(r smtpcheck.Result) smtpcheck.Result {
	r.Action = smtpcheck.TempFail
	if rep, err := r.DefaultReply().WithCode(450); err == nil {
		r.Reply = rep
	}
	r.Reason.Evidence = strings.TrimSpace(r.Reason.Evidence + " (defer_if_reject)")
	return r
}

// deferRejects is defer_if_reject: a later permanent refusal becomes a
// temporary one.
func deferRejects(c smtpcheck.Check) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := c(ctx, s)
		if r.Action == smtpcheck.Reject {
			r = deferred(r)
		}
		return r
	}
}

// withCode applies a *_reject_code parameter to a refusal. A null MX
// (RFC 7505: X.7.27 for a sender, X.1.10 for a recipient) is a fact, not a
// lookup result, and keeps its permanent code.
func withCode(r smtpcheck.Result, code int) smtpcheck.Result {
	if !r.Action.Refuses() || r.Reply.IsZero() || r.Reply.Code() == code {
		return r
	}
	if e := r.Reply.Enhanced(); (e.Subject == 7 && e.Detail == 27) || (e.Subject == 1 && e.Detail == 10) {
		return r
	}
	if rep, err := r.Reply.WithCode(code); err == nil {
		r.Reply = rep
		r = classAction(r)
	}
	return r
}

// classAction makes a refusal's action agree with its reply's class.
func classAction(r smtpcheck.Result) smtpcheck.Result {
	switch {
	case r.Reply.IsTransient() && r.Action == smtpcheck.Reject:
		r.Action = smtpcheck.TempFail
	case r.Reply.IsPermanent() && r.Action == smtpcheck.TempFail:
		r.Action = smtpcheck.Reject
	}
	return r
}

// coded wraps a check so its refusals carry the code from parameter param.
func (b *builder) coded(param string, c smtpcheck.Check) (smtpcheck.Check, error) {
	code, err := b.code(param)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		return withCode(c(ctx, s), code)
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
		return b.fixedRefusal(list, "reject_code", "reject")
	case "defer":
		return b.fixedRefusal(list, "defer_code", "defer")
	case "defer_if_permit":
		code, err := b.code("defer_code")
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			r := withCode(smtpcheck.Refuse(accessDenied(list, s), smtpcheck.Reason{Rule: "defer_if_permit"}), code)
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
		param := "relay_domains_reject_code"
		if name == "defer_unauth_destination" {
			param = "defer_code"
		}
		return b.coded(param, func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			if s.Stage != smtpcheck.StageRcpt || s.Rcpt.Domain == "" || b.localDomain(s.Rcpt.Domain) {
				return smtpcheck.Result{}
			}
			return smtpcheck.Refuse(reply.RecipientRelayDenied(s.Rcpt.String()),
				smtpcheck.Reason{Rule: name, Matched: s.Rcpt.DomainFold()})
		})
	case "reject_unauth_pipelining":
		return b.coded("unauth_pipelining_reject_code", hygiene.Pipelining(hygiene.PipeliningConfig{}))
	case "reject_invalid_helo_hostname":
		return b.coded("invalid_hostname_reject_code", smtpcheck.FirstMatch(
			hygiene.HeloChars(hygiene.HeloCharsConfig{}), invalidHelo))
	case "reject_non_fqdn_helo_hostname":
		return b.coded("non_fqdn_reject_code", rephrase(hygiene.HeloFQDN(hygiene.HeloFQDNConfig{}),
			func(s *smtpcheck.Session) reply.Reply { return reply.HeloNeedFQDN(s.Helo.Name) }))
	case "reject_unknown_helo_hostname":
		if err := needDNS(); err != nil {
			return nil, err
		}
		return b.coded("unknown_hostname_reject_code", hygiene.HeloHostname(hygiene.DomainConfig{Resolver: res}))
	case "reject_non_fqdn_sender":
		return b.coded("non_fqdn_reject_code", nonFQDN(false))
	case "reject_non_fqdn_recipient":
		return b.coded("non_fqdn_reject_code", nonFQDN(true))
	case "reject_unknown_sender_domain":
		if err := needDNS(); err != nil {
			return nil, err
		}
		return b.coded("unknown_address_reject_code", hygiene.SenderDomain(hygiene.DomainConfig{Resolver: res}))
	case "reject_unknown_recipient_domain":
		if err := needDNS(); err != nil {
			return nil, err
		}
		return b.coded("unknown_address_reject_code", recipientDomain(res))
	case "reject_unknown_client_hostname":
		if err := needDNS(); err != nil {
			return nil, err
		}
		// Postfix refuses both a client without a PTR name and one whose
		// name does not lead back to its address.
		cc := hygiene.ClientConfig{Resolver: res}
		noName := func(s *smtpcheck.Session) reply.Reply { return reply.ClientNoHostnameTemp(s.Conn.ClientIP.String()) }
		return b.coded("unknown_client_reject_code", smtpcheck.FirstMatch(
			rephrase(hygiene.ClientPTR(cc), noName),
			rephrase(hygiene.ClientFCrDNS(hygiene.FCrDNSConfig{ClientConfig: cc}), noName)))
	case "reject_unknown_reverse_client_hostname":
		if err := needDNS(); err != nil {
			return nil, err
		}
		return b.coded("unknown_client_reject_code", hygiene.ClientPTR(hygiene.ClientConfig{Resolver: res}))
	case "reject_rbl_client", "reject_rhsbl_client", "reject_rhsbl_reverse_client", "reject_rhsbl_helo",
		"reject_rhsbl_sender", "permit_dnswl_client":
		if err := needDNS(); err != nil {
			return nil, err
		}
		return b.dnsList(list, name, arg)
	case "reject_unverified_recipient":
		if b.env.VerifyRecipient == nil {
			return nil, b.errorAt(list, "reject_unverified_recipient needs a recipient verifier, and none is configured")
		}
		return b.unverifiedRecipient()
	case "check_client_access", "check_helo_access", "check_sender_access", "check_recipient_access":
		t, err := postfix.Load(arg)
		if err != nil {
			return nil, b.errorAt(list, fmt.Sprintf("%s %s: %v", name, arg, err))
		}
		var c smtpcheck.Check
		switch name {
		case "check_client_access":
			c = postfix.CheckClientAccess(t, b.access)
		case "check_helo_access":
			c = postfix.CheckHeloAccess(t, b.access)
		case "check_sender_access":
			c = postfix.CheckSenderAccess(t, b.access)
		default:
			c = postfix.CheckRecipientAccess(t, b.access)
		}
		return b.coded("access_map_reject_code", c)
	}
	if unimplemented[name] {
		return nil, b.errorAt(list, fmt.Sprintf("restriction %q is not implemented by smtppolicy", name))
	}
	return nil, b.errorAt(list, fmt.Sprintf("unknown restriction %q", name))
}

// rephrase gives a check's refusals Postfix's wording for the restriction,
// keeping the check's verdict, reason and trace.
func rephrase(c smtpcheck.Check, wording func(*smtpcheck.Session) reply.Reply) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := c(ctx, s)
		// A lookup that failed is a defer-if-permit: worded as well.
		if r.Action.Refuses() || r.Action == smtpcheck.DeferIfPermit {
			r.Reply = wording(s)
			r = classAction(r)
		}
		return r
	}
}

// fixedRefusal is the reject and defer restrictions: Postfix's "Access
// denied" for whatever the list is about.
func (b *builder) fixedRefusal(list, codeParam, rule string) (smtpcheck.Check, error) {
	code, err := b.code(codeParam)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		return withCode(smtpcheck.Refuse(accessDenied(list, s), smtpcheck.Reason{Rule: rule}), code)
	}, nil
}

// accessDenied is Postfix's "<x>: ... rejected: Access denied" for the
// thing a list is about, taken from the session's stage.
func accessDenied(list string, s *smtpcheck.Session) reply.Reply {
	switch {
	case s.Stage == smtpcheck.StageRcpt && (list == "smtpd_recipient_restrictions" || list == "smtpd_relay_restrictions"):
		return reply.RecipientAccessDenied(s.Rcpt.String())
	case list == "smtpd_sender_restrictions" && s.Mail != nil:
		return reply.SenderAccessDenied(s.Mail.From.String())
	case list == "smtpd_helo_restrictions":
		return reply.HeloAccessDenied(s.Helo.Name)
	}
	return reply.ClientAccessDenied(clientName(s))
}

// clientName is Postfix's "name[address]" for the client.
func clientName(s *smtpcheck.Session) string {
	return s.Conn.Name() + "[" + s.Conn.ClientIP.String() + "]"
}

// invalidHelo is the rest of reject_invalid_helo_hostname once the
// characters are fine: a bracketed literal must hold a valid address, and a
// name must be a valid host name (label lengths, hyphens).
func invalidHelo(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
	h := s.Helo.Name
	if h == "" {
		return smtpcheck.Result{}
	}
	reason := smtpcheck.Reason{Rule: "reject_invalid_helo_hostname", Matched: h}
	if strings.HasPrefix(h, "[") {
		if _, err := envelope.ParseLiteral(h); err != nil {
			reason.Evidence = err.Error()
			return smtpcheck.Refuse(reply.HeloInvalidIP(h), reason)
		}
		return smtpcheck.Result{}
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return smtpcheck.Result{} // a bare address: Postfix accepts it here
	}
	if err := envelope.ValidDomain(strings.TrimSuffix(h, "."), envelope.Options{}); err != nil {
		reason.Evidence = err.Error()
		return smtpcheck.Refuse(reply.HeloInvalid(h), reason)
	}
	return smtpcheck.Result{}
}

// nonFQDN is reject_non_fqdn_sender / reject_non_fqdn_recipient: the
// address's domain must be a fully qualified domain name.
func nonFQDN(rcpt bool) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		var a smtpcheck.Address
		switch {
		case rcpt && s.Stage == smtpcheck.StageRcpt:
			a = s.Rcpt
		case !rcpt && s.Mail != nil:
			a = s.Mail.From
		default:
			return smtpcheck.Result{}
		}
		if a.IsNull() || (rcpt && a.Domain == "" && strings.EqualFold(a.Local, "postmaster")) {
			return smtpcheck.Result{}
		}
		d := strings.TrimSuffix(a.Domain, ".")
		if d != "" && (strings.HasPrefix(d, "[") || strings.Contains(d, ".")) {
			return smtpcheck.Result{}
		}
		reason := smtpcheck.Reason{Rule: "non_fqdn", Matched: a.String()}
		if rcpt {
			return smtpcheck.Refuse(reply.RecipientNotFQDN(a.String()), reason)
		}
		return smtpcheck.Refuse(reply.SenderNotFQDN(a.String()), reason)
	}
}

// recipientDomain is reject_unknown_recipient_domain: the recipient's
// domain needs an MX or an address record; a null MX gets 556 5.1.10.
func recipientDomain(res *resolver.Resolver) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Stage != smtpcheck.StageRcpt || s.Rcpt.Domain == "" || strings.HasPrefix(s.Rcpt.Domain, "[") {
			return smtpcheck.Result{}
		}
		d := s.Rcpt.DomainFold()
		reason := smtpcheck.Reason{Rule: "reject_unknown_recipient_domain", Matched: d}
		mx, err := res.LookupMX(ctx, d)
		if err == nil {
			if len(mx) == 1 && (mx[0].Host == "." || mx[0].Host == "") {
				return smtpcheck.Refuse(reply.RecipientNullMX(s.Rcpt.String(), d), reason)
			}
			return smtpcheck.Result{}
		}
		if !resolver.IsNotFound(err) {
			return smtpcheck.Result{Err: err, Reason: reason}
		}
		if _, err := res.LookupIP(ctx, d); err == nil {
			return smtpcheck.Result{}
		} else if !resolver.IsNotFound(err) {
			return smtpcheck.Result{Err: err, Reason: reason}
		}
		return smtpcheck.Refuse(reply.RecipientDomainNotFoundTemp(s.Rcpt.String()), reason)
	}
}

// unverifiedRecipient is reject_unverified_recipient: an address the
// verifier calls undeliverable is refused with unverified_recipient_reject_code
// (Postfix's default 450, so a mistake in the verifier costs a delay, not
// mail); one it cannot verify now is deferred with
// unverified_recipient_defer_code.
func (b *builder) unverifiedRecipient() (smtpcheck.Check, error) {
	rejectCode, err := b.code("unverified_recipient_reject_code")
	if err != nil {
		return nil, err
	}
	deferCode, err := b.code("unverified_recipient_defer_code")
	if err != nil {
		return nil, err
	}
	verify := b.env.VerifyRecipient
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Stage != smtpcheck.StageRcpt {
			return smtpcheck.Result{}
		}
		err := verify(ctx, s.Rcpt)
		if err == nil {
			return smtpcheck.Result{}
		}
		reason := smtpcheck.Reason{Rule: "reject_unverified_recipient", Matched: s.Rcpt.String(), Evidence: err.Error()}
		if errors.Is(err, ErrUndeliverable) {
			return withCode(smtpcheck.Refuse(reply.RecipientUnknownLocal(s.Rcpt.String()), reason), rejectCode)
		}
		return withCode(smtpcheck.Refuse(reply.TemporaryLookupFailure(s.Rcpt.String()), reason), deferCode)
	}, nil
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
		th = smtpcheck.Thresholds{Allow: -1, Reject: 1e9}
	}
	tmpl, err := b.templateFor(l.Zone)
	if err != nil {
		return nil, b.errorAt(list, fmt.Sprintf("reply for %s: %v", l.Zone, err))
	}
	c, err := dnsbl.New(dnsbl.Config{
		Resolver:   b.env.Resolver,
		Lists:      []dnsbl.List{l},
		Kind:       kind,
		Timeout:    b.env.DNSTimeout,
		Thresholds: th,
		OnError:    b.dnsErr,
		Style:      dnsbl.StylePostfix,
		Reply:      tmpl,
		Logger:     b.env.Logger,
	})
	if err != nil {
		return nil, b.errorAt(list, fmt.Sprintf("%s %s: %v", name, spec, err))
	}
	switch name {
	case "reject_rbl_client", "permit_dnswl_client":
		return c.ClientCheck(), nil
	case "reject_rhsbl_client":
		return c.ClientNameCheck(), nil
	case "reject_rhsbl_reverse_client":
		return c.ReverseClientNameCheck(), nil
	case "reject_rhsbl_helo":
		return c.HeloCheck(), nil
	case "reject_rhsbl_sender":
		return c.SenderCheck(), nil
	}
	return nil, b.errorAt(list, fmt.Sprintf("restriction %q is not implemented by smtppolicy", name))
}
