package uri

import (
	"bytes"
	"errors"
	"io"

	"golang.org/x/net/html"
)

// The reference HTML scanner: the tokenizer-based implementation that
// scanHTML replaced, kept so tests can check that both find the same hosts.

// refURLAttrs names the attributes whose values are URLs, with the string
// used for Host.Where.
var refURLAttrs = map[string]string{
	"href": "href", "src": "src", "action": "action", "background": "background",
	"formaction": "formaction", "cite": "cite", "data": "data", "poster": "poster",
	"longdesc": "longdesc", "lowsrc": "lowsrc", "dynsrc": "dynsrc", "codebase": "codebase",
	"usemap": "usemap", "manifest": "manifest", "icon": "icon", "ping": "ping",
	"xlink:href": "xlink:href", "srcset": "srcset", "content": "content", "style": "style",
	"imagesrcset": "imagesrcset", "archive": "archive",
}

// scanHTMLReference finds hosts in an HTML part with x/net/html's tokenizer.
func (c *collector) scanHTMLReference(r io.Reader) error {
	z := html.NewTokenizer(r)
	z.SetMaxBuf(maxHTMLBuf)
	var base []byte // the <base href> host, when one was given
	skip := 0       // inside <script> or <style>: not visible text
	for {
		switch z.Next() {
		case html.ErrorToken:
			err := z.Err()
			if err == io.EOF {
				return nil
			}
			if errors.Is(err, html.ErrBufferExceeded) {
				return c.scanTextReader(r)
			}
			return err
		case html.TextToken:
			if skip == 0 {
				c.scanText(z.Text(), "text")
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			raw := z.Raw()
			name := refRawTagName(raw)
			isBase := name == "base"
			if name == "script" || name == "style" {
				skip++
			}
			if base == nil && !isBase && bytes.IndexAny(raw, ".:&\\") < 0 {
				continue
			}
			_, more := z.TagName()
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				where, ok := refURLAttrs[string(k)]
				if !ok {
					continue
				}
				if isBase && where == "href" {
					base = c.baseHost(v)
					continue
				}
				c.urlAttr(where, v, base)
			}
		case html.EndTagToken:
			name := refRawTagName(z.Raw())
			if (name == "script" || name == "style") && skip > 0 {
				skip--
			}
		}
	}
}

// refRawTagName returns the lower-cased name of the tag in raw when it is
// one the reference scanner acts on, else "".
func refRawTagName(raw []byte) string {
	i := 1
	if i < len(raw) && raw[i] == '/' {
		i++
	}
	j := i
	for j < len(raw) && raw[j] != ' ' && raw[j] != '>' && raw[j] != '/' && raw[j] != '\t' && raw[j] != '\n' && raw[j] != '\r' && raw[j] != '\f' {
		j++
	}
	n := raw[i:j]
	for _, t := range [...]string{"base", "script", "style"} {
		if bytes.EqualFold(n, []byte(t)) {
			return t
		}
	}
	return ""
}
