package postconf

import (
	"errors"
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
