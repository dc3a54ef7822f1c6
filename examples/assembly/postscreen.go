package assembly

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smtppolicy/smtppolicy/access/postfix"
	"github.com/smtppolicy/smtppolicy/dnsbl"
	"github.com/smtppolicy/smtppolicy/examples/internal/daemon"
	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/postscreen"
	"github.com/smtppolicy/smtppolicy/reply"
	"github.com/smtppolicy/smtppolicy/reputation"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
)

// postscreen(8)'s parameters, with Postfix's names, defaults and time
// units, and the reputation's. The flags keep the names the SMTP server
// has always had (-postscreen-cache for postscreen_cache_map).
func postscreenParams() []Param {
	ps := []Param{
		{Name: "postscreen_access_list", Flag: "postscreen-access-list", Kind: List, Default: "permit_mynetworks", Doc: "permit_mynetworks and cidr: (or other Postfix) tables whose values are permit, reject or dunno; permitted clients take no test"},
		{Name: "postscreen_denylist_action", Flag: "postscreen-denylist-action", Kind: String, Default: "ignore", Doc: "what a client postscreen_access_list rejects gets: ignore (it takes the tests), enforce (550 5.3.2 for every recipient) or drop (521 5.3.2 before the greeting)"},
		{Name: "postscreen_cache_map", Flag: "postscreen-cache", Kind: String, Doc: "pass cache store: memory:, bolt:PATH, redis://HOST:PORT/DB, or Postfix's btree:PATH and lmdb:PATH (a bolt file); empty: every client takes every test"},
		{Name: "postscreen_cache_retention_time", Flag: "postscreen-cache-retention-time", Kind: Time, Default: "7d", Doc: "how long a cache record outlives its last pass"},
		{Name: "postscreen_greet_wait", Flag: "postscreen-greet-wait", Kind: Time, Default: "6s", Doc: "the pregreet test: how long to wait before the greeting for a client that talks first (setting it, the action or the banner turns the test on; smtpd's -greet-pause also does)"},
		{Name: "postscreen_greet_action", Flag: "postscreen-greet-action", Kind: String, Default: "ignore", Doc: "what a client that talks before the greeting gets: ignore, enforce (550 5.5.1 for every recipient) or drop (521 5.5.1)"},
		{Name: "postscreen_greet_banner", Flag: "postscreen-greet-banner", Kind: String, Default: "$smtpd_banner", Doc: "text of a first greeting line 220-TEXT sent before the pregreet wait, to catch bots that talk on seeing it (empty: none)"},
		{Name: "postscreen_greet_ttl", Flag: "postscreen-greet-ttl", Kind: Time, Default: "1d", Doc: "how long a pregreet pass is cached"},
		{Name: "postscreen_dnsbl_sites", Flag: "postscreen-dnsbl-sites", Kind: List, Doc: "DNS lists whose weights add up to the client's score, ZONE[=PATTERN|&MASK][*WEIGHT], negative weights for allowlists (needs -resolver)"},
		{Name: "postscreen_dnsbl_threshold", Flag: "postscreen-dnsbl-threshold", Kind: Int, Default: "1", Doc: "score at which the DNS-list test fails"},
		{Name: "postscreen_dnsbl_allowlist_threshold", Flag: "postscreen-dnsbl-allowlist-threshold", Kind: Int, Default: "0", Doc: "score at or below which (when negative) the client skips the other tests"},
		{Name: "postscreen_dnsbl_action", Flag: "postscreen-dnsbl-action", Kind: String, Default: "ignore", Doc: "what a client failing the DNS-list test gets: ignore, enforce (550 5.7.1 for every recipient) or drop (521 5.7.1)"},
		{Name: "postscreen_dnsbl_reply_map", Flag: "postscreen-dnsbl-reply-map", Kind: String, Doc: "table from a list's zone to the name replies give it (to hide a zone that carries an access key)"},
		{Name: "postscreen_dnsbl_min_ttl", Flag: "postscreen-dnsbl-min-ttl", Kind: Time, Default: "60s", Doc: "shortest time a DNS-list pass is cached"},
		{Name: "postscreen_dnsbl_max_ttl", Flag: "postscreen-dnsbl-max-ttl", Kind: Time, Default: "1h", Doc: "longest time a DNS-list pass is cached"},
		{Name: "postscreen_dnsbl_timeout", Flag: "postscreen-dnsbl-timeout", Kind: Time, Default: "10s", Doc: "bound on the DNS-list lookups of one client"},
	}
	ps = append(ps, deepTest("pipelining", "pipelining", "enforce", "commands sent before the reply to the previous one, without PIPELINING")...)
	ps = append(ps, deepTest("non_smtp_command", "non-SMTP command", "drop", "postscreen_forbidden_commands and header lines such as Host: fail")...)
	ps = append(ps, Param{Name: "postscreen_forbidden_commands", Flag: "postscreen-forbidden-commands", Kind: List, Default: strings.Join(postscreen.DefaultForbidden, ", "), Doc: "commands of the non-SMTP command test"})
	ps = append(ps, deepTest("bare_newline", "bare newline", "ignore", "a command line ended by LF alone fails")...)
	return append(ps, []Param{
		{Name: "smtppolicy_postscreen_deep_reconnect", Flag: "postscreen-deep-reconnect", Kind: Bool, Default: "no", Doc: "postscreen's rule: a client that passes the deep tests gets 450 4.3.2 at RCPT TO and must reconnect (needs postscreen_cache_map; off: it goes on at once, as this server is the real one)"},

		{Name: "smtppolicy_reputation_store", Flag: "reputation", Kind: String, Doc: "reputation store: memory:, bolt:PATH or redis://HOST:PORT/DB (empty: no reputation)"},
		{Name: "smtppolicy_reputation_half_life", Flag: "reputation-half-life", Kind: Duration, Default: "24h", Doc: "time after which a good or bad outcome weighs half"},
		{Name: "smtppolicy_reputation_block_after", Flag: "reputation-block-after", Kind: Float, Default: "0", Doc: "refusals (decayed) after which an address is answered 421 at connect (0: never)"},
		{Name: "smtppolicy_reputation_block_for", Flag: "reputation-block-for", Kind: Duration, Default: "1h", Doc: "how long such a block lasts"},
		{Name: "smtppolicy_reputation_tarpit_step", Flag: "reputation-tarpit-step", Kind: Duration, Default: "0s", Doc: "delay before each reply per refusal of the client's address (0: no tarpit; SMTP server only)"},
		{Name: "smtppolicy_reputation_tarpit_max", Flag: "reputation-tarpit-max", Kind: Duration, Default: "10s", Doc: "longest tarpit delay"},
	}...)
}

// deepTest returns the three parameters Postfix gives each of postscreen's
// deep protocol tests, postscreen_TEST_enable, _action and _ttl: off by
// default, action as Postfix defaults it, a pass cached 30 days. what names
// the test in the docs, and doc says what fails it.
func deepTest(test, what, action, doc string) []Param {
	name := "postscreen_" + test
	flag := strings.ReplaceAll(name, "_", "-")
	return []Param{
		{Name: name + "_enable", Flag: flag + "-enable", Kind: Bool, Default: "no", Doc: "the " + what + " test: " + doc},
		{Name: name + "_action", Flag: flag + "-action", Kind: String, Default: action, Doc: "what a failed " + what + " test does: ignore, enforce or drop"},
		{Name: name + "_ttl", Flag: flag + "-ttl", Kind: Time, Default: "30d", Doc: "how long a " + what + " pass is cached"},
	}
}

// ParsePostfixTime reads a time as Postfix's main.cf writes it: a decimal
// number and one unit, s, m, h, d or w (seconds to weeks); a number alone
// takes unit, the parameter's default unit. Postfix reads "1h30m" as one
// hour and ignores the rest; that is refused here, so a value never means
// less than it says. The value must fit Postfix's int of seconds.
func ParsePostfixTime(s string, unit byte) (time.Duration, error) {
	v := strings.TrimSpace(s)
	v = strings.TrimPrefix(v, "+")
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q: want a time such as 30s, 5m, 1h, 7d or 2w", s)
	}
	n, err := strconv.ParseInt(v[:i], 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q: more than Postfix can count", s)
	}
	u := unit
	if i < len(v) {
		u = v[i]
		if i+1 < len(v) {
			return 0, fmt.Errorf("%q: one number and one unit (Postfix would read only %q of it)", s, v[:i+1])
		}
	}
	var scale int64
	switch u {
	case 's':
		scale = 1
	case 'm':
		scale = 60
	case 'h':
		scale = 3600
	case 'd':
		scale = 86400
	case 'w':
		scale = 7 * 86400
	default:
		return 0, fmt.Errorf("%q: unit %q is none of s, m, h, d, w", s, u)
	}
	if n >= math.MaxInt32/scale && scale > 1 {
		return 0, fmt.Errorf("%q: more than Postfix can count", s)
	}
	return time.Duration(n*scale) * time.Second, nil
}

// unit is a Time parameter's default unit: the last letter of its default,
// as Postfix takes it.
func (p Param) unit() byte {
	for i := len(p.Default) - 1; i >= 0; i-- {
		if c := p.Default[i]; c >= 'a' && c <= 'z' {
			return c
		}
	}
	return 's'
}

// flagTime lets a flag give a Time parameter as a Go duration (24h0m0s),
// as these flags always took: it is written in seconds.
func flagTime(p Param, v string) string {
	if p.Kind != Time {
		return v
	}
	if _, err := ParsePostfixTime(v, p.unit()); err == nil {
		return v
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 || d%time.Second != 0 {
		return v
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// postscreenOldNames are the names Postfix 3.6 replaced; a file may still
// use them.
var postscreenOldNames = map[string]string{
	"postscreen_blacklist_action":          "postscreen_denylist_action",
	"postscreen_dnsbl_whitelist_threshold": "postscreen_dnsbl_allowlist_threshold",
	"postscreen_whitelist_interfaces":      "postscreen_allowlist_interfaces",
	"postscreen_dnsbl_ttl":                 "postscreen_dnsbl_max_ttl",
}

// postscreenUnsupported are postscreen's parameters that change what a
// client sees and that this server does not implement, with the values
// (after expansion, in lower case) that leave it as postscreen would be.
// Any other value is refused at load, naming file and line. postscreen's
// resource limits (queue lengths, command counts, watchdog, cache cleanup)
// are accepted and ignored: the server's own limits apply.
var postscreenUnsupported = map[string][]string{
	"postscreen_upstream_proxy_protocol":           {""},
	"postscreen_allowlist_interfaces":              {"static:all"},
	"postscreen_tls_security_level":                {"", "none", "may"},
	"postscreen_use_tls":                           {"", "no"},
	"postscreen_enforce_tls":                       {"", "no"},
	"postscreen_command_filter":                    {""},
	"postscreen_discard_ehlo_keywords":             {""},
	"postscreen_discard_ehlo_keyword_address_maps": {""},
	"postscreen_helo_required":                     {"", "no"},
	"postscreen_disable_vrfy_command":              {"", "no"},
	"postscreen_reject_footer":                     {""},
	"postscreen_reject_footer_maps":                {""},
	"postscreen_client_connection_count_limit":     {"0"},
}

// postscreenDefaults are the Postfix defaults postscreen's values refer to
// as $name, for a file that does not set them.
var postscreenDefaults = map[string]string{
	"data_directory":                          "/var/lib/postfix",
	"cache_db_type":                           "btree",
	"stress":                                  "",
	"smtpd_forbidden_commands":                "CONNECT GET POST",
	"smtpd_tls_security_level":                "",
	"smtpd_use_tls":                           "no",
	"smtpd_enforce_tls":                       "no",
	"smtpd_discard_ehlo_keywords":             "",
	"smtpd_discard_ehlo_keyword_address_maps": "",
	"smtpd_helo_required":                     "no",
	"disable_vrfy_command":                    "no",
	"smtpd_reject_footer":                     "",
	"smtpd_reject_footer_maps":                "",
	"smtpd_client_connection_count_limit":     "50",
	"smtpd_command_filter":                    "",
}

// claimed are the postscreen parameters a file sets, expanded, and the
// new names of the old ones it used.
type claimed struct {
	values  map[string]postconf.Param
	aliases []string
}

// claimPostscreen reads the file's postscreen_* parameters: the ones this
// package implements are expanded ($data_directory, ${stress?...}), the
// old names become the new ones (and leave the file, which would call them
// unknown), and the unsupported ones set to a value that would change
// what a client sees are errors, all of them reported at once.
func claimPostscreen(f *postconf.File, params map[string]Param) (claimed, error) {
	out := claimed{values: map[string]postconf.Param{}}
	var errs []error
	at := func(p postconf.Param, msg string) {
		errs = append(errs, &postconf.Error{File: f.Name, Line: p.Line, Msg: msg})
	}
	for _, name := range f.Names() {
		if !strings.HasPrefix(name, "postscreen_") {
			continue
		}
		raw, _ := f.Raw(name)
		target := name
		if n, old := postscreenOldNames[name]; old {
			f.Delete(name)
			if _, set := f.Raw(n); set {
				continue // the new name wins, as in Postfix
			}
			target = n
			if _, ok := params[n]; ok {
				out.aliases = append(out.aliases, n)
			}
		}
		_, mine := params[target]
		accepted, unsupported := postscreenUnsupported[target]
		if !mine && !unsupported {
			continue
		}
		if mine && strings.TrimSpace(raw.Value) == params[target].Default {
			// The default as written ($smtpd_banner) is resolved at build.
			out.values[target] = postconf.Param{Name: target, Value: raw.Value, Line: raw.Line}
			continue
		}
		v, err := expandRaw(f, raw, postscreenDefaults)
		if err != nil {
			at(raw, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if mine {
			out.values[target] = postconf.Param{Name: target, Value: v, Line: raw.Line}
			continue
		}
		ok := false
		for _, a := range accepted {
			ok = ok || strings.EqualFold(strings.TrimSpace(v), a)
		}
		if !ok {
			at(raw, fmt.Sprintf("%s = %s: postscreen would change what clients see, and this server does not implement it (accepted: %s)", name, v, acceptedList(accepted)))
		}
	}
	return out, errors.Join(errs...)
}

// expandRaw expands one value as written, through a scratch parameter so
// that an old name's value expands as the new name's would.
func expandRaw(f *postconf.File, p postconf.Param, defaults map[string]string) (string, error) {
	const scratch = "smtppolicy_postscreen_expand_"
	f.Set(scratch, p.Value)
	defer f.Delete(scratch)
	v, _, err := f.Expand(scratch, defaults)
	if err != nil {
		var xe *postconf.ExpansionError
		if errors.As(err, &xe) {
			return "", xe.Err
		}
		return "", err
	}
	return strings.TrimSpace(v), nil
}

func acceptedList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = v
		if v == "" {
			q[i] = "empty"
		}
	}
	return strings.Join(q, ", ")
}

// given reports whether the command line or the file set a parameter.
func (c *Config) given(name string) bool {
	if c.IsSet(name) {
		return true
	}
	_, ok := c.file[name]
	return ok
}

// moreStores are the stores of the pass cache and the reputation, opened
// once by the first build that needs them (a reload keeps what they hold).
type moreStores struct {
	mu     sync.Mutex
	open   map[string]store.Store // by spec
	closed bool
}

func (m *moreStores) get(ctx context.Context, spec, where string) (store.Store, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.open[spec]; ok {
		return st, nil
	}
	st, err := openStore(ctx, spec, where, "")
	if err != nil {
		return nil, err
	}
	if m.open == nil {
		m.open = map[string]store.Store{}
	}
	m.open[spec] = st
	return st, nil
}

func (m *moreStores) close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for spec, st := range m.open {
		errs = append(errs, st.Close())
		delete(m.open, spec)
	}
	return errors.Join(errs...)
}

// cacheSpec turns postscreen_cache_map into a store spec: the project's
// own (memory:, bolt:, redis://), or Postfix's btree: and lmdb: files
// (proxy: or not), kept in a bolt file of that name.
func cacheSpec(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "" || v == "none":
		return "", nil
	case v == "memory:" || strings.HasPrefix(v, "bolt:") || strings.HasPrefix(v, "redis://") || strings.HasPrefix(v, "rediss://"):
		return v, nil
	}
	t := strings.TrimPrefix(v, "proxy:")
	for _, kind := range []string{"btree:", "lmdb:"} {
		if path, ok := strings.CutPrefix(t, kind); ok && path != "" {
			return "bolt:" + path, nil
		}
	}
	return "", fmt.Errorf("%q: want memory:, bolt:PATH, redis://HOST:PORT/DB, btree:PATH or lmdb:PATH", v)
}

// PostscreenBuilt is postscreen's tests as a front-end that sees the
// connection runs them: the screen for its listener and the pregreet
// wait. The connect-stage checks (access list, DNS lists) and the RCPT
// refusals of the enforce action are in the part's stages, for every
// front-end.
type PostscreenBuilt struct {
	Screen *postscreen.Screen
	// GreetWait is postscreen_greet_wait when the parameters turn the
	// pregreet test on, else 0 (the front-end's own pause may apply).
	GreetWait time.Duration
	// CacheSpec is the pass cache's store, for the log ("" without).
	CacheSpec string
}

// postscreenAction reads an action parameter.
func (c *Config) postscreenAction(name string) (postscreen.TestAction, error) {
	a, err := postscreen.ParseAction(c.Value(name))
	if err != nil {
		return 0, fmt.Errorf("%s: %q: want ignore, enforce or drop", c.where(name), c.Value(name))
	}
	return a, nil
}

// myNetworks are the networks of permit_mynetworks: the file's mynetworks
// when it sets it (addresses and CIDR networks), else the front-end's.
func (c *Config) myNetworks(env Env) ([]netip.Prefix, error) {
	if c.File == nil {
		return env.MyNetworks, nil
	}
	raw, ok := c.File.Raw("mynetworks")
	if !ok {
		return env.MyNetworks, nil
	}
	v, _, err := c.File.Expand("mynetworks", nil)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, w := range postconf.Fields(v) {
		w = strings.NewReplacer("[", "", "]", "").Replace(w)
		p, err := netip.ParsePrefix(w)
		if err != nil {
			a, aerr := netip.ParseAddr(w)
			if aerr != nil {
				return nil, &postconf.Error{File: c.File.Name, Line: raw.Line, Msg: fmt.Sprintf("mynetworks: %q: postscreen_access_list's permit_mynetworks takes addresses and networks only", w)}
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func buildPostscreen(c *Config, env Env, st *Stores, b *Built) error {
	var cfg postscreen.Config
	var enabled postscreen.Tests
	for _, t := range []struct {
		test       postscreen.Test
		action, on string
	}{
		{postscreen.Pregreet, "postscreen_greet_action", ""},
		{postscreen.DNSBL, "postscreen_dnsbl_action", ""},
		{postscreen.BareNewline, "postscreen_bare_newline_action", "postscreen_bare_newline_enable"},
		{postscreen.NonSMTP, "postscreen_non_smtp_command_action", "postscreen_non_smtp_command_enable"},
		{postscreen.Pipelining, "postscreen_pipelining_action", "postscreen_pipelining_enable"},
	} {
		a, err := c.postscreenAction(t.action)
		if err != nil {
			return err
		}
		cfg.Actions[t.test] = a
		if t.on != "" && c.boolValue(t.on) {
			enabled = enabled.With(t.test)
		}
	}
	da, err := c.postscreenAction("postscreen_denylist_action")
	if err != nil {
		return err
	}
	cfg.DenylistAction = da
	var wait time.Duration
	if c.given("postscreen_greet_wait") || c.given("postscreen_greet_action") || c.given("postscreen_greet_banner") {
		enabled = enabled.With(postscreen.Pregreet)
		wait = c.durationValue("postscreen_greet_wait")
		if wait <= 0 {
			return fmt.Errorf("%s: want 1s or more", c.where("postscreen_greet_wait"))
		}
	}
	if env.GreetPause > 0 {
		enabled = enabled.With(postscreen.Pregreet)
	}
	sites := c.listValue("postscreen_dnsbl_sites")
	if len(sites) > 0 || len(c.listValue("smtppolicy_dnsbl_sites")) > 0 {
		// The DNS lists run at connect: their pass is cached too.
		enabled = enabled.With(postscreen.DNSBL)
	}
	for _, w := range c.listValue("postscreen_forbidden_commands") {
		if strings.Contains(w, ":") {
			return fmt.Errorf("%s: %q: only command names are implemented, not tables", c.where("postscreen_forbidden_commands"), w)
		}
		cfg.Forbidden = append(cfg.Forbidden, w)
	}
	if l := c.listValue("postscreen_access_list"); len(l) > 0 {
		var acl postscreen.AccessList
		for _, w := range l {
			if strings.EqualFold(w, "permit_mynetworks") {
				nets, err := c.myNetworks(env)
				if err != nil {
					return err
				}
				if len(nets) > 0 {
					acl = append(acl, postscreen.AccessEntry{MyNetworks: nets})
				}
				continue
			}
			t, err := postfix.Load(w)
			if err != nil {
				return fmt.Errorf("%s: %w", c.where("postscreen_access_list"), err)
			}
			acl = append(acl, postscreen.AccessEntry{Table: t})
		}
		cfg.Access = acl
	}
	spec, err := cacheSpec(c.Value("postscreen_cache_map"))
	if err != nil {
		return fmt.Errorf("%s: %w", c.where("postscreen_cache_map"), err)
	}
	if spec != "" {
		s, err := st.more.get(env.Ctx, spec, c.where("postscreen_cache_map"))
		if err != nil {
			return err
		}
		ttl := postscreen.TTLs{
			Greet:       c.durationValue("postscreen_greet_ttl"),
			DNSBLMin:    c.durationValue("postscreen_dnsbl_min_ttl"),
			DNSBLMax:    c.durationValue("postscreen_dnsbl_max_ttl"),
			Pipelining:  c.durationValue("postscreen_pipelining_ttl"),
			NonSMTP:     c.durationValue("postscreen_non_smtp_command_ttl"),
			BareNewline: c.durationValue("postscreen_bare_newline_ttl"),
			Retention:   c.durationValue("postscreen_cache_retention_time"),
		}
		cache, err := postscreen.NewCache(postscreen.CacheConfig{Store: s, TTLs: ttl})
		if err != nil {
			return fmt.Errorf("%s: %w", c.where("postscreen_dnsbl_min_ttl"), err)
		}
		cfg.Cache = cache
	}
	cfg.ReconnectAfterDeep = c.boolValue("smtppolicy_postscreen_deep_reconnect")
	if cfg.ReconnectAfterDeep && cfg.Cache == nil {
		return fmt.Errorf("%s needs postscreen_cache_map: a client that must reconnect is let through only when its pass is remembered", c.where("smtppolicy_postscreen_deep_reconnect"))
	}
	banner := c.Value("postscreen_greet_banner")
	if banner == "$smtpd_banner" {
		banner = ""
		if wait > 0 { // the parameters, not the front-end's pause, turned the test on
			banner = defaultBanner(c, env)
		}
	}
	if strings.ContainsAny(banner, "\r\n") {
		return fmt.Errorf("%s: no line breaks", c.where("postscreen_greet_banner"))
	}
	cfg.GreetBanner = banner
	dnsCheck, err := postscreenDNSBL(c, env, sites)
	if err != nil {
		return err
	}
	if enabled == 0 && cfg.Cache == nil && dnsCheck == nil && !hasTable(cfg.Access) {
		// Nothing to test, and permit_mynetworks alone changes nothing.
		return nil
	}
	cfg.Enabled = enabled
	sc := postscreen.New(cfg)
	b.Postscreen = &PostscreenBuilt{Screen: sc, GreetWait: wait, CacheSpec: spec}
	env.Logger.Info("postscreen tests on", "tests", enabled.String(), "cache", daemon.RedactURL(spec), "dnsbl", strings.Join(sites, ","),
		"greet", cfg.Actions[postscreen.Pregreet], "dnsbl-action", cfg.Actions[postscreen.DNSBL],
		"bare-newline", cfg.Actions[postscreen.BareNewline], "non-smtp-command", cfg.Actions[postscreen.NonSMTP], "pipelining", cfg.Actions[postscreen.Pipelining])
	b.Connect = append(b.Connect, smtpcheck.Guard(screenCheck(sc, dnsCheck), smtpcheck.Options{
		Name:    postscreen.Name,
		Timeout: c.durationValue("postscreen_dnsbl_timeout") + time.Second, // the lists' own deadline comes first
		Skip:    []smtpcheck.Condition{smtpcheck.TrustedNetwork, smtpcheck.Authenticated},
	}))
	b.Rcpt = append(b.Rcpt, smtpcheck.Named(postscreen.Name, postscreen.EnforceCheck()))
	b.Checks = append(b.Checks, postscreen.Name)
	if env.Conn && (enabled.Has(postscreen.Pregreet) || enabled.Has(postscreen.Pipelining) || enabled.Has(postscreen.NonSMTP) || enabled.Has(postscreen.BareNewline)) {
		// The screen's protocol tests run in the listener of a front-end
		// that owns the connection.
		b.Checks = append(b.Checks, "postscreen-tests")
	}
	return nil
}

// defaultBanner is $smtpd_banner as the file (or Postfix's default) has it.
func defaultBanner(c *Config, env Env) string {
	d := map[string]string{"smtpd_banner": "$myhostname ESMTP $mail_name", "myhostname": env.Hostname, "mail_name": "Postfix"}
	if c.File == nil {
		return env.Hostname + " ESMTP Postfix"
	}
	if _, set := c.File.Raw("myhostname"); set {
		delete(d, "myhostname")
	}
	v, err := expandRaw(c.File, postconf.Param{Value: "$smtpd_banner"}, d)
	if err != nil || v == "" {
		return env.Hostname + " ESMTP Postfix"
	}
	return strings.ReplaceAll(strings.ReplaceAll(v, "\r", " "), "\n", " ")
}

// psDNSBL is postscreen's DNS-list test: the combined score against the
// threshold and the allowlist threshold, and the action.
type psDNSBL struct {
	checker   *dnsbl.ClientLists
	threshold int
	allow     int // <0: a score at or below it skips the other tests
	action    postscreen.TestAction
	names     postfix.Table // postscreen_dnsbl_reply_map, or nil
	logger    *slog.Logger
}

func postscreenDNSBL(c *Config, env Env, sites []string) (*psDNSBL, error) {
	if len(sites) == 0 {
		return nil, nil
	}
	if env.Resolver == nil {
		return nil, fmt.Errorf("%s needs -resolver", c.where("postscreen_dnsbl_sites"))
	}
	lists, err := dnsbl.ParseLists(sites...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.where("postscreen_dnsbl_sites"), err)
	}
	th := int(c.intValue("postscreen_dnsbl_threshold"))
	if th < 1 {
		return nil, fmt.Errorf("%s %d: want 1 or more", c.where("postscreen_dnsbl_threshold"), th)
	}
	allow := int(c.intValue("postscreen_dnsbl_allowlist_threshold"))
	// Every list is waited for: postscreen adds all the weights up (no
	// allowlist total reaches this).
	thresholds := smtpcheck.Thresholds{Reject: float64(th), Allow: -math.MaxInt32}
	dc, err := dnsbl.New(dnsbl.Config{
		Resolver:   env.Resolver,
		Lists:      lists,
		Timeout:    c.durationValue("postscreen_dnsbl_timeout"),
		Thresholds: thresholds,
		Logger:     env.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.where("postscreen_dnsbl_sites"), err)
	}
	a, _ := postscreen.ParseAction(c.Value("postscreen_dnsbl_action"))
	d := &psDNSBL{checker: dc, threshold: th, allow: allow, action: a, logger: env.Logger}
	if m := c.Value("postscreen_dnsbl_reply_map"); m != "" {
		t, err := postfix.LoadMap(m)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.where("postscreen_dnsbl_reply_map"), err)
		}
		d.names = t
	}
	return d, nil
}

// name is what a reply calls the list: its zone, or the reply map's name
// for it.
func (d *psDNSBL) name(zone string) string {
	if d.names != nil {
		if a, ok := d.names.Find(zone); ok {
			if v := strings.TrimSpace(a.Text); v != "" {
				return v
			}
		}
	}
	return zone
}

// screenCheck is postscreen's connect-stage work. A front-end whose
// listener screened the connection (an SMTP server) has looked the client
// up already; for the others (a policy service, a milter) the access list
// and the pass cache are read here. Then the DNS-list test, unless the
// client is allowlisted or its pass is current.
func screenCheck(sc *postscreen.Screen, d *psDNSBL) smtpcheck.Check {
	return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
		ip := s.Conn.ClientIP
		listener := postscreen.Screened(s)
		if !listener {
			postscreen.MarkScreened(s)
			st := sc.Begin(ctx, ip)
			switch {
			case st.Access == postscreen.Deny:
				switch sc.Config().DenylistAction {
				case postscreen.Drop:
					return smtpcheck.Result{Action: smtpcheck.Disconnect, Reply: reply.PostscreenDenylisted(), Immediate: true,
						Reason: smtpcheck.Reason{Check: postscreen.Name, Rule: "postscreen_access_list", Matched: st.Entry}}
				case postscreen.Enforce:
					postscreen.MarkEnforcedReply(s, postscreen.DNSBL, reply.PostscreenDenylistedEnforce())
				}
			case st.Access == postscreen.Permit:
				postscreen.MarkPassed(s, st.Entry)
			case st.Cached || st.Err == nil && !st.Todo.Has(postscreen.DNSBL) && sc.Config().Cache != nil:
				postscreen.MarkPassed(s, "cache")
			}
		}
		if d == nil || postscreen.Passed(s) {
			return smtpcheck.Result{}
		}
		v := d.checker.CheckIP(ctx, ip)
		if v.Score >= d.threshold {
			zone := ""
			if l := v.Listed(); len(l) > 0 {
				zone = d.name(l[0].List.Zone)
			}
			postscreen.MarkFailed(s, postscreen.DNSBL)
			reason := smtpcheck.Reason{Check: postscreen.Name, Rule: "dnsbl", Matched: zone, Evidence: fmt.Sprintf("rank %d", v.Score)}
			d.logger.Info("DNSBL rank", "rank", v.Score, "client", ip.String(), "list", zone, "action", d.action.String())
			switch d.action {
			case postscreen.Drop:
				return smtpcheck.Result{Action: smtpcheck.Disconnect, Reply: reply.PostscreenDNSBLDrop(ip.String(), zone), Immediate: true, Reason: reason}
			case postscreen.Enforce:
				postscreen.MarkEnforcedReply(s, postscreen.DNSBL, reply.PostscreenDNSBLEnforce(ip.String(), zone))
			}
			return smtpcheck.Result{}
		}
		allowlisted := d.allow < 0 && v.Score <= d.allow
		if allowlisted {
			postscreen.MarkPassed(s, postscreen.DNSAllowlisted)
		}
		if cache := sc.Config().Cache; !listener && cache != nil && len(v.Errors()) == 0 {
			// No listener records the pass at the session's end here.
			var err error
			if allowlisted {
				err = cache.PassAll(ctx, ip, sc.Config().Enabled.With(postscreen.DNSBL), cache.TTLs().DNSBLMax)
			} else {
				err = sc.Finish(ctx, ip, postscreen.Tests(0).With(postscreen.DNSBL), 0, 0)
			}
			if err != nil {
				d.logger.Warn("pass cache not updated", "client", ip.String(), "error", err)
			}
		}
		return smtpcheck.Result{}
	}
}

func buildReputation(c *Config, env Env, st *Stores, b *Built) error {
	spec := c.Value("smtppolicy_reputation_store")
	if spec == "" || spec == "none" {
		return nil
	}
	s, err := st.more.get(env.Ctx, spec, c.where("smtppolicy_reputation_store"))
	if err != nil {
		return err
	}
	r, err := reputation.New(reputation.Config{Store: s,
		HalfLife:   c.durationValue("smtppolicy_reputation_half_life"),
		BlockAfter: c.floatValue("smtppolicy_reputation_block_after"),
		BlockFor:   c.durationValue("smtppolicy_reputation_block_for"),
		TarpitStep: c.durationValue("smtppolicy_reputation_tarpit_step"),
		TarpitMax:  c.durationValue("smtppolicy_reputation_tarpit_max"),
	})
	if err != nil {
		return fmt.Errorf("%s: %w", c.where("smtppolicy_reputation_store"), err)
	}
	env.Logger.Info("reputation on", "store", daemon.RedactURL(spec), "half-life", c.Value("smtppolicy_reputation_half_life"),
		"block-after", c.Value("smtppolicy_reputation_block_after"))
	b.Reputation = r
	b.Checks = append(b.Checks, reputation.Name)
	// A store that is down leaves clients unscored, never refused.
	b.Connect = append(b.Connect, smtpcheck.Guard(r.Check(), smtpcheck.Options{Name: reputation.Name, Timeout: 5 * time.Second, OnError: smtpcheck.FailOpen}))
	return nil
}

// LearnNow makes a policy teach the reputation r as it answers, for a
// front-end that has no end of session to learn at (a policy service, a
// milter): each refusal is a bad outcome and each message accepted at end
// of data a good one, learnt at once. Walks of a stage repeated for the
// same event (repeated, when set) teach nothing; neither do the
// reputation's own blocks, nor trusted or authenticated clients.
func LearnNow(p *smtpcheck.Policy, r *reputation.Reputation, repeated smtpcheck.Condition, logger *slog.Logger) {
	if r == nil || p == nil {
		return
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	wrap := func(c smtpcheck.Check) smtpcheck.Check {
		if c == nil {
			c = func(context.Context, *smtpcheck.Session) smtpcheck.Result { return smtpcheck.Result{} }
		}
		return func(ctx context.Context, s *smtpcheck.Session) smtpcheck.Result {
			res := c(ctx, s)
			if s.Conn.Trusted || s.Conn.Authenticated() || (repeated != nil && repeated(s)) || res.Reason.Check == reputation.Name {
				return res
			}
			good, bad := 0, 0
			switch {
			case res.Action.Refuses():
				bad = 1
			case s.Stage == smtpcheck.StageEndOfData && res.Action != smtpcheck.Discard:
				good = 1
			default:
				return res
			}
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := r.Learn(lctx, reputation.ClientOf(s), good, bad); err != nil {
				logger.Warn("reputation not updated", "session", s.Conn.ID, "error", err)
			}
			return res
		}
	}
	// A stage without a check stays without one (it refuses nothing to
	// learn from), but for end of data, where an accepted message is
	// learnt as good.
	some := func(c smtpcheck.Check) smtpcheck.Check {
		if c == nil {
			return nil
		}
		return wrap(c)
	}
	p.Connect, p.Helo, p.Mail, p.Rcpt = some(p.Connect), some(p.Helo), some(p.Mail), some(p.Rcpt)
	p.Data, p.Headers, p.EndOfData = some(p.Data), some(p.Headers), wrap(p.EndOfData)
}

// hasTable reports whether an access list has a table, whose reject
// entries refuse clients.
func hasTable(l postscreen.AccessList) bool {
	for _, e := range l {
		if e.Table != nil {
			return true
		}
	}
	return false
}
