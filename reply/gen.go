//go:build ignore

// gen writes the code that the catalog's entries imply, so that an entry is
// written once: catalog_list.go (the list Catalog, Lookup, ByRef and
// Identify search) and catalog_ctors.go (a one-line constructor for every
// entry whose declaration carries the constructor's doc comment). It reads
// the entries from catalog_*.go: each "entryX = newEntry("X", ...)" in a
// var block is one entry. Only replies that smtppolicy sends, or that a
// program or test builds, have a constructor; the rest of a source list is
// there to be recognised and explained, reached through Lookup, ByRef and
// Identify. An entry without a doc comment has no constructor, or one
// written by hand beside it (one taking numbers, a code, or a flag); gen
// checks that a handwritten constructor builds its own entry and that no
// entry has two.
//
// Run it with go generate ./reply (see catalog.go); CI fails when the
// generated files differ from what gen writes.
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// entry is one catalog entry as declared.
type entry struct {
	varName string   // entryRelayDenied
	name    string   // RelayDenied
	params  []string // parameter names, in order
	doc     string   // the constructor's doc comment, "" when written by hand
	file    string
}

// generated names the files gen writes; they are not read as input.
var generated = []string{"catalog_list.go", "catalog_ctors.go"}

// first are the files whose entries come first in the list, in this order:
// the source lists in reference order, then the replies of this product.
var first = []string{"catalog_smtpf.go", "catalog_postfix.go", "catalog_gateway.go"}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "reply/gen:", err)
		os.Exit(1)
	}
}

func run() error {
	files, err := inputs()
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	shared := map[string]string{} // pHost -> "host"
	var entries []entry
	handwritten := map[string]*ast.FuncDecl{}
	var parsed []*ast.File
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		parsed = append(parsed, af)
		collectShared(af, shared)
	}
	for i, af := range parsed {
		es, err := collectEntries(fset, af, files[i], shared)
		if err != nil {
			return err
		}
		entries = append(entries, es...)
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.IsExported() && files[i] != "catalog.go" {
				handwritten[fd.Name.Name] = fd
			}
		}
	}
	if err := check(fset, entries, handwritten); err != nil {
		return err
	}
	if err := write("catalog_list.go", list(entries)); err != nil {
		return err
	}
	return write("catalog_ctors.go", ctors(entries))
}

// inputs returns the catalog source files in list order.
func inputs() ([]string, error) {
	all, err := filepath.Glob("catalog_*.go")
	if err != nil {
		return nil, err
	}
	files := slices.Clone(first)
	for _, f := range all {
		if strings.HasSuffix(f, "_test.go") || slices.Contains(generated, f) || slices.Contains(first, f) {
			continue
		}
		files = append(files, f)
	}
	slices.Sort(files[len(first):])
	return append([]string{"catalog.go"}, files...), nil
}

// collectShared records the parameters declared once for many entries
// (pHost = Param{"host", KindHost}).
func collectShared(af *ast.File, shared map[string]string) {
	ast.Inspect(af, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, id := range vs.Names {
			if i < len(vs.Values) {
				if cl, ok := vs.Values[i].(*ast.CompositeLit); ok && isIdent(cl.Type, "Param") {
					if name, ok := paramName(cl); ok {
						shared[id.Name] = name
					}
				}
			}
		}
		return true
	})
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func paramName(cl *ast.CompositeLit) (string, bool) {
	if len(cl.Elts) == 0 {
		return "", false
	}
	lit, ok := cl.Elts[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// collectEntries finds the entry declarations of one file, in order.
func collectEntries(fset *token.FileSet, af *ast.File, file string, shared map[string]string) ([]entry, error) {
	var out []entry
	for _, d := range af.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			if len(vs.Names) != 1 || len(vs.Values) != 1 || !strings.HasPrefix(vs.Names[0].Name, "entry") {
				continue
			}
			call := newEntryCall(vs.Values[0])
			if call == nil {
				continue
			}
			pos := fset.Position(vs.Pos())
			e := entry{varName: vs.Names[0].Name, file: file}
			if len(call.Args) < 5 {
				return nil, fmt.Errorf("%s: newEntry with %d arguments", pos, len(call.Args))
			}
			name, ok := stringLit(call.Args[0])
			if !ok {
				return nil, fmt.Errorf("%s: the entry's name is not a string literal", pos)
			}
			e.name = name
			if e.varName != "entry"+name {
				return nil, fmt.Errorf("%s: %s declares entry %q; name it entry%s", pos, e.varName, name, name)
			}
			params, err := paramList(call.Args[4], shared)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %v", pos, name, err)
			}
			e.params = params
			if vs.Doc != nil {
				var lines []string
				for _, c := range vs.Doc.List {
					lines = append(lines, c.Text)
				}
				e.doc = strings.Join(lines, "\n")
				if w, _, _ := strings.Cut(vs.Doc.Text(), " "); w != name {
					return nil, fmt.Errorf("%s: the doc comment of %s must start with %s (it becomes the constructor's)", pos, e.varName, name)
				}
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// newEntryCall returns the newEntry call at the root of an entry's
// declaration (newEntry(...).alt(...).variants(...)), or nil.
func newEntryCall(e ast.Expr) *ast.CallExpr {
	for {
		call, ok := e.(*ast.CallExpr)
		if !ok {
			return nil
		}
		switch fn := call.Fun.(type) {
		case *ast.Ident:
			if fn.Name == "newEntry" {
				return call
			}
			return nil
		case *ast.SelectorExpr:
			e = fn.X
		default:
			return nil
		}
	}
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// paramList reads an entry's []Param{...} (or nil).
func paramList(e ast.Expr, shared map[string]string) ([]string, error) {
	if isIdent(e, "nil") {
		return nil, nil
	}
	cl, ok := e.(*ast.CompositeLit)
	if !ok {
		return nil, fmt.Errorf("parameters are not a []Param literal")
	}
	var names []string
	for _, el := range cl.Elts {
		switch el := el.(type) {
		case *ast.Ident:
			n, ok := shared[el.Name]
			if !ok {
				return nil, fmt.Errorf("unknown parameter %s", el.Name)
			}
			names = append(names, n)
		case *ast.CompositeLit:
			n, ok := paramName(el)
			if !ok {
				return nil, fmt.Errorf("parameter without a literal name")
			}
			names = append(names, n)
		default:
			return nil, fmt.Errorf("parameter %T not understood", el)
		}
	}
	return names, nil
}

// check fails unless every entry has exactly one constructor of its name,
// generated or handwritten, and every handwritten one builds its entry.
func check(fset *token.FileSet, entries []entry, handwritten map[string]*ast.FuncDecl) error {
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.name] {
			return fmt.Errorf("entry %s declared twice", e.name)
		}
		seen[e.name] = true
		fd := handwritten[e.name]
		switch {
		case e.doc != "" && fd != nil:
			return fmt.Errorf("%s: %s has a doc comment on its entry (generated constructor) and a handwritten constructor; keep one", fset.Position(fd.Pos()), e.name)
		case fd != nil && !uses(fd, e.varName):
			return fmt.Errorf("%s: %s does not build %s", fset.Position(fd.Pos()), e.name, e.varName)
		}
		if e.doc != "" {
			for i, p := range e.params {
				if !token.IsIdentifier(p) || types.Universe.Lookup(p) != nil || slices.Contains(e.params[:i], p) {
					return fmt.Errorf("%s: parameter %q cannot name a Go parameter; write the constructor by hand", e.name, p)
				}
			}
		}
	}
	for name, fd := range handwritten {
		if returnsReply(fd) && !seen[name] {
			return fmt.Errorf("%s: constructor %s has no entry%s", fset.Position(fd.Pos()), name, name)
		}
	}
	return nil
}

func returnsReply(fd *ast.FuncDecl) bool {
	r := fd.Type.Results
	return r != nil && len(r.List) == 1 && isIdent(r.List[0].Type, "Reply")
}

func uses(fd *ast.FuncDecl, v string) bool {
	found := false
	ast.Inspect(fd, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == v {
			found = true
		}
		return !found
	})
	return found
}

const header = "// Code generated by gen.go from the entries of catalog_*.go; DO NOT EDIT.\n\npackage reply\n\n"

func list(entries []entry) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("// catalog lists every entry: smtpf in reference order, then Postfix, the\n// gateway, and the replies of this product.\nvar catalog = []*Entry{\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "\t%s,\n", e.varName)
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func ctors(entries []entry) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for _, e := range entries {
		if e.doc == "" {
			continue
		}
		b.WriteString(e.doc + "\n")
		sig := ""
		if len(e.params) > 0 {
			sig = strings.Join(e.params, ", ") + " string"
		}
		fmt.Fprintf(&b, "func %s(%s) Reply { return %s.Reply(%s) }\n\n", e.name, sig, e.varName, strings.Join(e.params, ", "))
	}
	return b.Bytes()
}

func write(name string, src []byte) error {
	out, err := format.Source(src)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return os.WriteFile(name, out, 0o644)
}
