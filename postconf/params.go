package postconf

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// unsupportedParams are Postfix parameters that change smtpd's answers and
// that this package does not implement, each with the values that leave
// Postfix's answers as this package gives them (compared after expansion,
// in lower case). Any other value is an error naming file and line: loading
// a file that asks for a check which would then not run is a silent permit.
var unsupportedParams = map[string][]string{
	// anvil's per-client limits.
	"smtpd_client_new_tls_session_rate_limit": {"0"},
	"smtpd_client_auth_rate_limit":            {"0"},
	"smtpd_recipient_limit":                   {"1000"},
	"message_size_limit":                      {"10240000"},
	// Content inspection and rewritten replies.
	"smtpd_milters":            {""},
	"header_checks":            {""},
	"mime_header_checks":       {""},
	"nested_header_checks":     {""},
	"body_checks":              {""},
	"smtpd_proxy_filter":       {""},
	"smtpd_command_filter":     {""},
	"smtpd_reject_footer":      {""},
	"smtpd_reject_footer_maps": {""},
	// Protocol strictness that refuses commands.
	"strict_rfc821_envelopes":        {"no"},
	"allow_untrusted_routing":        {"no"},
	"smtpd_forbid_unauth_pipelining": {"no"},
	"smtpd_forbid_bare_newline":      {"no"},
	"smtpd_tls_security_level":       {"", "none", "may"},
	"smtpd_enforce_tls":              {"no"},
	"smtpd_tls_auth_only":            {"no"},
	// The client name restrictions see.
	"smtpd_peername_lookup": {"yes"},
}

// compatParams are the parameters this package honours beyond defaults:
// compatibility_level and the defaults it chooses (see compatDefault).
var compatParams = map[string]bool{
	"compatibility_level":                       true,
	"smtpd_relay_before_recipient_restrictions": true,
	"mynetworks_style":                          true,
}

// Parameter classes, for checkParams and Ignored.
const (
	paramUnknown     = iota
	paramImplemented // shapes the policy and is built
	paramIgnored     // a Postfix parameter that does not shape smtpd's answers here
	paramUnsupported // shapes smtpd's answers in Postfix, not implemented here
	paramUserDefined // not Postfix's, used as $name by another parameter
)

func isPostfixParam(name string) bool {
	i := sort.SearchStrings(postfixParams, name)
	if i < len(postfixParams) && postfixParams[i] == name {
		return true
	}
	// Per-transport parameters, such as relay_destination_concurrency_limit,
	// are named after a master.cf service and a default_* parameter.
	for j := 1; j < len(name); j++ {
		if name[j-1] == '_' {
			d := "default_" + name[j:]
			k := sort.SearchStrings(postfixParams, d)
			if k < len(postfixParams) && postfixParams[k] == d {
				return true
			}
		}
	}
	return false
}

// classify returns a parameter's class; refs are the names used as $name in
// the file.
func classify(name string, refs map[string]bool) int {
	if _, ok := defaults[name]; ok || compatParams[name] {
		return paramImplemented
	}
	if _, ok := unsupportedParams[name]; ok {
		return paramUnsupported
	}
	if isPostfixParam(name) {
		return paramIgnored
	}
	if refs[name] {
		return paramUserDefined
	}
	return paramUnknown
}

// references returns the names used as $name, ${name...} or $(name) in the
// file's values.
func (f *File) references() map[string]bool {
	refs := map[string]bool{}
	for n := range f.refs {
		refs[n] = true
	}
	for _, p := range f.params {
		v := p.Value
		for i := strings.IndexByte(v, '$'); i >= 0 && i+1 < len(v); i = strings.IndexByte(v, '$') {
			v = v[i+1:]
			if v[0] == '{' || v[0] == '(' {
				v = v[1:]
			}
			j := 0
			for j < len(v) && (v[j] == '_' || v[j] >= 'a' && v[j] <= 'z' || v[j] >= 'A' && v[j] <= 'Z' || v[j] >= '0' && v[j] <= '9') {
				j++
			}
			if j > 0 {
				refs[v[:j]] = true
			}
			v = v[j:]
		}
	}
	// A restriction class is a parameter the file defines for
	// smtpd_restriction_classes to name.
	if p, ok := f.params["smtpd_restriction_classes"]; ok {
		for _, n := range Fields(p.Value) {
			refs[n] = true
		}
	}
	return refs
}

// Ignored returns the parameters set in the file that do not shape the
// policy: Postfix parameters this package has no use for (smtpd_banner,
// TLS files, queue settings), unsupported ones set to a value that changes
// nothing, and names the file defines only for use as $name. Build accepts
// them; a caller may log them so an administrator sees what was not used.
func (f *File) Ignored() []Param {
	refs := f.references()
	var out []Param
	for _, name := range f.order {
		switch classify(name, refs) {
		case paramIgnored, paramUnsupported, paramUserDefined:
			out = append(out, f.params[name])
		}
	}
	return out
}

// maxReportedErrors bounds the errors one Build reports, and so the work a
// file made of expansion bombs can cause.
const maxReportedErrors = 20

// checkParams reports every parameter-level error of the file at once:
// unknown names, unsupported parameters set to values that would change
// Postfix's answers, expansions that loop or grow too large, unbalanced
// "{ }" groups and values of the wrong form. It returns the names at fault
// beside the errors, so the rest of the file can still be checked.
func (b *builder) checkParams() (errs []error, bad map[string]bool) {
	f := b.f
	refs := f.references()
	bad = map[string]bool{}
	add := func(name string, err error) {
		bad[name] = true
		errs = append(errs, err)
	}
	at := func(name, msg string) *Error {
		return &Error{File: f.Name, Line: f.params[name].Line, Msg: msg}
	}
	for _, name := range f.order {
		if len(errs) >= maxReportedErrors {
			break
		}
		class := classify(name, refs)
		if class == paramUnknown {
			msg := fmt.Sprintf("unknown parameter %q: not a Postfix 3.7 parameter, and no other parameter uses it as $%s", name, name)
			if near := nearestParam(name); near != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", near)
			}
			add(name, at(name, msg))
			continue
		}
		if class == paramIgnored || class == paramUserDefined {
			// Postfix expands these in its own programs, with names this
			// package does not define; a name defined for $name use is
			// expanded, and its errors reported, where it is used.
			continue
		}
		v, _, err := f.Expand(name, defaults)
		if err != nil {
			add(name, err)
			continue
		}
		v = strings.TrimSpace(v)
		switch class {
		case paramUnsupported:
			ok := false
			for _, want := range unsupportedParams[name] {
				if strings.EqualFold(v, want) {
					ok = true
				}
			}
			if !ok {
				add(name, at(name, fmt.Sprintf("%s = %s: this changes smtpd's answers in Postfix and is not implemented here (accepted: %s)",
					name, clip(v), acceptedValues(unsupportedParams[name]))))
			}
			continue
		}
		if _, err := SplitList(v); err != nil {
			add(name, at(name, fmt.Sprintf("%s: %v", name, err)))
			continue
		}
		if err := b.checkForm(name, v); err != nil {
			add(name, at(name, fmt.Sprintf("%s: %v", name, err)))
		}
	}
	if len(errs) >= maxReportedErrors {
		errs = append(errs, &Error{File: f.Name, Msg: fmt.Sprintf("more errors not shown (the first %d are)", maxReportedErrors)})
	}
	return errs, bad
}

func acceptedValues(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		if v == "" {
			q[i] = "empty"
		} else {
			q[i] = v
		}
	}
	return strings.Join(q, ", ")
}

// boolParams are the implemented yes/no parameters.
var boolParams = map[string]bool{
	"smtpd_delay_reject": true, "smtpd_helo_required": true, "smtppolicy_dry_run": true,
	"smtpd_relay_before_recipient_restrictions": true,
	"smtpd_reject_unlisted_recipient":           true, "smtpd_reject_unlisted_sender": true,
	"show_user_unknown_table_name": true,
}

// mapParams hold lookup tables (and, for the domain lists, domains): each
// table is opened by checkForm, so that every bad table is reported.
var mapParams = map[string]bool{
	"local_recipient_maps": true, "relay_recipient_maps": true, "virtual_alias_maps": true,
	"virtual_maps": true, "virtual_mailbox_maps": true, "virtual_alias_domains": true,
	"virtual_mailbox_domains": true, "canonical_maps": true, "recipient_canonical_maps": true,
	"sender_canonical_maps": true,
}

// checkForm checks a value's form where the parameter has one, so that a
// file with several such mistakes reports them all.
func (b *builder) checkForm(name, v string) error {
	switch {
	case name == "compatibility_level":
		_, err := parseCompatLevel(v)
		return err
	case name == "mynetworks_style":
		if _, set := b.f.params["mynetworks"]; set {
			return nil // Postfix ignores the style when mynetworks is set
		}
		if !strings.EqualFold(v, "host") {
			return fmt.Errorf("%q is not implemented: set mynetworks", v)
		}
	case boolParams[name]:
		switch strings.ToLower(v) {
		case "yes", "true", "1", "on", "no", "false", "0", "off", "":
		default:
			return fmt.Errorf("expected yes or no, got %q", clip(v))
		}
	case strings.HasSuffix(name, "_code"):
		n := 0
		if _, err := fmt.Sscanf(v, "%d", &n); err != nil || fmt.Sprint(n) != v || n < 400 || n > 599 {
			return fmt.Errorf("reply code %q is not 4xx or 5xx", clip(v))
		}
	case mapParams[name]:
		for _, w := range Fields(v) {
			if !strings.Contains(w, ":") && !strings.HasPrefix(w, "/") {
				continue // a domain of a domain list
			}
			if _, err := loadMap(w); err != nil {
				return err
			}
		}
	case name == "mynetworks":
		for _, w := range Fields(v) {
			if _, err := parseNetwork(w); err != nil {
				return err
			}
		}
	}
	return nil
}

// without returns a copy of the file without the named parameters.
func (f *File) without(names map[string]bool) *File {
	g := &File{Name: f.Name, params: make(map[string]Param, len(f.params)), refs: f.references()}
	for _, n := range f.order {
		if !names[n] {
			g.order = append(g.order, n)
			g.params[n] = f.params[n]
		}
	}
	return g
}

// buildErrors is Build's error: every parameter error, and the errors of
// the rest of the file built without the parameters at fault, in line
// order, joined.
func buildErrors(f *File, env Env, errs []error, bad map[string]bool) error {
	if _, err := Build(f.without(bad), env); err != nil {
		var more []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			more = j.Unwrap()
		} else {
			more = []error{err}
		}
		errs = append(errs, more...)
	}
	sort.SliceStable(errs, func(i, j int) bool { return errLine(errs[i]) < errLine(errs[j]) })
	return errors.Join(errs...)
}

func errLine(err error) int {
	var pe *Error
	var xe *ExpansionError
	switch {
	case errors.As(err, &pe):
		if pe.Line == 0 {
			return 1 << 30
		}
		return pe.Line
	case errors.As(err, &xe):
		return xe.Line
	}
	return 1 << 30
}

// nearestParam returns the Postfix parameter within two edits of name, for
// the error of a misspelt one; "" when there is none.
func nearestParam(name string) string {
	best, bestD := "", 3
	try := func(p string) {
		if d := editDistance(name, p, bestD); d < bestD {
			best, bestD = p, d
		}
	}
	for _, p := range postfixParams {
		try(p)
	}
	for p := range defaults {
		try(p)
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or max when it is
// max or more.
func editDistance(a, b string, max int) int {
	if d := len(a) - len(b); d >= max || -d >= max {
		return max
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c = 1 + min(prev[j-1], prev[j], cur[j-1])
			}
			cur[j] = c
			rowMin = min(rowMin, c)
		}
		if rowMin >= max {
			return max
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], max)
}
