package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/smtppolicy/smtppolicy/access"
	"github.com/smtppolicy/smtppolicy/examples/gomilter"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/uri"
)

// uriFlags adds the link checks, smtpf's uri-* options: -uribl SPEC
// (repeatable, dnsbl syntax such as dbl.example=127.0.1.[2..99]; prefix
// "ip:" for a list of IP addresses, "any:" for SURBL-style lists of both)
// checks every host the message links to at end of data. The rules that
// need no DNS (-uri-max-limit, -uri-require-domain, -uri-links-policy) work
// without -resolver; the lists and DNS rules need it and stay off, with a
// log line, when it is missing. A lookup failure fails open.
func uriFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	var specs, exclude listFlag
	fs.Var(&specs, "uribl", `URI list for the hosts a message links to, ZONE[=PATTERN|&MASK][*WEIGHT], "ip:" or "any:" prefix for lists of addresses (repeatable)`)
	fs.Var(&exclude, "uri-exclude", "domain never looked up for links (repeatable)")
	maxURIs := fs.Int("uri-max-limit", 0, "reject a message linking to more distinct hosts than this (0: no limit)")
	requireDomain := fs.Bool("uri-require-domain", false, "reject links whose host is an IP address")
	links := fs.String("uri-links-policy", "ignore", "what a malformed link does: ignore, tag or reject")
	ipInName := fs.Bool("uri-ip-in-name", false, "reject link hosts whose name embeds their own IP (needs -resolver)")
	nsNX := fs.Bool("uri-ns-nxdomain", false, "reject link domains delegated to a name server that does not exist (needs -resolver)")
	ipInNS := fs.Bool("uri-ip-in-ns", false, "reject link domains whose name server's name embeds its IP (needs -resolver)")
	requirePTR := fs.Bool("uri-require-ptr", false, "reject link hosts whose addresses have no PTR (needs -resolver)")
	blHelo := fs.Bool("uri-bl-helo", false, "also check the HELO name against the -uribl domain lists")
	blMail := fs.Bool("uri-bl-mail", false, "also check the sender's domain against the -uribl domain lists")
	blPTR := fs.Bool("uri-bl-ptr", false, "also check the client's PTR names against the -uribl domain lists")
	return func(env *buildEnv) (staged, error) {
		cfg := uri.Config{Exclude: exclude, MaxURIs: *maxURIs, RequireDomain: *requireDomain, Logger: env.Logger}
		switch *links {
		case "ignore":
		case "tag":
			cfg.Links = uri.LinksTag
		case "reject":
			cfg.Links = uri.LinksReject
		default:
			return staged{}, fmt.Errorf("-uri-links-policy %q: want ignore, tag or reject", *links)
		}
		dnsWanted := len(specs) > 0 || *ipInName || *nsNX || *ipInNS || *requirePTR
		if dnsWanted && env.Resolver == nil {
			env.Logger.Info("URI lists and link DNS checks off: no -resolver given")
		}
		if dnsWanted && env.Resolver != nil {
			for _, s := range specs {
				l, err := uri.ParseList(s)
				if err != nil {
					return staged{}, fmt.Errorf("-uribl: %w", err)
				}
				cfg.Lists = append(cfg.Lists, l)
			}
			cfg.Resolver = env.Resolver
			cfg.IPInName, cfg.NSNXDomain, cfg.IPInNS, cfg.RequirePTR = *ipInName, *nsNX, *ipInNS, *requirePTR
		}
		if env.Access != nil {
			cfg.Body = accessBody(env.Access) // Body: entries exempt or reject link hosts
		}
		if cfg.Resolver == nil && cfg.MaxURIs == 0 && !cfg.RequireDomain && cfg.Links == uri.LinksIgnore && cfg.Body == nil {
			return staged{}, nil
		}
		c, err := uri.New(cfg)
		if err != nil {
			return staged{}, fmt.Errorf("uri: %w", err)
		}
		env.Logger.Info("link checks on", "lists", specs.String(), "dns", cfg.Resolver != nil)
		skip := []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated}
		guard := func(name string, check smtpcheck.Check) smtpcheck.Check {
			return smtpcheck.Guard(check, smtpcheck.Options{Name: name, Timeout: 15 * time.Second, Skip: skip})
		}
		st := staged{Stages: smtpcheck.Stages{EndOfData: []smtpcheck.Check{guard("uri", c.Check())}}}
		if cfg.Resolver != nil && len(cfg.Lists) > 0 {
			if *blHelo {
				st.Helo = append(st.Helo, guard("uri-bl-helo", c.HeloCheck()))
			}
			if *blPTR {
				st.Helo = append(st.Helo, guard("uri-bl-ptr", c.ClientPTRCheck()))
				st.Needs = append(st.Needs, gomilter.FactReverseName)
			}
			if *blMail {
				st.Mail = append(st.Mail, guard("uri-bl-mail", c.SenderCheck()))
			}
		}
		return st, nil
	}
}

// accessBody reads an access map's Body: tag as the link check's verdict:
// OK exempts the host, REJECT and IREJECT refuse the message; the map's
// other actions leave the host to the other checks.
func accessBody(a *access.Access) func(string) (uri.BodyVerdict, string) {
	return func(host string) (uri.BodyVerdict, string) {
		v, key, found := a.Body(host)
		if !found {
			return uri.BodyNone, ""
		}
		switch v.Action {
		case access.OK:
			return uri.BodyExempt, "Body:" + key
		case access.Reject:
			return uri.BodyReject, "Body:" + key
		case access.IReject:
			return uri.BodyRejectNow, "Body:" + key
		}
		return uri.BodyNone, ""
	}
}
