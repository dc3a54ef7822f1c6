package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dmarc"

	"github.com/smtppolicy/smtppolicy/batv"
	"github.com/smtppolicy/smtppolicy/duplicate"
	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/examples/internal/storespec"
	"github.com/smtppolicy/smtppolicy/four21"
	"github.com/smtppolicy/smtppolicy/msgauth"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// msgauthFlags adds message authentication: -msgauth (with -resolver)
// verifies DKIM signatures and the From: domain's DMARC policy of every
// message from clients neither trusted nor authenticated, refusing what
// p=reject refuses, and adds an Authentication-Results header.
// -dkim-policy and -dmarc-policy act on single results, -dmarc-override
// replaces published policies, -msgauth-spoof refuses mail claiming one
// of the -domain's from outside (Barracuda's spoof protection), and the
// smtppolicy_arc_* parameters (-arc-verify, -arc-trusted-sealers,
// -arc-policy) add ARC validation.
func msgauthFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	on := fs.Bool("msgauth", false, "verify DKIM and DMARC at end of data (needs -resolver)")
	timeout := fs.Duration("msgauth-timeout", msgauth.DefaultTimeout, "bound on one message's DKIM and DMARC verification")
	dkimPolicy := fs.String("dkim-policy", "", "DKIM result=action list, such as none=reject,fail=tag (results none, fail, permerror, temperror; actions continue, tag, quarantine, tempfail, reject)")
	dmarcPolicy := fs.String("dmarc-policy", "temperror=tempfail", "DMARC temperror/permerror=action list; fail follows the domain's p=")
	override := fs.String("dmarc-override", "", "local DMARC policies, DOMAIN=none|quarantine|reject, comma-separated; * for every domain")
	spoof := fs.Bool("msgauth-spoof", false, "refuse mail whose From: or sender is one of the -domain's, from outside, that DMARC does not pass")
	return func(env *buildEnv) (staged, error) {
		if !*on {
			if env.Params != nil && env.Params.ARCOn() {
				return staged{}, fmt.Errorf("smtppolicy_arc_verify (-arc-verify) needs -msgauth")
			}
			return staged{}, nil
		}
		if env.Resolver == nil {
			return staged{}, fmt.Errorf("-msgauth needs -resolver")
		}
		cfg := msgauth.Config{Resolver: env.Resolver, AuthServID: env.Hostname, Timeout: *timeout, Logger: env.Logger}
		if env.Params != nil {
			// ARC's smtppolicy_arc_* parameters (-arc-verify and its kin).
			if err := env.Params.ApplyARC(&cfg); err != nil {
				return staged{}, err
			}
		}
		var err error
		if cfg.DKIM, err = parsePolicy(*dkimPolicy); err != nil {
			return staged{}, fmt.Errorf("-dkim-policy: %w", err)
		}
		if cfg.DMARC, err = parsePolicy(*dmarcPolicy); err != nil {
			return staged{}, fmt.Errorf("-dmarc-policy: %w", err)
		}
		for _, kv := range splitList(*override) {
			d, p, ok := strings.Cut(kv, "=")
			if !ok {
				return staged{}, fmt.Errorf("-dmarc-override: %q is not DOMAIN=POLICY", kv)
			}
			if cfg.Override == nil {
				cfg.Override = map[string]dmarc.Policy{}
			}
			cfg.Override[strings.ToLower(d)] = dmarc.Policy(strings.ToLower(p))
		}
		if *spoof {
			cfg.SpoofDomains = env.Domains
		}
		v, err := msgauth.New(cfg)
		if err != nil {
			return staged{}, err
		}
		env.Logger.Info("message authentication on", "dkim-policy", *dkimPolicy, "dmarc-policy", *dmarcPolicy, "override", *override, "spoof", *spoof,
			"arc", cfg.ARC, "arc-trusted-sealers", strings.Join(cfg.ARCTrustedSealers, ","))
		c := smtpcheck.Guard(v.Check(), smtpcheck.Options{Name: msgauth.Name, Timeout: *timeout + time.Second, OnError: smtpcheck.FailTemp,
			Skip: []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated}})
		return staged{Stages: smtpcheck.Stages{EndOfData: []smtpcheck.Check{c}}}, nil
	}
}

// duplicateFlags adds smtpf's duplicate message refusal: -duplicate STORE
// (memory:, bolt:PATH or redis://HOST:PORT/DB) refuses a message already
// accepted for the same recipients within -duplicate-ttl. The check only
// looks (and claims the message's keys while it is delivered); a message
// is remembered once it has been accepted and delivered, so a first try
// that a later check deferred or whose delivery failed (451) does not
// turn the client's retry into a 550, and the claim is released when the
// session ends.
func duplicateFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	spec := fs.String("duplicate", "", "refuse duplicate messages (smtpf#340), remembered in: memory:, bolt:PATH or redis://HOST:PORT/DB (empty: off)")
	ttl := fs.Duration("duplicate-ttl", duplicate.DefaultTTL, "how long an accepted message is remembered")
	var st store.Store // opened once: a reload keeps what was seen
	return func(env *buildEnv) (staged, error) {
		if *spec == "" {
			return staged{}, nil
		}
		if st == nil {
			s, err := openStore(*spec)
			if err != nil {
				return staged{}, fmt.Errorf("-duplicate %s: %w", daemon.RedactURL(*spec), err)
			}
			st = s
		}
		d, err := duplicate.New(duplicate.Config{Store: st, TTL: *ttl, Logger: env.Logger})
		if err != nil {
			return staged{}, err
		}
		env.Logger.Info("duplicate refusal on", "store", daemon.RedactURL(*spec), "ttl", *ttl)
		c := smtpcheck.Guard(d.Check(), smtpcheck.Options{Name: duplicate.Name, Timeout: 5 * time.Second})
		return staged{Stages: smtpcheck.Stages{EndOfData: []smtpcheck.Check{c}}, Accepted: d.Record, Closed: d.Release}, nil
	}
}

// batvFlags adds bounce address tag validation (smtpf's EMEW): with
// -batv-key ID:SECRET (repeatable; the first signs, the others still
// verify, so a new key goes first and the previous one stays for
// -batv-ttl) a bounce (null sender) to one of the -domain's addresses
// must carry a valid prvs= tag: untagged or forged is refused with
// smtpf#358's reply, expired with #357's; -batv-dsn-policy tag or
// quarantine only marks it.
func batvFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	var keys listFlag
	fs.Var(&keys, "batv-key", "bounce tag key ID:SECRET, ID a digit, SECRET at least 16 octets (repeatable: the first signs, all verify); none: off")
	ttl := fs.Duration("batv-ttl", batv.DefaultTTL, "how long a tag is honoured (smtpf's emew-ttl)")
	policy := fs.String("batv-dsn-policy", "reject", "what a bounce to an untagged, forged or expired address gets: reject, tag or quarantine")
	return func(env *buildEnv) (staged, error) {
		if len(keys) == 0 {
			return staged{}, nil
		}
		var ks []batv.Key
		for _, k := range keys {
			id, secret, ok := strings.Cut(k, ":")
			if !ok || len(id) != 1 {
				return staged{}, fmt.Errorf("-batv-key: want ID:SECRET with a one-digit ID")
			}
			ks = append(ks, batv.Key{ID: id[0], Secret: []byte(secret)})
		}
		sg, err := batv.NewSigner(*ttl, ks...)
		if err != nil {
			return staged{}, fmt.Errorf("-batv-key: %w", err)
		}
		act := map[string]smtpcheck.Action{"reject": smtpcheck.Reject, "tag": smtpcheck.Tag, "quarantine": smtpcheck.Quarantine}
		a, ok := act[*policy]
		if !ok {
			return staged{}, fmt.Errorf("-batv-dsn-policy: %q is not reject, tag or quarantine", *policy)
		}
		env.Logger.Info("bounce tag validation on", "keys", len(ks), "ttl", *ttl, "policy", *policy)
		c := smtpcheck.Named(batv.Name, batv.Check(batv.Config{Signer: sg, Domains: env.Domains, Action: a}))
		return staged{Stages: smtpcheck.Stages{Rcpt: []smtpcheck.Check{c}}}, nil
	}
}

// four21Flags adds smtpf's Four21 test (four21-unknown-ip): with
// -four21 STORE a client address never seen is answered 421 and watched
// by the listener; a clean QUIT makes it known for -four21-known-ttl,
// anything else refuses it with 554 5.4.0 for -four21-block-ttl. Trusted
// networks are never tested.
func four21Flags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	spec := fs.String("four21", "", "test unknown client addresses with a 421 (smtpf's four21-unknown-ip), remembered in: memory:, bolt:PATH or redis://HOST:PORT/DB (empty: off)")
	knownTTL := fs.Duration("four21-known-ttl", four21.DefaultKnownTTL, "how long a client that passed is known")
	blockTTL := fs.Duration("four21-block-ttl", four21.DefaultBlockTTL, "how long a client that failed is refused")
	wait := fs.Duration("four21-wait", four21.DefaultWait, "how long to wait for QUIT after the 421")
	var st store.Store // opened once: a reload keeps who is known
	return func(env *buildEnv) (staged, error) {
		if *spec == "" {
			return staged{}, nil
		}
		if st == nil {
			s, err := openStore(*spec)
			if err != nil {
				return staged{}, fmt.Errorf("-four21 %s: %w", daemon.RedactURL(*spec), err)
			}
			st = s
		}
		trusted := env.Trusted
		tr, err := four21.New(four21.Config{Store: st, KnownTTL: *knownTTL, BlockTTL: *blockTTL, Wait: *wait, Logger: env.Logger,
			Exempt: func(ip netip.Addr) bool {
				for _, p := range trusted {
					if p.Contains(ip) {
						return true
					}
				}
				return false
			}})
		if err != nil {
			return staged{}, err
		}
		env.Logger.Info("four21 test on", "store", daemon.RedactURL(*spec), "known-ttl", *knownTTL, "block-ttl", *blockTTL)
		c := smtpcheck.Guard(tr.Check(), smtpcheck.Options{Name: four21.Name, Skip: []smtpcheck.Condition{smtpcheck.TrustedNetwork}})
		return staged{Stages: smtpcheck.Stages{Connect: []smtpcheck.Check{c}}, Listener: tr.Listener}, nil
	}
}

// openStore opens a store by its -duplicate or -four21 spec.
func openStore(spec string) (store.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := storespec.Open(ctx, spec)
	if err != nil {
		return nil, daemon.RedactError(err, spec)
	}
	return st, nil
}

// parsePolicy reads a RESULT=ACTION list.
func parsePolicy(s string) (msgauth.Policy, error) {
	actions := map[string]smtpcheck.Action{"continue": smtpcheck.Continue, "tag": smtpcheck.Tag, "quarantine": smtpcheck.Quarantine,
		"tempfail": smtpcheck.TempFail, "reject": smtpcheck.Reject}
	var p msgauth.Policy
	for _, kv := range splitList(s) {
		r, a, ok := strings.Cut(kv, "=")
		act, known := actions[strings.ToLower(a)]
		res := msgauth.Result(strings.ToLower(r))
		switch {
		case !ok || !known:
			return nil, fmt.Errorf("%q is not RESULT=continue|tag|quarantine|tempfail|reject", kv)
		case res != msgauth.None && res != msgauth.Pass && res != msgauth.Fail && res != msgauth.TempError && res != msgauth.PermError:
			return nil, fmt.Errorf("%q: unknown result %q", kv, r)
		}
		if p == nil {
			p = msgauth.Policy{}
		}
		p[res] = act
	}
	return p, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
