// Package postfix reads Postfix access(5) tables — hash: key-value files
// (read from their source text and reloaded when it or its postmap-built
// file changes), cidr: tables and regexp:/pcre: tables (Go's regexp
// syntax, with if/endif blocks) — and turns them into smtpcheck
// checks with Postfix's lookup order and replies, so an administrator moving
// from Postfix keeps their tables. CheckClientAccess, CheckHeloAccess,
// CheckSenderAccess and CheckRecipientAccess are the check_*_access
// restrictions of main.cf.
package postfix

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"strings"

	"github.com/smtppolicy/smtppolicy/access"
)

// Table is a loaded Postfix lookup table.
type Table interface {
	// Name is the table as written in main.cf, such as "hash:/etc/postfix/access".
	Name() string
	// Fixed reports a table of fixed strings (hash:), which is queried with
	// access(5)'s sequence of partial keys; pattern tables (cidr:, regexp:)
	// get only whole strings.
	Fixed() bool
	// Find returns the action for a query string.
	Find(q string) (TableAction, bool)
}

// MaxLineLength bounds one line of a table file.
const MaxLineLength = access.MaxLineLength

// Load reads a table given as "type:path" with type hash, cidr, regexp or
// pcre (btree and lmdb are read as hash). hash:, btree: and lmdb: tables
// are read from their source text, the file postmap(1) is given, never
// from the .db or .lmdb file it builds; they are read again when the
// source or the built file changes (looked at, at most once a second, when
// the table is used), as Postfix's smtpd processes pick up a postmap.
func Load(spec string) (Table, error) {
	return load(spec, false)
}

// LoadMap reads a table as Load does, for a map whose results are not
// access actions (recipient, alias and canonical maps, domain lists): each
// result is an Action with Verb OK and Text the value as written, and a key
// written as "name:" (aliases(5) form) is read as "name".
func LoadMap(spec string) (Table, error) {
	return load(spec, true)
}

func load(spec string, raw bool) (Table, error) {
	kind, path, ok := strings.Cut(spec, ":")
	if !ok || path == "" {
		return nil, fmt.Errorf("postfix: table %q is not type:path", spec)
	}
	switch strings.ToLower(kind) {
	case "hash", "btree", "lmdb":
		return newReloading(kind, path, raw)
	}
	return loadFile(kind, path, raw)
}

func loadFile(kind, path string, raw bool) (Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(kind, f, path, raw)
}

// Parse reads a table of the given type from r; name is the file name used
// in errors. Any bad line fails the whole table with an *access.LoadError
// listing file:line for each.
func Parse(kind string, r io.Reader, name string) (Table, error) {
	return parse(kind, r, name, false)
}

// ParseMap reads a map as Parse reads an access table, with results as
// LoadMap gives them.
func ParseMap(kind string, r io.Reader, name string) (Table, error) {
	return parse(kind, r, name, true)
}

func parse(kind string, r io.Reader, name string, raw bool) (Table, error) {
	var t interface {
		Table
		add(line string) error
		setLine(n int)
		setRaw()
		finish() error
	}
	switch strings.ToLower(kind) {
	case "hash", "btree", "lmdb", "texthash", "inline":
		t = &HashTable{name: kind + ":" + name, m: make(map[string]TableAction)}
	case "cidr":
		t = &CIDRTable{name: "cidr:" + name}
	case "regexp", "pcre":
		t = &RegexpTable{name: kind + ":" + name, pcre: strings.EqualFold(kind, "pcre")}
	default:
		return nil, fmt.Errorf("postfix: unsupported table type %q (want hash, cidr, regexp or pcre)", kind)
	}
	if raw {
		t.setRaw()
	}
	var errs access.LoadError
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineLength)
	n := 0
	var pending string
	pendingLine := 0
	flush := func() {
		if pending == "" {
			return
		}
		t.setLine(pendingLine)
		if err := t.add(pending); err != nil && len(errs.Errs) < 20 {
			errs.Errs = append(errs.Errs, &access.LineError{File: name, Line: pendingLine, Err: err})
		} else if err != nil {
			errs.More++
		}
		pending = ""
	}
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.IndexByte(line, 0) >= 0 {
			errs.Errs = append(errs.Errs, &access.LineError{File: name, Line: n, Err: errors.New("NUL byte in line")})
			continue
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' { // Postfix continuation line
			if pending == "" {
				errs.Errs = append(errs.Errs, &access.LineError{File: name, Line: n, Err: errors.New("continuation line without a line to continue")})
				continue
			}
			pending += " " + trimmed
			continue
		}
		flush()
		pending, pendingLine = trimmed, n
	}
	flush()
	if err := t.finish(); err != nil {
		var le *access.LineError
		if errors.As(err, &le) {
			le.File = name
			errs.Errs = append(errs.Errs, le)
		} else {
			errs.Errs = append(errs.Errs, &access.LineError{File: name, Line: n, Err: err})
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line longer than %d bytes", MaxLineLength)
		}
		errs.Errs = append(errs.Errs, &access.LineError{File: name, Line: n + 1, Err: err})
	}
	if len(errs.Errs) > 0 {
		return nil, &errs
	}
	return t, nil
}

func splitKV(line string) (string, string, error) {
	i := strings.IndexAny(line, " \t")
	if i < 0 {
		return "", "", fmt.Errorf("%q has no value", line)
	}
	return line[:i], strings.TrimSpace(line[i+1:]), nil
}

// HashTable is a fixed-string table (hash:, btree:, lmdb:, texthash:),
// keys folded to lower case as Postfix does for access tables.
type HashTable struct {
	entries
	name string
	m    map[string]TableAction
}

// Name implements Table.
func (t *HashTable) Name() string { return t.name }

// Fixed implements Table.
func (t *HashTable) Fixed() bool { return true }

// Find implements Table.
func (t *HashTable) Find(q string) (TableAction, bool) {
	a, ok := t.m[strings.ToLower(q)]
	return a, ok
}

// Len returns the number of keys.
func (t *HashTable) Len() int { return len(t.m) }

func (t *HashTable) add(line string) error {
	k, v, err := splitKV(line)
	if err != nil {
		return err
	}
	a, err := t.parse(v)
	if err != nil {
		return fmt.Errorf("%s: %w", k, err)
	}
	if t.raw && len(k) > 1 {
		k = strings.TrimSuffix(k, ":")
	}
	t.m[strings.ToLower(k)] = a
	return nil
}

// CIDRTable is a cidr: table: network patterns tried in file order.
type CIDRTable struct {
	entries
	name  string
	rules []cidrRule
}

type cidrRule struct {
	p      netip.Prefix
	negate bool
	a      TableAction
}

// Name implements Table.
func (t *CIDRTable) Name() string { return t.name }

// Fixed implements Table.
func (t *CIDRTable) Fixed() bool { return false }

// Find implements Table: q must be an IP address; others never match.
func (t *CIDRTable) Find(q string) (TableAction, bool) {
	ip, err := netip.ParseAddr(strings.Trim(q, "[]"))
	if err != nil {
		return TableAction{}, false
	}
	ip = ip.Unmap()
	for _, r := range t.rules {
		if r.p.Contains(ip) != r.negate {
			return r.a, true
		}
	}
	return TableAction{}, false
}

func (t *CIDRTable) add(line string) error {
	k, v, err := splitKV(line)
	if err != nil {
		return err
	}
	r := cidrRule{}
	if strings.HasPrefix(k, "!") {
		r.negate, k = true, k[1:]
	}
	k = strings.Trim(k, "[]")
	if strings.IndexByte(k, '/') < 0 {
		a, err := netip.ParseAddr(k)
		if err != nil {
			return fmt.Errorf("bad address %q: %v", k, err)
		}
		r.p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
	} else {
		p, err := netip.ParsePrefix(k)
		if err != nil {
			return fmt.Errorf("bad network %q: %v", k, err)
		}
		if p != p.Masked() {
			return fmt.Errorf("network %q has host bits set (want %s)", k, p.Masked())
		}
		r.p = p
	}
	if r.a, err = t.parse(v); err != nil {
		return fmt.Errorf("%s: %w", k, err)
	}
	t.rules = append(t.rules, r)
	return nil
}

// RegexpTable is a regexp: or pcre: table: /pattern/flags action lines tried
// in file order, case-insensitive unless the i flag toggles it; !/pattern/
// matches when the pattern does not. $1..$9 in the action are replaced by
// the match's groups. Patterns are compiled once, at load; Go's RE2 syntax
// covers the PCRE features access tables use, and anchors (^, $) behave as
// in PCRE.
//
// "if /pattern/" ... "endif" blocks (nested, "if !/pattern/" too) make the
// rules inside them apply only when the query matches (or, negated, does
// not match) the block's pattern. A pattern Go's regexp package cannot
// compile — a PCRE-only construct such as a lookbehind, a possessive
// quantifier, \K or a back-reference — fails the table at load, naming
// its line: it never silently matches differently.
type RegexpTable struct {
	entries
	name   string
	rules  []reRule
	pcre   bool
	guards []*reGuard // the open if blocks, innermost last
}

type reRule struct {
	re     *regexp.Regexp
	negate bool
	a      TableAction
	expand bool
	guards []*reGuard // the if blocks the rule is in
}

// reGuard is one "if /pattern/" block.
type reGuard struct {
	re     *regexp.Regexp
	negate bool
	line   int
}

func (g *reGuard) holds(q string) bool { return g.re.MatchString(q) != g.negate }

// Name implements Table.
func (t *RegexpTable) Name() string { return t.name }

// Fixed implements Table.
func (t *RegexpTable) Fixed() bool { return false }

// Find implements Table.
func (t *RegexpTable) Find(q string) (TableAction, bool) {
rules:
	for _, r := range t.rules {
		for _, g := range r.guards {
			if !g.holds(q) {
				continue rules
			}
		}
		m := r.re.FindStringSubmatchIndex(q)
		if (m != nil) == r.negate {
			continue
		}
		if !r.expand || m == nil {
			return r.a, true
		}
		a := r.a
		a.Text = string(r.re.ExpandString(nil, a.Text, q, m))
		return a, true
	}
	return TableAction{}, false
}

func (t *RegexpTable) add(line string) error {
	if w, rest, ok := keyword(line, "if"); ok {
		_ = w
		g := &reGuard{line: t.line}
		if strings.HasPrefix(rest, "!") {
			g.negate, rest = true, rest[1:]
		}
		re, extra, err := t.pattern(rest)
		if err != nil {
			return fmt.Errorf("if: %w", err)
		}
		if strings.TrimSpace(extra) != "" {
			return fmt.Errorf("if: text after the pattern: %q", strings.TrimSpace(extra))
		}
		g.re = re
		t.guards = append(t.guards, g)
		return nil
	}
	if _, rest, ok := keyword(line, "endif"); ok {
		if strings.TrimSpace(rest) != "" {
			return fmt.Errorf("endif: text after it: %q", strings.TrimSpace(rest))
		}
		if len(t.guards) == 0 {
			return errors.New("endif without if")
		}
		t.guards = t.guards[:len(t.guards)-1]
		return nil
	}
	r := reRule{guards: append([]*reGuard(nil), t.guards...)}
	if strings.HasPrefix(line, "!") {
		r.negate, line = true, line[1:]
	}
	if line == "" || line[0] == '#' {
		return nil
	}
	re, rest, err := t.pattern(line)
	if err != nil {
		return err
	}
	r.re = re
	v := strings.TrimSpace(rest)
	if v == "" {
		return fmt.Errorf("%s has no action", clipPattern(line))
	}
	if r.a, err = t.parse(v); err != nil {
		return fmt.Errorf("%s: %w", clipPattern(line), err)
	}
	r.expand = strings.IndexByte(r.a.Text, '$') >= 0 && !r.negate
	t.rules = append(t.rules, r)
	return nil
}

// finish reports an if block left open at the end of the table.
func (t *RegexpTable) finish() error {
	if len(t.guards) > 0 {
		return &access.LineError{Line: t.guards[len(t.guards)-1].line, Err: errors.New("if without endif")}
	}
	return nil
}

// keyword reports a line that is the word kw (in any case) followed by
// the end of the line or a character that cannot continue a word, and
// the rest of the line.
func keyword(line, kw string) (string, string, bool) {
	if len(line) < len(kw) || !strings.EqualFold(line[:len(kw)], kw) {
		return "", "", false
	}
	rest := line[len(kw):]
	if rest != "" {
		c := rest[0]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			return "", "", false
		}
	}
	return line[:len(kw)], strings.TrimLeft(rest, " \t"), true
}

func clipPattern(s string) string {
	if i := strings.IndexAny(s, " \t"); i > 0 {
		s = s[:i]
	}
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}

// pattern reads "/pattern/flags" at the start of line and compiles it,
// returning the rest of the line.
func (t *RegexpTable) pattern(line string) (*regexp.Regexp, string, error) {
	if line == "" || line[0] != '/' {
		return nil, "", fmt.Errorf("pattern %q does not start with /", line)
	}
	end := -1
	for i := 1; i < len(line); i++ {
		if line[i] == '\\' {
			i++
			continue
		}
		if line[i] == '/' {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, "", fmt.Errorf("pattern %q has no closing /", line)
	}
	pat := line[1:end]
	rest := line[end+1:]
	fl := ""
	for rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		fl += rest[:1]
		rest = rest[1:]
	}
	icase, ungreedy, anchored := true, false, false
	prefix := ""
	for _, c := range fl {
		switch c {
		case 'i':
			icase = !icase
		case 'm':
			prefix += "(?m)"
		case 's':
			prefix += "(?s)"
		case 'x':
			// pcre: extended syntax (white space and # comments ignored);
			// regexp: basic POSIX syntax. Go's regexp has neither.
			if t.pcre {
				return nil, "", fmt.Errorf("/%s/: flag x (PCRE extended syntax) is not supported; write the pattern without white space or comments", pat)
			}
			return nil, "", fmt.Errorf("/%s/: flag x (POSIX basic syntax) is not supported; write an extended expression", pat)
		case 'U':
			if !t.pcre {
				return nil, "", fmt.Errorf("unknown flag %q", c)
			}
			ungreedy = !ungreedy
		case 'A':
			if !t.pcre {
				return nil, "", fmt.Errorf("unknown flag %q", c)
			}
			anchored = true
		case 'X', 'E':
			if !t.pcre {
				return nil, "", fmt.Errorf("unknown flag %q", c)
			}
			// PCRE_EXTRA refuses unknown escapes, as Go's regexp does; with
			// or without E, "$" at the end of a query without a newline
			// matches only there.
		default:
			return nil, "", fmt.Errorf("unknown flag %q", c)
		}
	}
	if icase {
		prefix = "(?i)" + prefix
	}
	if ungreedy {
		prefix += "(?U)"
	}
	expr := pat
	if anchored {
		expr = "^(?:" + pat + ")"
	}
	re, err := regexp.Compile(prefix + expr)
	if err != nil {
		if what := pcreOnly(pat); what != "" {
			return nil, "", fmt.Errorf("/%s/: %s is a PCRE-only construct that Go's regexp does not support; rewrite the pattern without it", pat, what)
		}
		return nil, "", fmt.Errorf("/%s/: %v", pat, err)
	}
	return re, rest, nil
}

// pcreOnly names the first PCRE construct in pat that Go's RE2 syntax
// lacks, or "".
func pcreOnly(pat string) string {
	for _, c := range []struct{ s, what string }{
		{"(?<=", "lookbehind (?<=...)"}, {"(?<!", "negative lookbehind (?<!...)"},
		{"(?=", "lookahead (?=...)"}, {"(?!", "negative lookahead (?!...)"},
		{"(?>", "atomic group (?>...)"}, {"(?|", "branch reset (?|...)"}, {"(?#", "comment (?#...)"},
		{"(?R", "recursion (?R)"}, {"(?&", "subroutine call (?&name)"},
		{"++", "possessive quantifier ++"}, {"*+", "possessive quantifier *+"}, {"?+", "possessive quantifier ?+"}, {"}+", "possessive quantifier {n}+"},
		{`\K`, `\K (reset match start)`}, {`\G`, `\G`}, {`\Z`, `\Z`}, {`\R`, `\R`}, {`\h`, `\h`}, {`\X`, `\X`},
	} {
		if i := strings.Index(pat, c.s); i >= 0 && !escaped(pat, i) {
			return c.what
		}
	}
	for i := 0; i+1 < len(pat); i++ {
		if pat[i] == '\\' {
			if pat[i+1] >= '1' && pat[i+1] <= '9' {
				return "back-reference \\" + pat[i+1:i+2]
			}
			i++
		}
	}
	return ""
}

// escaped reports whether pat[i] is preceded by an odd number of
// backslashes.
func escaped(pat string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && pat[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// entries records each action of a table with the line it was read from.
type entries struct {
	list []TableAction
	line int
	raw  bool // results are kept as written, not read as access actions
}

func (e *entries) setLine(n int) { e.line = n }

func (e *entries) setRaw() { e.raw = true }

func (e *entries) finish() error { return nil }

func (e *entries) parse(v string) (TableAction, error) {
	if e.raw {
		return TableAction{Verb: OK, Text: v, Line: e.line}, nil
	}
	a, err := ParseAction(v)
	if err != nil {
		return a, err
	}
	a.Line = e.line
	e.list = append(e.list, a)
	return a, nil
}

// Entries returns every action a table read, in file order, each with its
// line, so a program can refuse at load a table holding an action it
// cannot carry out. A Table of another implementation gives none.
func Entries(t Table) []TableAction {
	if e, ok := t.(interface{ entryList() []TableAction }); ok {
		return e.entryList()
	}
	return nil
}

func (e *entries) entryList() []TableAction { return e.list }

// PostfixOnly returns an error naming every line of t whose action only a
// Postfix MTA carries out (see Action.Delegated), or nil. A server that
// evaluates t itself calls it at load, so that no such entry is silently
// ignored.
func PostfixOnly(t Table) error {
	var errs access.LoadError
	file := t.Name()
	if _, f, ok := strings.Cut(file, ":"); ok {
		file = f
	}
	for _, a := range Entries(t) {
		if !a.Delegated() {
			continue
		}
		if len(errs.Errs) == 20 {
			errs.More++
			continue
		}
		errs.Errs = append(errs.Errs, &access.LineError{File: file, Line: a.Line,
			Err: fmt.Errorf("%q is carried out by Postfix only", a.String())})
	}
	if len(errs.Errs) > 0 {
		return &errs
	}
	return nil
}
