package uri

import (
	"fmt"
	"strings"
	"testing"
)

// hostList renders hosts as "name/domain" for comparison.
func hostList(hs []Host) string {
	var b strings.Builder
	for i, h := range hs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s/%s", h.Name, h.Domain)
	}
	return b.String()
}

func TestExtractText(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string // space-separated name/domain pairs in order
	}{
		{"scheme", "Visit http://www.example.com/offer today", "www.example.com/example.com"},
		{"https with port and path", "go to https://shop.example.co.uk:8443/a?b=c#d.", "shop.example.co.uk/example.co.uk"},
		{"userinfo trick", "http://bank.example.com@evil.example.net/login", "evil.example.net/example.net"},
		{"userinfo with password", "ftp://user:pw@files.example.org/x", "files.example.org/example.org"},
		{"schemeless www", "see www.Example.COM/offer, now", "www.example.com/example.com"},
		{"bare domain", "Buy at cheap-pills.com today", "cheap-pills.com/cheap-pills.com"},
		{"bare upper case", "BUY AT CHEAP-PILLS.COM!", "cheap-pills.com/cheap-pills.com"},
		{"bare with path", "example.org/signup?x=1", "example.org/example.org"},
		{"mailto", "mailto:sales@shop.example.co.uk?subject=hi", "shop.example.co.uk/example.co.uk"},
		{"plain address", "write to john.smith@example.net.", "example.net/example.net"},
		{"trailing punctuation", "(http://paren.example.com).", "paren.example.com/example.com"},
		{"quoted", `"http://quoted.example.com/"`, "quoted.example.com/example.com"},
		{"angle brackets", "<https://angle.example.com/x>", "angle.example.com/example.com"},
		{"trailing dot", "http://EVIL.example.com./", "evil.example.com/example.com"},
		{"percent-encoded host", "http://%65vil.example.com/", "evil.example.com/example.com"},
		{"decimal IPv4", "http://2130706433/", "127.0.0.1/"},
		{"hex IPv4", "http://0x7f000001/", "127.0.0.1/"},
		{"short hex IPv4", "http://0x7f.1/", "127.0.0.1/"},
		{"octal IPv4", "http://0177.0.0.01/", "127.0.0.1/"},
		{"dotted IPv4", "http://192.0.2.7/x", "192.0.2.7/"},
		{"IPv6 literal", "http://[2001:DB8::1]:8080/x", "2001:db8::1/"},
		{"IPv4-mapped IPv6", "http://[::ffff:192.0.2.1]/", "192.0.2.1/"},
		{"IDN", "http://bücher.de/", "xn--bcher-kva.de/xn--bcher-kva.de"},
		{"IDN full-width dot", "http://bücher。de/", "xn--bcher-kva.de/xn--bcher-kva.de"},
		{"backslashes", `http:\\back.example.com\path`, "back.example.com/example.com"},
		{"extra slashes", "http:///slashes.example.com/", "slashes.example.com/example.com"},
		{"redirect target", "http://r.example.com/?u=http://target.example.org/x", "r.example.com/example.com target.example.org/example.org"},
		{"comma joined", "http://a.example.com,http://b.example.com", "a.example.com/example.com b.example.com/example.com"},
		{"dedup in order", "b.example.com a.example.com http://B.EXAMPLE.COM/", "b.example.com/example.com a.example.com/example.com"},
		{"private suffix", "https://foo.github.io/x", "foo.github.io/foo.github.io"},
		{"defanged scheme", "hxxp://defanged.example.com/", "defanged.example.com/example.com"},
		// Negatives.
		{"file name", "see report.pdf and image.png", ""},
		{"file name with tld ext", "read readme.md and setup.py, archive.zip", ""},
		{"version numbers", "version 1.2.3, Go1.26, v10.0.19045", ""},
		{"abbreviations", "e.g. i.e. U.S.A. etc.", ""},
		{"sentence without space", "the end.Next sentence. Hello.World", ""},
		{"message id", "<20240101123456.ABC123@mx.example.com>", ""},
		{"message id with $", "<abc$def@mail.example.com>", ""},
		{"message id hex", "<5f3a8c2e.1c69fb81.1234.abcd@mx.example.com>", ""},
		{"times and ratios", "at 10:30, ratio 3:1, note: done", ""},
		{"unknown tld", "foo.notatld", ""},
		{"single label url", "http://localhost/x", ""},
		{"bare IP is not a link", "server 192.0.2.1 answered", ""},
		{"empty host", "http:// and http:///", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ExtractText(tt.text, Limits{})
			if got := hostList(r.Hosts); got != tt.want {
				t.Errorf("ExtractText(%q) = %q, want %q", tt.text, got, tt.want)
			}
			if len(r.Broken) > 0 {
				t.Errorf("ExtractText(%q) broken = %v, want none", tt.text, r.Broken)
			}
		})
	}
}

func TestExtractTextBroken(t *testing.T) {
	tests := []struct {
		text string
		err  error
	}{
		{"http://300.1.1.1/", ErrBadIP},
		{"http://1.2.3.4.5/", ErrBadIP},
		{"http://0x1ffffffff/", ErrBadIP},
		{"http://bad%zzhost.example.com/", ErrBadHost},
		{"http://" + strings.Repeat("a", 64) + ".example.com/", ErrBadHost},
		{"http://[2001:db8::zz]/", ErrBadIP},
		{"http://under~score.example.com/", ErrBadHost},
	}
	for _, tt := range tests {
		r := ExtractText(tt.text, Limits{})
		if len(r.Hosts) != 0 || len(r.Broken) != 1 || r.Broken[0].Err != tt.err {
			t.Errorf("ExtractText(%q) = hosts %q broken %v, want one broken with %v", tt.text, hostList(r.Hosts), r.Broken, tt.err)
		}
	}
}

func TestHostDetails(t *testing.T) {
	r := ExtractText("a http://x.example.com/p b www.y.example.org c z.example.net d mailto:q@m.example.com", Limits{})
	want := []struct {
		name string
		kind Kind
		url  string
	}{
		{"x.example.com", KindURL, "http://x.example.com/p"},
		{"www.y.example.org", KindWWW, "www.y.example.org"},
		{"z.example.net", KindBare, "z.example.net"},
		{"m.example.com", KindMail, "mailto:q@m.example.com"},
	}
	if len(r.Hosts) != len(want) {
		t.Fatalf("ExtractText hosts = %q, want %d hosts", hostList(r.Hosts), len(want))
	}
	for i, w := range want {
		h := r.Hosts[i]
		if h.Name != w.name || h.Kind != w.kind || h.URL != w.url || h.Where != "text" || h.Part != 1 {
			t.Errorf("host %d = %+v, want name %q kind %v url %q where text part 1", i, h, w.name, w.kind, w.url)
		}
	}
}

func TestParseHost(t *testing.T) {
	tests := []struct {
		in, name, domain string
		err              error
	}{
		{"Example.COM.", "example.com", "example.com", nil},
		{"a.b.example.co.uk", "a.b.example.co.uk", "example.co.uk", nil},
		{"ÉXAMPLE.fr", "xn--xample-9ua.fr", "xn--xample-9ua.fr", nil},
		{"2130706433", "127.0.0.1", "", nil},
		{"0x7F.0.0.1", "127.0.0.1", "", nil},
		{"127.1", "127.0.0.1", "", nil},
		{"[::1]", "::1", "", nil},
		{"%31%32%37.0.0.1", "127.0.0.1", "", nil},
		{"co.uk", "co.uk", "", nil},
		{"", "", "", ErrEmptyHost},
		{"...", "", "", ErrEmptyHost},
		{"a..b.com", "", "", ErrBadHost},
		{"256.0.0.1", "", "", ErrBadIP},
		{"08.0.0.1", "", "", ErrBadIP},
		{"[192.0.2.1]", "", "", ErrBadIP},
	}
	for _, tt := range tests {
		h, err := ParseHost(tt.in)
		if err != tt.err || err == nil && (h.Name != tt.name || h.Domain != tt.domain) {
			t.Errorf("ParseHost(%q) = %q/%q, %v, want %q/%q, %v", tt.in, h.Name, h.Domain, err, tt.name, tt.domain, tt.err)
		}
	}
}
