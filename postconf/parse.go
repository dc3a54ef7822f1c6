// Package postconf reads policy written in Postfix's words: a main.cf-style
// file whose smtpd_*_restrictions lists, with the parameters that shape them,
// become an smtpcheck.Policy built from this library's checks — with catalog
// replies, traces and error policies behind every restriction.
//
// The file syntax is main.cf's: "name = value", values split on commas and
// white space, continuation lines that start with white space, "#" comments,
// and $name / ${name} expansion. Every unknown parameter or restriction, bad
// table or bad DNS list filter is an error naming the file and line; nothing
// is half loaded, and a restriction this library does not implement is an
// error, never a silent permit.
package postconf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Error is a configuration error at a place in a file.
type Error struct {
	File string
	Line int
	Msg  string
}

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
// expanded (and ${name?text} / ${name:text}, Postfix's conditional forms).
// An undefined name expands to the empty string, as in Postfix; a loop is an
// error. ok is false when the parameter is not set (use defaults).
func (f *File) Expand(name string, defaults map[string]string) (value string, ok bool, err error) {
	p, ok := f.params[name]
	if !ok {
		d, dok := defaults[name]
		if !dok {
			return "", false, nil
		}
		p = Param{Name: name, Value: d}
	}
	v, err := f.expand(p.Value, defaults, 0)
	if err != nil {
		return "", true, &Error{f.Name, p.Line, fmt.Sprintf("%s: %v", name, err)}
	}
	return v, true, nil
}

func (f *File) lookup(name string, defaults map[string]string) (string, bool) {
	if p, ok := f.params[name]; ok {
		return p.Value, true
	}
	d, ok := defaults[name]
	return d, ok
}

func (f *File) expand(s string, defaults map[string]string, depth int) (string, error) {
	if depth > maxExpandDepth {
		return "", errors.New("parameter expansion loops")
	}
	if strings.IndexByte(s, '$') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		var name, cond, text string
		if i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '(') {
			closeCh := byte('}')
			if s[i+1] == '(' {
				closeCh = ')'
			}
			end := strings.IndexByte(s[i+2:], closeCh)
			if end < 0 {
				return "", fmt.Errorf("unclosed %q in %q", s[i:i+2], clip(s))
			}
			inner := s[i+2 : i+2+end]
			name = inner
			if k := strings.IndexAny(inner, "?:"); k >= 0 {
				name, cond, text = inner[:k], inner[k:k+1], inner[k+1:]
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
		raw, set := f.lookup(name, defaults)
		val, err := f.expand(raw, defaults, depth+1)
		if err != nil {
			return "", err
		}
		switch cond {
		case "?": // text when the parameter is non-empty
			if set && val != "" {
				t, err := f.expand(text, defaults, depth+1)
				if err != nil {
					return "", err
				}
				b.WriteString(t)
			}
		case ":": // text when it is empty
			if !set || val == "" {
				t, err := f.expand(text, defaults, depth+1)
				if err != nil {
					return "", err
				}
				b.WriteString(t)
			}
		default:
			b.WriteString(val)
		}
	}
	return b.String(), nil
}

// Fields splits a value on commas and white space, as Postfix does for
// lists.
func Fields(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	})
}
