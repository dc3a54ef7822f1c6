package main

import (
	"context"
	"flag"
	"strings"

	"github.com/smtppolicy/smtppolicy/examples/assembly"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// fileDecides makes a -config file the whole policy: the built-in checks
// that are on by default (-hygiene, and SPF with it) stay off unless
// -hygiene is given on the command line or the file sets
// smtppolicy_hygiene. Features that only a flag or a parameter turns on
// (-access, -postfix-access, -dnsbl, -uribl, -greylist) are the admin's
// choice and add to the file as configPolicy describes. It returns the
// flags whose default it turned off, for the log.
func fileDecides(params *assembly.Config) []string {
	var off []string
	if !params.IsSet("smtppolicy_hygiene") && params.Value("smtppolicy_hygiene") != "no" {
		if err := params.SetDefault("smtppolicy_hygiene", "no"); err == nil {
			off = append(off, "-hygiene")
		}
	}
	return off
}

// part is one part of the assembly's policy as a feature: its flags are
// the assembly's (registered once, in newDaemon), and its checks take
// their place in the features' order.
func part(name string) func(env *buildEnv) (staged, error) {
	return func(env *buildEnv) (staged, error) {
		st, err := env.Assembly.Part(name)
		if err != nil {
			return staged{}, err
		}
		b := env.Assembly.Built()
		env.Access = b.Access
		return staged{Stages: st, Normalize: b.Normalize, MaxSize: b.MaxSize}, nil
	}
}

// The assembly's parts (package assembly): the access map, the hygiene
// checks with SPF, the DNS lists, the link checks, the scanners and
// greylisting, each set by its smtppolicy_* parameters and their flags.
func accessFlags(*flag.FlagSet) func(env *buildEnv) (staged, error)   { return part("access") }
func hygieneFlags(*flag.FlagSet) func(env *buildEnv) (staged, error)  { return part("hygiene") }
func dnsblFlags(*flag.FlagSet) func(env *buildEnv) (staged, error)    { return part("dnsbl") }
func uriFlags(*flag.FlagSet) func(env *buildEnv) (staged, error)      { return part("uri") }
func scanFlags(*flag.FlagSet) func(env *buildEnv) (staged, error)     { return part("scan") }
func greylistFlags(*flag.FlagSet) func(env *buildEnv) (staged, error) { return part("greylist") }

// The assembly's checks of the message and the envelope (package
// assembly's content.go, verify.go and four21.go): DKIM, DMARC and ARC
// (-msgauth, -arc-verify), BATV (-batv-key), duplicate refusal
// (-duplicate), the four21 test (-four21) and callouts (-callout-*). The
// duplicate refusal's hooks and four21's listener are the assembly's
// (Built.Accepted, Closed and Listener), taken once every part is built.
func msgauthFlags(*flag.FlagSet) func(env *buildEnv) (staged, error)   { return part("msgauth") }
func batvFlags(*flag.FlagSet) func(env *buildEnv) (staged, error)      { return part("batv") }
func duplicateFlags(*flag.FlagSet) func(env *buildEnv) (staged, error) { return part("duplicate") }
func four21Flags(*flag.FlagSet) func(env *buildEnv) (staged, error)    { return part("four21") }
func calloutFlags(*flag.FlagSet) func(env *buildEnv) (staged, error)   { return part("callout") }

// configPolicy loads a Postfix-style policy file. Its restriction lists
// replace the built-in default (relay control included: the file says who
// may relay, with reject_unauth_destination), and the built-in defaults stay
// off (fileDecides); the checks other flags turned on (access map,
// greylisting, URI lists, and -hygiene when given) run after the file's
// lists at each stage.
func configPolicy(path string, f *postconf.File, env *buildEnv, flags staged) (*smtpcheck.Policy, error) {
	anvil, err := env.Assembly.AnvilStore()
	if err != nil {
		return nil, err
	}
	// reject_unverified_* ask the assembly's callouts
	// (smtppolicy_callout_*); without a downstream server to ask, every
	// address in an accepted domain is deliverable here: the example
	// stores all mail for its domains.
	verify := env.Assembly.Built().Verify
	if verify.Recipient == nil {
		verify.Recipient = func(ctx context.Context, a smtpcheck.Address) error {
			for _, d := range env.Domains {
				if a.DomainFold() == d {
					return nil
				}
			}
			return postconf.ErrUndeliverable
		}
	}
	cfg, err := postconf.Build(f, postconf.Env{
		Resolver: env.Resolver,
		Logger:   env.Logger,
		Domains:  env.Domains,
		// The client limits (smtpd_client_*_limit) count here; main.go's
		// OnClose gives a connection's count back (access.Release).
		AnvilStore:      anvil,
		Hostname:        env.Hostname,
		VerifyRecipient: verify.Recipient,
		VerifySender:    verify.Sender,
	})
	if err != nil {
		return nil, err
	}
	p := assembly.Then(cfg.Policy, flags.Stages)
	// smtpd_delay_reject decides for the flags' checks too (access map
	// Connect: entries): held for RCPT by default, answered where they
	// are found when the file says no, as Postfix answers its own lists.
	p.DelayReject = cfg.DelayReject
	p.Logger = env.Logger
	var ignored []string
	for _, p := range cfg.File.Ignored() {
		ignored = append(ignored, p.Name)
	}
	env.Logger.Info("policy from file", "config", path, "dry_run", cfg.DryRun, "mynetworks", len(cfg.MyNetworks),
		"ignored", strings.Join(ignored, ","))
	return p, nil
}
