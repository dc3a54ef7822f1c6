package dnsbl

import (
	"fmt"
	"strings"

	"github.com/smtppolicy/smtppolicy/reply"
)

// Template is a reply template for a listing, in the style of Postfix's
// rbl_reply_maps. Its text may use these variables, as $name or ${name}:
//
//	ip     the client's IP address
//	host   the client's verified name, or "unknown"
//	what   what was looked up: the IP address or the domain
//	zone   the list's name (Name, or the zone unless HideZones)
//	code   the first matching answer code, such as 127.0.0.2
//	text   the list's TXT reason; fetched only when the template uses it
//	class  what was checked: "Client host" (its address or its name, as
//	       Postfix), "Helo command", "Sender address", "Unverified Client host"
//
// ${name?X} gives X when the variable is not empty and ${name:X} when it
// is; X may use variables too. Postfix's names rbl_domain, rbl_reason,
// rbl_what, rbl_class, client_address and client_name are understood as
// zone, text, what, class, ip and host.
type Template struct {
	Code     int    // reply code, 4xx or 5xx
	Enhanced string // enhanced status code of the same class, such as "5.7.1"
	Text     string // text with variables
	segs     []tseg
	useText  bool
}

type tseg struct {
	lit  string
	v    string // variable name, "" for a literal
	op   byte   // 0, '?' or ':'
	sub  []tseg // the X of ${v?X} / ${v:X}
	text string // the source of sub, for String
}

var templateVars = map[string]string{
	"ip": "ip", "host": "host", "what": "what", "zone": "zone", "code": "code", "text": "text", "class": "class",
	"rbl_domain": "zone", "rbl_reason": "text", "rbl_what": "what", "rbl_class": "class",
	"client_address": "ip", "client_name": "host", "rbl_txt": "text",
}

// PostfixTemplate is Postfix's default DNSBL reply text
// (default_rbl_reply), with its 554 5.7.1 code.
const PostfixTemplate = "Service unavailable; $class [$what] blocked using $zone${text?; $text}"

// NewTemplate checks and compiles a reply template.
func NewTemplate(code int, enhanced, text string) (*Template, error) {
	if _, err := reply.New(code, enhanced); err != nil || code < 400 {
		return nil, fmt.Errorf("dnsbl: template code %d %s: want a 4xx or 5xx code with a matching enhanced code", code, enhanced)
	}
	segs, rest, err := parseTemplate(text, false)
	if err != nil {
		return nil, fmt.Errorf("dnsbl: template %q: %v", text, err)
	}
	if rest != "" {
		return nil, fmt.Errorf("dnsbl: template %q: unexpected '}'", text)
	}
	t := &Template{Code: code, Enhanced: enhanced, Text: text, segs: segs}
	t.useText = usesText(segs)
	return t, nil
}

// MustTemplate is NewTemplate for templates fixed in the program; it
// panics on an error.
func MustTemplate(code int, enhanced, text string) *Template {
	t, err := NewTemplate(code, enhanced, text)
	if err != nil {
		panic(err)
	}
	return t
}

func usesText(segs []tseg) bool {
	for _, s := range segs {
		if s.v == "text" || usesText(s.sub) {
			return true
		}
	}
	return false
}

// parseTemplate compiles s up to an unmatched '}' (when nested) and
// returns the rest from that '}'.
func parseTemplate(s string, nested bool) ([]tseg, string, error) {
	var segs []tseg
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, tseg{lit: lit.String()})
			lit.Reset()
		}
	}
	for len(s) > 0 {
		c := s[0]
		if c == '}' && nested {
			flush()
			return segs, s, nil
		}
		if c != '$' {
			lit.WriteByte(c)
			s = s[1:]
			continue
		}
		s = s[1:]
		if s != "" && s[0] == '$' {
			lit.WriteByte('$')
			s = s[1:]
			continue
		}
		braced := s != "" && s[0] == '{'
		if braced {
			s = s[1:]
		}
		n := 0
		for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z') {
			n++
		}
		name := strings.ToLower(s[:n])
		v, ok := templateVars[name]
		if !ok {
			return nil, "", fmt.Errorf("unknown variable $%s", s[:n])
		}
		s = s[n:]
		seg := tseg{v: v}
		if braced {
			if s != "" && (s[0] == '?' || s[0] == ':') {
				seg.op = s[0]
				sub, rest, err := parseTemplate(s[1:], true)
				if err != nil {
					return nil, "", err
				}
				seg.sub = sub
				seg.text = s[1 : len(s)-len(rest)]
				s = rest
			}
			if s == "" || s[0] != '}' {
				return nil, "", fmt.Errorf("unclosed ${%s", name)
			}
			s = s[1:]
		}
		flush()
		segs = append(segs, seg)
	}
	flush()
	return segs, "", nil
}

func expand(b *strings.Builder, segs []tseg, vars map[string]string) {
	for _, s := range segs {
		switch {
		case s.v == "":
			b.WriteString(s.lit)
		case s.op == '?':
			if vars[s.v] != "" {
				expand(b, s.sub, vars)
			}
		case s.op == ':':
			if vars[s.v] == "" {
				expand(b, s.sub, vars)
			}
		default:
			b.WriteString(vars[s.v])
		}
	}
}

// Expand returns the text with vars (keyed by the names above) filled in.
func (t *Template) Expand(vars map[string]string) string {
	var b strings.Builder
	expand(&b, t.segs, vars)
	return b.String()
}

// UsesText reports whether the template needs the list's TXT reason.
func (t *Template) UsesText() bool { return t.useText }

// Reply builds the reply for vars.
func (t *Template) Reply(vars map[string]string) reply.Reply {
	r, err := reply.New(t.Code, t.Enhanced, t.Expand(vars))
	if err != nil { // NewTemplate checked the codes
		return reply.InternalError()
	}
	return r
}
