package reply

import (
	"fmt"
	"strings"
)

// Kind is the type of a template parameter: what a value looks like, used to
// recognise the parameter when identifying a reply received from a server.
type Kind uint8

// Parameter kinds.
const (
	KindText    Kind = iota // free text, possibly empty
	KindHost                // a host name, or "unknown"
	KindIP                  // an IPv4 or IPv6 address
	KindAddress             // a mail address, possibly empty (the null sender)
	KindNumber              // a decimal number
	KindWord                // one word without spaces (a command, a zone, an ID)
	KindAffix               // a short, possibly empty run of letters: a plural "s", the "E" of ESMTP
)

// String returns the kind's name, such as "host".
func (k Kind) String() string {
	switch k {
	case KindText:
		return "text"
	case KindHost:
		return "host"
	case KindIP:
		return "ip"
	case KindAddress:
		return "address"
	case KindNumber:
		return "number"
	case KindWord:
		return "word"
	case KindAffix:
		return "affix"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Param is one typed parameter of a catalog template.
type Param struct {
	Name string
	Kind Kind
}

// Variant is another pair of codes under which the same reply is seen, such
// as a Postfix access-map rejection written with 554 5.1.1 instead of 554
// 5.7.1. Variants are recognised by Identify; constructors always use the
// entry's own codes.
type Variant struct {
	Code     int
	Enhanced Enhanced
}

// Entry is one reply of the catalog: its codes, a template with typed
// parameters, an explanation an administrator can act on, and references to
// the reply lists it comes from ("smtpf#288", "postfix",
// "barracuda:5XX_BLOCKED_RBL", "smtppolicy" for replies of this product).
//
// Templates name their parameters in braces, "recipient <{rcpt}> relaying
// denied"; a '\n' separates the lines of a multi-line reply.
type Entry struct {
	Name     string   // the constructor's name, such as "RelayDenied"
	Code     int      // basic code (the default one when AnyCode is set)
	Enhanced Enhanced // enhanced code; its class always matches Code
	Template string
	Params   []Param
	Explain  string
	Refs     []string

	// AnyCode marks a family of replies whose basic code is chosen when the
	// reply is made (smtpf's "%d %d.7.0 ..." replies relay a forward host's
	// code): any 4xx or 5xx, with the enhanced class following the basic code
	// and Enhanced giving subject and detail.
	AnyCode bool
	// Variants lists other codes the same reply is seen with.
	Variants []Variant
	// Alt lists other wordings of the same reply, with the same parameters,
	// that Identify recognises as this entry (another server's spelling).
	Alt []string

	segs []segment // Template compiled: literal text and parameter slots
	// prefix is "550 5.7.1 ", the start of a one-line reply with the
	// entry's own codes, written once instead of formatted per reply.
	prefix string
	// multiline is set when the template has a '\n': arguments are
	// sanitised, so only the template can make a reply of several lines.
	multiline bool
	// opaque marks an entry Identify leaves out: its text is another
	// server's reply passed through whole, so it would match any reply.
	opaque bool
}

type segment struct {
	lit string
	arg int // index into Params, or -1 for a literal
}

// newEntry validates and compiles an entry; an invalid entry is a programming
// error in the catalog table and panics when the package loads, which the
// catalog tests catch.
func newEntry(name string, code int, enh, tmpl string, params []Param, explain string, refs ...string) *Entry {
	r, err := New(code, enh)
	if err != nil {
		panic(fmt.Sprintf("reply catalog %s: %v", name, err))
	}
	e := &Entry{Name: name, Code: code, Enhanced: r.enh, Template: tmpl, Params: params, Explain: explain, Refs: refs}
	if len(params) > maxArgs {
		panic(fmt.Sprintf("reply catalog %s: %d parameters, at most %d", name, len(params), maxArgs))
	}
	segs, err := compileTemplate(tmpl, params)
	if err != nil {
		panic(fmt.Sprintf("reply catalog %s: %v", name, err))
	}
	e.segs = segs
	e.prefix = string(Reply{code: int16(code), enh: r.enh}.appendPrefix(nil, ' '))
	e.multiline = strings.IndexByte(tmpl, '\n') >= 0
	return e
}

// compileTemplate splits a template into literal and parameter segments.
func compileTemplate(tmpl string, params []Param) ([]segment, error) {
	var segs []segment
	rest := tmpl
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			segs = append(segs, segment{lit: rest, arg: -1})
			break
		}
		if i > 0 {
			segs = append(segs, segment{lit: rest[:i], arg: -1})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unclosed { in %q", tmpl)
		}
		pname := rest[i+1 : i+j]
		idx := -1
		for k, p := range params {
			if p.Name == pname {
				idx = k
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("unknown parameter {%s} in %q", pname, tmpl)
		}
		segs = append(segs, segment{arg: idx})
		rest = rest[i+j+1:]
	}
	return segs, nil
}

// variants adds other enhanced codes (same basic code) the reply is seen with.
// Used only while the catalog table is built.
func (e *Entry) variants(enh ...string) *Entry {
	for _, s := range enh {
		v, err := ParseEnhanced(s)
		if err != nil || int(v.Class) != e.Code/100 {
			panic(fmt.Sprintf("reply catalog %s: bad variant %q", e.Name, s))
		}
		e.Variants = append(e.Variants, Variant{Code: e.Code, Enhanced: v})
	}
	return e
}

// variantCode adds another basic and enhanced code pair.
func (e *Entry) variantCode(code int, enh string) *Entry {
	r, err := New(code, enh)
	if err != nil {
		panic(fmt.Sprintf("reply catalog %s: bad variant %d %s: %v", e.Name, code, enh, err))
	}
	e.Variants = append(e.Variants, Variant{Code: code, Enhanced: r.enh})
	return e
}

// alt adds other wordings with the same parameters.
func (e *Entry) alt(tmpl ...string) *Entry {
	for _, t := range tmpl {
		if _, err := compileTemplate(t, e.Params); err != nil {
			panic(fmt.Sprintf("reply catalog %s: %v", e.Name, err))
		}
	}
	e.Alt = append(e.Alt, tmpl...)
	return e
}

// passThrough marks an entry whose text is another server's reply relayed
// whole; Identify leaves it out.
func (e *Entry) passThrough() *Entry {
	e.opaque = true
	return e
}

// anyCode marks the entry as a family whose basic code is chosen per reply.
func (e *Entry) anyCode() *Entry {
	e.AnyCode = true
	return e
}

// Reply builds a reply from the entry with args in parameter order. Missing
// arguments are empty; extra ones are ignored. Prefer the named constructors,
// whose parameters are typed.
func (e *Entry) Reply(args ...string) Reply {
	r := Reply{code: int16(e.Code), enh: e.Enhanced, entry: e}
	copy(r.args[:len(e.Params)], args)
	return r
}

// ReplyCode builds a reply of a family entry (AnyCode) with the basic code
// code, the enhanced class following it. A code outside 400..599, or any code
// for an entry that is not a family, gives the entry's default code: a
// family's code comes from another server and must never turn a rejection
// into an acceptance.
func (e *Entry) ReplyCode(code int, args ...string) Reply {
	r := e.Reply(args...)
	if !e.AnyCode || code < 400 || code > 599 {
		return r
	}
	r.code = int16(code)
	if !r.enh.IsZero() {
		r.enh.Class = uint8(code / 100)
	}
	return r
}

func (e *Entry) appendText(dst []byte, args *[maxArgs]string) []byte {
	for _, s := range e.segs {
		if s.arg < 0 {
			dst = append(dst, s.lit...)
		} else {
			dst = appendArg(dst, args[s.arg])
		}
	}
	return dst
}

// HasRef reports whether the entry carries the reference ref, such as "smtpf#288".
func (e *Entry) HasRef(ref string) bool {
	for _, r := range e.Refs {
		if r == ref {
			return true
		}
	}
	return false
}

// generic reports an entry whose template has no literal letters ("{text}",
// "{domain} {error}"): it matches almost any reply with its codes, so Identify
// reports it only when nothing more specific matches.
func (e *Entry) generic() bool {
	for _, s := range e.segs {
		if s.arg >= 0 {
			continue
		}
		for i := 0; i < len(s.lit); i++ {
			c := s.lit[i] | 0x20
			if c >= 'a' && c <= 'z' {
				return false
			}
		}
	}
	return true
}
