package uri

import (
	"bytes"

	"github.com/smtppolicy/smtppolicy/internal/ascii"
)

// maxHTMLBuf bounds the HTML scanner's buffer: one token (a comment, a run
// of text, a tag with its attributes) larger than this ends HTML parsing of
// the part, and the rest is scanned as plain text.
const maxHTMLBuf = 1 << 20

// urlAttr handles one URL attribute (where is its lower-cased name) of a tag
// that is not <base>.
func (c *collector) urlAttr(where string, v, base []byte) {
	switch where {
	case "style":
		c.scanText(v, where)
	case "content":
		// <meta http-equiv="refresh" content="0; url=http://...">
		if i := indexFold(v, "url="); i >= 0 {
			c.attrURL(v[i+4:], where, base)
		}
	case "srcset", "imagesrcset":
		for f := range bytes.SplitSeq(v, []byte(",")) {
			f = bytes.TrimSpace(f)
			if i := bytes.IndexAny(f, " \t\n"); i >= 0 {
				f = f[:i]
			}
			c.attrURL(f, where, base)
		}
	default:
		c.attrURL(v, where, base)
	}
}

// baseHost records a <base href> and returns its host for relative links.
func (c *collector) baseHost(v []byte) []byte {
	v = cleanAttrURL(v)
	_, rest, ok := splitScheme(v)
	if !ok || len(rest) < 2 || !isSlash(rest[0]) || !isSlash(rest[1]) {
		return nil
	}
	h := authorityHost(trimSlashes(rest))
	c.add(KindBase, h, v, "href")
	return bytes.Clone(h)
}

// cleanAttrURL strips what browsers strip from a URL attribute: leading and
// trailing spaces and every tab and newline inside.
func cleanAttrURL(v []byte) []byte {
	v = bytes.TrimSpace(v)
	if !hasTabOrNewline(v) {
		return v
	}
	out := make([]byte, 0, len(v))
	for _, ch := range v {
		if ch != '\t' && ch != '\r' && ch != '\n' {
			out = append(out, ch)
		}
	}
	return out
}

// hasTabOrNewline reports a tab, CR or LF in v (bytes.IndexAny builds a
// set per call, which costs more than the usual short URL).
func hasTabOrNewline(v []byte) bool {
	for _, c := range v {
		if c == '\t' || c == '\r' || c == '\n' {
			return true
		}
	}
	return false
}

// trimSlashes drops the slashes and backslashes that start v.
func trimSlashes(v []byte) []byte {
	for len(v) > 0 && isSlash(v[0]) {
		v = v[1:]
	}
	return v
}

// splitScheme splits "scheme:rest"; ok is false for a relative reference.
func splitScheme(v []byte) (scheme string, rest []byte, ok bool) {
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if ch == ':' {
			if i == 0 {
				return "", v, false
			}
			return schemeName(v[:i]), v[i+1:], true
		}
		if !isSchemeChar(ch) && ch != '.' {
			return "", v, false
		}
		if i == 0 && !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z') {
			return "", v, false
		}
	}
	return "", v, false
}

// schemeName lower-cases a scheme, without allocating for the usual ones.
func schemeName(b []byte) string {
	for _, s := range [...]string{"http", "https", "mailto", "ftp", "javascript", "data", "cid", "tel"} {
		if bytes.EqualFold(b, []byte(s)) {
			return s
		}
	}
	return string(bytes.ToLower(b))
}

// special lists the schemes whose URLs browsers read with or without the
// two slashes ("http:evil.example" goes to evil.example).
func special(scheme string) bool {
	switch scheme {
	case "http", "https", "ftp", "ws", "wss":
		return true
	}
	return false
}

// attrURL handles one URL attribute value.
func (c *collector) attrURL(v []byte, where string, base []byte) {
	v = cleanAttrURL(v)
	if len(v) == 0 {
		return
	}
	if len(v) >= 2 && isSlash(v[0]) && isSlash(v[1]) {
		c.add(KindURL, authorityHost(trimSlashes(v)), v, where)
		return
	}
	scheme, rest, ok := splitScheme(v)
	if !ok {
		if ascii.HasPrefixFold(v, "www.") {
			c.add(KindWWW, hostEnd(v), v, where)
			return
		}
		if base != nil {
			c.add(KindBase, base, v, where)
		}
		return
	}
	switch scheme {
	case "mailto":
		for addr := range bytes.SplitSeq(rest, []byte(",")) {
			if q := bytes.IndexByte(addr, '?'); q >= 0 {
				addr = addr[:q]
			}
			if at := bytes.LastIndexByte(addr, '@'); at >= 0 {
				c.add(KindMail, hostEnd(addr[at+1:]), v, where)
			}
		}
	case "javascript", "vbscript", "data":
		c.scanText(rest, where)
	case "tel", "sms", "cid", "mid", "about", "callto", "skype":
	default:
		if len(rest) >= 2 && isSlash(rest[0]) && isSlash(rest[1]) || special(scheme) {
			c.add(KindURL, authorityHost(trimSlashes(rest)), v, where)
		}
	}
}
