package envelope

import (
	"strings"
	"unicode/utf8"
)

// Param is one ESMTP parameter of MAIL or RCPT, such as SIZE=1000 or
// SMTPUTF8 (whose Value is "").
type Param struct {
	Key   string // as sent; compare with strings.EqualFold
	Value string
}

// Command is a parsed MAIL FROM or RCPT TO command.
type Command struct {
	Verb   string // "MAIL" or "RCPT", upper case
	Path   Path
	Params []Param
	// ExtraSpaces is true when the command had white space the grammar does
	// not allow: between the verb and FROM:/TO:, after the colon, or more
	// than one space between parameters. RFC 5321 forbids it; many servers
	// tolerate it; smtpf's rfc2821-extra-spaces rejects it as a spamware sign.
	ExtraSpaces bool
}

// Param returns the value of the named parameter (case-insensitive) and
// whether it was given.
func (c Command) Param(key string) (string, bool) {
	for _, p := range c.Params {
		if strings.EqualFold(p.Key, key) {
			return p.Value, true
		}
	}
	return "", false
}

// ParseCommand parses a MAIL FROM or RCPT TO command line (without CRLF),
// such as "MAIL FROM:<a@example.org> SIZE=1000". It tolerates extra white
// space and reports it in ExtraSpaces. A SMTPUTF8 parameter on MAIL turns on
// o.SMTPUTF8 for the path. It applies the rules of each verb (CheckVerb):
// the null path only after MAIL, <postmaster> without a domain only after
// RCPT. A caller that answers RCPT TO:<> with its own reply (smtpf#286)
// looks for the null path before calling it.
func ParseCommand(line string, o Options) (Command, error) {
	var c Command
	if len(line) < 5 {
		return c, errorf(RuleSyntax, line, "not a MAIL or RCPT command")
	}
	var want string
	switch verb := line[:4]; {
	case strings.EqualFold(verb, "MAIL"):
		c.Verb, want = "MAIL", "FROM:"
	case strings.EqualFold(verb, "RCPT"):
		c.Verb, want = "RCPT", "TO:"
	default:
		return c, errorf(RuleSyntax, line, "not a MAIL or RCPT command")
	}
	rest := line[4:]
	if rest == "" || rest[0] != ' ' {
		return c, errorf(RuleSyntax, line, "missing space after %s", c.Verb)
	}
	if t := trimBlanksLeft(rest); len(rest)-len(t) != 1 || rest[0] != ' ' {
		c.ExtraSpaces = true
		rest = t
	} else {
		rest = rest[1:]
	}
	if len(rest) < len(want) || !strings.EqualFold(rest[:len(want)], want) {
		return c, errorf(RuleSyntax, line, "expected %s", want)
	}
	rest = rest[len(want):]
	if t := trimBlanksLeft(rest); len(t) != len(rest) {
		c.ExtraSpaces = true
		rest = t
	}
	if rest == "" || rest[0] != '<' {
		return c, errorf(RuleSyntax, line, "path must be enclosed in angle brackets")
	}
	end := pathEnd(rest)
	if end < 0 {
		return c, errorf(RuleSyntax, line, "unterminated path")
	}
	path, params := rest[:end+1], rest[end+1:]
	if max := limit(o.MaxLine, MaxPathLine); max > 0 && len(line)-len(params) > max {
		return c, errorf(RuleLineLength, line, "command line exceeds %d octets", max)
	}
	var err error
	if c.Params, c.ExtraSpaces, err = parseParams(params, line, c.ExtraSpaces); err != nil {
		return c, err
	}
	if c.Verb == "MAIL" {
		if _, ok := c.Param("SMTPUTF8"); ok {
			o.SMTPUTF8 = true
		}
	}
	if c.Path, err = ParsePath(path, o); err != nil {
		return c, err
	}
	if err := checkVerb(c.Verb, c.Path, line); err != nil {
		return c, err
	}
	return c, nil
}

// CheckVerb applies the rules of RFC 5321 section 4.1.2 that depend on the
// verb a path follows, which ParsePath, ParseAddress and ParseParts cannot
// know: the null path <> is a reverse-path (MAIL) only, and <postmaster>
// without a domain is a forward-path (RCPT) only (section 4.5.1). verb is
// "MAIL" or "RCPT" in any case; other verbs have no path rules here.
func CheckVerb(verb string, p Path) error {
	return checkVerb(verb, p, "<"+p.String()+">")
}

func checkVerb(verb string, p Path, input string) error {
	switch {
	case strings.EqualFold(verb, "MAIL"):
		if p.Postmaster() {
			return errorf(RuleNoDomain, input, "address has no domain (postmaster alone is a recipient only)")
		}
	case strings.EqualFold(verb, "RCPT"):
		if p.Null {
			return errorf(RuleSyntax, input, "the null path is a sender only")
		}
	}
	return nil
}

// pathEnd returns the index of the '>' closing the path that starts s,
// skipping quoted local parts, or -1.
func pathEnd(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case '>':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

func parseParams(s, line string, extra bool) ([]Param, bool, error) {
	if t := trimBlanksRight(s); len(t) != len(s) {
		extra = true
		s = t
	}
	if s == "" {
		return nil, extra, nil
	}
	if s[0] != ' ' && s[0] != '\t' {
		return nil, extra, errorf(RuleParams, line, "missing space before parameters")
	}
	var out []Param
	for _, f := range strings.Split(s[1:], " ") {
		if f == "" {
			extra = true
			continue
		}
		key, value, hasValue := strings.Cut(f, "=")
		if key == "" || !isLetDig(key[0]) {
			return nil, extra, errorf(RuleParams, line, "malformed parameter %q", truncate(f, 40))
		}
		for i := 1; i < len(key); i++ {
			if !isLetDig(key[i]) && key[i] != '-' {
				return nil, extra, errorf(RuleParams, line, "malformed parameter %q", truncate(f, 40))
			}
		}
		if hasValue {
			if value == "" {
				return nil, extra, errorf(RuleParams, line, "empty value for parameter %q", key)
			}
			for i := 0; i < len(value); i++ {
				c := value[i]
				if c < 33 || c == '=' || c == 127 {
					return nil, extra, errorf(RuleParams, line, "malformed value for parameter %q", key)
				}
			}
			if !utf8.ValidString(value) {
				return nil, extra, errorf(RuleParams, line, "malformed value for parameter %q", key)
			}
		}
		out = append(out, Param{Key: key, Value: value})
	}
	return out, extra, nil
}

// trimBlanksLeft and trimBlanksRight trim spaces and tabs, as
// strings.TrimLeft(s, " \t") does, without building a cutset each call.
func trimBlanksLeft(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func trimBlanksRight(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
