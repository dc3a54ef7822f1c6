package reply

import (
	"strconv"
	"strings"
	"testing"
)

// wireFromLines writes r's codes before each of r.Lines() the way a server
// library that takes text lines (go-smtp) does.
func wireFromLines(r Reply) string {
	var b strings.Builder
	lines := r.Lines()
	for i, l := range lines {
		b.WriteString(strconv.Itoa(r.Code()))
		if i < len(lines)-1 {
			b.WriteByte('-')
		} else {
			b.WriteByte(' ')
		}
		if !r.Enhanced().IsZero() {
			b.WriteString(r.Enhanced().String())
			b.WriteByte(' ')
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.String()
}

// checkLines fails unless r.Lines() with the codes in front is what
// AppendTo writes (up to the space AppendTo leaves out before an empty
// text).
func checkLines(t *testing.T, r Reply) {
	t.Helper()
	got := strings.ReplaceAll(wireFromLines(r), " \r\n", "\r\n")
	want := strings.ReplaceAll(string(r.AppendTo(nil)), " \r\n", "\r\n")
	if got != want {
		t.Fatalf("Lines() = %q: written with codes %q, AppendTo writes %q", r.Lines(), got, want)
	}
}

func TestLinesMatchWire(t *testing.T) {
	long := strings.Repeat("word ", 150)
	replies := []Reply{
		RelayDenied("eve@elsewhere.example"),
		MustNew(250, "", "first", "second", ""),
		MustNew(550, "5.7.1", long, "a\r\nb"),
		MustNew(421, "", "0.0.0 not an enhanced code"),
		MustNew(554, "5.7.1", strings.Repeat("x", 1200)),
		RelayDenied("x").WithText("one", "two"),
	}
	if p, err := Parse("550-5.1.1 one\r\n550 5.1.1 two\r\n"); err == nil {
		replies = append(replies, p)
	} else {
		t.Fatal(err)
	}
	for _, e := range Catalog() {
		args := make([]string, len(e.Params))
		for i := range args {
			args[i] = "arg" + strconv.Itoa(i) + " " + long[:40*i]
		}
		replies = append(replies, e.Reply(args...))
	}
	for _, r := range replies {
		checkLines(t, r)
	}
	if got := (Reply{}).Lines(); got != nil {
		t.Errorf("Reply{}.Lines() = %q, want nil", got)
	}
	if got := MustNew(550, "5.7.1", long).Lines(); len(got) < 2 {
		t.Errorf("a %d-byte text gave %d lines, want it folded", len(long), len(got))
	}
}
