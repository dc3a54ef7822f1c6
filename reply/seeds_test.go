package reply

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// seedLine is one reply line from the source lists: the reference (or, for
// Postfix, the entry name) it must identify as, and the wire text.
type seedLine struct {
	key, line string
}

func readSeedLines(t testing.TB, name string) []seedLine {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []seedLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		key, line, ok := strings.Cut(l, "\t")
		if !ok {
			t.Fatalf("testdata/%s: no tab in %q", name, l)
		}
		out = append(out, seedLine{key, strings.ReplaceAll(line, `\r\n`, "\r\n")})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("testdata/%s: no lines", name)
	}
	return out
}

func matchNames(ms []Match) []string {
	var n []string
	for _, m := range ms {
		n = append(n, m.Entry.Name)
	}
	return n
}

// TestSeedRepliesIdentify checks every reply line of the smtpf and gateway
// lists parses and identifies, first, as an entry carrying its reference.
func TestSeedRepliesIdentify(t *testing.T) {
	for _, file := range []string{"smtpf.txt", "barracuda.txt"} {
		for _, s := range readSeedLines(t, file) {
			t.Run(s.key+"/"+s.line, func(t *testing.T) {
				r, err := Parse(s.line)
				if err != nil {
					t.Fatalf("Parse(%q) error %v", s.line, err)
				}
				if e := ByRef(s.key); e != nil && e.opaque {
					return // another server's reply passed through: see Identify
				}
				ms := Identify(r)
				if len(ms) == 0 {
					t.Fatalf("Identify(%q) = no match, want an entry with ref %s", s.line, s.key)
				}
				if !ms[0].Entry.HasRef(s.key) {
					t.Errorf("Identify(%q) = %v, want first an entry with ref %s", s.line, matchNames(ms), s.key)
				}
				if ByRef(s.key) == nil {
					t.Errorf("ByRef(%q) = nil", s.key)
				}
			})
		}
	}
}

// TestSeedPostfixIdentify checks every Postfix line identifies, first and
// with its exact codes, as the entry the data file names.
func TestSeedPostfixIdentify(t *testing.T) {
	for _, s := range readSeedLines(t, "postfix.txt") {
		t.Run(s.line, func(t *testing.T) {
			ms, err := IdentifyText(s.line)
			if err != nil {
				t.Fatalf("IdentifyText(%q) error %v", s.line, err)
			}
			if len(ms) == 0 || ms[0].Entry.Name != s.key {
				t.Fatalf("IdentifyText(%q) = %v, want first %s", s.line, matchNames(ms), s.key)
			}
			if !ms[0].Exact {
				t.Errorf("IdentifyText(%q)[0].Exact = false, want true", s.line)
			}
			if !ms[0].Entry.HasRef("postfix") {
				t.Errorf("entry %s lacks ref postfix", s.key)
			}
		})
	}
}

// TestSeedSmtpfExactCodes checks the smtpf lines carry their entry's codes:
// the catalog copied each code pair right.
func TestSeedSmtpfExactCodes(t *testing.T) {
	for _, s := range readSeedLines(t, "smtpf.txt") {
		ms, err := IdentifyText(s.line)
		if err != nil || len(ms) == 0 {
			continue // reported by TestSeedRepliesIdentify
		}
		if !ms[0].Exact {
			t.Errorf("IdentifyText(%q)[0] = %s with codes %d %s, not exact", s.line, ms[0].Entry.Name, ms[0].Entry.Code, ms[0].Entry.Enhanced)
		}
	}
}

// TestSeedRoundTrip checks a reply built from the identified entry with the
// captured arguments formats back to the seed line's text.
func TestSeedRoundTrip(t *testing.T) {
	for _, file := range []string{"smtpf.txt", "postfix.txt"} {
		for _, s := range readSeedLines(t, file) {
			r, err := Parse(s.line)
			if err != nil || strings.Contains(s.line, "\r\n") {
				continue
			}
			ms := Identify(r)
			if len(ms) == 0 || !ms[0].Exact || ms[0].Entry.AnyCode || len(ms[0].Entry.Alt) > 0 ||
				r.Code() != ms[0].Entry.Code || r.Enhanced() != ms[0].Entry.Enhanced {
				continue // other codes or wording than the entry's own
			}
			got := ms[0].Entry.Reply(ms[0].Args...).Error()
			if trimEnd(got) != trimEnd(s.line) {
				t.Errorf("%s.Reply(%q) = %q, want %q", ms[0].Entry.Name, ms[0].Args, got, s.line)
			}
		}
	}
}
