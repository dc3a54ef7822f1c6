package reply

import (
	"strings"
	"testing"
)

// AppendText is the text Text gives, joined by the separator, in every
// form a reply takes: catalog, parsed from the wire, user-written.
func TestAppendText(t *testing.T) {
	parsed, err := Parse("450-4.2.0 first line\r\n450 4.2.0 second\x01line\r\n")
	if err != nil {
		t.Fatal(err)
	}
	replies := map[string]Reply{
		"parsed":    parsed,
		"user":      RelayDenied("a@b.example").WithText("one", "two\x00", ""),
		"user-one":  RelayDenied("a@b.example").WithText("just one"),
		"no text":   {},
		"arguments": RelayDenied("bob@example.org"),
	}
	for _, e := range Catalog() {
		args := make([]string, len(e.Params))
		for i := range args {
			args[i] = "arg\n" + strings.Repeat("x", i)
		}
		replies["catalog "+e.Name] = e.Reply(args...)
	}
	for name, r := range replies {
		for _, sep := range []string{"; ", "\n", ""} {
			want := "prefix:" + strings.Join(r.Text(), sep)
			if got := string(r.AppendText([]byte("prefix:"), sep)); got != want {
				t.Errorf("%s: AppendText(%q) = %q, want %q", name, sep, got, want)
			}
		}
	}
}
