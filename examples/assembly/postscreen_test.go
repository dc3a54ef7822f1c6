package assembly

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtppolicy/smtppolicy/postconf"
	"github.com/smtppolicy/smtppolicy/postscreen"
	"github.com/smtppolicy/smtppolicy/reputation"
	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

func TestParsePostfixTime(t *testing.T) {
	tests := []struct {
		in   string
		unit byte
		want time.Duration
		err  bool
	}{
		{"30s", 's', 30 * time.Second, false},
		{"5m", 's', 5 * time.Minute, false},
		{"1h", 's', time.Hour, false},
		{"7d", 's', 7 * 24 * time.Hour, false},
		{"2w", 's', 14 * 24 * time.Hour, false},
		{"10", 's', 10 * time.Second, false},
		{"10", 'd', 10 * 24 * time.Hour, false}, // a bare number takes the default's unit
		{"+5s", 's', 5 * time.Second, false},
		{" 6s ", 's', 6 * time.Second, false},
		{"0", 's', 0, false},
		{"", 's', 0, true},
		{"s", 's', 0, true},
		{"-1s", 's', 0, true},
		{"1h30m", 's', 0, true}, // Postfix reads one hour: refused, not shortened
		{"5x", 's', 0, true},
		{"1S", 's', 0, true},
		{"2147483648s", 's', 0, true},
		{"2147483647s", 's', 2147483647 * time.Second, false},
		{"4000w", 's', 0, true},
		{"1.5h", 's', 0, true},
	}
	for _, tt := range tests {
		got, err := ParsePostfixTime(tt.in, tt.unit)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParsePostfixTime(%q, %q) = %v, %v; want %v, error %v", tt.in, tt.unit, got, err, tt.want, tt.err)
		}
	}
}

// FuzzParsePostfixTime: no panic; a time read is never negative, and
// written back in seconds it reads the same.
func FuzzParsePostfixTime(f *testing.F) {
	f.Add("30s", byte('s'))
	f.Fuzz(func(t *testing.T, s string, unit byte) {
		d, err := ParsePostfixTime(s, unit)
		if err != nil {
			return
		}
		if d < 0 || d%time.Second != 0 {
			t.Fatalf("ParsePostfixTime(%q) = %v", s, d)
		}
		again, err := ParsePostfixTime(fmt.Sprintf("%ds", d/time.Second), 'x')
		if err != nil || again != d {
			t.Fatalf("ParsePostfixTime(%q) = %v, but %ds reads %v, %v", s, d, d/time.Second, again, err)
		}
	})
}

func ExampleParsePostfixTime() {
	for _, v := range []string{"7d", "90", "1h30m"} {
		d, err := ParsePostfixTime(v, 's')
		fmt.Println(d, err)
	}
	// Output:
	// 168h0m0s <nil>
	// 1m30s <nil>
	// 0s "1h30m": one number and one unit (Postfix would read only "1h" of it)
}

func loadText(t *testing.T, text string, args ...string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "main.cf")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c := NewConfig(nil)
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c.Load(path)
}

// postscreen's parameters read as Postfix reads them: its units, its old
// names, $name expansion; the flags keep taking Go durations.
func TestPostscreenParams(t *testing.T) {
	tests := []struct {
		name string
		file string
		args []string
		want map[string]string
		dur  map[string]time.Duration
	}{
		{"defaults", "", nil,
			map[string]string{"postscreen_greet_action": "ignore", "postscreen_pipelining_action": "enforce", "postscreen_non_smtp_command_action": "drop",
				"postscreen_access_list": "permit_mynetworks", "postscreen_dnsbl_threshold": "1", "postscreen_cache_map": ""},
			map[string]time.Duration{"postscreen_greet_ttl": 24 * time.Hour, "postscreen_dnsbl_min_ttl": time.Minute, "postscreen_dnsbl_max_ttl": time.Hour,
				"postscreen_cache_retention_time": 7 * 24 * time.Hour, "postscreen_greet_wait": 6 * time.Second, "postscreen_pipelining_ttl": 30 * 24 * time.Hour}},
		{"units and bare numbers", "postscreen_greet_ttl = 2\npostscreen_dnsbl_max_ttl = 3\npostscreen_greet_wait = 2\npostscreen_cache_retention_time = 1w\n", nil, nil,
			map[string]time.Duration{"postscreen_greet_ttl": 48 * time.Hour, "postscreen_dnsbl_max_ttl": 3 * time.Hour, "postscreen_greet_wait": 2 * time.Second,
				"postscreen_cache_retention_time": 7 * 24 * time.Hour}},
		{"expansion", "data_directory = /srv/pf\npostscreen_cache_map = btree:$data_directory/postscreen_cache\npostscreen_greet_wait = ${stress?{2}:{6}}s\n", nil,
			map[string]string{"postscreen_cache_map": "btree:/srv/pf/postscreen_cache"}, map[string]time.Duration{"postscreen_greet_wait": 6 * time.Second}},
		{"old names", "postscreen_blacklist_action = drop\npostscreen_dnsbl_whitelist_threshold = -2\npostscreen_dnsbl_ttl = 2h\n", nil,
			map[string]string{"postscreen_denylist_action": "drop", "postscreen_dnsbl_allowlist_threshold": "-2"}, map[string]time.Duration{"postscreen_dnsbl_max_ttl": 2 * time.Hour}},
		{"the new name wins", "postscreen_denylist_action = enforce\npostscreen_blacklist_action = drop\n", nil,
			map[string]string{"postscreen_denylist_action": "enforce"}, nil},
		{"flags take Go durations", "postscreen_greet_ttl = 3d\n", []string{"-postscreen-greet-ttl", "36h0m0s", "-postscreen-dnsbl-min-ttl", "2m"},
			map[string]string{"postscreen_greet_ttl": "129600s", "postscreen_dnsbl_min_ttl": "2m"}, map[string]time.Duration{"postscreen_greet_ttl": 36 * time.Hour}},
		{"weights", "postscreen_dnsbl_sites = zen.example*3\n  list.example=127.0.0.[2..11]*2, wl.example*-5\n", nil,
			map[string]string{"postscreen_dnsbl_sites": "zen.example*3 list.example=127.0.0.[2..11]*2, wl.example*-5"}, nil},
		{"supported values of unsupported parameters", "postscreen_upstream_proxy_protocol =\npostscreen_allowlist_interfaces = static:all\npostscreen_tls_security_level = $smtpd_tls_security_level\npostscreen_command_count_limit = 5\n", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadText(t, tt.file, tt.args...)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			for name, want := range tt.want {
				if got := c.Value(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for name, want := range tt.dur {
				if got := c.durationValue(name); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			// What postscreen reads is no longer left to postconf.Build, which
			// would call the old names unknown.
			for _, name := range c.File.Names() {
				if _, mine := c.params[name]; mine || postscreenOldNames[name] != "" {
					t.Errorf("%s left in the file for postconf", name)
				}
			}
		})
	}
}

// What postscreen accepts and this server cannot do is refused at load,
// every such line at once, each with its file and line.
func TestPostscreenParamsRefused(t *testing.T) {
	tests := []struct {
		name, file string
		lines      []int
		says       string
	}{
		{"proxy protocol", "smtpd_banner = x\npostscreen_upstream_proxy_protocol = haproxy\n", []int{2}, "postscreen_upstream_proxy_protocol = haproxy"},
		{"several", "postscreen_use_tls = yes\npostscreen_greet_wait = 6s\npostscreen_helo_required = yes\npostscreen_command_filter = pcre:/etc/x\n", []int{1, 3, 4}, "does not implement"},
		{"expanded", "x = haproxy\npostscreen_upstream_proxy_protocol = $x\n", []int{2}, "haproxy"},
		{"bad time", "postscreen_greet_ttl = 1h30m\n", []int{1}, "one number and one unit"},
		{"negative time", "postscreen_dnsbl_min_ttl = -5s\n", []int{1}, "postscreen_dnsbl_min_ttl"},
		{"bad bool", "postscreen_pipelining_enable = maybe\n", []int{1}, "yes or no"},
		{"bad threshold", "postscreen_dnsbl_threshold = many\n", []int{1}, "whole number"},
		{"old name, bad value", "postscreen_dnsbl_whitelist_threshold = x\n", []int{1}, "whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.file)
			if err == nil {
				t.Fatalf("Load(%q) = nil error, want one naming lines %v", tt.file, tt.lines)
			}
			var lines []int
			var pe *postconf.Error
			for _, e := range unjoin(err) {
				if errors.As(e, &pe) {
					lines = append(lines, pe.Line)
				}
			}
			if fmt.Sprint(lines) != fmt.Sprint(tt.lines) {
				t.Errorf("Load(%q): errors at lines %v, want %v: %v", tt.file, lines, tt.lines, err)
			}
			if !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "main.cf:") {
				t.Errorf("Load(%q) = %v, want it to name main.cf:LINE and say %q", tt.file, err, tt.says)
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// The parameters turn into postscreen's tests: which run, with which
// actions, the pregreet wait, the cache and its lifetimes.
func TestBuildPostscreen(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		file    string
		env     Env
		enabled string
		wait    time.Duration
		banner  string
		check   func(t *testing.T, b *PostscreenBuilt)
		err     string
	}{
		{name: "nothing set: no screen", file: ""},
		{name: "deep tests", file: "postscreen_bare_newline_enable = yes\npostscreen_bare_newline_action = drop\npostscreen_pipelining_enable = yes\n",
			enabled: "pipelining,bare_newline", check: func(t *testing.T, b *PostscreenBuilt) {
				if a := b.Screen.Action(postscreen.BareNewline); a != postscreen.Drop {
					t.Errorf("bare newline action %v, want drop", a)
				}
				if a := b.Screen.Action(postscreen.Pipelining); a != postscreen.Enforce {
					t.Errorf("pipelining action %v, want Postfix's default enforce", a)
				}
			}},
		{name: "pregreet by its wait, with $smtpd_banner", file: "myhostname = mx.example.org\npostscreen_greet_wait = 2s\npostscreen_greet_action = enforce\n",
			enabled: "pregreet", wait: 2 * time.Second, banner: "mx.example.org ESMTP Postfix"},
		{name: "pregreet with its own banner", file: "postscreen_greet_banner = hold on\n", enabled: "pregreet", wait: 6 * time.Second, banner: "hold on"},
		{name: "the front-end's pause: no banner", env: Env{GreetPause: time.Second}, file: "postscreen_cache_map = memory:\n", enabled: "pregreet"},
		{name: "cache with Postfix's file", file: "data_directory = " + dir + "\npostscreen_cache_map = btree:$data_directory/ps.db\npostscreen_greet_ttl = 2d\npostscreen_dnsbl_max_ttl = 2h\n",
			check: func(t *testing.T, b *PostscreenBuilt) {
				if b.CacheSpec != "bolt:"+dir+"/ps.db" {
					t.Errorf("cache %q, want a bolt file at the btree: path", b.CacheSpec)
				}
				ttl := b.Screen.Config().Cache.TTLs()
				if ttl.Greet != 48*time.Hour || ttl.DNSBLMax != 2*time.Hour || ttl.DNSBLMin != time.Minute {
					t.Errorf("TTLs %+v", ttl)
				}
			}},
		{name: "memcache refused", file: "postscreen_cache_map = memcache:/etc/postfix/x\n", err: "main.cf:1: postscreen_cache_map"},
		{name: "reconnect needs a cache", file: "smtppolicy_postscreen_deep_reconnect = yes\npostscreen_pipelining_enable = yes\n", err: "needs postscreen_cache_map"},
		{name: "bad action", file: "postscreen_dnsbl_action = reject\n", err: "main.cf:1: postscreen_dnsbl_action"},
		{name: "dnsbl needs a resolver", file: "postscreen_dnsbl_sites = zen.example*2\n", err: "needs -resolver"},
		{name: "forbidden commands as tables", file: "postscreen_non_smtp_command_enable = yes\npostscreen_forbidden_commands = CONNECT regexp:/etc/x\n", err: "only command names"},
		{name: "denylist table", file: "postscreen_access_list = permit_mynetworks, cidr:" + tableFile(t, "acl.cidr", "192.0.2.0/24 reject\n") + "\npostscreen_denylist_action = drop\n",
			check: func(t *testing.T, b *PostscreenBuilt) {
				if a := b.Screen.Config().DenylistAction; a != postscreen.Drop {
					t.Errorf("denylist action %v, want drop", a)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadText(t, tt.file)
			if err != nil {
				if tt.err != "" && strings.Contains(err.Error(), tt.err) {
					return
				}
				t.Fatalf("Load: %v", err)
			}
			env := tt.env
			env.Hostname = "smtpd.example"
			var st Stores
			defer st.Close()
			bd := NewBuilder(c, env, &st)
			_, err = bd.Part("postscreen")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Part(postscreen) = %v, want an error saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b := bd.Built().Postscreen
			if tt.enabled == "" && tt.check == nil {
				if b != nil {
					t.Fatalf("screen built for %q", tt.file)
				}
				return
			}
			if b == nil {
				t.Fatalf("no screen built for %q", tt.file)
			}
			if got := b.Screen.Config().Enabled.String(); tt.enabled != "" && got != tt.enabled {
				t.Errorf("tests on %q, want %q", got, tt.enabled)
			}
			if b.GreetWait != tt.wait {
				t.Errorf("greet wait %v, want %v", b.GreetWait, tt.wait)
			}
			if got := b.Screen.Config().GreetBanner; got != tt.banner {
				t.Errorf("banner %q, want %q", got, tt.banner)
			}
			if tt.check != nil {
				tt.check(t, b)
			}
		})
	}
}

func tableFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A policy service or a milter sees no end of session: LearnNow teaches
// the reputation at each refusal and each message accepted, once per
// event, and never from a trusted client.
func TestLearnNow(t *testing.T) {
	c, err := loadText(t, "smtppolicy_reputation_store = memory:\nsmtppolicy_reputation_block_after = 2\n")
	if err != nil {
		t.Fatal(err)
	}
	var st Stores
	defer st.Close()
	b, err := Build(c, Env{}, &st)
	if err != nil {
		t.Fatal(err)
	}
	if b.Reputation == nil {
		t.Fatal("no reputation built")
	}
	refuse := func(context.Context, *smtpcheck.Session) smtpcheck.Result {
		return smtpcheck.Result{Action: smtpcheck.Reject}
	}
	p := Then(nil, b.Stages)
	p.Rcpt = refuse
	type againKey struct{}
	repeated := func(s *smtpcheck.Session) bool { return s.Value(againKey{}) != nil }
	LearnNow(p, b.Reputation, repeated, nil)
	ctx := t.Context()
	session := func(ip string, trusted bool) *smtpcheck.Session {
		return &smtpcheck.Session{Conn: smtpcheck.Conn{ClientIP: netip.MustParseAddr(ip), Trusted: trusted}, Stage: smtpcheck.StageRcpt}
	}
	s := session("192.0.2.9", false)
	p.Rcpt(ctx, s)
	s.SetValue(againKey{}, true)
	p.Rcpt(ctx, s) // the same refusal walked again: not counted
	p.Rcpt(ctx, session("192.0.2.9", true))
	sc, err := b.Reputation.Lookup(ctx, reputation.ClientOf(s))
	if err != nil {
		t.Fatal(err)
	}
	if sc.IP.Bad < 0.99 || sc.IP.Bad > 1.01 {
		t.Errorf("bad count %.2f after one refusal, one repeat and one trusted, want 1", sc.IP.Bad)
	}
	p.Rcpt(ctx, session("192.0.2.9", false))
	s = session("192.0.2.9", false)
	s.Stage = smtpcheck.StageConnect
	if r := p.Connect(ctx, s); r.Action != smtpcheck.Disconnect {
		t.Errorf("after two refusals with block_after 2: connect = %v, want the 421 block", r.Action)
	}
}
