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
	KindText    Kind = iota // free text
	KindHost                // a host name, or "unknown"
	KindIP                  // an IPv4 or IPv6 address
	KindAddress             // a mail address, possibly empty (the null sender)
	KindNumber              // a decimal number
	KindWord                // one word without spaces (a command, a zone, an ID)
)

// Param is one typed parameter of a catalog template.
type Param struct {
	Name string
	Kind Kind
}

// Entry is one reply of the catalog: its codes, a template with typed
// parameters, an explanation an administrator can act on, and references to
// the reply lists it comes from ("smtpf#288", "postfix",
// "barracuda:5XX_BLOCKED_RBL").
//
// Templates name their parameters in braces, "recipient <{rcpt}> relaying
// denied"; a '\n' separates the lines of a multi-line reply.
type Entry struct {
	Name     string   // the constructor's name, such as "RelayDenied"
	Code     int      // basic code
	Enhanced Enhanced // enhanced code; its class always matches Code
	Template string
	Params   []Param
	Explain  string
	Refs     []string

	segs []segment // Template compiled: literal text and parameter slots
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
	rest := tmpl
	for rest != "" {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			e.segs = append(e.segs, segment{lit: rest, arg: -1})
			break
		}
		if i > 0 {
			e.segs = append(e.segs, segment{lit: rest[:i], arg: -1})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			panic(fmt.Sprintf("reply catalog %s: unclosed { in %q", name, tmpl))
		}
		pname := rest[i+1 : i+j]
		idx := -1
		for k, p := range params {
			if p.Name == pname {
				idx = k
			}
		}
		if idx < 0 {
			panic(fmt.Sprintf("reply catalog %s: unknown parameter {%s}", name, pname))
		}
		e.segs = append(e.segs, segment{arg: idx})
		rest = rest[i+j+1:]
	}
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
