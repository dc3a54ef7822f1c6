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
	"github.com/smtppolicy/smtppolicy/greylist/storespec"
	"github.com/smtppolicy/smtppolicy/postscreen"
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
		if f := fs.Lookup("dnsbl"); f != nil && f.Value.String() != "" {
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
		if enabled&postscreen.Deep == 0 && cfg.Cache == nil && cfg.Access == nil {
			return staged{}, nil
		}
		if *forbidden != "" {
			cfg.Forbidden = strings.Split(*forbidden, ",")
		}
		cfg.Enabled = enabled
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
