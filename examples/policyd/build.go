package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/examples/policyd/policy"
	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/greylist/storespec"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// staged are checks per stage. Postfix sends no request between DATA and
// the end of the message, so the header stage stays empty.
type staged = smtpcheck.Stages

// requestStageKey keys the stage of the request being answered in the
// session's values.
type requestStageKey struct{}

// notRequestStage is true while the walk passes a stage on its way to the
// request's own. Checks that count events (the access map's limits) or
// record them (greylisting) run only at the request's own stage: Postfix
// sends one request per recipient, and an earlier stage re-walked for each
// of them has not happened again.
func notRequestStage(s *smtpcheck.Session) bool {
	st, _ := s.Value(requestStageKey{}).(smtpcheck.Stage)
	return s.Stage != st
}

// stores are what outlives a reload: the resolver (and its cache), the
// greylist store and the store of the access map's limit counters.
type stores struct {
	res    *resolver.Resolver
	grey   store.Store // nil with -greylist none
	limits store.Store
	close  func()
}

// openStores opens what every policy built from o shares.
func openStores(ctx context.Context, o options, logger *slog.Logger) (*stores, error) {
	st := &stores{limits: store.NewMemory(store.MemoryOptions{MaxEntries: 1 << 20}), close: func() {}}
	if o.resolver != "" {
		r, err := resolver.New(resolver.Config{Servers: []string{o.resolver}, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("-resolver: %w", err)
		}
		st.res = r
		logger.Info("DNS-based checks on", "resolver", o.resolver)
	} else {
		logger.Info("DNS-based checks off: no -resolver given")
	}
	if o.greylist == "none" {
		if o.list || o.release != "" {
			return nil, errors.New("-greylist-list and -greylist-release need a -greylist store")
		}
		return st, nil
	}
	if path, ok := strings.CutPrefix(o.greylist, "bolt:"); ok && path != "" {
		// The store's directory is private: triplets name who mails whom.
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("-greylist %s: cannot create its directory: %v (give -greylist bolt:PATH in a writable directory, or memory:)", o.greylist, errors.Unwrap(err))
		}
	}
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	g, err := storespec.Open(octx, o.greylist)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("-greylist %s: %w", daemon.RedactURL(o.greylist), daemon.RedactError(err, o.greylist))
	}
	st.grey = g
	st.close = func() { g.Close() }
	return st, nil
}

// build makes the server and its greylist from the options; the returned
// func closes what build opened.
func build(ctx context.Context, o options, logger *slog.Logger) (*server, *greylist.Greylist, func(), error) {
	st, err := openStores(ctx, o, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	bctx, cancel := context.WithCancel(ctx)
	srv, g, err := buildPolicy(bctx, o, st, logger)
	if err != nil {
		cancel()
		st.close()
		return nil, nil, nil, err
	}
	return srv, g, func() { cancel(); st.close() }, nil
}

// buildPolicy builds the policy from o's files on the stores st: at start
// and again at each reload. Goroutines it starts (access map watchers)
// end with ctx.
func buildPolicy(ctx context.Context, o options, st *stores, logger *slog.Logger) (*server, *greylist.Greylist, error) {
	fail := func(err error) (*server, *greylist.Greylist, error) { return nil, nil, err }
	res := st.res

	var all staged
	add := func(st staged) { all = all.Append(st) }

	// The access map first, as smtpf consults it before anything else.
	var accessMap *access.Access
	if len(o.access) > 0 {
		a, err := access.New(access.Config{
			Files:  o.access,
			Store:  st.limits, // counters survive a reload
			Logger: logger,
		})
		if err != nil {
			return fail(fmt.Errorf("-access: %w", err))
		}
		accessMap = a
		go a.Watch(ctx, 5*time.Second) // reload edited files until shutdown
		check := smtpcheck.Named(access.CheckName, a.Check())
		limits := smtpcheck.SkipIf(notRequestStage,
			smtpcheck.Guard(a.Limits(), smtpcheck.Options{Name: access.LimitsName, OnError: smtpcheck.FailOpen}))
		add(staged{
			Connect:   []smtpcheck.Check{limits, check},
			Helo:      []smtpcheck.Check{check},
			Mail:      []smtpcheck.Check{check, limits},
			Rcpt:      []smtpcheck.Check{check, limits},
			Data:      []smtpcheck.Check{check},
			EndOfData: []smtpcheck.Check{check, limits},
		})
		logger.Info("access map on", "files", []string(o.access), "keys", a.Map().Len())
	}

	if len(o.dnsbl) > 0 {
		if res == nil {
			return fail(errors.New("-dnsbl needs -resolver"))
		}
		if o.threshold < 1 {
			return fail(fmt.Errorf("-dnsbl-threshold %d: want 1 or more", o.threshold))
		}
		lists, err := dnsbl.ParseLists(o.dnsbl...)
		if err != nil {
			return fail(fmt.Errorf("-dnsbl: %w", err))
		}
		c, err := dnsbl.New(dnsbl.Config{
			Resolver:   res,
			Lists:      lists,
			Timeout:    5 * time.Second,
			Thresholds: smtpcheck.Thresholds{Reject: float64(o.threshold), Allow: -1},
			Logger:     logger,
		})
		if err != nil {
			return fail(fmt.Errorf("-dnsbl: %w", err))
		}
		add(staged{Connect: []smtpcheck.Check{smtpcheck.Guard(c.ClientCheck(), smtpcheck.Options{
			Name:    "dnsbl",
			Timeout: 6 * time.Second, // the lists' own deadline comes first
			Skip:    []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated},
		})}})
		logger.Info("DNS lists on", "lists", o.dnsbl.String(), "threshold", o.threshold)
	}

	if o.hygiene {
		st := hygiene.Default(hygiene.DefaultConfig{Names: []string{o.hostname}})
		if res != nil {
			st = st.Append(hygiene.DefaultDNS(hygiene.DNSConfig{Resolver: res}))
		}
		st.Headers = nil // no policy request carries the header
		add(st)
		logger.Info("hygiene checks on", "dns", res != nil)
	}

	var g *greylist.Greylist
	if st.grey != nil {
		gc := greylist.Config{Store: st.grey, Delay: o.delay, Exchange: o.exchange, Hostname: o.hostname, Logger: logger}
		gc.AutoAllow, gc.AutoAllowByNetwork = o.autoAllow, o.autoAllowNet
		if o.autoAllow == 0 {
			gc.AutoAllow = greylist.AutoAllowOff // -greylist-auto-allow 0 means off, as in postgrey
		}
		if accessMap != nil {
			gc.Period = accessMap.GreyPeriod // Grey-Connect: and Grey-To:
		}
		if err := o.pg.configure(&gc); err != nil {
			return fail(err)
		}
		var err error
		g, err = greylist.New(gc)
		if err != nil {
			return fail(err)
		}
		check := o.pg.postgreyAnswers(g.Check(), o.exchange, o.hostname)
		add(staged{Rcpt: []smtpcheck.Check{smtpcheck.SkipIf(notRequestStage, check)}})
	}

	p := &smtpcheck.Policy{
		Connect:   smtpcheck.FirstMatch(all.Connect...),
		Helo:      smtpcheck.FirstMatch(all.Helo...),
		Mail:      smtpcheck.FirstMatch(all.Mail...),
		Rcpt:      smtpcheck.FirstMatch(all.Rcpt...),
		Data:      smtpcheck.FirstMatch(all.Data...),
		EndOfData: smtpcheck.FirstMatch(all.EndOfData...),
	}
	failAction := policy.Action(smtpcheck.Result{Action: smtpcheck.DeferIfPermit, Reply: reply.InternalError()})
	if o.config != "" {
		cfg, err := loadConfig(o.config, postconf.Env{Resolver: res, Logger: logger, PassActions: true})
		if err != nil {
			return fail(err)
		}
		p = cfg.Policy
		then := func(first smtpcheck.Check, more []smtpcheck.Check) smtpcheck.Check {
			if first == nil {
				return smtpcheck.FirstMatch(more...)
			}
			return smtpcheck.FirstMatch(append([]smtpcheck.Check{first}, more...)...)
		}
		p.Connect = then(p.Connect, all.Connect)
		p.Helo = then(p.Helo, all.Helo)
		p.Mail = then(p.Mail, all.Mail)
		p.Rcpt = then(p.Rcpt, all.Rcpt)
		p.Data = then(p.Data, all.Data)
		p.EndOfData = then(p.EndOfData, all.EndOfData)
		// Postfix's default for the parameter is the reply it gives itself
		// when a policy service cannot be reached; only a file that sets
		// it chooses our answer to a failed policy.
		if _, set := cfg.File.Raw("smtpd_policy_service_default_action"); set && cfg.PolicyServiceDefaultAction != "" {
			failAction = cfg.PolicyServiceDefaultAction
		}
		logger.Info("policy from file", "config", o.config, "dry_run", cfg.DryRun, "mynetworks", len(cfg.MyNetworks))
	}
	// Each stage's check records its own result before the Policy rewrites
	// it, so that a defer-if-permit still reaches Postfix as one.
	p.Connect, p.Helo, p.Mail = recordRaw(p.Connect), recordRaw(p.Helo), recordRaw(p.Mail)
	p.Rcpt, p.Data, p.EndOfData = recordRaw(p.Rcpt), recordRaw(p.Data), recordRaw(p.EndOfData)
	p.Headers = nil
	p.DelayReject = true
	p.DryRun = p.DryRun || o.dryRun
	p.Logger = logger
	if p.DryRun {
		logger.Warn("dry run: verdicts are logged, every request is answered DUNNO")
	}
	imm := *p
	imm.DelayReject = false
	return &server{
		policy:     p,
		immediate:  &imm,
		failAction: failAction,
		verbose:    o.verbose,
		log:        logger,
		timeout:    o.timeout,
		idle:       o.idle,
		conns:      map[net.Conn]struct{}{},
		stopWait:   o.stopWait,
	}, g, nil
}

// loadConfig reads a Postfix-style policy file. Postfix does relay control
// itself before it asks a policy service, so a file that leaves
// smtpd_relay_restrictions unset gets an empty list here, not Postfix's
// default (whose defer_unauth_destination would defer every recipient of
// a policy service that knows no domains); a file that sets it is obeyed.
func loadConfig(path string, env postconf.Env) (*postconf.Config, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, &postconf.Error{File: path, Msg: err.Error()}
	}
	defer fh.Close()
	f, err := postconf.Parse(fh, path)
	if err != nil {
		return nil, err
	}
	if _, set := f.Raw("smtpd_relay_restrictions"); !set {
		f.Set("smtpd_relay_restrictions", "")
	}
	return postconf.Build(f, env)
}
