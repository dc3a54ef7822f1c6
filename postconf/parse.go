// Package postconf reads policy written in Postfix's words: a main.cf-style
// file whose smtpd_*_restrictions lists, with the parameters that shape them,
// become an smtpcheck.Policy built from this library's checks — with catalog
// replies, traces and error policies behind every restriction.
//
// The file syntax is main.cf's: "name = value", values split on commas and
// white space with "{ }" groups kept whole, continuation lines that start
// with white space, "#" comments, and $name / ${name} expansion, bounded in
// size. A real main.cf loads: Postfix parameters that do not shape smtpd's
// answers are accepted (File.Ignored lists them), compatibility_level picks
// Postfix's defaults. Every unknown parameter or restriction, parameter
// that would change Postfix's answers but is not implemented, bad table or
// bad DNS list filter is an error naming the file and line, all reported at
// once; nothing is half loaded, and a restriction this library does not
// implement is an error, never a silent permit.
//
// Where this package knowingly answers otherwise than Postfix:
//   - local_recipient_maps defaults to empty (no local recipient check),
//     not to the system's passwd and aliases, which are not read here; a
//     file naming unix:passwd.byname is refused (see unlisted.go).
//   - hash:, btree: and lmdb: tables are read from their source text, not
//     from the file postmap builds, and read again when either changes.
//   - regexp: and pcre: patterns are Go's regexp syntax; a PCRE-only
//     construct is a load error naming its line.
//   - reject_unverified_sender and reject_unverified_recipient ask the
//     program's verifier (Env.VerifySender, Env.VerifyRecipient), not
//     Postfix's verify(8).
//   - an address without a domain is completed with $myorigin, as Postfix's
//     trivial-rewrite does; where the file sets neither myorigin nor
//     myhostname that is Env.Hostname (else "localhost"), not the
//     system's name.
package postconf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Error is a configuration error at a place in a file. A file with several
// errors fails with all of them at once, joined (errors.Join): errors.As
// finds the first, and the joined error's Unwrap() []error lists each.
type Error struct {
	File string
	Line int
	Msg  string
}

// ErrExpansionTooLarge is what errors.Is finds in the *ExpansionError of a
// parameter whose $name expansion grows past MaxExpansionBytes: a few
// hundred bytes of nested "a = $b $b $b" lines ("billion laughs") would
// otherwise take all memory.
var ErrExpansionTooLarge = errors.New("parameter expansion too large")

// ExpansionError is a parameter whose $name expansion is refused: it grew
// past MaxExpansionBytes (errors.Is(err, ErrExpansionTooLarge)) or loops.
type ExpansionError struct {
	File  string
	Line  int    // where Param is set; 0 for a default value
	Param string // the parameter being expanded
	Err   error
}

func (e *ExpansionError) Error() string {
	return (&Error{File: e.File, Line: e.Line, Msg: e.Param + ": " + e.Err.Error()}).Error()
}

// Unwrap returns the cause.
func (e *ExpansionError) Unwrap() error { return e.Err }

// MaxExpansionBytes bounds the text one parameter's expansion may produce,
// counting the intermediate values of every level: real values are a few
// kilobytes, a restriction list with long inline tables some tens.
const MaxExpansionBytes = 1 << 20

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Param is one parameter as written: its raw value (continuation lines
// joined with a space) and where it was set.
type Param struct {
	Name  string
	Value string
	Line  int
}

// File is a parsed main.cf-style file. Later settings of a parameter
// replace earlier ones, as in Postfix.
type File struct {
	Name   string
	params map[string]Param
	order  []string
	// refs are names to count as used by $name beyond the file's own
	// values: those of the file this one was cut from (see without).
	refs map[string]bool
}

// maxLineBytes bounds one physical line; main.cf lines are short, and a
// garbage file must not make the parser buffer without end.
const maxLineBytes = 64 << 10

// Parse reads main.cf syntax from r; name is used in error messages.
func Parse(r io.Reader, name string) (*File, error) {
	f := &File{Name: name, params: make(map[string]Param)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLineBytes)
	var cur *Param
	flush := func() {
		if cur != nil {
			cur.Value = strings.TrimSpace(cur.Value)
			if _, seen := f.params[cur.Name]; !seen {
				f.order = append(f.order, cur.Name)
			}
			f.params[cur.Name] = *cur
			cur = nil
		}
	}
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if strings.IndexByte(line, 0) >= 0 {
			return nil, &Error{name, lineNo, "NUL byte in line"}
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			// A comment or blank line does not end a continued value in
			// Postfix only when the next line is indented; keep it simple and
			// let the indented line continue the value.
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur == nil {
				return nil, &Error{name, lineNo, "continuation line without a parameter before it"}
			}
			cur.Value += " " + trimmed
			continue
		}
		flush()
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			return nil, &Error{name, lineNo, fmt.Sprintf("expected \"name = value\", got %q", clip(trimmed))}
		}
		pname := strings.TrimSpace(line[:eq])
		if !validName(pname) {
			return nil, &Error{name, lineNo, fmt.Sprintf("bad parameter name %q", clip(pname))}
		}
		cur = &Param{Name: pname, Value: line[eq+1:], Line: lineNo}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &Error{name, lineNo + 1, fmt.Sprintf("line longer than %d bytes", maxLineBytes)}
		}
		return nil, &Error{name, lineNo, err.Error()}
	}
	flush()
	return f, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// Names returns the parameters set in the file, in order of first setting.
func (f *File) Names() []string { return append([]string(nil), f.order...) }

// Raw returns a parameter as written, before expansion.
func (f *File) Raw(name string) (Param, bool) {
	p, ok := f.params[name]
	return p, ok
}

// Set sets a parameter, as a later line of the file would (for defaults and
// command-line overrides).
func (f *File) Set(name, value string) {
	if _, seen := f.params[name]; !seen {
		f.order = append(f.order, name)
	}
	f.params[name] = Param{Name: name, Value: value}
}

// maxExpandDepth bounds $name expansion, so "a = $b" / "b = $a" is an error
// rather than a hang.
const maxExpandDepth = 20

// Expand returns the named parameter's value with $name and ${name}
// expanded, and Postfix's conditional forms ${name?text}, ${name:text},
// ${name?{text}} and ${name?{text}:{text}}. An undefined name expands to the
// empty string, as in Postfix; a loop, or an expansion growing past
// MaxExpansionBytes, is an error. ok is false when the parameter is neither
// set nor has a default (from defaults, or from compatibility_level).
func (f *File) Expand(name string, defaults map[string]string) (value string, ok bool, err error) {
	raw, ok := f.lookup(name, defaults)
	if !ok {
		return "", false, nil
	}
	x := &expander{f: f, defaults: defaults}
	v, err := x.expand(raw, 0)
	if err != nil {
		return "", true, &ExpansionError{File: f.Name, Line: f.params[name].Line, Param: name, Err: err}
	}
	return v, true, nil
}

func (f *File) lookup(name string, defaults map[string]string) (string, bool) {
	if p, ok := f.params[name]; ok {
		return p.Value, true
	}
	if v, ok := f.compatDefault(name); ok {
		return v, true
	}
	d, ok := defaults[name]
	return d, ok
}

// expander is one Expand call: its budget is shared by every level, so the
// work done is bounded, not only the result.
type expander struct {
	f        *File
	defaults map[string]string
	used     int
}

func (x *expander) charge(n int) error {
	x.used += n
	if x.used > MaxExpansionBytes {
		return fmt.Errorf("%w: more than %d bytes", ErrExpansionTooLarge, MaxExpansionBytes)
	}
	return nil
}

// matchClose returns the index in s of the bracket closing the one opened
// just before s, counting nested pairs; -1 when there is none.
func matchClose(s string, open, close byte) int {
	depth := 1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// braced strips one pair of enclosing braces from a conditional's text, the
// Postfix 3.0 form ${name?{text}:{text}} that lets text hold ":" and "}".
func braced(s string) (text, rest string, ok bool) {
	if !strings.HasPrefix(s, "{") {
		return "", "", false
	}
	end := matchClose(s[1:], '{', '}')
	if end < 0 {
		return "", "", false
	}
	return s[1 : 1+end], s[2+end:], true
}

func (x *expander) expand(s string, depth int) (string, error) {
	if depth > maxExpandDepth {
		return "", errors.New("parameter expansion loops")
	}
	if strings.IndexByte(s, '$') < 0 {
		return s, x.charge(len(s))
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			if err := x.charge(1); err != nil {
				return "", err
			}
			b.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			if err := x.charge(1); err != nil {
				return "", err
			}
			b.WriteByte('$')
			i++
			continue
		}
		var name, cond, text, elseText string
		hasElse := false
		if i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '(') {
			open, closeCh := byte('{'), byte('}')
			if s[i+1] == '(' {
				open, closeCh = '(', ')'
			}
			end := matchClose(s[i+2:], open, closeCh)
			if end < 0 {
				return "", fmt.Errorf("unclosed %q in %q", s[i:i+2], clip(s))
			}
			inner := s[i+2 : i+2+end]
			name = inner
			if k := strings.IndexAny(inner, "?:"); k >= 0 {
				name, cond, text = inner[:k], inner[k:k+1], inner[k+1:]
				if t, rest, ok := braced(strings.TrimSpace(text)); ok {
					text = t
					rest = strings.TrimSpace(rest)
					switch {
					case rest == "":
					case cond == "?" && strings.HasPrefix(rest, ":"):
						e, tail, ok := braced(strings.TrimSpace(rest[1:]))
						if !ok || strings.TrimSpace(tail) != "" {
							return "", fmt.Errorf("bad ${%s?{...}:{...}} in %q", name, clip(s))
						}
						elseText, hasElse = e, true
					default:
						return "", fmt.Errorf("text after {...} in %q", clip(s))
					}
				}
			}
			i += 2 + end
		} else {
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			if j == i+1 {
				return "", fmt.Errorf("lone $ in %q", clip(s))
			}
			name = s[i+1 : j]
			i = j - 1
		}
		raw, set := x.f.lookup(name, x.defaults)
		val, err := x.expand(raw, depth+1)
		if err != nil {
			return "", err
		}
		nonEmpty := set && val != ""
		out := val
		switch {
		case cond == "?" && nonEmpty, cond == ":" && !nonEmpty:
			if out, err = x.expand(text, depth+1); err != nil {
				return "", err
			}
		case cond == "?" && hasElse:
			if out, err = x.expand(elseText, depth+1); err != nil {
				return "", err
			}
		case cond != "":
			out = ""
		}
		if err := x.charge(len(out)); err != nil {
			return "", err
		}
		b.WriteString(out)
	}
	return b.String(), nil
}

// Fields splits a value on commas and white space, as Postfix does for
// lists, keeping a "{ ... }" group whole (Postfix 3.0): "{ a, b }" is one
// element, braces included, and so is "inline:{ k=v, k2=v2 }". What a group
// means is up to where it stands — an inline table's entry, an argument —
// as in Postfix, where a bare group in a restriction list is an unknown
// restriction. A group left open runs to the end of the value; SplitList
// reports that as an error.
func Fields(v string) []string {
	out, _ := SplitList(v)
	return out
}

// SplitList is Fields with an error for a "{" without its "}" or a "}"
// without its "{".
func SplitList(v string) ([]string, error) {
	var out []string
	var err error
	isSep := func(c byte) bool { return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n' }
	for i := 0; i < len(v); {
		if isSep(v[i]) {
			i++
			continue
		}
		start, depth := i, 0
		for ; i < len(v) && (depth > 0 || !isSep(v[i])); i++ {
			switch v[i] {
			case '{':
				depth++
			case '}':
				depth--
				if depth < 0 && err == nil {
					err = fmt.Errorf("%q has a '}' without its '{'", clip(v[start:]))
					depth = 0
				}
			}
		}
		if depth > 0 && err == nil {
			err = fmt.Errorf("%q has a '{' without its '}'", clip(v[start:i]))
		}
		out = append(out, v[start:i])
	}
	return out, err
}

// unbrace strips the braces of a "{ ... }" group and the white space inside
// them (Postfix's extpar); ok is false when s is not one whole group.
func unbrace(s string) (inner string, ok bool) {
	if !strings.HasPrefix(s, "{") || matchClose(s[1:], '{', '}') != len(s)-2 {
		return s, false
	}
	return strings.TrimSpace(s[1 : len(s)-1]), true
}
