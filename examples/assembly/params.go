// Package assembly is the one place a policy is built from its
// configuration, for every front-end (the SMTP server, the Postfix policy
// service, a milter). The configuration is a Postfix main.cf-style file:
// Postfix's own parameters (smtpd_*_restrictions and the ones that shape
// them, read by package postconf) plus smtppolicy_* parameters for what
// Postfix lacks: the smtpf access map, the hygiene checks, DNS lists with
// health probes, URI lists, SPF, the clamd and spamd scanners and
// greylisting with its store. Every command-line flag of the programs is a
// shorthand that sets one of these parameters; a flag given on the command
// line wins over the file, as postconf -o does over main.cf.
//
// A front-end takes its policy in a few lines:
//
//	cfg := assembly.NewConfig(nil)
//	cfg.Flags(fs)                       // the shorthands
//	fs.Parse(args)
//	var stores assembly.Stores
//	b, err := assembly.Build(cfg, assembly.Env{...}, &stores)
//	// b.Stages: the checks per stage; b.Access, b.Greylist for the adapter
package assembly

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/smtppolicy/smtppolicy/greylist"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/scan/clamd"
	"github.com/smtppolicy/smtppolicy/scan/spamd"
	"github.com/smtppolicy/smtppolicy/smtpcheck/hygiene"
)

// Kind is the type of a parameter's value.
type Kind int

// The kinds of value a parameter takes.
const (
	String   Kind = iota
	List          // Postfix list: words separated by commas or white space; its flag is repeatable
	Bool          // yes or no (a flag also takes Go's true and false)
	Int           // a decimal integer
	Float         // a decimal number
	Duration      // a Go duration: 300s, 5m, 1h30m
	Time          // a Postfix time: a number and a unit s, m, h, d or w; a bare number takes the default's unit
)

// Param is one smtppolicy_* parameter.
type Param struct {
	Name    string // as written in the file
	Flag    string // the programs' shorthand for it
	Kind    Kind
	Default string
	// Body is set for parameters that need the message itself: a
	// front-end that never sees it (a Postfix policy service) ignores
	// them and says so.
	Body bool
	// Conn is set for parameters of tests that answer the client
	// themselves before the server greets it: only a front-end that owns
	// the client's connection (an SMTP server) runs them.
	Conn bool
	// Delivery is set for parameters that change the mail the front-end
	// stores: only one that stores it (an SMTP server) runs them.
	Delivery bool
	// Item is set for a List parameter whose items may hold spaces and
	// commas (a secret): each flag value is one item, and the file writes
	// such an item in braces, as Postfix's lists do: { 2:a secret, 24 }.
	Item bool
	Doc  string
}

// Params returns the parameter table, in the order -print-config prints it.
func Params() []Param {
	kb := func(n int64) string { return strconv.FormatInt(n>>10, 10) }
	ps := []Param{
		{Name: "smtppolicy_access_maps", Flag: "access", Kind: List, Doc: "smtpf access map file (repeatable; later files override earlier keys)"},
		{Name: "smtppolicy_access_reload", Flag: "access-reload", Kind: Duration, Default: "5s", Doc: "how often to check the access map files for changes (0: never)"},
		{Name: "smtppolicy_postfix_access", Flag: "postfix-access", Kind: List, Doc: "Postfix access table KIND:FILE, KIND hash, cidr, regexp or pcre (repeatable); prefix client:, helo:, sender: or recipient: to use it for one lookup only"},

		{Name: "smtppolicy_hygiene", Flag: "hygiene", Kind: Bool, Default: "yes", Doc: "HELO, envelope, header, size, bare line ending and protocol checks (no network needed)"},
		{Name: "smtppolicy_hygiene_names", Flag: "hygiene-names", Kind: Bool, Default: "no", Doc: "also refuse RFC 2606/6761 reserved names and unknown TLDs in HELO, sender and recipient"},
		{Name: "smtppolicy_hygiene_lines", Flag: "hygiene-lines", Kind: String, Default: "reject", Body: true, Doc: "bare LF/CR in a message: reject, or normalize (smuggling dot lines are refused either way)"},
		{Name: "smtppolicy_hygiene_max_size", Flag: "hygiene-max-size", Kind: Int, Default: strconv.FormatInt(hygiene.DefaultMaxSize, 10), Doc: "largest message in bytes (552 5.3.4 above it)"},
		{Name: "smtppolicy_spf", Flag: "spf", Kind: Bool, Default: "yes", Doc: "SPF check of the MAIL FROM identity (needs -resolver): fail refused, softfail scored, temperror deferred, permerror let through"},

		{Name: "smtppolicy_dnsbl_sites", Flag: "dnsbl", Kind: List, Doc: "DNS list to check the client IP against, Postfix syntax ZONE[=PATTERN|&MASK][*WEIGHT] (repeatable; needs -resolver)"},
		{Name: "smtppolicy_dnsbl_threshold", Flag: "dnsbl-threshold", Kind: Int, Default: "1", Doc: "reject when the weights of the DNS lists that list the client add up to this"},
		{Name: "smtppolicy_dnsbl_health", Flag: "dnsbl-health", Kind: Duration, Default: "0s", Doc: "probe each list's RFC 5782 test points this often and skip a misbehaving one (0: no probes)"},

		{Name: "smtppolicy_uribl_sites", Flag: "uribl", Kind: List, Body: true, Doc: `URI list for the hosts a message links to, ZONE[=PATTERN|&MASK][*WEIGHT], "ip:" or "any:" prefix for lists of addresses (repeatable)`},
		{Name: "smtppolicy_uri_exclude", Flag: "uri-exclude", Kind: List, Doc: "domain never looked up for links (repeatable)"},
		{Name: "smtppolicy_uri_max_limit", Flag: "uri-max-limit", Kind: Int, Default: "0", Body: true, Doc: "reject a message linking to more distinct hosts than this (0: no limit)"},
		{Name: "smtppolicy_uri_require_domain", Flag: "uri-require-domain", Kind: Bool, Default: "no", Body: true, Doc: "reject links whose host is an IP address"},
		{Name: "smtppolicy_uri_links_policy", Flag: "uri-links-policy", Kind: String, Default: "ignore", Body: true, Doc: "what a malformed link does: ignore, tag or reject"},
		{Name: "smtppolicy_uri_ip_in_name", Flag: "uri-ip-in-name", Kind: Bool, Default: "no", Body: true, Doc: "reject link hosts whose name embeds their own IP (needs -resolver)"},
		{Name: "smtppolicy_uri_ns_nxdomain", Flag: "uri-ns-nxdomain", Kind: Bool, Default: "no", Body: true, Doc: "reject link domains delegated to a name server that does not exist (needs -resolver)"},
		{Name: "smtppolicy_uri_ip_in_ns", Flag: "uri-ip-in-ns", Kind: Bool, Default: "no", Body: true, Doc: "reject link domains whose name server's name embeds its IP (needs -resolver)"},
		{Name: "smtppolicy_uri_require_ptr", Flag: "uri-require-ptr", Kind: Bool, Default: "no", Body: true, Doc: "reject link hosts whose addresses have no PTR (needs -resolver)"},
		{Name: "smtppolicy_uri_bl_helo", Flag: "uri-bl-helo", Kind: Bool, Default: "no", Doc: "also check the HELO name against the -uribl domain lists"},
		{Name: "smtppolicy_uri_bl_mail", Flag: "uri-bl-mail", Kind: Bool, Default: "no", Doc: "also check the sender's domain against the -uribl domain lists"},
		{Name: "smtppolicy_uri_bl_ptr", Flag: "uri-bl-ptr", Kind: Bool, Default: "no", Doc: "also check the client's PTR names against the -uribl domain lists"},

		{Name: "smtppolicy_clamd_socket", Flag: "clamd-socket", Kind: String, Body: true, Doc: "clamd's unix socket path or HOST[:PORT] (port 3310); empty: no virus scanning"},
		{Name: "smtppolicy_clamd_timeout", Flag: "clamd-timeout", Kind: Duration, Default: clamd.DefaultTimeout.String(), Body: true, Doc: "bound on one clamd scan"},
		{Name: "smtppolicy_clamd_policy", Flag: "clamd-policy", Kind: String, Default: "reject", Body: true, Doc: "what a virus does: reject, discard, quarantine or none (accept with an X-Virus-Found header)"},
		{Name: "smtppolicy_clamd_max_size", Flag: "clamd-max-size", Kind: Int, Default: kb(clamd.DefaultMaxSize), Body: true, Doc: "kilobytes of a message sent to clamd (0: all of it)"},
		{Name: "smtppolicy_clamd_error_policy", Flag: "clamd-error-policy", Kind: String, Default: "temp-fail", Body: true, Doc: "what a failed scan does: fail-open, temp-fail or fail-closed"},
		{Name: "smtppolicy_spamd_socket", Flag: "spamd-socket", Kind: String, Body: true, Doc: "spamd's unix socket path or HOST[:PORT] (port 783); empty: no spam scoring"},
		{Name: "smtppolicy_spamd_timeout", Flag: "spamd-timeout", Kind: Duration, Default: spamd.DefaultTimeout.String(), Body: true, Doc: "bound on one spamd scan"},
		{Name: "smtppolicy_spamd_user", Flag: "spamd-user", Kind: String, Body: true, Doc: "user whose SpamAssassin preferences score the messages (spamd's User:)"},
		{Name: "smtppolicy_spamd_score_reject", Flag: "spamd-score-reject", Kind: Float, Default: strconv.FormatFloat(spamd.DefaultReject, 'g', -1, 64), Body: true, Doc: "score at which a message is refused (-1: never)"},
		{Name: "smtppolicy_spamd_score_tag", Flag: "spamd-score-tag", Kind: Float, Default: "0", Body: true, Doc: "score at which a message is marked X-Spam-Flag: YES (0: spamd's required_score)"},
		{Name: "smtppolicy_spamd_reject_sender_marked_spam", Flag: "spamd-reject-sender-marked-spam", Kind: Bool, Default: "yes", Body: true, Doc: "refuse a message whose sender's X-Spam-Status score reaches -spamd-score-reject"},
		{Name: "smtppolicy_spamd_sender_marked_spam", Flag: "spamd-sender-marked-spam", Kind: Bool, Default: "no", Body: true, Doc: "refuse a message that arrives with X-Spam-Flag: YES"},
		{Name: "smtppolicy_spamd_max_size", Flag: "spamd-max-size", Kind: Int, Default: kb(spamd.DefaultMaxSize), Body: true, Doc: "largest message scored, in kilobytes; larger ones pass unscored (0: no limit)"},
		{Name: "smtppolicy_spamd_error_policy", Flag: "spamd-error-policy", Kind: String, Default: "fail-open", Body: true, Doc: "what a failed scan does: fail-open, temp-fail or fail-closed"},

		{Name: "smtppolicy_anvil_store", Flag: "anvil-store", Kind: String, Default: "memory:", Doc: "store of the client limits' counts (smtpd_client_*_limit, SMTP server only): memory: or redis://HOST:PORT/DB, which hosts sharing it count as one"},
		{Name: "smtppolicy_greylist_store", Flag: "greylist", Kind: String, Doc: "greylist store: memory:, bolt:PATH or redis://HOST:PORT/DB (empty or none: no greylisting)"},
		{Name: "smtppolicy_greylist_delay", Flag: "greylist-delay", Kind: Duration, Default: greylist.DefaultDelay.String(), Doc: "how long a new client/sender/recipient triplet is deferred"},
		{Name: "smtppolicy_greylist_content", Flag: "greylist-content", Kind: Bool, Default: "no", Body: true, Doc: "greylist at the end of DATA with a hash of the message (a retry with other content is deferred again)"},
		{Name: "smtppolicy_greylist_exchange", Flag: "greylist-exchange", Kind: Bool, Default: "no", Doc: "defer with enhanced code 4.2.0 instead of 4.7.1 (for Exchange peers)"},
		{Name: "smtppolicy_greylist_auto_allow", Flag: "greylist-auto-allow", Kind: Int, Default: strconv.Itoa(greylist.DefaultAutoAllow), Doc: "allow a client outright after this many passes (at most one an hour counts); 0 turns it off, as postgrey's --auto-whitelist-clients=0"},
		{Name: "smtppolicy_greylist_auto_allow_by_network", Flag: "greylist-auto-allow-by-network", Kind: Bool, Default: "no", Doc: "count passes per client /24 or /64 network instead of per client address"},
	}
	ps = append(ps, postscreenParams()...)
	ps = append(ps, contentParams()...)
	ps = append(ps, envelopeParams()...)
	return append(ps, four21Params()...)
}

// Config is the parameters in force: the table's defaults, a front-end's
// own defaults over them, then the file's settings, then the flags'.
type Config struct {
	params   map[string]Param
	defaults map[string]string
	flags    map[string]string
	file     map[string]postconf.Param
	// File is the rest of the -config file, Postfix's parameters, for
	// postconf.Build; nil when no file was loaded.
	File *postconf.File
}

// NewConfig returns a configuration of the table's defaults, overridden by
// defaults (a front-end's own, such as policyd's hygiene off).
func NewConfig(defaults map[string]string) *Config {
	c := &Config{params: map[string]Param{}, defaults: map[string]string{}, flags: map[string]string{}, file: map[string]postconf.Param{}}
	for _, p := range Params() {
		c.params[p.Name] = p
		c.defaults[p.Name] = p.Default
	}
	for k, v := range defaults {
		c.defaults[k] = v
	}
	return c
}

// SetDefault changes a parameter's default, as a front-end does when its
// mode changes it (smtpd leaves the hygiene checks to a -config file).
func (c *Config) SetDefault(name, value string) error {
	p, ok := c.params[name]
	if !ok {
		return fmt.Errorf("unknown parameter %q", name)
	}
	v, err := p.normalize(value)
	if err != nil {
		return err
	}
	c.defaults[name] = v
	return nil
}

// IsSet reports whether the command line set the parameter.
func (c *Config) IsSet(name string) bool {
	_, ok := c.flags[name]
	return ok
}

// Set sets a parameter as the command line does (over the file); a List
// parameter's values add up.
func (c *Config) Set(name, value string) error {
	p, ok := c.params[name]
	if !ok {
		return fmt.Errorf("unknown parameter %q", name)
	}
	v, err := p.normalize(flagTime(p, value))
	if err != nil {
		return err
	}
	if p.Item && strings.ContainsAny(v, ", \t") && !strings.HasPrefix(v, "{") {
		v = "{" + v + "}"
	}
	if old, set := c.flags[name]; set && p.Kind == List && old != "" {
		v = old + ", " + v
	}
	c.flags[name] = v
	return nil
}

// normalize checks a value against the parameter's kind and writes it as
// the file would.
func (p Param) normalize(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch p.Kind {
	case Bool:
		switch strings.ToLower(v) {
		case "yes", "true", "1", "t":
			return "yes", nil
		case "no", "false", "0", "f":
			return "no", nil
		}
		return "", fmt.Errorf("%q: want yes or no", v)
	case Int:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return "", fmt.Errorf("%q: want a whole number", v)
		}
	case Float:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			return "", fmt.Errorf("%q: want a number", v)
		}
	case Duration:
		if _, err := time.ParseDuration(v); err != nil {
			return "", fmt.Errorf("%q: want a duration such as 300s or 5m", v)
		}
	case Time:
		if _, err := ParsePostfixTime(v, p.unit()); err != nil {
			return "", err
		}
	}
	return v, nil
}

// Value returns a parameter's value in force.
func (c *Config) Value(name string) string {
	if v, ok := c.flags[name]; ok {
		return v
	}
	if p, ok := c.file[name]; ok {
		return p.Value
	}
	return c.defaults[name]
}

// where names the origin of a parameter's value for error messages: the
// file's line when the file set it, the flag otherwise (a default is the
// flag's default).
func (c *Config) where(name string) string {
	if _, ok := c.flags[name]; !ok {
		if p, ok := c.file[name]; ok && c.File != nil {
			return fmt.Sprintf("%s:%d: %s", c.File.Name, p.Line, name)
		}
	}
	return "-" + c.params[name].Flag
}

// LoadConfig is Load for a -config flag: with no path, the parameters
// stay as the flags set them.
func (c *Config) LoadConfig(path string) (*Config, error) {
	if path == "" {
		return c, nil
	}
	return c.Load(path)
}

// Load reads a main.cf-style file into a copy of c: its smtppolicy_*
// parameters are checked and kept, the rest is left in File for
// postconf.Build. The flags still win over the file. c itself is not
// changed, so a reload loads the same file anew over the same flags.
func (c *Config) Load(path string) (*Config, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, &postconf.Error{File: path, Msg: err.Error()}
	}
	defer fh.Close()
	f, err := postconf.Parse(fh, path)
	if err != nil {
		return nil, err
	}
	n := &Config{params: c.params, defaults: c.defaults, flags: c.flags, file: map[string]postconf.Param{}, File: f}
	// postscreen's parameters are Postfix's: old names, $name expansion,
	// and the ones this server cannot honour refused.
	claimed, err := claimPostscreen(f, c.params)
	if err != nil {
		return nil, err
	}
	for _, name := range append(f.Names(), claimed.aliases...) {
		p, ok := c.params[name]
		if !ok {
			continue
		}
		raw, _ := f.Raw(name)
		if x, ok := claimed.values[name]; ok {
			raw = x
		}
		v, err := p.normalize(raw.Value)
		if err != nil {
			return nil, &postconf.Error{File: path, Line: raw.Line, Msg: name + ": " + err.Error()}
		}
		raw.Value = v
		n.file[name] = raw
		f.Delete(name)
	}
	return n, nil
}

// boolValue, intValue, floatValue and durationValue read a parameter
// already checked against its kind.
func (c *Config) boolValue(name string) bool { return c.Value(name) == "yes" }

func (c *Config) intValue(name string) int64 {
	n, _ := strconv.ParseInt(c.Value(name), 10, 64)
	return n
}

func (c *Config) floatValue(name string) float64 {
	f, _ := strconv.ParseFloat(c.Value(name), 64)
	return f
}

func (c *Config) durationValue(name string) time.Duration {
	if p := c.params[name]; p.Kind == Time {
		d, _ := ParsePostfixTime(c.Value(name), p.unit())
		return d
	}
	d, _ := time.ParseDuration(c.Value(name))
	return d
}

func (c *Config) listValue(name string) []string { return postconf.Fields(c.Value(name)) }

// itemsValue reads a List parameter whose items may be written in braces
// (Param.Item), the braces and the blanks inside them taken off.
func (c *Config) itemsValue(name string) []string {
	out := c.listValue(name)
	for i, v := range out {
		if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
			out[i] = strings.TrimSpace(v[1 : len(v)-1])
		}
	}
	return out
}

// flagValue is one shorthand on a flag.FlagSet.
type flagValue struct {
	c *Config
	p Param
}

func (f flagValue) String() string {
	if f.c == nil {
		return ""
	}
	v := f.c.defaults[f.p.Name]
	if f.p.Kind == Bool {
		return strconv.FormatBool(v == "yes")
	}
	return v
}

func (f flagValue) Set(v string) error { return f.c.Set(f.p.Name, v) }

func (f flagValue) IsBoolFlag() bool { return f.p.Kind == Bool }

// Flags registers the shorthand of every parameter on fs, with the
// front-end's defaults shown in the usage; skip names parameters whose
// flag the front-end does not offer.
func (c *Config) Flags(fs *flag.FlagSet, skip ...string) {
	for _, p := range Params() {
		if contains(skip, p.Name) {
			continue
		}
		fs.Var(flagValue{c, p}, p.Flag, p.Doc)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// PrintConfig is -print-config: it loads path as LoadConfig does and
// prints the effective configuration to w as Print does.
func (c *Config) PrintConfig(path string, w io.Writer, body bool) error {
	loaded, err := c.LoadConfig(path)
	if err != nil {
		return err
	}
	return loaded.Print(w, body)
}

// Print writes the effective configuration as a main.cf file: the
// Postfix parameters the file set, then every smtppolicy_* parameter
// with the value in force. Parameters that need the message body are
// commented out when body is false (a front-end that never sees it).
func (c *Config) Print(w io.Writer, body bool) error {
	var b strings.Builder
	if c.File != nil {
		fmt.Fprintf(&b, "# Postfix parameters from %s\n", c.File.Name)
		names := c.File.Names()
		for _, name := range names {
			p, _ := c.File.Raw(name)
			fmt.Fprintf(&b, "%s = %s\n", name, p.Value)
		}
		b.WriteString("\n")
	}
	b.WriteString("# smtppolicy parameters\n")
	for _, p := range Params() {
		prefix := ""
		if p.Body && !body {
			prefix = "# (ignored: needs the message body) "
		}
		fmt.Fprintf(&b, "%s%s = %s\n", prefix, p.Name, c.Value(p.Name))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Ignored returns the parameters set away from their defaults that need
// the message body, for a front-end that never sees it to warn about.
func (c *Config) Ignored() []string { return c.setWhere(func(p Param) bool { return p.Body }) }

// IgnoredDelivery returns the parameters set away from their defaults
// that change the mail stored, for a front-end that stores none to warn
// about.
func (c *Config) IgnoredDelivery() []string {
	return c.setWhere(func(p Param) bool { return p.Delivery })
}

// IgnoredConn returns the parameters set away from their defaults that
// need the client's connection, for a front-end that does not own it to
// warn about.
func (c *Config) IgnoredConn() []string { return c.setWhere(func(p Param) bool { return p.Conn }) }

// setWhere returns, sorted, the parameters of the kind want selects that
// are set away from their defaults.
func (c *Config) setWhere(want func(Param) bool) []string {
	var out []string
	for _, p := range Params() {
		if want(p) && c.Value(p.Name) != c.defaults[p.Name] {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}
