package reply

import (
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Match is one catalog entry a received reply matches.
type Match struct {
	Entry *Entry
	Args  []string // the template's parameter values, in Params order
	// Exact reports that the reply's codes are the entry's own (or a listed
	// variant's); false when only the text matched, or when the reply lacks
	// the enhanced code the entry has.
	Exact bool
}

// Identify finds the catalog entries whose template matches the reply's
// text, so a pasted bounce tells which rule produced it. Text is compared
// ignoring case, runs of white space, folding into lines and a trailing
// period. The basic code must be the entry's (or a variant's; family entries
// take any 4xx or 5xx); an enhanced code that differs from the entry's still
// matches, with Exact false. The most specific matches come first. Entries
// whose template is nothing but parameters ("{reason}") are reported only
// when nothing more specific matches, and only with their exact codes. For a
// multi-line reply whose whole text matches nothing specific, the first line
// alone is tried. ForwardReply (smtpf#277, smtpf#299) is never reported:
// its text is the forward host's reply passed through whole, so identify
// that reply against the forward host's own rules instead.
func Identify(r Reply) []Match {
	if r.code == 0 {
		return nil
	}
	id := identifier()
	lines := r.Text()
	text := normalize(strings.Join(lines, " "))
	ms := id.match(r, text)
	if len(lines) > 1 && !anySpecific(ms) {
		// A multi-line reply whose first line alone is a catalog reply, such
		// as an EHLO reply's greeting line or a rejection with a help URL on
		// the next line.
		if first := id.match(r, normalize(lines[0])); anySpecific(first) {
			return first
		}
	}
	return ms
}

func anySpecific(ms []Match) bool {
	for _, m := range ms {
		if !m.Entry.generic() {
			return true
		}
	}
	return false
}

// IdentifyText parses s as a reply and identifies it.
func IdentifyText(s string) ([]Match, error) {
	r, err := Parse(s)
	if err != nil {
		return nil, err
	}
	return Identify(r), nil
}

// matcher is one compiled template of an entry.
type matcher struct {
	e       *Entry
	re      *regexp.Regexp
	literal int // letters and digits of literal text: more is more specific
	generic bool
}

type identifierSet struct {
	byCode map[int][]*matcher
	family []*matcher // AnyCode entries
}

// identifier compiles the catalog's templates once, on first use, so that
// programs that never identify replies pay nothing at start-up.
var identifier = sync.OnceValue(func() *identifierSet {
	id := &identifierSet{byCode: make(map[int][]*matcher)}
	for _, e := range catalog {
		if e.opaque {
			continue
		}
		for _, tmpl := range append([]string{e.Template}, e.Alt...) {
			m := compileMatcher(e, tmpl)
			if e.AnyCode {
				id.family = append(id.family, m)
				continue
			}
			codes := []int{e.Code}
			for _, v := range e.Variants {
				if v.Code != e.Code {
					codes = append(codes, v.Code)
				}
			}
			for _, c := range codes {
				id.byCode[c] = append(id.byCode[c], m)
			}
		}
	}
	return id
})

func compileMatcher(e *Entry, tmpl string) *matcher {
	segs, err := compileTemplate(tmpl, e.Params)
	if err != nil {
		panic("reply: " + err.Error()) // checked when the entry was built
	}
	var b strings.Builder
	b.WriteString("(?is)^")
	m := &matcher{e: e}
	for i, s := range segs {
		if s.arg >= 0 {
			b.WriteString(kindPattern(e.Params[s.arg].Kind))
			continue
		}
		lit := strings.ReplaceAll(s.lit, "\n", " ")
		if i == len(segs)-1 {
			lit = trimEnd(lit)
		}
		if i == 0 {
			lit = strings.TrimLeft(lit, " ")
		}
		for j := 0; j < len(lit); j++ {
			c := lit[j]
			switch {
			case c == ' ':
				for j+1 < len(lit) && lit[j+1] == ' ' {
					j++
				}
				b.WriteString(" ?")
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
				m.literal++
				b.WriteByte(c)
			default:
				b.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
	}
	b.WriteString("$")
	m.re = regexp.MustCompile(b.String())
	m.generic = m.literal == 0
	return m
}

// kindPattern is the regular expression a parameter of kind k matches.
func kindPattern(k Kind) string {
	switch k {
	case KindHost:
		return `(\S*)`
	case KindIP:
		return `((?:IPv6:)?[0-9A-Fa-f:.]+|unknown)`
	case KindAddress:
		return `([^<>]*?)`
	case KindNumber:
		return `(-?[0-9]+)`
	case KindWord:
		return `([^\s;,]+)`
	case KindAffix:
		return `([A-Za-z]{0,3})`
	}
	return `(.*?)`
}

// normalize collapses white space and drops a trailing period, as templates
// are compiled.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\t' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(c)
	}
	return trimEnd(b.String())
}

// trimEnd drops trailing spaces and periods: "Internal error." and
// "Internal error" are the same reply.
func trimEnd(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '.') {
		s = s[:len(s)-1]
	}
	return s
}

type scored struct {
	Match
	literal int
	generic bool
}

func (id *identifierSet) match(r Reply, text string) []Match {
	var found []scored
	try := func(m *matcher) {
		sub := m.re.FindStringSubmatch(text)
		if sub == nil {
			return
		}
		for _, f := range found {
			if f.Entry == m.e {
				return // an entry matched by its template and an Alt
			}
		}
		found = append(found, scored{
			Match:   Match{Entry: m.e, Args: sub[1:], Exact: codesMatch(m.e, r)},
			literal: m.literal,
			generic: m.generic,
		})
	}
	for _, m := range id.byCode[int(r.code)] {
		try(m)
	}
	if r.code >= 400 && r.code < 600 {
		for _, m := range id.family {
			try(m)
		}
	}
	specific := false
	for _, f := range found {
		if !f.generic {
			specific = true
		}
	}
	out := found[:0]
	for _, f := range found {
		// A template of parameters alone says nothing unless the codes agree.
		if f.generic && !f.Exact {
			continue
		}
		if !specific || !f.generic {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Exact != b.Exact {
			return a.Exact
		}
		if a.literal != b.literal {
			return a.literal > b.literal
		}
		return a.Entry.AnyCode != b.Entry.AnyCode && !a.Entry.AnyCode
	})
	ms := make([]Match, len(out))
	for i, f := range out {
		ms[i] = f.Match
	}
	return ms
}

// codesMatch reports whether the reply carries the entry's codes exactly.
func codesMatch(e *Entry, r Reply) bool {
	if e.AnyCode {
		if r.enh.IsZero() || e.Enhanced.IsZero() {
			return e.Enhanced.IsZero() == r.enh.IsZero()
		}
		if e == entryForwardReply || e == entryForwardRecipientDenied {
			return true // the forward host's own enhanced code is relayed
		}
		return r.enh.Subject == e.Enhanced.Subject && r.enh.Detail == e.Enhanced.Detail &&
			int(r.enh.Class) == int(r.code)/100
	}
	if int(r.code) == e.Code && r.enh == e.Enhanced {
		return true
	}
	for _, v := range e.Variants {
		if int(r.code) == v.Code && r.enh == v.Enhanced {
			return true
		}
	}
	return false
}
