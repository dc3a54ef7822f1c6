package main

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"github.com/smtppolicy/smtppolicy/examples/assembly"
	"github.com/smtppolicy/smtppolicy/examples/gomilter"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
)

// fileConfig is what a Postfix-style policy file gives the milter besides
// its policy.
type fileConfig struct {
	MyNetworks []netip.Prefix // mynetworks: the trusted clients no macro names
	Needs      []gomilter.Fact
}

// reverseNameRestrictions need the client's reverse name from the MTA.
var reverseNameRestrictions = []string{"reject_unknown_client_hostname", "reject_unknown_reverse_client_hostname"}

// configPolicy builds the policy of a Postfix-style policy file (its
// Postfix parameters, loaded by the assembly), as smtpd does. Its
// restriction lists replace the built-in default (relay control included:
// the file says who may relay, with reject_unauth_destination); the
// assembly's checks that the flags and smtppolicy_* parameters turned on
// (access map, greylisting, URI lists) run after the file's lists at each
// stage.
func configPolicy(path string, f *postconf.File, domains []string, res *resolver.Resolver, logger *slog.Logger, ab *assembly.Built) (*smtpcheck.Policy, fileConfig, error) {
	var fc fileConfig
	// reject_unverified_* ask the assembly's callouts
	// (smtppolicy_callout_*); without a server that knows the recipients,
	// every address in an accepted domain is taken as deliverable.
	verify := ab.Verify
	if verify.Recipient == nil {
		verify.Recipient = func(ctx context.Context, a smtpcheck.Address) error {
			for _, d := range domains {
				if a.DomainFold() == d {
					return nil
				}
			}
			return postconf.ErrUndeliverable
		}
	}
	cfg, err := postconf.Build(f, postconf.Env{
		Resolver:        res,
		Logger:          logger,
		Domains:         domains,
		VerifyRecipient: verify.Recipient,
		VerifySender:    verify.Sender,
	})
	if err != nil {
		return nil, fc, err
	}
	fc.MyNetworks = cfg.MyNetworks
	for _, name := range cfg.File.Names() {
		v, _ := cfg.File.Raw(name)
		if strings.HasSuffix(name, "_restrictions") {
			for _, r := range reverseNameRestrictions {
				if strings.Contains(v.Value, r) {
					fc.Needs = append(fc.Needs, gomilter.FactReverseName)
				}
			}
		}
	}
	p := assembly.Then(cfg.Policy, ab.Stages)
	// smtpd_delay_reject decides for the flags' checks too (access map
	// Connect: entries), as in smtpd: held for RCPT by default, answered
	// where they are found when the file says no, as Postfix answers its
	// own lists. It also decides what the filter asks Postfix to await
	// (gomilter.LeftOut): with delay, no reply before RCPT.
	p.DelayReject = cfg.DelayReject
	p.Logger = logger
	logger.Info("policy from file", "config", path, "dry_run", cfg.DryRun, "mynetworks", len(cfg.MyNetworks))
	return p, fc, nil
}

// mtaMacros reads the milter_*_macros of the MTA's own main.cf, over
// Postfix's defaults: what an MTA that ignores the filter's request sends.
func mtaMacros(path string) (gomilter.MacroLists, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	file, err := postconf.Parse(f, path)
	if err != nil {
		return nil, err
	}
	out := gomilter.PostfixDefaults()
	for _, name := range file.Names() {
		st, ok := strings.CutPrefix(name, "milter_")
		if !ok {
			continue
		}
		if st, ok = strings.CutSuffix(st, "_macros"); ok {
			v, _ := file.Raw(name)
			out[gomilter.MacroStage(st)] = gomilter.ParseMacroList(v.Value)
		}
	}
	return out, nil
}
