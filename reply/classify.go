package reply

import "strings"

// Class is the kind of outcome a reply code reports (RFC 5321 4.2.1).
type Class uint8

// Reply classes.
const (
	ClassInvalid      Class = iota // not a reply code
	ClassPreliminary               // 1xx: unused by SMTP; some clients show 101 or 111 for failed connections
	ClassPositive                  // 2xx: done
	ClassIntermediate              // 3xx: go on (354 after DATA, 334 during AUTH)
	ClassTransient                 // 4xx: not done, retry later
	ClassPermanent                 // 5xx: not done, do not retry unchanged
)

// String returns the class's name, such as "transient".
func (c Class) String() string {
	switch c {
	case ClassPreliminary:
		return "preliminary"
	case ClassPositive:
		return "positive"
	case ClassIntermediate:
		return "intermediate"
	case ClassTransient:
		return "transient"
	case ClassPermanent:
		return "permanent"
	}
	return "invalid"
}

// ClassOf returns the class of a basic reply code.
func ClassOf(code int) Class {
	switch code / 100 {
	case 1:
		return ClassPreliminary
	case 2:
		return ClassPositive
	case 3:
		return ClassIntermediate
	case 4:
		return ClassTransient
	case 5:
		return ClassPermanent
	}
	return ClassInvalid
}

// Class returns the class of the reply's basic code.
func (r Reply) Class() Class { return ClassOf(int(r.code)) }

// Classification is what a sender needs to decide about a reply.
type Classification struct {
	Class         Class // from the basic code, which decides what a client does (RFC 3463 2)
	EnhancedClass Class // from the enhanced code's class digit; ClassInvalid without one
	// Mismatch reports an enhanced class different from the basic code's
	// first digit, such as 550 with 4.7.1: a bug of the server that sent it.
	Mismatch bool
	// Retryable reports that the client should keep the message and try
	// again later: 4xx replies, and the 1xx connection failures.
	Retryable bool
}

// Classify classifies a reply.
func Classify(r Reply) Classification {
	c := Classification{Class: r.Class()}
	if !r.enh.IsZero() {
		c.EnhancedClass = ClassOf(int(r.enh.Class) * 100)
		c.Mismatch = int(r.enh.Class) != int(r.code)/100
	}
	c.Retryable = c.Class == ClassTransient || c.Class == ClassPreliminary
	return c
}

// Advice returns what the sending side should do, in one sentence.
func (c Classification) Advice() string {
	var s string
	switch c.Class {
	case ClassPreliminary:
		s = "Retry: the connection failed; check the server name, port and network path."
	case ClassPositive:
		s = "Nothing to do: the command succeeded."
	case ClassIntermediate:
		s = "Continue: the server waits for more input."
	case ClassTransient:
		s = "Retry later: keep the message queued; the condition is temporary."
	case ClassPermanent:
		s = "Do not retry unchanged: return the message to its sender, or fix the cause the text gives first."
	default:
		s = "Not an SMTP reply."
	}
	if c.Mismatch {
		s += " The enhanced code's class contradicts the basic code; clients follow the basic code (RFC 3463 2), and the sending server should be fixed."
	}
	return s
}

// Explanation explains a reply: its class, what its codes mean, what the
// sender should do, and the catalog entries its text matches.
type Explanation struct {
	Reply          Reply
	Classification Classification
	Basic          CodeInfo
	BasicKnown     bool // Basic is the code's own entry, not its class's
	Status         StatusInfo
	StatusKnown    bool // the enhanced code is registered exactly
	Matches        []Match
}

// Explain explains a reply, identifying it against the catalog.
func Explain(r Reply) Explanation {
	x := Explanation{Reply: r, Classification: Classify(r)}
	x.Basic, x.BasicKnown = LookupCode(int(r.code))
	if !r.enh.IsZero() {
		x.Status, x.StatusKnown = LookupEnhanced(r.enh)
	}
	x.Matches = Identify(r)
	return x
}

// ExplainText parses s as a reply and explains it. Made for text pasted
// from a bounce: leading white space on each line and a DSN
// "Diagnostic-Code: smtp;" prefix are removed first.
func ExplainText(s string) (Explanation, error) {
	r, err := Parse(unpaste(s))
	if err != nil {
		return Explanation{}, err
	}
	return Explain(r), nil
}

// String renders the explanation as text for a person: one fact per line.
func (x Explanation) String() string {
	var b strings.Builder
	r := x.Reply
	c := x.Classification
	b.WriteString("reply:    ")
	b.WriteString(strings.ReplaceAll(strings.TrimSuffix(r.String(), "\r\n"), "\r\n", "\n          "))
	b.WriteString("\nclass:    ")
	b.WriteString(c.Class.String())
	if c.Retryable {
		b.WriteString(", retryable")
	} else {
		b.WriteString(", not retryable")
	}
	if c.Mismatch {
		b.WriteString(", enhanced class mismatch (")
		b.WriteString(c.EnhancedClass.String())
		b.WriteString(")")
	}
	b.WriteString("\nbasic:    ")
	b.WriteString(itoa(int64(r.code)))
	b.WriteString(" ")
	b.WriteString(x.Basic.Meaning)
	if !r.enh.IsZero() {
		b.WriteString("\nenhanced: ")
		b.WriteString(r.enh.String())
		b.WriteString(" ")
		if x.StatusKnown {
			b.WriteString(x.Status.Title)
			b.WriteString(" (")
			b.WriteString(x.Status.RFC)
			b.WriteString(")")
		} else {
			b.WriteString("unregistered; subject: ")
			b.WriteString(x.Status.Title)
		}
		b.WriteString("\n          ")
		b.WriteString(ClassMeaning(r.enh.Class))
	}
	b.WriteString("\nretry:    ")
	b.WriteString(c.Advice())
	if x.BasicKnown && x.Basic.Advice != "" {
		b.WriteString("\nadvice:   ")
		b.WriteString(x.Basic.Advice)
	}
	if x.StatusKnown && x.Status.Advice != "" {
		b.WriteString("\n          ")
		b.WriteString(x.Status.Advice)
	}
	if len(x.Matches) == 0 {
		b.WriteString("\ncatalog:  no matching entry\n")
		return b.String()
	}
	for _, m := range x.Matches {
		b.WriteString("\ncatalog:  ")
		b.WriteString(m.Entry.Name)
		b.WriteString(" [")
		b.WriteString(strings.Join(m.Entry.Refs, " "))
		b.WriteString("]")
		for i, p := range m.Entry.Params {
			if i < len(m.Args) {
				b.WriteString(" ")
				b.WriteString(p.Name)
				b.WriteString("=")
				b.WriteString(quoteArg(m.Args[i]))
			}
		}
		if !m.Exact {
			b.WriteString(" (codes differ from the entry's)")
		}
		b.WriteString("\n          ")
		b.WriteString(m.Entry.Explain)
	}
	b.WriteString("\n")
	return b.String()
}

func quoteArg(s string) string {
	return "\"" + string(appendSanitized(nil, s)) + "\""
}

// unpaste undoes what mail clients and DSNs do to a pasted reply.
func unpaste(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.TrimLeft(l, " \t")
		if len(l) > 16 && strings.EqualFold(l[:16], "diagnostic-code:") {
			if _, rest, ok := strings.Cut(l, ";"); ok {
				l = strings.TrimLeft(rest, " \t")
			}
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}
