package dnsbl

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// List is one DNS list with its answer filter and weight, as written in
// Postfix's postscreen_dnsbl_sites and reject_rbl_client syntax:
//
//	zen.example                        any 127.0.0.0/8 answer lists, weight 1
//	zen.example=127.0.0.[2..11]        only answers matching the pattern
//	zen.example=127.0.0.[2;4;10..11]   a list of values and ranges in an octet
//	dbl.example&0.0.0.4                answers with any bit of the mask set
//	zen.example*3                      weight 3
//	list.dnswl.example=127.0.[0..255].[1..3]*-2   an allowlist: negative weight
type List struct {
	// Zone is the list's DNS zone, lower case, without a trailing dot.
	Zone string
	// Filter, when set, is the answer pattern after "=": an answer lists
	// only if it matches. Nil accepts any answer in 127.0.0.0/8.
	Filter *Filter
	// Mask, when non-zero, is the bit mask after "&": an answer lists only
	// if it has one of the mask's bits set.
	Mask uint32
	// Weight is added to the score when the list lists; negative for an
	// allowlist. ParseList sets 1 when the spec gives none.
	Weight int
	// Name is what replies and logs call the list; empty means Zone. Set
	// it for a zone that carries an access key (see Config.HideZones).
	Name string
	// IPv6 says the list answers for IPv6 addresses, so health probes ask
	// its IPv6 test point (::FFFF:7F00:2) as well.
	IPv6 bool
}

// Filter is an answer pattern such as 127.0.0.[2..11]: one set of allowed
// values for each octet.
type Filter struct {
	octets [4][4]uint64 // a 256-bit set per octet
	text   string
}

// Match reports whether the IPv4 address a matches the pattern.
func (f *Filter) Match(a [4]byte) bool {
	for i, v := range a {
		if f.octets[i][v>>6]&(1<<(v&63)) == 0 {
			return false
		}
	}
	return true
}

// String returns the pattern as written, such as "127.0.0.[2..11]".
func (f *Filter) String() string { return f.text }

// SpecError is a list spec that does not parse.
type SpecError struct {
	Spec string // the spec as given
	Pos  int    // byte offset of the problem in Spec
	Msg  string // what is wrong
}

// Error returns a message such as
// `dnsbl: spec "zen.example=127.0.0.[2..x]" at offset 25: bad number "x"`.
func (e *SpecError) Error() string {
	return fmt.Sprintf("dnsbl: spec %q at offset %d: %s", e.Spec, e.Pos, e.Msg)
}

// ParseList parses a list spec in Postfix syntax: a zone, then either
// "=pattern" or "&mask", then "*weight". Surrounding space is ignored.
func ParseList(spec string) (List, error) {
	orig := spec
	lead := len(spec) - len(strings.TrimLeft(spec, " \t"))
	spec = strings.TrimSpace(spec)
	fail := func(pos int, format string, args ...any) (List, error) {
		return List{}, &SpecError{Spec: orig, Pos: lead + pos, Msg: fmt.Sprintf(format, args...)}
	}
	if spec == "" {
		return fail(0, "empty spec")
	}
	l := List{Weight: 1}

	end := strings.IndexAny(spec, "=&*")
	if end < 0 {
		end = len(spec)
	}
	zone := spec[:end]
	if zone == "" {
		return fail(0, "missing zone")
	}
	z, err := canonZone(zone)
	if err != nil {
		return fail(0, "bad zone %q (letters, digits, '-', '_' and dots only)", zone)
	}
	l.Zone = z
	rest, pos := spec[end:], end

	if rest != "" && (rest[0] == '=' || rest[0] == '&') {
		op := rest[0]
		wend := strings.IndexByte(rest, '*')
		if wend < 0 {
			wend = len(rest)
		}
		arg := rest[1:wend]
		if arg == "" {
			return fail(pos+1, "missing %s after %q", map[byte]string{'=': "pattern", '&': "mask"}[op], string(op))
		}
		if op == '=' {
			f, epos, msg := parseFilter(arg)
			if msg != "" {
				return fail(pos+1+epos, "%s", msg)
			}
			l.Filter = f
		} else {
			a, err := netip.ParseAddr(arg)
			if err != nil || !a.Is4() {
				return fail(pos+1, "bad mask %q (want an IPv4 address such as 0.0.0.4)", arg)
			}
			b := a.As4()
			l.Mask = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			if l.Mask == 0 {
				return fail(pos+1, "mask 0.0.0.0 matches nothing")
			}
		}
		rest, pos = rest[wend:], pos+wend
	}
	if rest != "" && rest[0] == '*' {
		w, err := strconv.Atoi(rest[1:])
		if err != nil || w == 0 || w < -1000 || w > 1000 {
			return fail(pos+1, "bad weight %q (want a non-zero integer, -1000..1000)", rest[1:])
		}
		l.Weight = w
		rest = ""
	}
	if rest != "" {
		return fail(pos, "unexpected %q (a spec is zone[=pattern|&mask][*weight])", rest)
	}
	return l, nil
}

// parseFilter parses d.d.d.d where each octet is a number or a bracketed
// list of numbers and ranges: [2;4;10..11]. It returns the offset of an
// error and its message.
func parseFilter(s string) (*Filter, int, string) {
	f := &Filter{text: s}
	pos := 0
	for oct := 0; oct < 4; oct++ {
		if oct > 0 {
			if pos >= len(s) || s[pos] != '.' {
				return nil, pos, "pattern needs four octets separated by '.'"
			}
			pos++
		}
		if pos < len(s) && s[pos] == '[' {
			close := strings.IndexByte(s[pos:], ']')
			if close < 0 {
				return nil, pos, "unclosed '['"
			}
			inner := s[pos+1 : pos+close]
			if inner == "" {
				return nil, pos, "empty '[]'"
			}
			p := pos + 1
			for _, elem := range strings.Split(inner, ";") {
				lo, hi := elem, elem
				if i := strings.Index(elem, ".."); i >= 0 {
					lo, hi = elem[:i], elem[i+2:]
				}
				a, ok := octet(lo)
				if !ok {
					return nil, p, fmt.Sprintf("bad number %q in octet %d", lo, oct+1)
				}
				b, ok := octet(hi)
				if !ok {
					return nil, p, fmt.Sprintf("bad number %q in octet %d", hi, oct+1)
				}
				if a > b {
					return nil, p, fmt.Sprintf("range %s has its bounds reversed", elem)
				}
				for v := a; v <= b; v++ {
					f.octets[oct][v>>6] |= 1 << (v & 63)
				}
				p += len(elem) + 1
			}
			pos += close + 1
			continue
		}
		end := pos
		for end < len(s) && s[end] != '.' {
			end++
		}
		v, ok := octet(s[pos:end])
		if !ok {
			return nil, pos, fmt.Sprintf("bad number %q in octet %d", s[pos:end], oct+1)
		}
		f.octets[oct][v>>6] |= 1 << (v & 63)
		pos = end
	}
	if pos != len(s) {
		return nil, pos, fmt.Sprintf("unexpected %q after four octets", s[pos:])
	}
	return f, 0, ""
}

// octet parses a decimal 0..255 without sign or spaces.
func octet(s string) (int, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, v <= 255
}

// ParseLists parses several specs, also accepting specs separated by
// commas or white space within one string (as in Postfix's main.cf).
func ParseLists(specs ...string) ([]List, error) {
	var out []List
	for _, s := range specs {
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
			l, err := ParseList(f)
			if err != nil {
				return nil, err
			}
			out = append(out, l)
		}
	}
	return out, nil
}

// String returns the spec in Postfix syntax; it parses back to l.
func (l List) String() string {
	s := l.Zone
	if l.Filter != nil {
		s += "=" + l.Filter.text
	} else if l.Mask != 0 {
		s += fmt.Sprintf("&%d.%d.%d.%d", l.Mask>>24, l.Mask>>16&0xff, l.Mask>>8&0xff, l.Mask&0xff)
	}
	if l.Weight != 1 {
		s += "*" + strconv.Itoa(l.Weight)
	}
	return s
}

// display is the name replies and logs use.
func (l *List) display() string {
	if l.Name != "" {
		return l.Name
	}
	return l.Zone
}

// Allowlist reports a list with a negative weight.
func (l *List) Allowlist() bool { return l.Weight < 0 }

// Match reports whether the answer code a lists under l's filter or mask.
// Answers outside 127.0.0.0/8 never match.
func (l *List) Match(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	if b[0] != 127 {
		return false
	}
	if l.Filter != nil {
		return l.Filter.Match(b)
	}
	if l.Mask != 0 {
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		return bits.OnesCount32(v&l.Mask) > 0
	}
	return true
}
