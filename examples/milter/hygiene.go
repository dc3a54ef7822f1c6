package main

import (
	"flag"
	"fmt"

	"github.com/smtppolicy/smtppolicy/examples/gomilter"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
	"github.com/smtppolicy/smtppolicy/smtpcheck/spfcheck"
)

// hygieneFlags adds the protocol-hygiene checks, as smtpd does: HELO,
// envelope, header, size and SMTP smuggling checks that need no network are
// on by default (-hygiene=false turns them off); with -resolver, the sender
// domain, reverse DNS and SPF checks join them, and the reverse DNS check
// needs the client's reverse name from the MTA ({client_ptr}). The protocol
// checks (pipelining, pre-greeting) see nothing behind a milter and never
// fire. Postfix stores every line with its own line ending, so
// -hygiene-lines normalize only lets bare LF/CR pass the checks.
func hygieneFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	on := fs.Bool("hygiene", true, "HELO, envelope, header, size, bare line ending and protocol checks (no network needed)")
	names := fs.Bool("hygiene-names", false, "also refuse RFC 2606/6761 reserved names and unknown TLDs in HELO, sender and recipient (off by default: this example serves example.org and localhost)")
	lines := fs.String("hygiene-lines", "reject", "bare LF/CR in a message: reject, or normalize (smuggling dot lines are refused either way)")
	maxSize := fs.Int64("hygiene-max-size", hygiene.DefaultMaxSize, "largest message in bytes (552 5.3.4 above it)")
	spfOn := fs.Bool("spf", true, "SPF check of the MAIL FROM identity (needs -resolver): fail refused, softfail scored, temperror deferred, permerror let through")
	return func(env *buildEnv) (staged, error) {
		if !*on {
			return staged{}, nil
		}
		var mode hygiene.LineMode
		switch *lines {
		case "reject":
		case "normalize", "normalise":
			mode = hygiene.LineNormalize
		default:
			return staged{}, fmt.Errorf("-hygiene-lines: %q is neither reject nor normalize", *lines)
		}
		st := hygiene.Default(hygiene.DefaultConfig{
			Names:    append([]string{env.Hostname}, env.Domains...),
			Addrs:    env.Local,
			MaxSize:  *maxSize,
			Lines:    mode,
			LabNames: !*names,
		})
		if env.Resolver == nil {
			env.Logger.Info("hygiene checks on; DNS-based ones off without -resolver")
		} else {
			st = st.Append(hygiene.DefaultDNS(hygiene.DNSConfig{Resolver: env.Resolver}))
			if *spfOn {
				st.Mail = append(st.Mail, spfcheck.Mail(spfcheck.Config{Resolver: env.Resolver, Receiver: env.Hostname, Logger: env.Logger}))
			}
			env.Logger.Info("hygiene checks on, with sender domain, reverse DNS and SPF")
		}
		out := staged{Stages: st, MaxSize: *maxSize}
		if env.Resolver != nil {
			out.Needs = append(out.Needs, gomilter.FactReverseName)
		}
		return out, nil
	}
}
