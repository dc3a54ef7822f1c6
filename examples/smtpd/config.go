package main

import (
	"context"
	"flag"
	"strings"

	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// fileDecides makes a -config file the whole policy: the built-in checks
// that are on by default (-hygiene, and SPF with it) stay off unless
// -hygiene is given on the command line. Features that only a flag turns on
// (-access, -postfix-access, -dnsbl, -uribl, -greylist) are the admin's
// choice and add to the file as configPolicy describes. It returns the
// flags it turned off, for the log.
func fileDecides(fs *flag.FlagSet) []string {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var off []string
	for _, name := range []string{"hygiene"} {
		if f := fs.Lookup(name); f != nil && !given[name] && f.Value.String() != "false" {
			if err := fs.Set(name, "false"); err == nil {
				off = append(off, "-"+name)
			}
		}
	}
	return off
}

// configPolicy loads a Postfix-style policy file. Its restriction lists
// replace the built-in default (relay control included: the file says who
// may relay, with reject_unauth_destination), and the built-in defaults stay
// off (fileDecides); the checks other flags turned on (access map,
// greylisting, URI lists, and -hygiene when given) run after the file's
// lists at each stage.
func configPolicy(path string, env *buildEnv, flags staged) (*smtpcheck.Policy, error) {
	cfg, err := postconf.Load(path, postconf.Env{
		Resolver: env.Resolver,
		Logger:   env.Logger,
		Domains:  env.Domains,
		// Every address in an accepted domain is deliverable here: the
		// example stores all mail for its domains.
		VerifyRecipient: func(ctx context.Context, a smtpcheck.Address) error {
			for _, d := range env.Domains {
				if a.DomainFold() == d {
					return nil
				}
			}
			return postconf.ErrUndeliverable
		},
	})
	if err != nil {
		return nil, err
	}
	p := cfg.Policy
	then := func(a smtpcheck.Check, more []smtpcheck.Check) smtpcheck.Check {
		if a == nil {
			return smtpcheck.FirstMatch(more...)
		}
		return smtpcheck.FirstMatch(append([]smtpcheck.Check{a}, more...)...)
	}
	p.Connect = then(p.Connect, flags.Connect)
	p.Helo = then(p.Helo, flags.Helo)
	p.Mail = then(p.Mail, flags.Mail)
	p.Rcpt = then(p.Rcpt, flags.Rcpt)
	p.Data = then(p.Data, flags.Data)
	p.Headers = then(p.Headers, flags.Headers)
	p.EndOfData = then(p.EndOfData, flags.EndOfData)
	// smtpd_delay_reject decides for the flags' checks too (access map
	// Connect: entries): held for RCPT by default, answered where they
	// are found when the file says no, as Postfix answers its own lists.
	delay, set, err := cfg.File.Expand("smtpd_delay_reject", nil)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(strings.TrimSpace(delay)) {
	case "no", "false", "0", "off", "":
		p.DelayReject = !set
	default:
		p.DelayReject = true
	}
	p.Logger = env.Logger
	var ignored []string
	for _, p := range cfg.File.Ignored() {
		ignored = append(ignored, p.Name)
	}
	env.Logger.Info("policy from file", "config", path, "dry_run", cfg.DryRun, "mynetworks", len(cfg.MyNetworks),
		"ignored", strings.Join(ignored, ","))
	return p, nil
}
