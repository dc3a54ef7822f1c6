package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/smtppolicy/smtppolicy/examples/assembly"
	"github.com/smtppolicy/smtppolicy/examples/policyd/policy"
	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/resolver"
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

// stores are what outlives a reload: the resolver (and its cache), and
// the assembly's stores (the greylist's triplets, the access map's limit
// counters).
type stores struct {
	res   *resolver.Resolver
	asm   *assembly.Stores
	close func()
	// metrics, when set, counts every policy built on these stores.
	metrics smtpcheck.Metrics
}

// openStores opens what every policy built from o shares; the greylist
// store is opened by the first build.
func openStores(ctx context.Context, o options, logger *slog.Logger) (*stores, error) {
	st := &stores{asm: &assembly.Stores{}}
	st.close = func() { st.asm.Close() }
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
	if o.params.GreylistOff() && (o.list || o.release != "") {
		return nil, errors.New("-greylist-list and -greylist-release need a -greylist store")
	}
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

// buildPolicy builds the policy from o's parameters and files on the
// stores st: at start and again at each reload. Goroutines it starts
// (access map watchers, DNS list probes) end with ctx.
func buildPolicy(ctx context.Context, o options, st *stores, logger *slog.Logger) (*server, *greylist.Greylist, error) {
	fail := func(err error) (*server, *greylist.Greylist, error) { return nil, nil, err }
	res := st.res
	params := o.params
	if o.config != "" {
		var err error
		if params, err = o.params.Load(o.config); err != nil {
			return fail(err)
		}
	}
	// The access map, hygiene checks and SPF, DNS lists, BATV, callouts
	// and greylisting are the assembly's, as in smtpd; a policy request
	// carries no message, so the checks of the header and body are left
	// out, and policyd owns no connection, so four21 is too.
	ab, err := assembly.Build(params, assembly.Env{
		Ctx:      ctx,
		Logger:   logger,
		Resolver: res,
		Hostname: o.hostname,
		Domains:  o.domains,
		Repeated: notRequestStage,
		Greylist: o.pg.configure,
		GreylistAnswer: func(c smtpcheck.Check) smtpcheck.Check {
			return o.pg.postgreyAnswers(c, params.Value("smtppolicy_greylist_exchange") == "yes", o.hostname)
		},
	}, st.asm)
	if err != nil {
		return fail(err)
	}
	all := ab.Stages
	g := ab.Greylist

	p := assembly.Then(nil, all)
	failAction := policy.Action(smtpcheck.Result{Action: smtpcheck.DeferIfPermit, Reply: reply.InternalError()})
	if o.config != "" {
		// reject_unverified_sender and reject_unverified_recipient ask the
		// assembly's callouts (smtppolicy_callout_*): a policy request
		// carries the envelope they verify. -hostname stands for myhostname
		// where the file sets none: an address without a domain is
		// user@$myorigin to the restrictions.
		cfg, err := buildConfig(params.File, postconf.Env{Resolver: res, Logger: logger, PassActions: true,
			VerifySender: ab.Verify.Sender, VerifyRecipient: ab.Verify.Recipient, Hostname: o.hostname})
		if err != nil {
			return fail(err)
		}
		p = assembly.Then(cfg.Policy, all)
		// Postfix's default for the parameter is the reply it gives itself
		// when a policy service cannot be reached; only a file that sets
		// it chooses our answer to a failed policy.
		if _, set := cfg.File.Raw("smtpd_policy_service_default_action"); set && cfg.PolicyServiceDefaultAction != "" {
			failAction = cfg.PolicyServiceDefaultAction
		}
		logger.Info("policy from file", "config", o.config, "dry_run", cfg.DryRun, "mynetworks", len(cfg.MyNetworks))
	}
	// The reputation learns from the answers as they are given: a policy
	// service sees no end of session.
	assembly.LearnNow(p, ab.Reputation, notRequestStage, logger)
	// Each stage's check records its own result before the Policy rewrites
	// it, so that a defer-if-permit still reaches Postfix as one.
	p.Connect, p.Helo, p.Mail = recordRaw(p.Connect), recordRaw(p.Helo), recordRaw(p.Mail)
	p.Rcpt, p.Data, p.EndOfData = recordRaw(p.Rcpt), recordRaw(p.Data), recordRaw(p.EndOfData)
	p.Headers = nil
	p.DelayReject = true
	p.DryRun = p.DryRun || o.dryRun
	p.Logger = logger
	if st.metrics != nil {
		p.Metrics = st.metrics
	}
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
		grey:       g,
	}, g, nil
}

// buildConfig builds the Postfix parameters of a policy file. Postfix
// does relay control itself before it asks a policy service, so a file
// that leaves smtpd_relay_restrictions unset gets an empty list here, not
// Postfix's default (whose defer_unauth_destination would defer every
// recipient of a policy service that knows no domains); a file that sets
// it is obeyed.
func buildConfig(f *postconf.File, env postconf.Env) (*postconf.Config, error) {
	if _, set := f.Raw("smtpd_relay_restrictions"); !set {
		f.Set("smtpd_relay_restrictions", "")
	}
	return postconf.Build(f, env)
}
