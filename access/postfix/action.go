package postfix

import (
	"fmt"
	"strconv"
	"strings"
)

// Verb is a Postfix access(5) action.
type Verb uint8

// Access actions.
const (
	OK            Verb = iota + 1 // OK, or an all-numerical value
	Reject                        // REJECT [text]
	Defer                         // DEFER [text]
	DeferIfPermit                 // DEFER_IF_PERMIT [text]
	DeferIfReject                 // DEFER_IF_REJECT [text]
	Dunno                         // DUNNO
	Discard                       // DISCARD [text]
	Hold                          // HOLD [text]
	Warn                          // WARN text
	Prepend                       // PREPEND header: value
	Code                          // 4NN text or 5NN text
	Info                          // INFO [text]: logged, the lookup goes on
	Filter                        // FILTER transport:destination
	Redirect                      // REDIRECT user@domain
	Bcc                           // BCC user@domain
	Restrictions                  // restriction names or a restriction class, evaluated in place
)

var verbNames = [...]string{"", "OK", "REJECT", "DEFER", "DEFER_IF_PERMIT", "DEFER_IF_REJECT", "DUNNO", "DISCARD", "HOLD", "WARN", "PREPEND", "CODE", "INFO", "FILTER", "REDIRECT", "BCC", "RESTRICTIONS"}

// String returns the action's word.
func (v Verb) String() string {
	if int(v) < len(verbNames) && v != 0 {
		return verbNames[v]
	}
	return fmt.Sprintf("Verb(%d)", uint8(v))
}

// TableAction is a parsed right-hand side.
type TableAction struct {
	Verb     Verb
	Code     int    // for Code: the reply code
	Enhanced string // for Code, REJECT and the DEFER verbs: an enhanced code written before the text
	Text     string // the optional text (the header for PREPEND, the restrictions for Restrictions)
	Line     int    // the line of the table it was read from, when known
}

// Delegated reports an action only a Postfix MTA can carry out in full:
// FILTER, REDIRECT, BCC and restriction names or classes. A server that
// cannot must refuse a table holding one (see Entries); a Postfix policy
// service passes it on.
func (a TableAction) Delegated() bool {
	return a.Verb == Filter || a.Verb == Redirect || a.Verb == Bcc || a.Verb == Restrictions
}

// String returns the action as a table or a policy service writes it.
func (a TableAction) String() string {
	switch a.Verb {
	case Code:
		return strings.TrimSpace(strconv.Itoa(a.Code) + " " + strings.TrimSpace(a.Enhanced+" "+a.Text))
	case Restrictions:
		return a.Text
	case Reject, Defer, DeferIfPermit, DeferIfReject:
		return strings.TrimSpace(a.Verb.String() + " " + strings.TrimSpace(a.Enhanced+" "+a.Text))
	}
	return strings.TrimSpace(a.Verb.String() + " " + a.Text)
}

// ParseAction parses a right-hand side of an access table.
func ParseAction(s string) (TableAction, error) {
	s = strings.TrimSpace(s)
	word, text, _ := strings.Cut(s, " ")
	text = strings.TrimSpace(text)
	if strings.ContainsAny(s, "\r\n\x00") {
		return TableAction{}, fmt.Errorf("control character in action")
	}
	if isDigits(word) {
		// Postfix reads "4NN text" and "5NN text" as a reply; a number
		// alone, even 450, is all-numerical and means OK (pop-before-smtp
		// tables hold time stamps). An enhanced code of the other class is
		// not an error: the reply's class wins when it is sent.
		if len(word) == 3 && (word[0] == '4' || word[0] == '5') && text != "" {
			code, _ := strconv.Atoi(word)
			a := TableAction{Verb: Code, Code: code}
			a.Enhanced, a.Text = splitEnhanced(text)
			return a, nil
		}
		return TableAction{Verb: OK}, nil
	}
	v := TableAction{Verb: wordVerb(word)}
	switch v.Verb {
	case Prepend:
		if name, _, ok := strings.Cut(text, ":"); !ok || name == "" || strings.ContainsAny(name, " \t") {
			return TableAction{}, fmt.Errorf("PREPEND needs a header line (Name: value), got %q", text)
		}
	case Filter:
		if !strings.Contains(text, ":") {
			return TableAction{}, fmt.Errorf("FILTER needs transport:destination, got %q", text)
		}
	case Redirect, Bcc:
		if !strings.Contains(text, "@") {
			return TableAction{}, fmt.Errorf("%s needs user@domain, got %q", strings.ToUpper(word), text)
		}
	case 0:
		// Anything else is, for Postfix, restrictions to evaluate in place:
		// restriction names or the name of a smtpd_restriction_classes
		// class. A lookup table there is an error in Postfix too.
		if strings.Contains(s, ":") || !restrictionWords(s) {
			return TableAction{}, fmt.Errorf("unsupported access action %q (want OK, REJECT, DEFER, DEFER_IF_PERMIT, DEFER_IF_REJECT, DUNNO, DISCARD, HOLD, WARN, INFO, PREPEND, FILTER, REDIRECT, BCC, 4NN/5NN text, restriction names or a restriction class)", word)
		}
		return TableAction{Verb: Restrictions, Text: s}, nil
	}
	if v.Verb == Reject || v.Verb == Defer || v.Verb == DeferIfPermit || v.Verb == DeferIfReject {
		v.Enhanced, v.Text = splitEnhanced(text)
	} else {
		v.Text = text
	}
	return v, nil
}

// wordVerb is the verb an action's first word names (RELAY is OK's other
// name), or 0 when it names none.
func wordVerb(word string) Verb {
	w := strings.ToUpper(word)
	if w == "RELAY" {
		return OK
	}
	for v := OK; v < Restrictions; v++ {
		if v != Code && verbNames[v] == w {
			return v
		}
	}
	return 0
}

// restrictionWords reports a list of restriction or class names (letters,
// digits, '_', '-', '.', separated by blanks or commas).
func restrictionWords(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ' ' || c == '\t' || c == ',') {
			return false
		}
	}
	return true
}

// splitEnhanced splits a leading enhanced status code (4.7.1) off text.
func splitEnhanced(text string) (string, string) {
	w, rest, _ := strings.Cut(text, " ")
	parts := strings.Split(w, ".")
	if len(parts) == 3 && (w[0] == '2' || w[0] == '4' || w[0] == '5') && len(parts[0]) == 1 && isDigits(parts[1]) && isDigits(parts[2]) && len(parts[1]) <= 3 && len(parts[2]) <= 3 {
		return w, strings.TrimSpace(rest)
	}
	return "", text
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
