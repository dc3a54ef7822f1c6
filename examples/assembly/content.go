package assembly

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dmarc"

	"github.com/smtppolicy/smtppolicy/duplicate"
	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/msgauth"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// contentParams are the parameters of the checks of the message itself
// at the end of data: message authentication (DKIM, DMARC and, with
// arcParams, ARC) and smtpf's duplicate message refusal. A front-end
// that never sees the message (a policy service) ignores them.
func contentParams() []Param {
	ps := []Param{
		{Name: "smtppolicy_msgauth", Flag: "msgauth", Kind: Bool, Default: "no", Body: true, Doc: "verify DKIM and DMARC at end of data (needs -resolver)"},
		{Name: "smtppolicy_msgauth_timeout", Flag: "msgauth-timeout", Kind: Duration, Default: msgauth.DefaultTimeout.String(), Body: true, Doc: "bound on one message's DKIM and DMARC verification"},
		{Name: "smtppolicy_dkim_policy", Flag: "dkim-policy", Kind: String, Body: true, Doc: "DKIM result=action list, such as none=reject,fail=tag (results none, fail, permerror, temperror; actions continue, tag, quarantine, tempfail, reject)"},
		{Name: "smtppolicy_dmarc_policy", Flag: "dmarc-policy", Kind: String, Default: "temperror=tempfail", Body: true, Doc: "DMARC temperror/permerror=action list; fail follows the domain's p="},
		{Name: "smtppolicy_dmarc_override", Flag: "dmarc-override", Kind: List, Body: true, Doc: "local DMARC policies, DOMAIN=none|quarantine|reject (comma-separated or repeated); * for every domain"},
		{Name: "smtppolicy_msgauth_spoof", Flag: "msgauth-spoof", Kind: Bool, Default: "no", Body: true, Doc: "refuse mail whose From: or sender is one of the -domain's, from outside, that DMARC does not pass"},
	}
	ps = append(ps, arcParams()...)
	return append(ps,
		Param{Name: "smtppolicy_duplicate_store", Flag: "duplicate", Kind: String, Body: true, Doc: "refuse duplicate messages (smtpf#340), remembered in: memory:, bolt:PATH or redis://HOST:PORT/DB (empty: off)"},
		Param{Name: "smtppolicy_duplicate_ttl", Flag: "duplicate-ttl", Kind: Duration, Default: duplicate.DefaultTTL.String(), Body: true, Doc: "how long an accepted message is remembered"},
	)
}

// buildMsgauth is message authentication: with smtppolicy_msgauth (and a
// resolver) every message from clients neither trusted nor authenticated
// has its DKIM signatures and its From: domain's DMARC policy verified at
// the end of data, what p=reject refuses is refused, and an
// Authentication-Results header is added. smtppolicy_dkim_policy and
// smtppolicy_dmarc_policy act on single results, smtppolicy_dmarc_override
// replaces published policies, smtppolicy_msgauth_spoof refuses mail
// claiming one of the front-end's domains from outside (Barracuda's spoof
// protection), and the smtppolicy_arc_* parameters add ARC validation to
// the same verifier, so ARC runs wherever message authentication does.
func buildMsgauth(c *Config, env Env, st *Stores, b *Built) error {
	if !env.Body {
		return nil
	}
	if !c.boolValue("smtppolicy_msgauth") {
		if c.ARCOn() {
			return fmt.Errorf("%s needs smtppolicy_msgauth = yes (-msgauth)", c.where("smtppolicy_arc_verify"))
		}
		return nil
	}
	timeout := c.durationValue("smtppolicy_msgauth_timeout")
	cfg := msgauth.Config{Resolver: env.Resolver, AuthServID: env.Hostname, Timeout: timeout, Logger: env.Logger}
	if err := c.ApplyARC(&cfg); err != nil {
		return err
	}
	var err error
	if cfg.DKIM, err = parseAuthPolicy(c.Value("smtppolicy_dkim_policy")); err != nil {
		return fmt.Errorf("%s: %w", c.where("smtppolicy_dkim_policy"), err)
	}
	if cfg.DMARC, err = parseAuthPolicy(c.Value("smtppolicy_dmarc_policy")); err != nil {
		return fmt.Errorf("%s: %w", c.where("smtppolicy_dmarc_policy"), err)
	}
	for _, kv := range c.listValue("smtppolicy_dmarc_override") {
		d, p, ok := strings.Cut(kv, "=")
		pol := dmarc.Policy(strings.ToLower(p))
		if !ok || d == "" || (pol != dmarc.PolicyNone && pol != dmarc.PolicyQuarantine && pol != dmarc.PolicyReject) {
			return fmt.Errorf("%s: %q is not DOMAIN=none|quarantine|reject", c.where("smtppolicy_dmarc_override"), kv)
		}
		if cfg.Override == nil {
			cfg.Override = map[string]dmarc.Policy{}
		}
		cfg.Override[strings.ToLower(d)] = pol
	}
	// Every value is checked first, so that one start names them all
	// before the resolver is asked for.
	if env.Resolver == nil {
		return fmt.Errorf("%s needs -resolver", c.where("smtppolicy_msgauth"))
	}
	if c.boolValue("smtppolicy_msgauth_spoof") {
		cfg.SpoofDomains = env.Domains
	}
	v, err := msgauth.New(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", c.where("smtppolicy_msgauth"), err)
	}
	env.Logger.Info("message authentication on", "dkim-policy", c.Value("smtppolicy_dkim_policy"), "dmarc-policy", c.Value("smtppolicy_dmarc_policy"),
		"override", c.Value("smtppolicy_dmarc_override"), "spoof", len(cfg.SpoofDomains) > 0,
		"arc", cfg.ARC, "arc-trusted-sealers", strings.Join(cfg.ARCTrustedSealers, ","))
	b.EndOfData = append(b.EndOfData, smtpcheck.Guard(v.Check(), smtpcheck.Options{Name: msgauth.Name, Timeout: timeout + time.Second, OnError: smtpcheck.FailTemp,
		Skip: []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated}}))
	b.Checks = append(b.Checks, msgauth.Name)
	if cfg.ARC {
		b.Checks = append(b.Checks, "arc")
	}
	return nil
}

// parseAuthPolicy reads a RESULT=ACTION list of DKIM or DMARC results.
func parseAuthPolicy(s string) (msgauth.ResultPolicy, error) {
	actions := map[string]smtpcheck.Action{"continue": smtpcheck.Continue, "tag": smtpcheck.Tag, "quarantine": smtpcheck.Quarantine,
		"tempfail": smtpcheck.TempFail, "reject": smtpcheck.Reject}
	var p msgauth.ResultPolicy
	for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		r, a, ok := strings.Cut(kv, "=")
		act, known := actions[strings.ToLower(a)]
		res := msgauth.Result(strings.ToLower(r))
		switch {
		case !ok || !known:
			return nil, fmt.Errorf("%q is not RESULT=continue|tag|quarantine|tempfail|reject", kv)
		case res != msgauth.None && res != msgauth.Pass && res != msgauth.Fail && res != msgauth.TempError && res != msgauth.PermError:
			return nil, fmt.Errorf("%q: unknown result %q", kv, r)
		}
		if p == nil {
			p = msgauth.ResultPolicy{}
		}
		p[res] = act
	}
	return p, nil
}

// buildDuplicate is smtpf's duplicate message refusal: with
// smtppolicy_duplicate_store a message already accepted for the same
// recipients within smtppolicy_duplicate_ttl is refused. The check only
// looks (and claims the message's keys while it is delivered); the
// front-end remembers a message once it has accepted it (Built.Accepted),
// so a first try that a later check deferred, or whose delivery failed,
// does not turn the client's retry into a 550, and gives the claim back
// when the session ends (Built.Closed). The store is opened once: a
// reload keeps what was seen.
func buildDuplicate(c *Config, env Env, st *Stores, b *Built) error {
	spec := c.Value("smtppolicy_duplicate_store")
	if !env.Body || spec == "" || spec == "none" {
		return nil
	}
	s, err := st.more.get(env.Ctx, spec, c.where("smtppolicy_duplicate_store"))
	if err != nil {
		return err
	}
	ttl := c.durationValue("smtppolicy_duplicate_ttl")
	d, err := duplicate.New(duplicate.Config{Store: s, TTL: ttl, Logger: env.Logger})
	if err != nil {
		return fmt.Errorf("%s: %w", c.where("smtppolicy_duplicate_ttl"), err)
	}
	env.Logger.Info("duplicate refusal on", "store", daemon.RedactURL(spec), "ttl", ttl)
	b.EndOfData = append(b.EndOfData, smtpcheck.Guard(d.Check(), smtpcheck.Options{Name: duplicate.Name, Timeout: 5 * time.Second}))
	b.Accepted = append(b.Accepted, d.Record)
	b.Closed = append(b.Closed, d.Release)
	b.Checks = append(b.Checks, duplicate.Name)
	return nil
}
