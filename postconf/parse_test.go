package postconf

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	src := "# comment\n" +
		"mydomain = example.org\n" +
		"\n" +
		"myhostname = mx.$mydomain\n" +
		"mydestination = $myhostname, ${mydomain}\n" +
		"smtpd_recipient_restrictions = permit_mynetworks,\n" +
		"    # a comment inside a continued value\n" +
		"    reject_unauth_destination\n" +
		"\treject\n" +
		"relay_domains = ${mydomain?relay.$mydomain} ${nothing:fallback.example}\n" +
		"mydomain = example.net\n"
	f, err := Parse(strings.NewReader(src), "main.cf")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct{ name, want string }{
		{"myhostname", "mx.example.net"}, // the later mydomain wins, as in Postfix
		{"mydestination", "mx.example.net, example.net"},
		{"smtpd_recipient_restrictions", "permit_mynetworks, reject_unauth_destination reject"},
		{"relay_domains", "relay.example.net fallback.example"},
	}
	for _, tt := range tests {
		got, ok, err := f.Expand(tt.name, nil)
		if err != nil || !ok || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v, %v; want %q", tt.name, got, ok, err, tt.want)
		}
	}
	if got := Fields("a, b  c,,d\te"); strings.Join(got, "|") != "a|b|c|d|e" {
		t.Errorf("Fields = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		want      string
	}{
		{"no equals", "mynetworks 127.0.0.0/8\n", 1, `expected "name = value"`},
		{"continuation first", "  reject\n", 1, "continuation line"},
		{"bad name", "my networks = x\n", 1, "bad parameter name"},
		{"NUL byte", "a = b\nc = d\x00\n", 2, "NUL"},
		{"long line", "a = " + strings.Repeat("x", maxLineBytes+10) + "\n", 1, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.src), "main.cf")
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse() error = %v, want *Error", err)
			}
			if pe.Line != tt.line || !strings.Contains(pe.Msg, tt.want) || pe.File != "main.cf" {
				t.Errorf("Parse() error = %v, want main.cf:%d: ...%s...", err, tt.line, tt.want)
			}
		})
	}
}

func TestExpandLoop(t *testing.T) {
	f, err := Parse(strings.NewReader("a = $b\nb = ${a}\n"), "main.cf")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Expand("a", nil); err == nil || !strings.Contains(err.Error(), "loops") {
		t.Errorf("Expand of a loop = %v, want a loop error", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a = b\n  c\n", "x = $y ${z?w} ${q:r}\n", "# c\n\n", "= x\n", "a=$\n", "a = ${b\n", "a = $$b\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse(strings.NewReader(src), "fuzz.cf")
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error is not *Error: %v", err)
			}
			return
		}
		for _, n := range file.Names() {
			file.Expand(n, defaults) // must not panic or hang
		}
		if !strings.Contains(src, ":") {
			// Table and map parameters name files; the fuzzer must not make
			// the build read arbitrary ones (/dev/zero never ends).
			Build(file, Env{}) // must not panic
		}
	})
}

// laughs returns a main.cf of levels parameters, each naming the one
// before it width times: "billion laughs" for $name expansion.
func laughs(levels, width int) string {
	var b strings.Builder
	b.WriteString("lol0 = lol\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, "lol%d =", i)
		for j := 0; j < width; j++ {
			fmt.Fprintf(&b, " $lol%d", i-1)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "smtpd_client_restrictions = check_client_access inline:{ 192.0.2.1 = REJECT $lol%d }\n", levels-1)
	return b.String()
}

func TestExpandBillionLaughs(t *testing.T) {
	// 10 levels of 1,800 references each: 97 KB of file, 10^27 bytes if
	// expanded in full.
	src := laughs(10, 1800)
	if len(src) < 90_000 {
		t.Fatalf("generated file is %d bytes, want the reported ~97 KB", len(src))
	}
	f, err := Parse(strings.NewReader(src), "main.cf")
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = Build(f, Env{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrExpansionTooLarge) {
		t.Fatalf("Build() error = %v, want ErrExpansionTooLarge", err)
	}
	var xe *ExpansionError
	if !errors.As(err, &xe) || xe.File != "main.cf" || xe.Line != 11 || xe.Param != "smtpd_client_restrictions" {
		t.Fatalf("Build() error = %v, want main.cf:11 naming smtpd_client_restrictions", err)
	}
	if !strings.HasPrefix(err.Error(), "main.cf:11: smtpd_client_restrictions: parameter expansion too large") {
		t.Errorf("message = %q", err.Error())
	}
	// The bound is on work as well as on the result: the whole Build
	// allocates a small multiple of MaxExpansionBytes, not gigabytes.
	if got := after.TotalAlloc - before.TotalAlloc; got > 64*MaxExpansionBytes {
		t.Errorf("Build allocated %d MB for a refused file", got>>20)
	}
}

func TestExpandForms(t *testing.T) {
	src := "a = x\nempty =\nbr = {x}\n"
	f, err := Parse(strings.NewReader(src), "main.cf")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want, err string }{
		{"$a", "x", ""},
		{"${a}-$(a)", "x-x", ""},
		{"${a?yes}", "yes", ""},
		{"${empty?yes}", "", ""},
		{"${unset:no}", "no", ""},
		{"${a:no}", "", ""}, // Postfix: text only when empty
		{"${a?{with: colon}}", "with: colon", ""},
		{"${a?{t}:{f}}", "t", ""},
		{"${empty?{t}:{f}}", "f", ""},
		{"${unset?{t}:{f}}", "f", ""},
		{"${a?{nested {braces}}}", "nested {braces}", ""},
		{"$br", "{x}", ""},
		{"$$a", "$a", ""},
		{"${a", "", "unclosed"},
		{"x $", "", "lone $"},
		{"${a?{t} junk}", "", "text after"},
		{"${a?{t}:f}", "", "bad ${a?{...}:{...}}"},
	}
	for _, tt := range tests {
		f.Set("test", tt.in)
		got, _, err := f.Expand("test", nil)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Expand(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"a, b  c,,d\te", []string{"a", "b", "c", "d", "e"}, ""},
		{"{ a b }, c", []string{"{ a b }", "c"}, ""},
		{"check_client_access inline:{ 192.0.2.1=REJECT, { 192.0.2.2 = 554 go away } }, permit",
			[]string{"check_client_access", "inline:{ 192.0.2.1=REJECT, { 192.0.2.2 = 554 go away } }", "permit"}, ""},
		{"check_policy_service { inet:127.0.0.1:9998, timeout=10s }", []string{"check_policy_service", "{ inet:127.0.0.1:9998, timeout=10s }"}, ""},
		{"{}", []string{"{}"}, ""},
		{"{ {x} }", []string{"{ {x} }"}, ""},
		{"{a}b c", []string{"{a}b", "c"}, ""},
		{"a {b c", []string{"a", "{b c"}, "without its '}'"},
		{"a} b", []string{"a}", "b"}, "without its '{'"},
	}
	for _, tt := range tests {
		got, err := SplitList(tt.in)
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
			t.Errorf("SplitList(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("SplitList(%q) error = %v, want %q", tt.in, err, tt.err)
		}
	}
}

func TestInlineLines(t *testing.T) {
	tests := []struct {
		kind, body string
		want       []string
		err        string
	}{
		{"inline", "{ a=1, b = 2 }", nil, "missing '='"}, // "b = 2" unbraced is three words, as in Postfix
		{"inline", "{ a=1, {b=2} }", []string{"a\t1", "b\t2"}, ""},
		{"inline", "{ a=OK, { b = 554 go away, now } }", []string{"a\tOK", "b\t554 go away, now"}, ""},
		{"inline", "{}", nil, "empty table"},
		{"inline", "{ {a b = 1} }", nil, "missing '='"},
		{"inline", "{ {b=} }", nil, "empty result"},
		{"inline", "{ b=1 } x", nil, "text after"},
		{"inline", "{ b=1 ", nil, "without its '}'"},
		{"cidr", "{ {192.0.2.0/24 REJECT go away}, {0.0.0.0/0 OK} }", []string{"192.0.2.0/24 REJECT go away", "0.0.0.0/0 OK"}, ""},
		{"regexp", "{ {/^f(o+)$/ REJECT no}, {/x/ OK} }", []string{"/^f(o+)$/ REJECT no", "/x/ OK"}, ""},
		{"cidr", "{ 192.0.2.0/24 OK }", nil, "between braces"},
		{"hash", "{ a=1 }", nil, "cannot be written inline"},
	}
	for _, tt := range tests {
		got, err := inlineLines(tt.kind, tt.body)
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
			t.Errorf("inlineLines(%s, %q) = %q, want %q", tt.kind, tt.body, got, tt.want)
		}
		if (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("inlineLines(%s, %q) error = %v, want %q", tt.kind, tt.body, err, tt.err)
		}
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{
		"a = x\nb = $a $a ${a?{t}:{f}}\n", laughs(6, 12), "a = ${b?{${c:{d}}}}\n", "a = $(b\n", "a = ${a}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse(strings.NewReader(src), "fuzz.cf")
		if err != nil {
			return
		}
		for _, n := range file.Names() {
			v, _, err := file.Expand(n, defaults)
			if len(v) > MaxExpansionBytes {
				t.Fatalf("Expand(%q) returned %d bytes, over the bound", n, len(v))
			}
			var xe *ExpansionError
			if err != nil && !errors.As(err, &xe) {
				t.Fatalf("Expand(%q) error is not *ExpansionError: %v", n, err)
			}
		}
	})
}

func FuzzSplitList(f *testing.F) {
	for _, s := range []string{"a, b c", "{ a b }, c", "x inline:{ a=1, {b = c d} }", "{", "}", "{a}b", "{{}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := SplitList(s)
		for _, w := range got {
			if w == "" {
				t.Fatalf("SplitList(%q) has an empty element", s)
			}
		}
		if err == nil && strings.Count(s, "{") != strings.Count(s, "}") {
			t.Fatalf("SplitList(%q) accepted unbalanced braces: %q", s, got)
		}
		if !strings.ContainsAny(s, "{}") && strings.Join(got, " ") != strings.Join(strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(", \t\r\n", r) }), " ") {
			t.Fatalf("SplitList(%q) = %q differs from plain splitting", s, got)
		}
		for _, w := range got {
			if k, body, ok := strings.Cut(w, ":"); ok && strings.HasPrefix(body, "{") {
				inlineLines(k, body) // must not panic
			}
		}
	})
}

func TestNearestParam(t *testing.T) {
	tests := []struct{ in, want string }{
		{"smtpd_helo_restriction", "smtpd_helo_restrictions"},
		{"smtpd_reciepient_restrictions", "smtpd_recipient_restrictions"},
		{"smtpd_sender_restrict", ""}, // four edits away
		{"mynetwork", "mynetworks"},
		{"relay_domain", "relay_domains"},
		{"smtppolicy_dryrun", "smtppolicy_dry_run"},
		{"something_else_entirely", ""},
	}
	for _, tt := range tests {
		if got := nearestParam(tt.in); got != tt.want {
			t.Errorf("nearestParam(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// BenchmarkBillionLaughs measures what refusing the 97 KB expansion bomb
// costs a Build.
func BenchmarkBillionLaughs(b *testing.B) {
	f, err := Parse(strings.NewReader(laughs(10, 1800)), "main.cf")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(f, Env{}); !errors.Is(err, ErrExpansionTooLarge) {
			b.Fatal(err)
		}
	}
}
