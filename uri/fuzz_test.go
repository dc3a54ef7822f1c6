package uri

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/publicsuffix"
)

// FuzzExtract feeds arbitrary messages to the MIME walker and extractors:
// they must never panic, never read past MaxBytes, never keep more than
// the limits allow, and an Extractor that remembers earlier messages must
// find what one that remembers nothing finds.
func FuzzExtract(f *testing.F) {
	seeds := []string{
		"Subject: x\r\n\r\nhttp://a.example.com/\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<a href=http://x.example.com>x</a>\r\n--b--\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b--\r\n",
		"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhttp://a=\r\nb.example.com/ =ZZ =\r\n",
		"Content-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!aGVsbG8=aGk=\r\n",
		"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: text/html\r\n\r\n<base href=//b.example.com><img src=x>",
		"Content-Type: text/html; charset=iso-2022-jp\r\n\r\n<a href='http:\\\\0x7f.1'>",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	lim := Limits{MaxBytes: 4096, MaxDepth: 4, MaxParts: 8, MaxHosts: 5, MaxBroken: 3}
	x := NewExtractor()
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, err := x.Extract(bytes.NewReader(msg), lim)
		if err != nil {
			t.Fatalf("Extract error %v on a bytes.Reader", err)
		}
		if r.Bytes > lim.MaxBytes+lineBuf || r.Bytes > int64(len(msg)) {
			t.Fatalf("Extract read %d bytes of %d, limit %d", r.Bytes, len(msg), lim.MaxBytes)
		}
		if r.Parts > lim.MaxParts+1 || len(r.Hosts) > lim.MaxHosts || len(r.Broken) > lim.MaxBroken {
			t.Fatalf("Extract = %d parts, %d hosts, %d broken; over limits %+v", r.Parts, len(r.Hosts), len(r.Broken), lim)
		}
		checkHosts(t, r.Hosts)
		if fresh, _ := Extract(bytes.NewReader(msg), lim); !reflect.DeepEqual(r, fresh) {
			t.Fatalf("Extract(%q) with caches = %+v\nwithout = %+v", msg, r, fresh)
		}
		if _, err := x.ExtractHTML(bytes.NewReader(msg), lim); err != nil {
			t.Fatalf("ExtractHTML error %v on a bytes.Reader", err)
		}
	})
}

// FuzzExtractText checks the text scanner and host normaliser: every host
// kept is normalised, and normalising it again changes nothing.
func FuzzExtractText(f *testing.F) {
	for _, s := range []string{
		"http://bank.example.com@evil.example.net/ www.x.example.org a.co.uk",
		"http://[::ffff:1.2.3.4]:80/ http://0x7f.1 http://%41.example.com./",
		"mailto:a@b.example.com?x=y <1234567.89@id.example.com> e.g. 1.2.3",
		"http://bücher。de\\x http:///a.example.com,hxxp://b.example.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := ExtractText(s, Limits{MaxHosts: 20})
		if len(r.Hosts) > 20 {
			t.Fatalf("ExtractText kept %d hosts, limit 20", len(r.Hosts))
		}
		checkHosts(t, r.Hosts)
	})
}

func checkHosts(t *testing.T, hs []Host) {
	t.Helper()
	seen := map[string]bool{}
	for _, h := range hs {
		if seen[h.Name] {
			t.Fatalf("host %q kept twice", h.Name)
		}
		seen[h.Name] = true
		if len(h.URL) > maxSample {
			t.Fatalf("host %q URL sample %d bytes", h.Name, len(h.URL))
		}
		again, err := ParseHost(h.Name)
		if err != nil || again.Name != h.Name || again.Domain != h.Domain {
			t.Fatalf("ParseHost(%q) = %q/%q, %v; want it unchanged (%q)", h.Name, again.Name, again.Domain, err, h.Domain)
		}
		if h.IsIP() && h.Domain != "" || !h.IsIP() && h.Domain == "" && !isSuffix(h.Name) || h.Name != strings.ToLower(h.Name) {
			t.Fatalf("host %+v: IP and domain disagree, or not lower case", h)
		}
	}
}

// isSuffix reports a name that is itself a public suffix (co.uk, github.io),
// the only names without a registered domain.
func isSuffix(name string) bool {
	ps, _ := publicsuffix.PublicSuffix(name)
	return ps == name
}
