package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// dnsblFlags adds the DNS list flags: -dnsbl SPEC (repeatable, Postfix
// syntax such as zen.example=127.0.0.[2..11]*2 or list.dnswl.example*-5)
// checks the client's IP address at connect, and -dnsbl-threshold N
// rejects when the listed weights add up to N or more. An allowlist hit
// (negative weight) accepts the client. A list that fails to answer is
// ignored (fail open) and logged. The lists need -resolver.
func dnsblFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	var specs listFlag
	fs.Var(&specs, "dnsbl", "DNS list to check the client IP against, Postfix syntax ZONE[=PATTERN|&MASK][*WEIGHT] (repeatable)")
	threshold := fs.Int("dnsbl-threshold", 1, "reject when the weights of the DNS lists that list the client add up to this")
	health := fs.Duration("dnsbl-health", 0, "probe each list's RFC 5782 test points this often and skip a misbehaving one (0: no probes)")
	return func(env *buildEnv) (staged, error) {
		if len(specs) == 0 {
			return staged{}, nil
		}
		if env.Resolver == nil {
			return staged{}, errors.New("-dnsbl needs -resolver")
		}
		if *threshold < 1 {
			return staged{}, fmt.Errorf("-dnsbl-threshold %d: want 1 or more", *threshold)
		}
		lists, err := dnsbl.ParseLists(specs...)
		if err != nil {
			return staged{}, fmt.Errorf("-dnsbl: %w", err)
		}
		c, err := dnsbl.New(dnsbl.Config{
			Resolver:   env.Resolver,
			Lists:      lists,
			Timeout:    5 * time.Second,
			Thresholds: smtpcheck.Thresholds{Reject: float64(*threshold), Allow: -1},
			Logger:     env.Logger,
		})
		if err != nil {
			return staged{}, fmt.Errorf("-dnsbl: %w", err)
		}
		env.Logger.Info("DNS lists on", "lists", specs.String(), "threshold", *threshold)
		if *health > 0 {
			go c.RunHealth(context.Background(), *health) // for the life of the program
		}
		client := c.ClientCheck()
		remember := func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			r := client(ctx, s)
			if r.Action == smtpcheck.Accept {
				s.SetValue(dnsAllowlisted{}, true) // greylisting skips this client
			}
			return r
		}
		check := smtpcheck.Guard(remember, smtpcheck.Options{
			Name:    "dnsbl",
			Timeout: 6 * time.Second, // the lists' own deadline comes first
			Skip:    []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated},
		})
		return staged{Stages: smtpcheck.Stages{Connect: []smtpcheck.Check{check}}}, nil
	}
}

// dnsAllowlisted is the session key set when a DNS allowlist accepted the
// client.
type dnsAllowlisted struct{}

// onDNSAllowlist is true for a client a DNS allowlist (-dnsbl with a
// negative weight) accepted at connect.
func onDNSAllowlist(s *smtpcheck.Session) bool {
	v, _ := s.Value(dnsAllowlisted{}).(bool)
	return v
}
