package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/smtppolicy/smtppolicy/examples/internal/storespec"
	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// greylistFlags adds the greylisting flags: -greylist STORE turns it on
// (memory:, bolt:PATH or redis://HOST:PORT/DB), at RCPT by default or at
// the end of DATA with -greylist-content.
func greylistFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	spec := fs.String("greylist", "", "greylist store: memory:, bolt:PATH or redis://HOST:PORT/DB (empty: no greylisting)")
	delay := fs.Duration("greylist-delay", greylist.DefaultDelay, "how long a new client/sender/recipient triplet is deferred")
	content := fs.Bool("greylist-content", false, "greylist at the end of DATA with a hash of the message (a retry with other content is deferred again)")
	exchange := fs.Bool("greylist-exchange", false, "defer with enhanced code 4.2.0 instead of 4.7.1 (for Exchange peers)")
	return func(env *buildEnv) (staged, error) {
		if *spec == "" {
			return staged{}, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := storespec.Open(ctx, *spec)
		if err != nil {
			return staged{}, fmt.Errorf("-greylist: %w", err)
		}
		cfg := greylist.Config{
			Store:    st,
			Delay:    *delay,
			Exchange: *exchange,
			Hostname: env.Hostname,
			Logger:   env.Logger,
			// A store that cannot be reached defers the mail: letting it
			// through would undo greylisting while the store is down.
			OnError: smtpcheck.FailTemp,
			// A client already on a DNS allowlist is not greylisted.
			Skip: []smtpcheck.Condition{onDNSAllowlist},
		}
		if env.Access != nil {
			// The access map's Grey-Connect: and Grey-To: set the period.
			cfg.Period = env.Access.GreyPeriod
		}
		g, err := greylist.New(cfg)
		if err != nil {
			st.Close()
			return staged{}, err
		}
		env.Logger.Info("greylisting on", "store", *spec, "delay", *delay, "content", *content)
		if *content {
			return staged{Stages: smtpcheck.Stages{EndOfData: []smtpcheck.Check{g.ContentCheck()}}}, nil
		}
		return staged{Stages: smtpcheck.Stages{Rcpt: []smtpcheck.Check{g.Check()}}}, nil
	}
}
