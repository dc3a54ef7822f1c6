package postconf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/smtppolicy/smtppolicy/access/postfix"
)

// loadTable opens a lookup table as main.cf names it: "type:path", or a
// table written in place between braces — inline:{ key=value, { key = value
// with spaces } } (Postfix 3.0) and cidr:{ {rule}, {rule} }, regexp:{...},
// pcre:{...} (Postfix 3.7), each braced element one line of the table, and
// static:{ result with spaces }. A proxy: prefix is accepted.
func loadTable(spec string) (postfix.Table, error) {
	return openTable(spec, false)
}

// loadMap opens a table as loadTable does, for a map whose results are not
// access actions (see postfix.LoadMap).
func loadMap(spec string) (postfix.Table, error) {
	return openTable(spec, true)
}

func openTable(spec string, raw bool) (postfix.Table, error) {
	// proxy:type:name is Postfix's proxymap(8) reading the table on
	// smtpd's behalf (for chrooted or many processes); here the table is
	// read in-process, so the prefix changes nothing.
	if k, rest, ok := strings.Cut(spec, ":"); ok && strings.EqualFold(k, "proxy") {
		spec = rest
	}
	kind, body, ok := strings.Cut(spec, ":")
	if strings.EqualFold(kind, "unix") {
		return nil, fmt.Errorf("%s: the system's user and group tables cannot be read here; list the addresses in a table", clip(spec))
	}
	if ok && strings.EqualFold(kind, "static") && !strings.HasPrefix(body, "{") {
		// static:text without braces: text has no spaces.
		body = "{" + body + "}"
	}
	if !ok || !strings.HasPrefix(body, "{") {
		if raw {
			return postfix.LoadMap(spec)
		}
		return postfix.Load(spec)
	}
	if strings.EqualFold(kind, "static") {
		// static:{ text } answers the text, spaces and all, to every query.
		text, ok := unbrace(body)
		if !ok || text == "" {
			return nil, fmt.Errorf("%s: want static:{ result }", clip(spec))
		}
		if raw {
			return staticTable{name: spec, a: postfix.TableAction{Verb: postfix.OK, Text: text}}, nil
		}
		a, err := postfix.ParseAction(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", clip(spec), err)
		}
		return staticTable{name: spec, a: a}, nil
	}
	lines, err := inlineLines(strings.ToLower(kind), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", clip(spec), err)
	}
	src := strings.NewReader(strings.Join(lines, "\n") + "\n")
	if raw {
		return postfix.ParseMap(kind, src, body)
	}
	return postfix.Parse(kind, src, body)
}

// inlineLines turns the braced body of an inline table into the lines of
// the equivalent table file.
func inlineLines(kind, body string) ([]string, error) {
	end := matchClose(body[1:], '{', '}')
	if end < 0 {
		return nil, errors.New("'{' without its '}'")
	}
	if end != len(body)-2 {
		return nil, fmt.Errorf("text after the table's closing '}': %q", clip(body[end+2:]))
	}
	elems, err := SplitList(body[1 : len(body)-1])
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return nil, errors.New("empty table")
	}
	var lines []string
	switch kind {
	case "inline":
		for _, e := range elems {
			// Inside a braced entry the value runs to the end and may hold
			// spaces and commas.
			if inner, ok := unbrace(e); ok {
				e = inner
			}
			name, value, ok := strings.Cut(e, "=")
			name, value = strings.TrimSpace(name), strings.TrimSpace(value)
			if !ok || name == "" || strings.ContainsAny(name, " \t") {
				return nil, fmt.Errorf("%q: missing '=' after a key (want key=value or { key = value })", clip(e))
			}
			if value == "" {
				return nil, fmt.Errorf("key %q: empty result", clip(name))
			}
			lines = append(lines, name+"\t"+value)
		}
	case "cidr", "regexp", "pcre":
		// Rules hold white space, so each must be braced; SplitList keeps
		// an unbraced one as a bare word, found here by its neighbours.
		rest := strings.TrimSpace(body[1 : len(body)-1])
		for rest != "" {
			if rest[0] != '{' {
				return nil, fmt.Errorf("%q: each rule of an inline %s table goes between braces", clip(rest), kind)
			}
			e := matchClose(rest[1:], '{', '}')
			if e < 0 {
				return nil, errors.New("'{' without its '}'")
			}
			lines = append(lines, strings.TrimSpace(rest[1:1+e]))
			rest = strings.TrimLeft(rest[2+e:], ", \t\r\n")
		}
	default:
		return nil, fmt.Errorf("a %s: table cannot be written inline (inline, cidr, regexp and pcre can)", kind)
	}
	return lines, nil
}

// staticTable is static:{ result }: one answer for every query.
type staticTable struct {
	name string
	a    postfix.TableAction
}

func (t staticTable) Name() string                            { return t.name }
func (t staticTable) Fixed() bool                             { return false }
func (t staticTable) Find(string) (postfix.TableAction, bool) { return t.a, true }
