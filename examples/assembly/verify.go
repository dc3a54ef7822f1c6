package assembly

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/batv"
	"github.com/smtppolicy/smtppolicy/callout"
	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// envelopeParams are the parameters of the checks of the envelope that
// need more than the hygiene checks: bounce address tag validation (BATV)
// and address verification by SMTP callout. Every front-end runs them: a
// policy service sees the envelope too.
func envelopeParams() []Param {
	return []Param{
		{Name: "smtppolicy_batv_key", Flag: "batv-key", Kind: List, Item: true, Doc: "bounce tag key ID:SECRET, ID a digit, SECRET at least 16 octets, in braces in the file when it holds spaces or commas (repeatable: the first signs, all verify); none: off"},
		{Name: "smtppolicy_batv_ttl", Flag: "batv-ttl", Kind: Duration, Default: batv.DefaultTTL.String(), Doc: "how long a tag is honoured (smtpf's emew-ttl)"},
		{Name: "smtppolicy_batv_sign", Flag: "batv-sign", Kind: Bool, Default: "no", Delivery: true, Doc: "tag the envelope sender of mail a trusted or authenticated client sends to other domains (a relay's outgoing mail) with the first key, in the stored message's Return-Path (SMTP server only)"},
		{Name: "smtppolicy_batv_dsn_policy", Flag: "batv-dsn-policy", Kind: String, Default: "reject", Doc: "what a bounce to an untagged, forged or expired address gets: reject, tag or quarantine"},

		{Name: "smtppolicy_callout_sender", Flag: "callout-sender", Kind: Bool, Default: "no", Doc: "verify envelope senders with their domain's MX hosts (needs -resolver)"},
		{Name: "smtppolicy_callout_recipient", Flag: "callout-recipient", Kind: String, Doc: "verify recipients with this downstream server, HOST[:PORT]; empty: no recipient verification"},
		{Name: "smtppolicy_callout_store", Flag: "callout-store", Kind: String, Default: "memory:", Doc: "verify cache: memory:, bolt:PATH or redis://HOST:PORT/DB"},
		{Name: "smtppolicy_callout_port", Flag: "callout-port", Kind: Int, Default: strconv.Itoa(callout.DefaultPort), Doc: "port probed on MX hosts"},
		{Name: "smtppolicy_callout_from", Flag: "callout-from", Kind: String, Doc: "MAIL FROM address of probes (empty: the null sender <>)"},
		{Name: "smtppolicy_callout_timeout", Flag: "callout-timeout", Kind: Duration, Default: callout.DefaultTimeout.String(), Doc: "bound on one verification, every host tried"},
		{Name: "smtppolicy_callout_connect_timeout", Flag: "callout-connect-timeout", Kind: Duration, Default: callout.DefaultConnectTimeout.String(), Doc: "bound on each connection to a probed host"},
		{Name: "smtppolicy_callout_command_timeout", Flag: "callout-command-timeout", Kind: Duration, Default: callout.DefaultCommandTimeout.String(), Doc: "bound on each reply of a probed host"},
		{Name: "smtppolicy_callout_error_policy", Flag: "callout-error-policy", Kind: String, Default: "temp-fail", Doc: "what a verification that cannot decide does: fail-open, temp-fail or fail-closed"},
		{Name: "smtppolicy_callout_allow_private", Flag: "callout-allow-private", Kind: Bool, Default: "no", Doc: "probe MX hosts on loopback and private addresses instead of pruning them (for tests and private networks)"},
	}
}

// buildBATV is bounce address tag validation (smtpf's EMEW): with
// smtppolicy_batv_key ID:SECRET (the first key signs, the others still
// verify, so a new key goes first and the previous one stays for
// smtppolicy_batv_ttl) a bounce (null sender) to one of the front-end's
// domains (every recipient when it names none) must carry a valid prvs=
// tag: untagged or forged is refused with smtpf#358's reply, expired with
// #357's; smtppolicy_batv_dsn_policy tag or quarantine only marks it.
func buildBATV(c *Config, env Env, st *Stores, b *Built) error {
	keys := c.itemsValue("smtppolicy_batv_key")
	if len(keys) == 0 || (len(keys) == 1 && keys[0] == "none") {
		return nil
	}
	var ks []batv.Key
	for _, k := range keys {
		id, secret, ok := strings.Cut(k, ":")
		if !ok || len(id) != 1 {
			return fmt.Errorf("%s: want ID:SECRET with a one-digit ID", c.where("smtppolicy_batv_key"))
		}
		ks = append(ks, batv.Key{ID: id[0], Secret: []byte(secret)})
	}
	ttl := c.durationValue("smtppolicy_batv_ttl")
	sg, err := batv.NewSigner(ttl, ks...)
	if err != nil {
		return fmt.Errorf("%s: %w", c.where("smtppolicy_batv_key"), err)
	}
	policy := c.Value("smtppolicy_batv_dsn_policy")
	a, ok := map[string]smtpcheck.Action{"reject": smtpcheck.Reject, "tag": smtpcheck.Tag, "quarantine": smtpcheck.Quarantine}[policy]
	if !ok {
		return fmt.Errorf("%s: %q is not reject, tag or quarantine", c.where("smtppolicy_batv_dsn_policy"), policy)
	}
	env.Logger.Info("bounce tag validation on", "keys", len(ks), "ttl", ttl, "policy", policy)
	b.Rcpt = append(b.Rcpt, smtpcheck.Named(batv.Name, batv.Check(batv.Config{Signer: sg, Domains: env.Domains, Action: a})))
	if env.Delivers && c.boolValue("smtppolicy_batv_sign") {
		b.Signer = sg
		b.Checks = append(b.Checks, "batv-sign")
		env.Logger.Info("outgoing senders tagged", "domains", strings.Join(env.Domains, ","))
	}
	b.Checks = append(b.Checks, batv.Name)
	return nil
}

// Verifiers are the address verifiers the callout parameters make, for
// Postfix's reject_unverified_sender and reject_unverified_recipient in a
// -config file (postconf.Env's VerifySender and VerifyRecipient). Sender
// is the callout to the sender domain's MX hosts, whenever a resolver
// finds them; Recipient the callout to smtppolicy_callout_recipient's
// downstream server, when it is set. Nil when there is none: the file's
// restriction is then refused at load.
type Verifiers struct {
	Sender, Recipient func(ctx context.Context, a smtpcheck.Address) error
}

// buildCallout is address verification by SMTP callout:
// smtppolicy_callout_sender verifies each envelope sender at MAIL FROM by
// asking its domain's MX hosts (smtpf's call-back), and
// smtppolicy_callout_recipient HOST[:PORT] each recipient at RCPT TO with
// the downstream server that holds the mailboxes (smtpf's call-ahead).
// The same verifiers answer a -config file's reject_unverified_sender and
// reject_unverified_recipient (Built.Verify); a file that names one of
// these restrictions decides where that verification runs, and it is not
// run again as a check of its own. Verdicts are cached in
// smtppolicy_callout_store for Postfix's verify(8) times, opened once, so
// a reload keeps them. A probe that cannot decide (a host that hangs, a
// DNS timeout) defers with the catalog's 4xx under
// smtppolicy_callout_error_policy temp-fail; it is never a 5xx. Trusted
// and authenticated clients are not verified.
func buildCallout(c *Config, env Env, st *Stores, b *Built) error {
	sender, rcptHost := c.boolValue("smtppolicy_callout_sender"), c.Value("smtppolicy_callout_recipient")
	if sender && env.Resolver == nil {
		return fmt.Errorf("%s needs -resolver to find the MX hosts", c.where("smtppolicy_callout_sender"))
	}
	fileSender, fileRcpt := c.fileNames("reject_unverified_sender"), c.fileNames("reject_unverified_recipient")
	if env.Resolver == nil && rcptHost == "" {
		return nil
	}
	onErr, err := smtpcheck.ParseErrorPolicy(c.Value("smtppolicy_callout_error_policy"))
	if err != nil {
		return fmt.Errorf("%s: %w", c.where("smtppolicy_callout_error_policy"), err)
	}
	if !sender && rcptHost == "" && !fileSender && !fileRcpt {
		return nil // nothing asks for a verifier: no store opened
	}
	spec := c.Value("smtppolicy_callout_store")
	s, err := st.more.get(env.Ctx, spec, c.where("smtppolicy_callout_store"))
	if err != nil {
		return err
	}
	timeout := c.durationValue("smtppolicy_callout_timeout")
	cfg := callout.Config{
		Resolver: env.Resolver, Store: s, Port: int(c.intValue("smtppolicy_callout_port")), Sender: c.Value("smtppolicy_callout_from"), Helo: env.Hostname,
		ConnectTimeout: c.durationValue("smtppolicy_callout_connect_timeout"), CommandTimeout: c.durationValue("smtppolicy_callout_command_timeout"),
		Timeout: timeout, OnError: onErr, Logger: env.Logger,
	}
	if c.boolValue("smtppolicy_callout_allow_private") {
		cfg.Usable = func(a netip.Addr) bool { return a.IsLoopback() || a.IsPrivate() || callout.PublicAddr(a) }
	}
	// The verifier keeps its own deadline and answers an overrun with the
	// catalog's reply; the guard's is a backstop.
	guard := func(check smtpcheck.Check) smtpcheck.Check {
		return smtpcheck.Guard(check, smtpcheck.Options{Name: callout.Name, Timeout: timeout + time.Second, OnError: smtpcheck.FailTemp,
			Skip: []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated}})
	}
	if env.Resolver != nil {
		v, err := callout.New(cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", c.where("smtppolicy_callout_sender"), err)
		}
		b.Verify.Sender = v.VerifyFunc(postconf.ErrUndeliverable)
		if sender && !fileSender {
			b.Mail = append(b.Mail, guard(v.SenderCheck()))
			b.Checks = append(b.Checks, "callout-sender")
		}
	}
	if rcptHost != "" {
		rc := cfg
		rc.Host = rcptHost
		v, err := callout.New(rc)
		if err != nil {
			return fmt.Errorf("%s: %w", c.where("smtppolicy_callout_recipient"), err)
		}
		b.Verify.Recipient = v.VerifyFunc(postconf.ErrUndeliverable)
		if !fileRcpt {
			b.Rcpt = append(b.Rcpt, guard(v.RecipientCheck()))
			b.Checks = append(b.Checks, "callout-recipient")
		}
	}
	env.Logger.Info("address verification on", "sender", sender && !fileSender, "recipient-host", rcptHost,
		"file-sender", fileSender, "file-recipient", fileRcpt, "store", daemon.RedactURL(spec), "on-error", onErr)
	return nil
}

// fileNames reports whether a parameter of the -config file names word
// (a restriction, in a list or a restriction class).
func (c *Config) fileNames(word string) bool {
	if c.File == nil {
		return false
	}
	for _, name := range c.File.Names() {
		p, _ := c.File.Raw(name)
		for _, w := range postconf.Fields(p.Value) {
			if w == word {
				return true
			}
		}
	}
	return false
}
