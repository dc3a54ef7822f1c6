package uri

import (
	"strings"
	"testing"
)

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestExtractHTML(t *testing.T) {
	tests := []struct {
		name, html, want string
		where            string // Where of the first host, when not ""
	}{
		{"href", `<a href="http://evil.example.com/x">click</a>`, "evil.example.com/example.com", "href"},
		{"entities in url", `<a href="http&#58;//ent&#46;example&period;com/">x</a>`, "ent.example.com/example.com", "href"},
		{"img src", `<img src='https://img.example.net/p.gif'>`, "img.example.net/example.net", "src"},
		{"form action", `<form action="//form.example.org/post">`, "form.example.org/example.org", "action"},
		{"background", `<body background="http://bg.example.com/b.jpg">`, "bg.example.com/example.com", "background"},
		{"visible text", `<p>Go to www.text.example.com today</p>`, "www.text.example.com/example.com", "text"},
		{"text split by tags", `<p>visit <b>bold.example.com</b></p>`, "bold.example.com/example.com", "text"},
		{"base href", `<base href="http://base.example.com/"><a href="/rel">x</a>`, "base.example.com/example.com", "href"},
		{"no base, relative", `<a href="/rel/page.html">x</a><img src="pic.png">`, "", ""},
		{"tabs in url", "<a href=\"ht\ttp://tab.exa\nmple.com/\">x</a>", "tab.example.com/example.com", "href"},
		{"special scheme without slashes", `<a href="http:noslash.example.com">x</a>`, "noslash.example.com/example.com", "href"},
		{"mailto attribute", `<a href="mailto:a@m.example.com,b@n.example.org?subject=x">x</a>`, "m.example.com/example.com n.example.org/example.org", "href"},
		{"meta refresh", `<meta http-equiv="refresh" content="0; URL=http://refresh.example.com/">`, "refresh.example.com/example.com", "content"},
		{"srcset", `<img srcset="http://a.example.com/1.png 1x, http://b.example.com/2.png 2x">`, "a.example.com/example.com b.example.com/example.com", "srcset"},
		{"style url", `<div style="background:url(http://style.example.com/x.png)">`, "style.example.com/example.com", "style"},
		{"script not visible", `<script>var u = "http://script.example.com/";</script>`, "", ""},
		{"style not visible", `<style>.a{background:url(http://css.example.com/)}</style>`, "", ""},
		{"javascript href", `<a href="javascript:location='http://js.example.com/'">x</a>`, "js.example.com/example.com", "href"},
		{"tel and cid ignored", `<a href="tel:+15551234.567"><img src="cid:part1.abc@mx.example.com">`, "", ""},
		{"uppercase attribute", `<A HREF="HTTP://UP.EXAMPLE.COM/">x</A>`, "up.example.com/example.com", "href"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ExtractHTML(strings.NewReader(tt.html), Limits{})
			if err != nil {
				t.Fatalf("ExtractHTML(%q) error %v", tt.html, err)
			}
			if got := hostList(r.Hosts); got != tt.want {
				t.Errorf("ExtractHTML(%q) = %q, want %q", tt.html, got, tt.want)
			}
			if tt.where != "" && len(r.Hosts) > 0 && r.Hosts[0].Where != tt.where {
				t.Errorf("ExtractHTML(%q) where = %q, want %q", tt.html, r.Hosts[0].Where, tt.where)
			}
		})
	}
}

func TestExtractMIME(t *testing.T) {
	tests := []struct {
		name, msg, want string
		parts           int
	}{
		{"plain message", "Subject: x\n\nhello http://plain.example.com/\n", "plain.example.com/example.com", 1},
		{"quoted-printable soft break in url",
			"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nsee http://soft=\nbreak.example=2Ecom/x=3D1\n",
			"softbreak.example.com/example.com", 1},
		{"malformed quoted-printable keeps going",
			"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nbad =ZZ escape and a lone = sign\nthen http://after=2Ebad.example.com/\n",
			"after.bad.example.com/example.com", 1},
		{"base64",
			"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\naHR0cDovL2I2NC5leGFtcGxl\nLmNvbS8K\n",
			"b64.example.com/example.com", 1},
		{"charset utf-16",
			"Content-Type: text/plain; charset=utf-16le\nContent-Transfer-Encoding: base64\n\naAB0AHQAcAA6AC8ALwB1ADEANgAuAGUAeABhAG0AcABsAGUALgBjAG8AbQAvAA==\n",
			"u16.example.com/example.com", 1},
		{"charset latin1 idn",
			"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nhttp://b=FCcher.de/\n",
			"xn--bcher-kva.de/xn--bcher-kva.de", 1},
		{"multipart alternative",
			`Content-Type: multipart/alternative; boundary="b1"

preamble http://preamble.example.com/
--b1
Content-Type: text/plain

text http://one.example.com/
--b1
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<a href=3D"http://two.example.com/">x</a>
--b1--
epilogue http://epilogue.example.com/
`, "one.example.com/example.com two.example.com/example.com", 3},
		{"nested multipart and attached message",
			`Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

inner http://inner.example.com/
--inner--
--outer
Content-Type: image/png
Content-Transfer-Encoding: base64

aHR0cDovL2ltYWdlLmV4YW1wbGUuY29tLw==
--outer
Content-Type: message/rfc822

Subject: fwd
Content-Type: text/plain

attached http://attached.example.com/
--outer--
`, "inner.example.com/example.com attached.example.com/example.com", 6},
		{"unterminated multipart",
			"Content-Type: multipart/mixed; boundary=x\n\n--x\n\nfirst first.example.com\n--x\nContent-Type: text/html\n\n<a href=http://second.example.com>",
			"first.example.com/example.com second.example.com/example.com", 3},
		{"boundary look-alike in body",
			"Content-Type: multipart/mixed; boundary=x\n\n--x\n\n--xy http://keep.example.com/\n--x--\n",
			"keep.example.com/example.com", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, nl := range []string{"LF", "CRLF"} {
				msg := tt.msg
				if nl == "CRLF" {
					msg = crlf(msg)
				}
				r, err := Extract(strings.NewReader(msg), Limits{})
				if err != nil {
					t.Fatalf("Extract(%s) error %v", nl, err)
				}
				if got := hostList(r.Hosts); got != tt.want {
					t.Errorf("Extract(%s %q) = %q, want %q", nl, tt.name, got, tt.want)
				}
				if r.Parts != tt.parts {
					t.Errorf("Extract(%s %q) parts = %d, want %d", nl, tt.name, r.Parts, tt.parts)
				}
				if r.Truncated {
					t.Errorf("Extract(%s %q) truncated, want not", nl, tt.name)
				}
			}
		})
	}
}

func TestExtractPartAndWhere(t *testing.T) {
	msg := crlf(`Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/plain

http://a.example.com/
--b
Content-Type: text/html

<a href="http://b.example.com/">http://a.example.com/</a>
--b--
`)
	r, err := Extract(strings.NewReader(msg), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Hosts) != 2 || r.Hosts[0].Part != 2 || r.Hosts[0].Where != "text" || r.Hosts[1].Part != 3 || r.Hosts[1].Where != "href" {
		t.Errorf("Extract hosts = %+v, want a.example.com in part 2 text, b.example.com in part 3 href", r.Hosts)
	}
	if r.Mentions != 3 {
		t.Errorf("Extract mentions = %d, want 3", r.Mentions)
	}
}

func TestExtractBody(t *testing.T) {
	body := crlf("--b\nContent-Type: text/plain\n\nhttp://body.example.com/\n--b--\n")
	r, err := ExtractBody(`multipart/mixed; boundary="b"`, "", strings.NewReader(body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := hostList(r.Hosts); got != "body.example.com/example.com" {
		t.Errorf("ExtractBody = %q, want body.example.com/example.com", got)
	}
}

func TestLimits(t *testing.T) {
	t.Run("bytes", func(t *testing.T) {
		msg := "\n" + strings.Repeat("filler line\n", 1000) + "http://late.example.com/\n"
		r, _ := Extract(strings.NewReader(msg), Limits{MaxBytes: 4096})
		if len(r.Hosts) != 0 || !r.Truncated || r.Bytes > 4096+lineBuf {
			t.Errorf("Extract with MaxBytes 4096 = %q truncated %v bytes %d, want nothing, truncated", hostList(r.Hosts), r.Truncated, r.Bytes)
		}
	})
	t.Run("hosts", func(t *testing.T) {
		var b strings.Builder
		for i := range 50 {
			b.WriteString("http://h" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".example.com/\n")
		}
		r := ExtractText(b.String(), Limits{MaxHosts: 10})
		if len(r.Hosts) != 10 || !r.Truncated {
			t.Errorf("ExtractText with MaxHosts 10 = %d hosts truncated %v, want 10, truncated", len(r.Hosts), r.Truncated)
		}
	})
	t.Run("depth", func(t *testing.T) {
		var b strings.Builder
		for i := range 20 {
			b.WriteString("Content-Type: multipart/mixed; boundary=d" + string(rune('a'+i)) + "\n\n--d" + string(rune('a'+i)) + "\n")
		}
		b.WriteString("Content-Type: text/plain\n\nhttp://deep.example.com/\n")
		r, _ := Extract(strings.NewReader(b.String()), Limits{MaxDepth: 5})
		if len(r.Hosts) != 0 || !r.Truncated {
			t.Errorf("Extract 20 deep with MaxDepth 5 = %q truncated %v, want nothing, truncated", hostList(r.Hosts), r.Truncated)
		}
	})
	t.Run("parts", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("Content-Type: multipart/mixed; boundary=p\n\n")
		for i := range 30 {
			b.WriteString("--p\n\nhttp://p" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".example.com/\n")
		}
		r, _ := Extract(strings.NewReader(b.String()), Limits{MaxParts: 5})
		if len(r.Hosts) != 4 || !r.Truncated {
			t.Errorf("Extract 30 parts with MaxParts 5 = %d hosts truncated %v, want 4, truncated", len(r.Hosts), r.Truncated)
		}
	})
	t.Run("long line", func(t *testing.T) {
		msg := "\n" + strings.Repeat("x", 300<<10) + " http://after.example.com/\n"
		r, _ := Extract(strings.NewReader(msg), Limits{})
		if got := hostList(r.Hosts); got != "after.example.com/example.com" {
			t.Errorf("Extract after a 300 KB line = %q, want after.example.com", got)
		}
	})
}
