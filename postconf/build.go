package postconf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// Env is what a configuration's checks are built with.
type Env struct {
	// Resolver serves every DNS-based restriction. Without one, a file that
	// names a DNS-based restriction is refused: it would otherwise permit
	// silently.
	Resolver *resolver.Resolver
	Logger   *slog.Logger
	// Domains are the server's accepted domains, used by
	// reject_unauth_destination when the file sets neither relay_domains
	// nor mydestination.
	Domains []string
	// DNSTimeout bounds each DNS list evaluation (default 5 s).
	DNSTimeout time.Duration
	// VerifyRecipient answers reject_unverified_recipient: nil when the
	// address is deliverable, an error wrapping ErrUndeliverable when it is
	// not, any other error when that cannot be known now. A file using the
	// restriction without a verifier is refused.
	VerifyRecipient func(ctx context.Context, rcpt smtpcheck.Address) error
	// VerifySender answers reject_unverified_sender, as VerifyRecipient
	// does for recipients (Postfix asks the same verify(8) service for
	// both; a program with one verifier gives it twice). A file using the
	// restriction without one is refused.
	VerifySender func(ctx context.Context, sender smtpcheck.Address) error
	// PassActions is set by a front-end that hands access-table actions to
	// Postfix (a policy service): FILTER, REDIRECT, BCC and restriction
	// names or classes are then left to Postfix (see postfix.PassedOn).
	// Otherwise restriction names are evaluated in place, and a table
	// holding FILTER, REDIRECT, BCC or a restriction class is refused at
	// load, naming its lines.
	PassActions bool
	// AnvilStore, when set, keeps the counts of Postfix's client limits
	// (smtpd_client_*_limit, see anvil.go): an SMTP server sets it. A
	// front-end behind Postfix leaves it nil: Postfix's own anvil
	// enforces those parameters there.
	AnvilStore store.Store
	// AnvilService names the listener the limits count for (default
	// "smtp"), as master.cf's service name does.
	AnvilService string
	// Hostname is the server's name where the file sets no myhostname
	// (the client limits' 421 names it, as Postfix names itself).
	Hostname string
}

// ErrUndeliverable is what a recipient verifier returns for an address that
// does not exist.
var ErrUndeliverable = errors.New("postconf: undeliverable address")

// Config is a loaded configuration: the policy and the settings an adapter
// needs beside it.
type Config struct {
	File   *File
	Policy *smtpcheck.Policy
	// DryRun is smtppolicy_dry_run: every verdict is logged and counted,
	// every message passes.
	DryRun bool
	// HeloRequired is smtpd_helo_required.
	HeloRequired bool
	// DelayReject is smtpd_delay_reject (default yes): the client, HELO
	// and sender lists are evaluated at RCPT (Policy is built so), and a
	// front-end holds the refusals of its own checks at connect, HELO and
	// MAIL for RCPT too (smtpcheck.Policy.DelayReject).
	DelayReject bool
	// MyNetworks is mynetworks, parsed.
	MyNetworks []netip.Prefix
	// PolicyServiceDefaultAction is smtpd_policy_service_default_action:
	// what a policy service answers when the policy fails.
	PolicyServiceDefaultAction string
	// Anvil is the client limits, nil without Env.AnvilStore; its
	// front-end releases a connection's count when it closes
	// (access.Release).
	Anvil *access.Anvil
}

// defaults are the parameters this package knows, with Postfix's defaults.
// A parameter not listed here is an error: a misspelt restriction list
// must not silently do nothing.
var defaults = map[string]string{
	// identity, for $name expansion
	"myhostname":    "localhost",
	"mydomain":      "localdomain",
	"myorigin":      "$myhostname",
	"mydestination": "",
	"mynetworks":    "127.0.0.0/8 [::1]/128",
	"relay_domains": "",
	// trivial-rewrite's completion of an address without a domain
	"append_at_myorigin": "yes",
	// restriction lists
	"smtpd_client_restrictions":      "",
	"smtpd_helo_restrictions":        "",
	"smtpd_sender_restrictions":      "",
	"smtpd_relay_restrictions":       "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
	"smtpd_recipient_restrictions":   "",
	"smtpd_data_restrictions":        "",
	"smtpd_end_of_data_restrictions": "",
	"smtpd_delay_reject":             "yes",
	"smtpd_helo_required":            "no",
	// anvil's client limits (anvil.go), with Postfix 3.7's defaults
	"smtpd_client_connection_count_limit": "50",
	"smtpd_client_connection_rate_limit":  "0",
	"smtpd_client_message_rate_limit":     "0",
	"smtpd_client_recipient_rate_limit":   "0",
	"smtpd_client_event_limit_exceptions": "${smtpd_client_connection_limit_exceptions:$mynetworks}",
	"anvil_rate_time_unit":                "60s",
	// reply codes
	"reject_code":                      "554",
	"defer_code":                       "450",
	"relay_domains_reject_code":        "554",
	"maps_rbl_reject_code":             "554",
	"access_map_reject_code":           "554",
	"access_map_defer_code":            "450",
	"unknown_client_reject_code":       "450",
	"unknown_hostname_reject_code":     "450",
	"unknown_address_reject_code":      "450",
	"invalid_hostname_reject_code":     "501",
	"non_fqdn_reject_code":             "504",
	"unverified_recipient_reject_code": "450",
	"unverified_recipient_defer_code":  "450",
	"unverified_sender_reject_code":    "450",
	"unverified_sender_defer_code":     "450",
	// what a DNS-based restriction does when DNS cannot answer now
	"reject_tempfail_action":                "defer_if_permit",
	"unknown_helo_hostname_tempfail_action": "$reject_tempfail_action",
	"unknown_address_tempfail_action":       "$reject_tempfail_action",
	"unverified_recipient_tempfail_action":  "$reject_tempfail_action",
	"unverified_recipient_reject_reason":    "",
	"unverified_sender_tempfail_action":     "$reject_tempfail_action",
	"unverified_sender_reject_reason":       "",
	// DNS lists
	"default_rbl_reply":                    "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}",
	"rbl_reply_maps":                       "",
	"postscreen_dnsbl_sites":               "",
	"postscreen_dnsbl_threshold":           "1",
	"postscreen_dnsbl_allowlist_threshold": "0",
	"postscreen_dnsbl_whitelist_threshold": "0",
	"postscreen_dnsbl_action":              "ignore",
	"parent_domain_matches_subdomains":     "smtpd_access_maps",
	"recipient_delimiter":                  "",
	"smtpd_null_access_lookup_key":         "<>",
	"smtpd_restriction_classes":            "",
	// recipient and sender validation (reject_unlisted_*); see unlisted.go
	// for local_recipient_maps
	"smtpd_reject_unlisted_recipient":     "yes",
	"smtpd_reject_unlisted_sender":        "no",
	"local_recipient_maps":                "",
	"relay_recipient_maps":                "",
	"virtual_alias_maps":                  "$virtual_maps",
	"virtual_maps":                        "",
	"virtual_mailbox_maps":                "",
	"virtual_alias_domains":               "$virtual_alias_maps",
	"virtual_mailbox_domains":             "$virtual_mailbox_maps",
	"canonical_maps":                      "",
	"recipient_canonical_maps":            "",
	"sender_canonical_maps":               "",
	"unknown_local_recipient_reject_code": "550",
	"unknown_relay_recipient_reject_code": "550",
	"unknown_virtual_alias_reject_code":   "550",
	"unknown_virtual_mailbox_reject_code": "550",
	"show_user_unknown_table_name":        "yes",
	"double_bounce_sender":                "double-bounce",
	"smtpd_policy_service_default_action": "451 4.3.5 Server configuration problem",
	"smtppolicy_dry_run":                  "no",
	"smtppolicy_dns_error_policy":         "fail-open",
}

// Load reads and builds the file at path.
func Load(path string, env Env) (*Config, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	defer fh.Close()
	f, err := Parse(fh, path)
	if err != nil {
		return nil, err
	}
	return Build(f, env)
}

// builder carries the state of one Build.
type builder struct {
	f       *File
	env     Env
	log     *slog.Logger
	mynets  []netip.Prefix
	domains map[string]bool   // exact relay/destination domains
	parents []string          // ".example.org" forms and, with parent matching, parents
	mydest  domainSet         // mydestination (or Env.Domains): the local address class
	relay   domainSet         // relay_domains: the relay address class
	maps    addressMaps       // the recipient and alias tables of reject_unlisted_*
	classes map[string]string // smtpd_restriction_classes: name -> its restrictions
	inClass map[string]bool   // the classes being compiled, to refuse a loop
	late    sync.Mutex        // restrictions compiled after Build, as reloaded tables name them
	access  postfix.Options
	rbl     rblSettings
	dnsErr  smtpcheck.ErrorPolicy
}

// Build turns a parsed file into a Config.
func Build(f *File, env Env) (*Config, error) {
	b := &builder{f: f, env: env, log: env.Logger}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if errs, bad := b.checkParams(); len(errs) > 0 {
		return nil, buildErrors(f, env, errs, bad)
	}
	cfg := &Config{File: f}
	var err error
	if cfg.DryRun, err = b.boolParam("smtppolicy_dry_run"); err != nil {
		return nil, err
	}
	if cfg.HeloRequired, err = b.boolParam("smtpd_helo_required"); err != nil {
		return nil, err
	}
	delay, err := b.boolParam("smtpd_delay_reject")
	if err != nil {
		return nil, err
	}
	cfg.DelayReject = delay
	if b.mynets, err = b.networks("mynetworks"); err != nil {
		return nil, err
	}
	cfg.MyNetworks = b.mynets
	if err := b.relayDomains(); err != nil {
		return nil, err
	}
	if err := b.accessOptions(); err != nil {
		return nil, err
	}
	if err := b.addressMaps(); err != nil {
		return nil, err
	}
	if err := b.restrictionClasses(); err != nil {
		return nil, err
	}
	if err := b.rblSettings(); err != nil {
		return nil, err
	}
	pol, _ := b.value("smtpd_policy_service_default_action")
	cfg.PolicyServiceDefaultAction = pol
	ep, _ := b.value("smtppolicy_dns_error_policy")
	if b.dnsErr, err = smtpcheck.ParseErrorPolicy(ep); err != nil {
		return nil, b.errorAt("smtppolicy_dns_error_policy", err.Error())
	}

	for name := range defaults {
		if strings.HasSuffix(name, "_code") {
			if _, err := b.code(name); err != nil {
				return nil, err
			}
		}
	}
	if _, set := f.Raw("smtpd_relay_restrictions"); !set && f.compatLevel().below(1, 0) {
		// Before Postfix 2.10 relay control lived in
		// smtpd_recipient_restrictions, and files written so (the DNSBL
		// tutorial's among them) leave smtpd_relay_restrictions unset: they
		// get the empty list Postfix's compatibility mode gives them, not a
		// second relay check that would answer first.
		rv, err := b.value("smtpd_recipient_restrictions")
		if err != nil {
			return nil, err
		}
		for _, w := range Fields(rv) {
			if w == "reject_unauth_destination" || w == "defer_unauth_destination" || w == "check_relay_domains" {
				f.Set("smtpd_relay_restrictions", "")
				break
			}
		}
	}
	lists := map[string]smtpcheck.Check{}
	var listErrs []error
	for _, name := range []string{"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
		"smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_data_restrictions", "smtpd_end_of_data_restrictions"} {
		c, err := b.restrictionList(name)
		if err != nil {
			listErrs = append(listErrs, err)
		}
		lists[name] = c
	}
	if len(listErrs) > 0 {
		return nil, errors.Join(listErrs...)
	}
	if b.maps.rejectUnlistedSender {
		lists["smtpd_sender_restrictions"] = unlessRefused(lists["smtpd_sender_restrictions"], b.unlisted(false, true), false)
	}
	relayFirst, err := b.boolParam("smtpd_relay_before_recipient_restrictions")
	if err != nil {
		return nil, err
	}
	screen, err := b.postscreen()
	if err != nil {
		return nil, err
	}

	p := &smtpcheck.Policy{DryRun: cfg.DryRun, Logger: env.Logger}
	helo := heloGiven(lists["smtpd_helo_restrictions"])
	if cfg.HeloRequired {
		helo = sequence(hygiene.HeloRequired(), helo)
	}
	rcpt := withRecipientState(sequence(lists["smtpd_relay_restrictions"], lists["smtpd_recipient_restrictions"]))
	if !relayFirst {
		rcpt = withRecipientState(sequence(lists["smtpd_recipient_restrictions"], lists["smtpd_relay_restrictions"]))
	}
	if delay {
		// smtpd_delay_reject = yes: the client, HELO and sender lists are
		// evaluated at RCPT, with the recipient known, in Postfix's order.
		p.Connect = screen
		p.Rcpt = sequence(lists["smtpd_client_restrictions"], helo, lists["smtpd_sender_restrictions"], rcpt)
		if cfg.HeloRequired {
			p.Mail = hygiene.HeloRequired()
		}
	} else {
		p.Connect = sequence(screen, lists["smtpd_client_restrictions"])
		p.Helo = helo
		p.Mail = lists["smtpd_sender_restrictions"]
		if cfg.HeloRequired {
			p.Mail = sequence(hygiene.HeloRequired(), p.Mail)
		}
		p.Rcpt = rcpt
	}
	if b.maps.rejectUnlistedRcpt {
		p.Rcpt = unlessRefused(p.Rcpt, b.unlisted(true, true), true)
	}
	p.Mail = withUnlistedState(p.Mail)
	p.Rcpt = barePostmaster(withUnlistedState(p.Rcpt))
	p.Data = lists["smtpd_data_restrictions"]
	p.EndOfData = lists["smtpd_end_of_data_restrictions"]
	cfg.Policy = p
	if err := b.anvil(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// heloGiven runs the HELO list only for a client that sent HELO or EHLO:
// Postfix's smtpd_check_helo returns at once without a HELO name, so the
// list is skipped whole (a "reject" or check_helo_access in it included),
// also where smtpd_delay_reject evaluates it at RCPT.
func heloGiven(c smtpcheck.Check) smtpcheck.Check {
	if c == nil {
		return nil
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if s.Helo.Name == "" {
			return smtpcheck.Result{}
		}
		return c(ctx, s)
	}
}

// sequence evaluates restriction lists one after another, as Postfix does
// at one stage: a permit ends only its own list, a refusal ends all, and a
// defer_if_permit waits for the end (the Policy turns it into a temporary
// failure unless something refuses).
func sequence(lists ...smtpcheck.Check) smtpcheck.Check {
	var nonNil []smtpcheck.Check
	for _, l := range lists {
		if l != nil {
			nonNil = append(nonNil, l)
		}
	}
	if len(nonNil) == 0 {
		return nil
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		var deferred smtpcheck.Result
		var headers []smtpcheck.HeaderField
		for _, l := range nonNil {
			r := l(ctx, s)
			headers = append(headers, r.Headers...)
			switch {
			case r.Action == smtpcheck.DeferIfPermit:
				if deferred.Action == smtpcheck.Continue {
					deferred = r
				}
			case r.Action.Refuses() || r.Action == smtpcheck.Discard || r.Action == smtpcheck.Quarantine:
				r.Headers = headers
				return r
			}
		}
		deferred.Headers = headers
		return deferred
	}
}

// unlessRefused runs then after c unless c refused (or discarded): the
// implicit reject_unlisted_* of smtpd_reject_unlisted_*, which Postfix
// applies after the lists, permitted or not. At RCPT (final) a pending
// defer_if_permit has already become a refusal, so then does not run.
func unlessRefused(c, then smtpcheck.Check, final bool) smtpcheck.Check {
	if c == nil {
		return then
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		r := c(ctx, s)
		if r.Action.Refuses() || r.Action == smtpcheck.Discard || (final && r.Action == smtpcheck.DeferIfPermit) {
			return r
		}
		if t := then(ctx, s); t.Action.Refuses() {
			t.Headers = append(r.Headers, t.Headers...)
			return t
		}
		return r
	}
}

// barePostmaster lets "RCPT TO:<postmaster>" without a domain pass every
// list evaluated at RCPT, as Postfix's smtpd_check_rcpt does (RFC 5321
// 4.5.1 requires it be accepted).
func barePostmaster(c smtpcheck.Check) smtpcheck.Check {
	if c == nil {
		return nil
	}
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		if isBarePostmaster(s.Rcpt) {
			return smtpcheck.Pass(smtpcheck.Reason{Rule: "postmaster", Matched: s.Rcpt.String(),
				Evidence: "RFC 5321 4.5.1: postmaster without a domain is always accepted"})
		}
		return c(ctx, s)
	}
}

// isBarePostmaster reports "postmaster" with no domain, in any case: the
// recipient Postfix exempts from every restriction.
func isBarePostmaster(a smtpcheck.Address) bool {
	return a.Domain == "" && strings.EqualFold(a.Local, "postmaster")
}

func (b *builder) value(name string) (string, error) {
	v, _, err := b.f.Expand(name, defaults)
	return v, err
}

func (b *builder) errorAt(name, msg string) error {
	p, _ := b.f.Raw(name)
	return &Error{b.f.Name, p.Line, fmt.Sprintf("%s: %s", name, msg)}
}

func (b *builder) boolParam(name string) (bool, error) {
	v, err := b.value(name)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "1", "on":
		return true, nil
	case "no", "false", "0", "off", "":
		return false, nil
	}
	return false, b.errorAt(name, fmt.Sprintf("expected yes or no, got %q", v))
}

func (b *builder) intParam(name string) (int, error) {
	v, err := b.value(name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, b.errorAt(name, fmt.Sprintf("expected a number, got %q", v))
	}
	return n, nil
}

// code reads a *_reject_code parameter: a 4xx or 5xx number.
func (b *builder) code(name string) (int, error) {
	n, err := b.intParam(name)
	if err != nil {
		return 0, err
	}
	if n < 400 || n > 599 {
		return 0, b.errorAt(name, fmt.Sprintf("reply code %d is not 4xx or 5xx", n))
	}
	return n, nil
}

func (b *builder) networks(name string) ([]netip.Prefix, error) {
	return fieldsOf(b, name, parseNetwork)
}

// fieldsOf reads each field of parameter name with parse; an error names
// the parameter.
func fieldsOf[T any](b *builder, name string, parse func(string) (T, error)) ([]T, error) {
	v, err := b.value(name)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, f := range Fields(v) {
		t, err := parse(f)
		if err != nil {
			return nil, b.errorAt(name, err.Error())
		}
		out = append(out, t)
	}
	return out, nil
}

// parseNetwork reads Postfix's network forms: 192.0.2.0/24, 192.0.2.1,
// [2001:db8::]/32, [::1].
func parseNetwork(s string) (netip.Prefix, error) {
	s = strings.Replace(strings.Replace(s, "[", "", 1), "]", "", 1)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("bad network %q (want address/length)", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad network %q (want address or address/length)", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (b *builder) relayDomains() error {
	b.domains = map[string]bool{}
	any := false
	for _, name := range []string{"relay_domains", "mydestination"} {
		v, err := b.value(name)
		if err != nil {
			return err
		}
		for _, d := range Fields(v) {
			if strings.Contains(d, ":") || strings.HasPrefix(d, "/") {
				return b.errorAt(name, fmt.Sprintf("lookup tables are not supported here (%q): list the domains", d))
			}
			any = true
			b.addDomain(d)
			if name == "mydestination" {
				b.mydest.add(d, false)
			} else {
				b.relay.add(d, true)
			}
		}
	}
	if !any {
		for _, d := range b.env.Domains {
			b.addDomain(d)
			b.mydest.add(d, false)
		}
	}
	return nil
}

func (b *builder) addDomain(d string) {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	if strings.HasPrefix(d, ".") {
		b.parents = append(b.parents, d)
		return
	}
	b.domains[d] = true
	// Postfix's parent_domain_matches_subdomains covers relay_domains by
	// default: example.org then matches sub.example.org too.
	b.parents = append(b.parents, "."+d)
}

func (b *builder) accessOptions() error {
	v, err := b.value("parent_domain_matches_subdomains")
	if err != nil {
		return err
	}
	for _, f := range Fields(v) {
		if f == "smtpd_access_maps" {
			b.access.ParentDomainMatchesSubdomains = true
		}
	}
	if b.access.RecipientDelimiter, err = b.value("recipient_delimiter"); err != nil {
		return err
	}
	if b.access.NullAccessLookupKey, err = b.value("smtpd_null_access_lookup_key"); err != nil {
		return err
	}
	if b.access.RejectCode, err = b.code("access_map_reject_code"); err != nil {
		return err
	}
	if b.access.DeferCode, err = b.code("access_map_defer_code"); err != nil {
		return err
	}
	if b.access.Origin, err = b.origin(); err != nil {
		return err
	}
	return nil
}

// origin is the domain trivial-rewrite completes an address without one
// with ($myorigin, with append_at_myorigin = yes) before Postfix's
// restrictions resolve it: "alice" is alice@$myorigin to the access
// tables, the domain checks and relay control. "" when
// append_at_myorigin = no, which leaves such an address local. An unset
// myorigin and myhostname take the server's host name (Env.Hostname), as
// Postfix takes the system's.
func (b *builder) origin() (string, error) {
	on, err := b.boolParam("append_at_myorigin")
	if err != nil || !on {
		return "", err
	}
	v, err := b.value("myorigin")
	if err != nil {
		return "", err
	}
	_, setOrigin := b.f.Raw("myorigin")
	_, setHost := b.f.Raw("myhostname")
	if !setOrigin && !setHost && b.env.Hostname != "" {
		v = b.env.Hostname
	}
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), "."), nil
}

// localDomain reports whether d is one of relay_domains/mydestination (or
// the server's accepted domains).
func (b *builder) localDomain(d string) bool {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	if b.domains[d] {
		return true
	}
	for _, p := range b.parents {
		if strings.HasSuffix(d, p) {
			return true
		}
	}
	return false
}

func (b *builder) inMyNetworks(ip netip.Addr) bool {
	for _, p := range b.mynets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// rblSettings are the parameters behind reject_rbl_client and friends.
type rblSettings struct {
	code     int
	template string // default_rbl_reply without its leading code
	maps     postfix.Table
}

func (b *builder) rblSettings() error {
	var err error
	if b.rbl.code, err = b.code("maps_rbl_reject_code"); err != nil {
		return err
	}
	raw, _ := b.f.Raw("default_rbl_reply")
	tmpl := raw.Value
	if tmpl == "" {
		tmpl = defaults["default_rbl_reply"]
	}
	b.rbl.template = tmpl
	if _, err := b.rblTemplate(tmpl); err != nil {
		return b.errorAt("default_rbl_reply", err.Error())
	}
	maps, err := b.value("rbl_reply_maps")
	if err != nil {
		return err
	}
	if m := Fields(maps); len(m) > 0 {
		if len(m) > 1 {
			return b.errorAt("rbl_reply_maps", "one table only")
		}
		t, err := loadTable(m[0])
		if err != nil {
			return b.errorAt("rbl_reply_maps", err.Error())
		}
		b.rbl.maps = t
	}
	return nil
}

// rblTemplate compiles a reply template in default_rbl_reply form: an
// optional leading code ($rbl_code or a number) and an optional enhanced
// code, then the text.
func (b *builder) rblTemplate(s string) (*dnsbl.Template, error) {
	s = strings.TrimSpace(s)
	code := b.rbl.code
	first, rest, _ := strings.Cut(s, " ")
	switch {
	case first == "$rbl_code" || first == "${rbl_code}":
		s = rest
	case len(first) == 3 && first[0] >= '4' && first[0] <= '5':
		n, err := strconv.Atoi(first)
		if err == nil {
			code, s = n, rest
		}
	}
	enh := fmt.Sprintf("%d.7.1", code/100)
	if e, rest2, ok := strings.Cut(strings.TrimSpace(s), " "); ok {
		if _, err := reply.ParseEnhanced(e); err == nil {
			enh, s = e, rest2
		}
	}
	return dnsbl.NewTemplate(code, enh, strings.TrimSpace(s))
}

// templateFor returns the reply template for a zone: its rbl_reply_maps
// entry or default_rbl_reply.
func (b *builder) templateFor(zone string) (*dnsbl.Template, error) {
	if b.rbl.maps != nil {
		if a, ok := b.rbl.maps.Find(zone); ok {
			text := a.Text
			if a.Code != 0 {
				text = strconv.Itoa(a.Code) + " " + strings.TrimSpace(a.Enhanced+" "+text)
			}
			return b.rblTemplate(text)
		}
	}
	return b.rblTemplate(b.rbl.template)
}

// postscreen builds postscreen_dnsbl_sites: weighted DNS lists at connect,
// with postscreen_dnsbl_threshold and the allowlist threshold.
func (b *builder) postscreen() (smtpcheck.Check, error) {
	v, err := b.value("postscreen_dnsbl_sites")
	if err != nil {
		return nil, err
	}
	specs := Fields(v)
	if len(specs) == 0 {
		return nil, nil
	}
	if b.env.Resolver == nil {
		return nil, b.errorAt("postscreen_dnsbl_sites", "DNS lists need a DNS resolver, and none is configured")
	}
	lists, err := dnsbl.ParseLists(specs...)
	if err != nil {
		return nil, b.errorAt("postscreen_dnsbl_sites", err.Error())
	}
	th, err := b.intParam("postscreen_dnsbl_threshold")
	if err != nil {
		return nil, err
	}
	allowName := "postscreen_dnsbl_allowlist_threshold"
	if _, ok := b.f.Raw(allowName); !ok {
		allowName = "postscreen_dnsbl_whitelist_threshold"
	}
	allow, err := b.intParam(allowName)
	if err != nil {
		return nil, err
	}
	tmpl, err := b.rblTemplate(b.rbl.template)
	if err != nil {
		return nil, err
	}
	c, err := dnsbl.New(dnsbl.Config{
		Resolver:   b.env.Resolver,
		Lists:      lists,
		Kind:       dnsbl.IPList,
		Timeout:    b.env.DNSTimeout,
		Thresholds: smtpcheck.Thresholds{Reject: float64(th), Allow: float64(allow)},
		OnError:    b.dnsErr,
		Reply:      tmpl,
		Logger:     b.env.Logger,
	})
	if err != nil {
		return nil, b.errorAt("postscreen_dnsbl_sites", err.Error())
	}
	return smtpcheck.Named("postscreen_dnsbl_sites", c.ClientCheck()), nil
}
