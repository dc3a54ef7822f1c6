package assembly

import (
	"fmt"
	"strings"

	"github.com/smtppolicy/smtppolicy/msgauth"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// arcParams are the ARC parameters (RFC 8617): validation of a message's
// chain beside DKIM and DMARC, the sealers whose word overrides a DMARC
// failure, and what the ARC result alone does.
func arcParams() []Param {
	return []Param{
		{Name: "smtppolicy_arc_verify", Flag: "arc-verify", Kind: Bool, Default: "no", Body: true, Doc: "validate ARC chains (RFC 8617) with the DKIM and DMARC checks: arc= in Authentication-Results"},
		{Name: "smtppolicy_arc_trusted_sealers", Flag: "arc-trusted-sealers", Kind: List, Body: true, Doc: "sealer domain (ARC-Seal d=) whose recorded dmarc=pass lets through a message DMARC fails when its chain passes, as mailing lists that alter messages need (repeatable)"},
		{Name: "smtppolicy_arc_policy", Flag: "arc-policy", Kind: String, Body: true, Doc: "ARC result=action list, such as fail=quarantine,none=tag (results none, pass, fail, temperror; actions continue, tag, quarantine, and tempfail for temperror): ARC alone never rejects"},
	}
}

// ARCOn reports whether the parameters turn ARC validation on.
func (c *Config) ARCOn() bool { return c.boolValue("smtppolicy_arc_verify") }

// ApplyARC sets cfg's ARC fields from the smtppolicy_arc_* parameters, for
// whatever builds the message authentication check. Sealers or a policy
// without smtppolicy_arc_verify are an error, as is an action ARC alone
// may not take.
func (c *Config) ApplyARC(cfg *msgauth.Config) error {
	sealers := c.listValue("smtppolicy_arc_trusted_sealers")
	policy, err := parseARCPolicy(c.Value("smtppolicy_arc_policy"))
	if err != nil {
		return fmt.Errorf("%s: %w", c.where("smtppolicy_arc_policy"), err)
	}
	if !c.ARCOn() {
		if len(sealers) > 0 {
			return fmt.Errorf("%s needs %s", c.where("smtppolicy_arc_trusted_sealers"), "smtppolicy_arc_verify = yes (-arc-verify)")
		}
		if len(policy) > 0 {
			return fmt.Errorf("%s needs %s", c.where("smtppolicy_arc_policy"), "smtppolicy_arc_verify = yes (-arc-verify)")
		}
		return nil
	}
	cfg.ARC, cfg.ARCTrustedSealers, cfg.ARCPolicy = true, sealers, policy
	return nil
}

// parseARCPolicy reads a RESULT=ACTION list.
func parseARCPolicy(s string) (msgauth.ResultPolicy, error) {
	actions := map[string]smtpcheck.Action{"continue": smtpcheck.Continue, "tag": smtpcheck.Tag, "quarantine": smtpcheck.Quarantine, "tempfail": smtpcheck.TempFail}
	var p msgauth.ResultPolicy
	for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		r, a, _ := strings.Cut(kv, "=")
		res := msgauth.Result(strings.ToLower(r))
		act, ok := actions[strings.ToLower(a)]
		switch {
		case res != msgauth.None && res != msgauth.Pass && res != msgauth.Fail && res != msgauth.TempError:
			return nil, fmt.Errorf("%q: result %q is not none, pass, fail or temperror", kv, r)
		case !ok:
			return nil, fmt.Errorf("%q: action %q is not continue, tag or quarantine (ARC alone never rejects)", kv, a)
		case act == smtpcheck.TempFail && res != msgauth.TempError:
			return nil, fmt.Errorf("%q: only temperror may defer", kv)
		}
		if p == nil {
			p = msgauth.ResultPolicy{}
		}
		p[res] = act
	}
	return p, nil
}
