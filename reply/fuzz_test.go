package reply

import (
	"strings"
	"testing"
)

// squash is the text of a reply with spaces removed: folding moves line
// breaks to spaces and may split long words, so a formatted and re-parsed
// reply keeps its text up to spaces and line breaks.
func squash(r Reply) string {
	return strings.ReplaceAll(strings.Join(r.Text(), ""), " ", "")
}

func addSeedCorpus(f *testing.F) {
	for _, name := range []string{"smtpf.txt", "postfix.txt", "barracuda.txt"} {
		for _, s := range readSeedLines(f, name) {
			f.Add(s.line)
		}
	}
	for _, s := range []string{"", "550", "550-", "550-a\n550 b", "600 x", "550 5.7.1000 x", "550 4.7.1 x",
		"250-a\r\n250-5.0.0\r\n250 b", "550 5.1.1 " + strings.Repeat("long ", 200), "550 " + strings.Repeat("x", 2000),
		"\x00\r\n", "550 \x00\x01\x7f\xff"} {
		f.Add(s)
	}
}

// FuzzParse checks Parse never panics, and that a parsed reply formats to
// valid wire syntax that parses back to the same codes and text.
func FuzzParse(f *testing.F) {
	addSeedCorpus(f)
	f.Fuzz(func(t *testing.T, in string) {
		r, err := Parse(in)
		if err != nil {
			if r.Code() != 0 {
				t.Fatalf("Parse(%q) returned a reply with error %v", in, err)
			}
			return
		}
		// What was received is a piece of the input and parses the same.
		raw := r.Received()
		if !strings.Contains(in, raw) || len(r.ReceivedText()) != len(r.Text()) {
			t.Fatalf("Parse(%q).Received() = %q, ReceivedText %q, Text %q", in, raw, r.ReceivedText(), r.Text())
		}
		if back, err := Parse(raw); err != nil || back.Code() != r.Code() || back.Enhanced() != r.Enhanced() || strings.Join(back.Text(), "\n") != strings.Join(r.Text(), "\n") {
			t.Fatalf("Parse(Received() %q) = %v, %v", raw, back, err)
		}
		// RFC 5321 4.2 and RFC 3463 2.
		if c := r.Code(); c < 200 || c > 559 || c/10%10 > 5 {
			t.Fatalf("Parse(%q) accepted code %d", in, c)
		}
		if e := r.Enhanced(); !e.IsZero() {
			if _, err := ParseEnhanced(e.String()); err != nil {
				t.Fatalf("Parse(%q) accepted enhanced code %v: %v", in, e, err)
			}
		}
		wire := r.String()
		checkWire(t, wire)
		checkLines(t, r)
		again, err := Parse(wire)
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))) = %v; wire %q", in, err, wire)
		}
		if again.Code() != r.Code() || again.Enhanced() != r.Enhanced() {
			t.Fatalf("codes %d %s became %d %s; wire %q", r.Code(), r.Enhanced(), again.Code(), again.Enhanced(), wire)
		}
		if squash(again) != squash(r) {
			t.Fatalf("text %q became %q; wire %q", r.Text(), again.Text(), wire)
		}
		_ = Identify(r)
		_ = Explain(r).String()
	})
}

// FuzzFormat checks replies with hostile arguments always format as one
// valid reply: CRLF lines of at most 512 octets, one code, no injected line.
func FuzzFormat(f *testing.F) {
	f.Add("mail.example.net", "192.0.2.1", "zen.spamhaus.org")
	f.Add("evil\r\n250 2.0.0 ok", "\n554 5.7.1", "\x00\x1b[31m")
	f.Add(strings.Repeat("a", 600), strings.Repeat("b ", 400), "")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		replies := []Reply{
			HostBlacklisted(a, b),
			DNSBLListed(a, b, c),
			HeloInvalid(a),
			SPFMailResult(451, a, b, c, a, b, c),
			DNSBLBlocked(a, b, c),
			Rejected(a + b + c),
			Banner(a, true, b),
			RelayDenied(a).WithText(a, b, c),
		}
		if r, err := New(550, "5.7.1", a, b, c); err == nil {
			replies = append(replies, r)
		}
		for _, r := range replies {
			wire := string(r.AppendTo(nil))
			checkWire(t, wire)
			checkLines(t, r)
			p, err := Parse(wire)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", wire, err)
			}
			if p.Code() != r.Code() || p.Enhanced() != r.Enhanced() {
				t.Fatalf("Parse(%q) = %d %s, want %d %s", wire, p.Code(), p.Enhanced(), r.Code(), r.Enhanced())
			}
		}
	})
}
