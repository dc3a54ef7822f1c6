package envelope

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opt     Options
		want    string // String() of the path
		rule    Rule   // "" when it must parse
		quoted  bool
		literal string
	}{
		{name: "plain", in: "<user@example.org>", want: "user@example.org"},
		{name: "null", in: "<>", want: ""},
		{name: "postmaster without domain", in: "<postmaster>", want: "postmaster"},
		{name: "Postmaster any case", in: "<PostMaster>", want: "PostMaster"},
		{name: "other local without domain", in: "<user>", rule: RuleNoDomain},
		{name: "quoted legal", in: `<"john smith"@example.org>`, want: `"john smith"@example.org`, quoted: true},
		{name: "quoted pair", in: `<"a\"b"@example.org>`, want: `"a\"b"@example.org`, quoted: true},
		{name: "quoted at sign parses", in: `<"a@b"@example.org>`, want: `"a@b"@example.org`, quoted: true},
		{name: "unterminated quote", in: `<"abc@example.org>`, rule: RuleSyntax},
		{name: "source route ignored", in: "<@relay.example,@b.example:user@example.org>", want: "user@example.org"},
		{name: "bad source route", in: "<@:user@example.org>", rule: RuleSyntax},
		{name: "ipv4 literal", in: "<user@[192.0.2.1]>", want: "user@[192.0.2.1]", literal: "192.0.2.1"},
		{name: "ipv6 literal", in: "<user@[IPv6:2001:db8::1]>", want: "user@[IPv6:2001:db8::1]", literal: "2001:db8::1"},
		{name: "ipv6 without tag", in: "<user@[2001:db8::1]>", rule: RuleSyntax},
		{name: "general literal", in: "<user@[x-foo:bar]>", want: "user@[x-foo:bar]"},
		{name: "bad ipv4 literal", in: "<user@[192.0.2.256]>", rule: RuleSyntax},
		{name: "a-label domain", in: "<user@xn--bcher-kva.example>", want: "user@xn--bcher-kva.example"},
		{name: "idn needs smtputf8", in: "<user@bücher.example>", rule: RuleEightBit},
		{name: "idn with smtputf8", in: "<user@bücher.example>", opt: Options{SMTPUTF8: true}, want: "user@bücher.example"},
		{name: "utf8 local with smtputf8", in: "<jörg@example.org>", opt: Options{SMTPUTF8: true}, want: "jörg@example.org"},
		{name: "utf8 local without", in: "<jörg@example.org>", rule: RuleEightBit},
		{name: "invalid utf8 with smtputf8", in: "<j\xffg@example.org>", opt: Options{SMTPUTF8: true}, rule: RuleSyntax},
		{name: "local 64 ok", in: "<" + strings.Repeat("a", 64) + "@example.org>", want: strings.Repeat("a", 64) + "@example.org"},
		{name: "local 65", in: "<" + strings.Repeat("a", 65) + "@example.org>", rule: RuleLocalLength},
		{name: "local limit off", in: "<" + strings.Repeat("a", 65) + "@example.org>", opt: Options{MaxLocal: -1}, want: strings.Repeat("a", 65) + "@example.org"},
		{name: "label 64", in: "<a@" + strings.Repeat("b", 64) + ".org>", rule: RuleLabelLength},
		{name: "domain 256", in: "<a@" + strings.Repeat("abcdefg.", 32) + "org>", rule: RuleDomainLength},
		{name: "doubled dot lenient", in: "<first..last@example.org>", want: "first..last@example.org"},
		{name: "trailing dot lenient", in: "<foo.@example.jp>", want: "foo.@example.jp"},
		{name: "doubled dot strict", in: "<first..last@example.org>", opt: Options{StrictDots: true}, rule: RuleStrictDot},
		{name: "trailing dot strict", in: "<foo.@example.jp>", opt: Options{StrictDots: true}, rule: RuleStrictDot},
		{name: "leading dot strict", in: "<.foo@example.jp>", opt: Options{StrictDots: true}, rule: RuleStrictDot},
		{name: "empty domain label", in: "<a@example..org>", rule: RuleStrictDot},
		{name: "root dot domain", in: "<a@example.org.>", want: "a@example.org."},
		{name: "hyphen edge", in: "<a@-example.org>", rule: RuleSyntax},
		{name: "underscore domain", in: "<a@ex_ample.org>", rule: RuleSyntax},
		{name: "space in local", in: "<a b@example.org>", rule: RuleSyntax},
		{name: "no brackets", in: "a@example.org", rule: RuleSyntax},
		{name: "nul byte", in: "<a\x00@example.org>", rule: RuleSyntax},
		{name: "empty local", in: "<@example.org>", rule: RuleSyntax},
		// RFC 5321 4.5.3.1.3: 256 octets for the whole path, brackets and
		// source route included; each part within its own limit.
		{name: "path 256", in: path256, want: local64 + "@" + domain189},
		{name: "path 257", in: path257, rule: RulePathLength},
		{name: "path 257 by source route", in: "<@r.example:" + strings.Repeat("l", 64-len("@r.example:")+1) + "@" + domain189 + ">", rule: RulePathLength},
		{name: "path limit off", in: path257, opt: Options{MaxPath: -1}, want: local64 + "@x" + domain189},
		{name: "path limit raised", in: path257, opt: Options{MaxPath: 300}, want: local64 + "@x" + domain189},
		{name: "long domain reports domain", in: "<a@" + strings.Repeat("abcdefg.", 32) + "org>", rule: RuleDomainLength},
		{name: "long local reports local", in: "<" + strings.Repeat("a", 65) + "@" + strings.Repeat("b.", 100) + "org>", rule: RuleLocalLength},
		{name: "plus and equals", in: "<SRS0=abcd=TT=example.com=a+b@fwd.example>", want: "SRS0=abcd=TT=example.com=a+b@fwd.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePath(tt.in, tt.opt)
			if tt.rule != "" {
				if RuleOf(err) != tt.rule {
					t.Fatalf("ParsePath(%q) error = %v, want rule %q", tt.in, err, tt.rule)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePath(%q) error = %v, want nil", tt.in, err)
			}
			if p.String() != tt.want {
				t.Errorf("ParsePath(%q) = %q, want %q", tt.in, p.String(), tt.want)
			}
			if p.Quoted != tt.quoted {
				t.Errorf("ParsePath(%q).Quoted = %v, want %v", tt.in, p.Quoted, tt.quoted)
			}
			if tt.literal != "" && p.Literal != netip.MustParseAddr(tt.literal) {
				t.Errorf("ParsePath(%q).Literal = %v, want %v", tt.in, p.Literal, tt.literal)
			}
		})
	}
}

// path256 is a path of exactly 256 octets with its brackets: a 64-octet
// local part and a 189-octet domain of labels within their limits; path257
// has one more octet in the domain.
var (
	local64   = strings.Repeat("l", 64)
	domain189 = strings.Repeat(strings.Repeat("d", 62)+".", 2) + strings.Repeat("d", 59) + ".org"
	path256   = "<" + local64 + "@" + domain189 + ">"
	path257   = "<" + local64 + "@x" + domain189 + ">"
)

func TestPath256(t *testing.T) {
	if len(path256) != 256 {
		t.Fatalf("len(path256) = %d, want 256", len(path256))
	}
}

func TestPathFlags(t *testing.T) {
	tests := []struct {
		in                      string
		percent, bang, quotedAt bool
		postmaster              bool
	}{
		{in: "<user@example.org>"},
		{in: "<user%other.example@relay.example>", percent: true},
		{in: "<host!user@relay.example>", bang: true},
		{in: `<"user@other.example"@relay.example>`, quotedAt: true},
		{in: `<"user\%x"@relay.example>`, percent: true},
		{in: "<postmaster>", postmaster: true},
		{in: "<postmaster@example.org>"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePath(tt.in, Options{})
			if err != nil {
				t.Fatalf("ParsePath(%q) error = %v", tt.in, err)
			}
			if p.PercentHack() != tt.percent || p.BangPath() != tt.bang || p.QuotedAt() != tt.quotedAt || p.Postmaster() != tt.postmaster {
				t.Errorf("ParsePath(%q) flags = percent %v bang %v quotedAt %v postmaster %v, want %v %v %v %v", tt.in,
					p.PercentHack(), p.BangPath(), p.QuotedAt(), p.Postmaster(), tt.percent, tt.bang, tt.quotedAt, tt.postmaster)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		opt    Options
		path   string
		extra  bool
		params int
		rule   Rule
	}{
		{name: "mail", in: "MAIL FROM:<a@example.org>", path: "a@example.org"},
		{name: "lower case", in: "mail from:<a@example.org>", path: "a@example.org"},
		{name: "rcpt", in: "RCPT TO:<b@example.net>", path: "b@example.net"},
		{name: "null sender", in: "MAIL FROM:<>", path: ""},
		{name: "params", in: "MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME", path: "a@example.org", params: 2},
		{name: "space after colon", in: "MAIL FROM: <a@example.org>", path: "a@example.org", extra: true},
		{name: "two spaces after verb", in: "RCPT  TO:<a@example.org>", path: "a@example.org", extra: true},
		{name: "trailing space", in: "RCPT TO:<a@example.org> ", path: "a@example.org", extra: true},
		{name: "double space between params", in: "MAIL FROM:<a@example.org> SIZE=1  BODY=7BIT", path: "a@example.org", extra: true, params: 2},
		{name: "smtputf8 enables utf8", in: "MAIL FROM:<jörg@bücher.example> SMTPUTF8", path: "jörg@bücher.example", params: 1},
		{name: "utf8 without smtputf8", in: "MAIL FROM:<jörg@example.org>", rule: RuleEightBit},
		{name: "quoted angle bracket", in: `RCPT TO:<"a>b"@example.org>`, path: `"a>b"@example.org`},
		{name: "missing colon", in: "MAIL FROM <a@example.org>", rule: RuleSyntax},
		{name: "no brackets", in: "MAIL FROM:a@example.org", rule: RuleSyntax},
		{name: "unterminated", in: "MAIL FROM:<a@example.org", rule: RuleSyntax},
		{name: "junk after path", in: "MAIL FROM:<a@example.org>junk", rule: RuleParams},
		{name: "bad param", in: "MAIL FROM:<a@example.org> =x", rule: RuleParams},
		{name: "empty param value", in: "MAIL FROM:<a@example.org> SIZE=", rule: RuleParams},
		{name: "long line", in: "MAIL FROM:<" + strings.Repeat("a", 60) + "@" + strings.Repeat(strings.Repeat("b", 60)+".", 8) + "org>", opt: Options{MaxDomain: -1}, rule: RuleLineLength},
		{name: "other verb", in: "VRFY foo", rule: RuleSyntax},
		// Per-verb rules of RFC 5321 4.1.2 and 4.5.1.
		{name: "rcpt postmaster", in: "RCPT TO:<Postmaster>", path: "Postmaster"},
		{name: "rcpt postmaster with domain", in: "RCPT TO:<Postmaster@example.org>", path: "Postmaster@example.org"},
		{name: "mail postmaster", in: "MAIL FROM:<postmaster>", rule: RuleNoDomain},
		{name: "mail POSTMASTER", in: "mail from:<POSTMASTER> SIZE=10", rule: RuleNoDomain},
		{name: "mail postmaster with domain", in: "MAIL FROM:<postmaster@example.org>", path: "postmaster@example.org"},
		{name: "rcpt null", in: "RCPT TO:<>", rule: RuleSyntax},
		{name: "mail path 256", in: "MAIL FROM:" + path256 + " SIZE=10", path: local64 + "@" + domain189, params: 1},
		{name: "mail path 257", in: "MAIL FROM:" + path257, rule: RulePathLength},
		{name: "rcpt path 257", in: "RCPT TO:" + path257 + " NOTIFY=NEVER", rule: RulePathLength},
		{name: "short", in: "MAI", rule: RuleSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCommand(tt.in, tt.opt)
			if tt.rule != "" {
				if RuleOf(err) != tt.rule {
					t.Fatalf("ParseCommand(%q) error = %v, want rule %q", tt.in, err, tt.rule)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseCommand(%q) error = %v, want nil", tt.in, err)
			}
			if c.Path.String() != tt.path || c.ExtraSpaces != tt.extra || len(c.Params) != tt.params {
				t.Errorf("ParseCommand(%q) = path %q extra %v params %d, want %q %v %d", tt.in, c.Path.String(), c.ExtraSpaces, len(c.Params), tt.path, tt.extra, tt.params)
			}
		})
	}
}

func TestParseHelo(t *testing.T) {
	tests := []struct {
		in   string
		kind HeloKind
		addr string
		rule Rule
	}{
		{in: "mx.example.org", kind: HeloFQDN},
		{in: "mx.example.org.", kind: HeloFQDN},
		{in: "MX1.Example.ORG", kind: HeloFQDN},
		{in: "localhost", kind: HeloDotless},
		{in: "win_pc.corp.example", kind: HeloFQDN},
		{in: "[192.0.2.1]", kind: HeloLiteral, addr: "192.0.2.1"},
		{in: "[IPv6:2001:db8::25]", kind: HeloLiteral, addr: "2001:db8::25"},
		{in: "192.0.2.1", kind: HeloBareIP, addr: "192.0.2.1"},
		{in: "2001:db8::25", kind: HeloBareIP, addr: "2001:db8::25"},
		{in: "", rule: RuleSyntax},
		{in: "mx..example.org", rule: RuleStrictDot},
		{in: "mx.-example.org", rule: RuleSyntax},
		{in: "friend's pc", rule: RuleSyntax},
		{in: "[192.0.2.300]", rule: RuleSyntax},
		{in: "bücher.example", rule: RuleEightBit},
		{in: strings.Repeat("a", 64) + ".example", rule: RuleLabelLength},
		{in: strings.Repeat("a.", 130), rule: RuleDomainLength},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h, err := ParseHelo(tt.in)
			if tt.rule != "" {
				if RuleOf(err) != tt.rule {
					t.Fatalf("ParseHelo(%q) error = %v, want rule %q", tt.in, err, tt.rule)
				}
				return
			}
			if err != nil || h.Kind != tt.kind {
				t.Fatalf("ParseHelo(%q) = %v, %v, want kind %v", tt.in, h.Kind, err, tt.kind)
			}
			if tt.addr != "" && h.Addr != netip.MustParseAddr(tt.addr) {
				t.Errorf("ParseHelo(%q).Addr = %v, want %v", tt.in, h.Addr, tt.addr)
			}
		})
	}
}

func TestBadHeloChar(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"mx.example.org", -1},
		{"win_pc", -1},
		{"[IPv6:2001:db8::1]", -1},
		{"mx.example.org:25", 14},
		{"my pc", 2},
		{"host\x00", 4},
		{"a/b", 1},
	}
	for _, tt := range tests {
		if _, got := BadHeloChar(tt.in); got != tt.want {
			t.Errorf("BadHeloChar(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestErrorMessageIsBounded(t *testing.T) {
	_, err := ParsePath("<"+strings.Repeat("x", 1<<20)+">", Options{})
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("ParsePath(1 MB) error length = %d, want a short error", len(err.Error()))
	}
}

func TestParseParts(t *testing.T) {
	tests := []struct {
		name          string
		local, domain string
		opt           Options
		want          string
		rule          Rule
	}{
		{name: "plain", local: "user", domain: "example.org", want: "user@example.org"},
		{name: "postmaster", local: "Postmaster", want: "Postmaster"},
		{name: "no domain", local: "user", rule: RuleNoDomain},
		{name: "quoted at", local: `"a@b"`, domain: "example.org", want: `"a@b"@example.org`},
		{name: "literal", local: "u", domain: "[192.0.2.1]", want: "u@[192.0.2.1]"},
		{name: "bad domain", local: "u", domain: "ex_ample.org", rule: RuleSyntax},
		{name: "local 65", local: strings.Repeat("a", 65), domain: "example.org", rule: RuleLocalLength},
		{name: "strict dot", local: "a..b", domain: "example.org", opt: Options{StrictDots: true}, rule: RuleStrictDot},
		{name: "8bit", local: "jörg", domain: "example.org", rule: RuleEightBit},
		{name: "path 256", local: local64, domain: domain189, want: local64 + "@" + domain189},
		{name: "path 257", local: local64, domain: "x" + domain189, rule: RulePathLength},
		{name: "path 257 limit off", local: local64, domain: "x" + domain189, opt: Options{MaxPath: -1}, want: local64 + "@x" + domain189},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseParts(tt.local, tt.domain, tt.opt)
			if RuleOf(err) != tt.rule {
				t.Fatalf("ParseParts(%q, %q) error = %v, want rule %q", tt.local, tt.domain, err, tt.rule)
			}
			if err == nil && p.String() != tt.want {
				t.Errorf("ParseParts(%q, %q) = %q, want %q", tt.local, tt.domain, p.String(), tt.want)
			}
		})
	}
}

func TestCheckVerb(t *testing.T) {
	tests := []struct {
		verb, path string
		rule       Rule
	}{
		{verb: "MAIL", path: "<>"},
		{verb: "RCPT", path: "<>", rule: RuleSyntax},
		{verb: "MAIL", path: "<postmaster>", rule: RuleNoDomain},
		{verb: "mail", path: "<PostMaster>", rule: RuleNoDomain},
		{verb: "RCPT", path: "<postmaster>"},
		{verb: "MAIL", path: "<postmaster@example.org>"},
		{verb: "RCPT", path: "<user@example.org>"},
		{verb: "VRFY", path: "<postmaster>"},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.path, Options{})
		if err != nil {
			t.Fatalf("ParsePath(%q): %v", tt.path, err)
		}
		if got := RuleOf(CheckVerb(tt.verb, p)); got != tt.rule {
			t.Errorf("CheckVerb(%q, %s) rule = %q, want %q", tt.verb, tt.path, got, tt.rule)
		}
	}
}

func TestMaybeIP(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"192.0.2.1", true}, {"2001:db8::1", true}, {"fe80::1%eth0", true}, {"::ffff:192.0.2.1", true},
		{"mx.example.org", false}, {"1-2-3-4.dsl.example", false}, {"", false}, {"999.1", true},
	}
	for _, tt := range tests {
		if got := MaybeIP(tt.in); got != tt.want {
			t.Errorf("MaybeIP(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func BenchmarkParseParts(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseParts("bob", "beta-post.fr", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
