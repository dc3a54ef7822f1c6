package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/examples/gosmtp"
	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/examples/internal/storespec"
	"github.com/smtppolicy/smtppolicy/postscreen"
	"github.com/smtppolicy/smtppolicy/reputation"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// postscreenFlags adds postscreen(8)'s tests, with its parameter names and
// defaults: the deep protocol tests (-postscreen-bare-newline-enable,
// -postscreen-non-smtp-command-enable, -postscreen-pipelining-enable, each
// with its -..-action ignore, enforce or drop), the pass cache
// (-postscreen-cache STORE, shared by a cluster on Redis) with the per-test
// -..-ttl lifetimes, and -postscreen-access-list (permit_mynetworks, which
// reads -trusted, and cidr: tables) whose permitted clients take no test.
// The pregreet test is -greet-pause; with a cache, a client whose pregreet
// and DNS-list passes are current skips the pause and the DNS lists.
// These settings are read at start; a reload keeps them.
func postscreenFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	cacheSpec := fs.String("postscreen-cache", "", "pass cache store: memory:, bolt:PATH or redis://HOST:PORT/DB (postscreen_cache_map; empty: every client takes every test)")
	accessList := fs.String("postscreen-access-list", "", "postscreen_access_list: permit_mynetworks (the -trusted networks) and cidr:PATH tables, comma-separated; permitted clients take no test")
	bareOn := fs.Bool("postscreen-bare-newline-enable", false, "the bare newline test: a command line ended by LF alone fails (postscreen_bare_newline_enable)")
	bareAct := fs.String("postscreen-bare-newline-action", "ignore", "what a failed bare newline test does: ignore, enforce or drop")
	nonOn := fs.Bool("postscreen-non-smtp-command-enable", false, "the non-SMTP command test: CONNECT, GET, POST and header lines such as Host: fail (postscreen_non_smtp_command_enable)")
	nonAct := fs.String("postscreen-non-smtp-command-action", "drop", "what a failed non-SMTP command test does: ignore, enforce or drop")
	forbidden := fs.String("postscreen-forbidden-commands", strings.Join(postscreen.DefaultForbidden, ","), "commands of the non-SMTP test, comma-separated")
	pipeOn := fs.Bool("postscreen-pipelining-enable", false, "the pipelining test: commands sent before the reply to the previous one, without PIPELINING (postscreen_pipelining_enable)")
	pipeAct := fs.String("postscreen-pipelining-action", "enforce", "what a failed pipelining test does: ignore, enforce or drop")
	banner := fs.String("postscreen-greet-banner", "", "text of a first greeting line 220-TEXT sent before the -greet-pause, to catch bots that talk on seeing it (postscreen_greet_banner; empty: none)")
	reconnect := fs.Bool("postscreen-deep-reconnect", false, "postscreen's rule: a client that passes the deep tests gets 450 4.3.2 at RCPT TO and must reconnect (off: it goes on at once, as this server is the real one)")
	def := postscreen.DefaultTTLs()
	var ttl postscreen.TTLs
	fs.DurationVar(&ttl.Greet, "postscreen-greet-ttl", def.Greet, "how long a pregreet pass is cached")
	fs.DurationVar(&ttl.DNSBLMin, "postscreen-dnsbl-min-ttl", def.DNSBLMin, "shortest time a DNS-list pass is cached")
	fs.DurationVar(&ttl.DNSBLMax, "postscreen-dnsbl-max-ttl", def.DNSBLMax, "longest time a DNS-list pass is cached")
	fs.DurationVar(&ttl.BareNewline, "postscreen-bare-newline-ttl", def.BareNewline, "how long a bare newline pass is cached")
	fs.DurationVar(&ttl.NonSMTP, "postscreen-non-smtp-command-ttl", def.NonSMTP, "how long a non-SMTP command pass is cached")
	fs.DurationVar(&ttl.Pipelining, "postscreen-pipelining-ttl", def.Pipelining, "how long a pipelining pass is cached")
	fs.DurationVar(&ttl.Retention, "postscreen-cache-retention-time", def.Retention, "how long a cache record outlives its last pass")
	var st store.Store // opened once: a reload keeps the cache
	return func(env *buildEnv) (staged, error) {
		var enabled postscreen.Tests
		var cfg postscreen.Config
		for _, t := range []struct {
			on     bool
			action string
			test   postscreen.Test
			name   string
		}{
			{*bareOn, *bareAct, postscreen.BareNewline, "-postscreen-bare-newline-action"},
			{*nonOn, *nonAct, postscreen.NonSMTP, "-postscreen-non-smtp-command-action"},
			{*pipeOn, *pipeAct, postscreen.Pipelining, "-postscreen-pipelining-action"},
		} {
			a, err := postscreen.ParseAction(t.action)
			if err != nil {
				return staged{}, fmt.Errorf("%s: %w", t.name, err)
			}
			cfg.Actions[t.test] = a
			if t.on {
				enabled = enabled.With(t.test)
			}
		}
		if f := fs.Lookup("greet-pause"); f != nil && f.Value.String() != "0s" {
			enabled = enabled.With(postscreen.Pregreet)
		}
		if env.Params != nil && env.Params.Value("smtppolicy_dnsbl_sites") != "" {
			// The DNS lists run at connect: their pass is cached too.
			enabled = enabled.With(postscreen.DNSBL)
		}
		if *accessList != "" {
			l, err := parseAccessList(*accessList, fs)
			if err != nil {
				return staged{}, fmt.Errorf("-postscreen-access-list: %w", err)
			}
			cfg.Access = l
		}
		if *cacheSpec != "" {
			if st == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				s, err := storespec.Open(ctx, *cacheSpec)
				cancel()
				if err != nil {
					return staged{}, fmt.Errorf("-postscreen-cache %s: %w", daemon.RedactURL(*cacheSpec), daemon.RedactError(err, *cacheSpec))
				}
				st = s
			}
			c, err := postscreen.NewCache(postscreen.CacheConfig{Store: st, TTLs: ttl})
			if err != nil {
				return staged{}, fmt.Errorf("-postscreen-cache: %w", err)
			}
			cfg.Cache = c
		}
		if enabled&postscreen.Deep == 0 && cfg.Cache == nil && cfg.Access == nil && *banner == "" {
			return staged{}, nil
		}
		if *forbidden != "" {
			cfg.Forbidden = strings.Split(*forbidden, ",")
		}
		cfg.Enabled = enabled
		cfg.ReconnectAfterDeep = *reconnect
		if strings.ContainsAny(*banner, "\r\n") {
			return staged{}, fmt.Errorf("-postscreen-greet-banner: no line breaks")
		}
		cfg.GreetBanner = *banner
		sc := postscreen.New(cfg)
		env.Logger.Info("postscreen tests on", "tests", enabled.String(), "cache", daemon.RedactURL(*cacheSpec),
			"bare-newline", cfg.Actions[postscreen.BareNewline], "non-smtp-command", cfg.Actions[postscreen.NonSMTP], "pipelining", cfg.Actions[postscreen.Pipelining])
		enforce := smtpcheck.Named(postscreen.Name, postscreen.EnforceCheck())
		return staged{
			Stages:    smtpcheck.Stages{Rcpt: []smtpcheck.Check{enforce}},
			Configure: []func(*gosmtp.Config){func(c *gosmtp.Config) { c.Postscreen = sc }},
		}, nil
	}
}

// parseAccessList reads postscreen_access_list: permit_mynetworks and
// type:path tables, separated by commas or spaces.
func parseAccessList(s string, fs *flag.FlagSet) (postscreen.AccessList, error) {
	var l postscreen.AccessList
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if f == "permit_mynetworks" {
			nets, err := parseTrusted(fs.Lookup("trusted").Value.String())
			if err != nil {
				return nil, err
			}
			l = append(l, postscreen.AccessEntry{MyNetworks: nets})
			continue
		}
		t, err := postfix.Load(f)
		if err != nil {
			return nil, err
		}
		l = append(l, postscreen.AccessEntry{Table: t})
	}
	return l, nil
}

// reputationFlags adds reputation that learns (Haraka's karma, rspamd's
// reputation): -reputation STORE keeps per address, network and domain
// counts of accepted messages and refusals, decaying with
// -reputation-half-life; -reputation-block-after N answers an address
// refused N times 421 at connect for -reputation-block-for; and
// -reputation-tarpit-step delays each reply per refusal, up to
// -reputation-tarpit-max. Trusted (-trusted) and authenticated clients
// are neither scored nor learnt from.
func reputationFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	spec := fs.String("reputation", "", "reputation store: memory:, bolt:PATH or redis://HOST:PORT/DB (empty: no reputation)")
	halfLife := fs.Duration("reputation-half-life", 24*time.Hour, "time after which a good or bad outcome weighs half")
	blockAfter := fs.Float64("reputation-block-after", 0, "refusals (decayed) after which an address is answered 421 at connect (0: never)")
	blockFor := fs.Duration("reputation-block-for", time.Hour, "how long such a block lasts")
	tarpitStep := fs.Duration("reputation-tarpit-step", 0, "delay before each reply per refusal of the client's address (0: no tarpit)")
	tarpitMax := fs.Duration("reputation-tarpit-max", 10*time.Second, "longest tarpit delay")
	var st store.Store // opened once: a reload keeps what was learnt
	return func(env *buildEnv) (staged, error) {
		if *spec == "" {
			return staged{}, nil
		}
		if st == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s, err := storespec.Open(ctx, *spec)
			cancel()
			if err != nil {
				return staged{}, fmt.Errorf("-reputation %s: %w", daemon.RedactURL(*spec), daemon.RedactError(err, *spec))
			}
			st = s
		}
		r, err := reputation.New(reputation.Config{Store: st, HalfLife: *halfLife, BlockAfter: *blockAfter, BlockFor: *blockFor,
			TarpitStep: *tarpitStep, TarpitMax: *tarpitMax})
		if err != nil {
			return staged{}, fmt.Errorf("-reputation: %w", err)
		}
		env.Logger.Info("reputation on", "store", daemon.RedactURL(*spec), "half-life", *halfLife, "block-after", *blockAfter, "tarpit-step", *tarpitStep)
		// A store that is down leaves clients unscored, never refused.
		connect := smtpcheck.Guard(r.Check(), smtpcheck.Options{Name: reputation.Name, Timeout: 5 * time.Second, OnError: smtpcheck.FailOpen})
		logger := env.Logger
		return staged{
			Stages: smtpcheck.Stages{Connect: []smtpcheck.Check{connect}, EndOfData: []smtpcheck.Check{reputation.Good()}},
			Configure: []func(*gosmtp.Config){func(c *gosmtp.Config) {
				onClose := c.OnClose
				c.OnClose = func(s *smtpcheck.Session) {
					if onClose != nil {
						onClose(s)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					if err := r.Done(ctx, s); err != nil {
						logger.Warn("reputation not updated", "session", s.Conn.ID, "error", err)
					}
				}
				if *tarpitStep > 0 {
					pause := c.CommandPauseFor
					c.CommandPauseFor = func(ctx context.Context, s *smtpcheck.Session) (time.Duration, bool) {
						if pause != nil {
							if d, ok := pause(ctx, s); ok {
								return d, ok // the access map's CommandPause: rules
							}
						}
						return r.TarpitFor(ctx, s)
					}
				}
			}},
		}, nil
	}
}
