package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"time"

	"github.com/smtppolicy/smtppolicy/callout"
	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/examples/internal/storespec"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// calloutFlags adds address verification by SMTP callout: -callout-sender
// verifies each envelope sender at MAIL FROM by asking its domain's MX
// hosts (smtpf's call-back, Postfix's reject_unverified_sender), and
// -callout-recipient HOST[:PORT] verifies each recipient at RCPT TO with
// the downstream server that holds the mailboxes (smtpf's call-ahead).
// Verdicts are cached in -callout-store for Postfix's verify(8) times. A
// probe that cannot decide (a host that hangs, a DNS timeout) defers with
// the catalog's 4xx under -callout-error-policy temp-fail; it is never a
// 5xx. Trusted and authenticated clients are not verified.
func calloutFlags(fs *flag.FlagSet) func(env *buildEnv) (staged, error) {
	sender := fs.Bool("callout-sender", false, "verify envelope senders with their domain's MX hosts (needs -resolver)")
	rcptHost := fs.String("callout-recipient", "", "verify recipients with this downstream server, HOST[:PORT]; empty: no recipient verification")
	spec := fs.String("callout-store", "memory:", "verify cache: memory:, bolt:PATH or redis://HOST:PORT/DB")
	port := fs.Int("callout-port", callout.DefaultPort, "port probed on MX hosts")
	from := fs.String("callout-from", "", "MAIL FROM address of probes (empty: the null sender <>)")
	timeout := fs.Duration("callout-timeout", callout.DefaultTimeout, "bound on one verification, every host tried")
	connect := fs.Duration("callout-connect-timeout", callout.DefaultConnectTimeout, "bound on each connection to a probed host")
	command := fs.Duration("callout-command-timeout", callout.DefaultCommandTimeout, "bound on each reply of a probed host")
	errPolicy := fs.String("callout-error-policy", "temp-fail", "what a verification that cannot decide does: fail-open, temp-fail or fail-closed")
	private := fs.Bool("callout-allow-private", false, "probe MX hosts on loopback and private addresses instead of pruning them (for tests and private networks)")
	// The store is opened once: a reload keeps the verdicts.
	var st store.Store
	return func(env *buildEnv) (staged, error) {
		if !*sender && *rcptHost == "" {
			return staged{}, nil
		}
		if *sender && env.Resolver == nil {
			return staged{}, fmt.Errorf("-callout-sender needs -resolver to find the MX hosts")
		}
		onErr, err := smtpcheck.ParseErrorPolicy(*errPolicy)
		if err != nil {
			return staged{}, fmt.Errorf("-callout-error-policy: %w", err)
		}
		if st == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := storespec.Open(ctx, *spec)
			if err != nil {
				return staged{}, fmt.Errorf("-callout-store %s: %w", daemon.RedactURL(*spec), daemon.RedactError(err, *spec))
			}
			st = s
		}
		cfg := callout.Config{
			Resolver: env.Resolver, Store: st, Port: *port, Sender: *from, Helo: env.Hostname,
			ConnectTimeout: *connect, CommandTimeout: *command, Timeout: *timeout,
			OnError: onErr, Logger: env.Logger,
		}
		if *private {
			cfg.Usable = func(a netip.Addr) bool { return a.IsLoopback() || a.IsPrivate() || callout.PublicAddr(a) }
		}
		// The verifier keeps its own deadline and answers an overrun with
		// the catalog's reply; the guard's is a backstop.
		guard := func(c smtpcheck.Check) smtpcheck.Check {
			return smtpcheck.Guard(c, smtpcheck.Options{Name: callout.Name, Timeout: *timeout + time.Second, OnError: smtpcheck.FailTemp,
				Skip: []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated}})
		}
		var out staged
		if *sender {
			v, err := callout.New(cfg)
			if err != nil {
				return staged{}, fmt.Errorf("-callout-sender: %w", err)
			}
			out.Mail = append(out.Mail, guard(v.SenderCheck()))
		}
		if *rcptHost != "" {
			rc := cfg
			rc.Host = *rcptHost
			v, err := callout.New(rc)
			if err != nil {
				return staged{}, fmt.Errorf("-callout-recipient: %w", err)
			}
			out.Rcpt = append(out.Rcpt, guard(v.RecipientCheck()))
		}
		env.Logger.Info("address verification on", "sender", *sender, "recipient-host", *rcptHost,
			"store", daemon.RedactURL(*spec), "on-error", onErr)
		return out, nil
	}
}
