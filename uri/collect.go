package uri

import (
	"bytes"
	"strings"
	"unsafe"

	"github.com/smtppolicy/smtppolicy/internal/ascii"
)

// Limits bound the work and memory of one extraction; memory stays bounded
// whatever the message size. Zero fields take the defaults: 32 MiB read,
// MIME depth 10, 256 parts, 1000 hosts, 16 broken URLs.
type Limits struct {
	// MaxBytes is how many bytes of the message are read at most; the rest
	// is left unread and the result marked Truncated.
	MaxBytes int64
	// MaxDepth is how deep multiparts and attached messages are followed.
	MaxDepth int
	// MaxParts is how many MIME parts are looked at.
	MaxParts int
	// MaxHosts is how many distinct hosts are kept.
	MaxHosts int
	// MaxBroken is how many broken URLs are kept.
	MaxBroken int
}

// The limits used for zero fields.
const (
	defaultMaxBytes  = 32 << 20
	defaultMaxDepth  = 10
	defaultMaxParts  = 256
	defaultMaxHosts  = 1000
	defaultMaxBroken = 16
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = defaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	if l.MaxParts <= 0 {
		l.MaxParts = defaultMaxParts
	}
	if l.MaxHosts <= 0 {
		l.MaxHosts = defaultMaxHosts
	}
	if l.MaxBroken <= 0 {
		l.MaxBroken = defaultMaxBroken
	}
	return l
}

// Broken is a URL whose host cannot be a host: bad characters, an IPv4 form
// out of range, a label too long.
type Broken struct {
	URL  string // the URL as written, cut to 256 bytes
	Part int    // the MIME part it is in
	Err  error  // why the host is not one (ErrBadHost, ErrBadIP, ...)
}

// Result is what an extraction found.
type Result struct {
	// Hosts are the distinct hosts in order of first appearance.
	Hosts []Host
	// Broken lists URLs with hosts that cannot be parsed.
	Broken []Broken
	// Mentions counts every host mention, duplicates included.
	Mentions int
	// Parts counts the MIME parts looked at; Bytes the bytes read.
	Parts int
	Bytes int64
	// Truncated is set when a limit stopped the extraction early: bytes,
	// depth, parts, hosts or broken URLs.
	Truncated bool
}

// collector gathers hosts from the scanners, deduplicated and bounded.
type collector struct {
	x    *Extractor // its caches
	lim  Limits
	res  Result
	seen map[string]struct{}
	// oddSeen is set once seen holds a name without the shape of a domain
	// (tldShaped): until then a token without that shape cannot be in seen,
	// and the lookup is skipped.
	oddSeen bool
	// gen counts the changes to the result other than Mentions (hosts,
	// broken URLs, truncation): text scanned twice at one gen changes the
	// result the same way twice.
	gen    uint64
	part   int
	lower  [256]byte // scratch for lower-casing candidates
	inHTML bool
	// text, when set, is the buffer decoded text is scanned in, kept from
	// an earlier extraction; hosts, when set, the hosts' scratch, which
	// finish copies out.
	text  []byte
	hosts []Host
	// samples is the block the URL samples are copied into (sample).
	samples []byte
}

func (x *Extractor) newCollector(lim Limits) *collector {
	return &collector{x: x, lim: lim.withDefaults(), seen: make(map[string]struct{})}
}

const maxSample = 256

// sampleChunk is the size of the blocks samples are copied into: a few
// links' worth, so a small message makes one allocation for all of them,
// not one per host.
const sampleChunk = 256

// sample returns the start of b as a string. The string's bytes are in
// c.samples, which only ever grows by appending: bytes once handed out are
// never written again, and a full block is left to the strings in it.
func (c *collector) sample(b []byte) string {
	if len(b) > maxSample {
		b = b[:maxSample]
	}
	if len(b) == 0 {
		return ""
	}
	if cap(c.samples)-len(c.samples) < len(b) {
		c.samples = make([]byte, 0, sampleChunk)
	}
	n := len(c.samples)
	c.samples = append(c.samples, b...)
	return unsafe.String(&c.samples[n], len(b))
}

// add records a host mention. raw is the host as written; url is the text it
// was found in. Hosts that fail to parse count as broken only for URLs with a
// scheme: a bare word that is not a host is just a word.
func (c *collector) add(kind Kind, raw []byte, url []byte, where string) {
	if len(raw) == 0 {
		return
	}
	if _, ok := c.seen[string(raw)]; ok {
		c.res.Mentions++
		return
	}
	h, err := c.x.parseHost(raw)
	if err != nil {
		if kind == KindURL && err != ErrEmptyHost {
			c.gen++
			if len(c.res.Broken) >= c.lim.MaxBroken {
				c.res.Truncated = true
				return
			}
			c.res.Broken = append(c.res.Broken, Broken{URL: c.sample(url), Part: c.part, Err: err})
		}
		return
	}
	if !h.IsIP() && strings.IndexByte(h.Name, '.') < 0 {
		return // a single label (localhost, intranet) is no Internet host
	}
	if (kind == KindBare || kind == KindMail || kind == KindWWW) && h.Domain == "" {
		return
	}
	c.res.Mentions++
	if _, ok := c.seen[h.Name]; ok {
		return
	}
	c.gen++
	if len(c.res.Hosts) >= c.lim.MaxHosts {
		c.res.Truncated = true
		return
	}
	if c.res.Hosts == nil {
		c.res.Hosts = c.hosts[:0]
		if c.res.Hosts == nil {
			c.res.Hosts = make([]Host, 0, 4) // most messages link to a few hosts
		}
	}
	c.seen[h.Name] = struct{}{}
	c.oddSeen = c.oddSeen || !tldShaped(h.Name)
	if h.Name != string(raw) {
		c.seen[string(raw)] = struct{}{}
		c.oddSeen = c.oddSeen || !tldShaped(raw)
	}
	h.Kind, h.Part, h.Where, h.URL = kind, c.part, where, c.sample(url)
	c.res.Hosts = append(c.res.Hosts, h)
}

// tokenChar marks the bytes that may be part of a URL or domain in text:
// everything printable except the characters that delimit URLs in prose.
var tokenChar = func() (t [256]bool) {
	for c := 0x21; c < 256; c++ {
		t[c] = c != 0x7f
	}
	for _, c := range []byte("<>\"`{}|^") {
		t[c] = false
	}
	return t
}()

// authEnd marks the bytes that end a host in text: the URL delimiters and
// the punctuation that follows links in prose.
var authEnd = func() (t [256]bool) {
	for c := 0; c <= 0x20; c++ {
		t[c] = true
	}
	for _, c := range []byte("/\\?#,;()<>\"'`{}|^!*[]") {
		t[c] = true
	}
	t[0x7f] = true
	return t
}()

// leadTrim and trailTrim mark the punctuation taken off a token's ends:
// the brackets and quotes around links in prose, the full stop after one.
var leadTrim, trailTrim = byteSet("([{<'\"*`"), byteSet(".,;:!?)]}>'\"*`")

func byteSet(s string) (t [256]bool) {
	for i := 0; i < len(s); i++ {
		t[s[i]] = true
	}
	return t
}

// scanText finds hosts in decoded text. It looks for the two cues every link
// has, '.' and ':', with bytes.IndexByte, and parses only the token around a
// cue; the rest of the text is skipped at memchr speed.
func (c *collector) scanText(b []byte, where string) {
	if len(b) < 3 {
		return // no token this short is looked at
	}
	pos := 0
	nextDot, nextColon := -1, -1
	for pos < len(b) {
		var i int
		if len(b)-pos <= shortText {
			// Two IndexByte calls cost more than a loop over a short rest
			// (the text between two tags, an attribute).
			i = pos
			for i < len(b) && b[i] != '.' && b[i] != ':' {
				i++
			}
		} else {
			if nextDot < pos {
				nextDot = indexFrom(b, pos, '.')
			}
			if nextColon < pos {
				nextColon = indexFrom(b, pos, ':')
			}
			i = min(nextDot, nextColon)
		}
		if i >= len(b) {
			return
		}
		s := i
		// A word ending a sentence ("order no.") is the commonest token:
		// with no other dot, colon or '@' it holds no host, and while no
		// name without a domain's shape is seen (oddSeen), nothing to count.
		sentenceEnd := b[i] == '.' && !c.oddSeen
		for s > pos && tokenChar[b[s-1]] {
			s--
			if cueByte[b[s]] {
				sentenceEnd = false
			}
		}
		e := i + 1
		for e < len(b) && tokenChar[b[e]] {
			e++
		}
		if !sentenceEnd || e != i+1 {
			c.token(b[s:e], where)
		}
		pos = e
	}
}

// cueByte marks the bytes some host in a token needs besides a final dot.
var cueByte = byteSet(".:@")

// shortText is the length below which scanText looks for its cues with a
// loop rather than bytes.IndexByte.
const shortText = 32

// indexFrom returns the index of the first ch in b from pos, or len(b).
func indexFrom(b []byte, pos int, ch byte) int {
	if i := bytes.IndexByte(b[pos:], ch); i >= 0 {
		return pos + i
	}
	return len(b)
}

// token examines one whitespace-delimited candidate.
func (c *collector) token(t []byte, where string) {
	for len(t) > 0 && leadTrim[t[0]] {
		t = t[1:]
	}
	for len(t) > 0 && trailTrim[t[len(t)-1]] {
		t = t[:len(t)-1]
	}
	if len(t) < 3 {
		return
	}
	if c.schemeURLs(t, where) {
		return
	}
	if at := bytes.LastIndexByte(t, '@'); at >= 0 {
		c.mailToken(t, at, where)
		return
	}
	if ascii.HasPrefixFold(t, "www.") {
		c.add(KindWWW, hostEnd(t), t, where)
		return
	}
	c.bare(t, where)
}

// schemeURLs handles every "scheme://" in the token (a redirector's target
// is a second URL in the first one's query). It reports whether the token
// held any.
func (c *collector) schemeURLs(t []byte, where string) bool {
	found := false
	from := 0
	for {
		k := bytes.IndexByte(t[from:], ':')
		if k < 0 {
			return found
		}
		k += from
		from = k + 1
		if k+2 >= len(t) || !isSlash(t[k+1]) || !isSlash(t[k+2]) {
			continue
		}
		j := k
		for j > 0 && isSchemeChar(t[j-1]) {
			j--
		}
		if k-j < 2 {
			continue
		}
		rest := t[k+3:]
		for len(rest) > 0 && isSlash(rest[0]) {
			rest = rest[1:]
		}
		found = true
		c.add(KindURL, authorityHost(rest), t[j:], where)
	}
}

func isSlash(c byte) bool { return c == '/' || c == '\\' }

func isSchemeChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-'
}

// authorityHost returns the host of the authority at the start of s: up to a
// delimiter, after the last '@' (userinfo), without a port.
func authorityHost(s []byte) []byte {
	end := len(s)
	for i := 0; i < len(s); i++ {
		if authEnd[s[i]] && !(s[i] == '[' && i == 0) && !(s[i] == ']' && len(s) > 0 && s[0] == '[') {
			end = i
			break
		}
	}
	s = s[:end]
	if at := bytes.LastIndexByte(s, '@'); at >= 0 {
		s = s[at+1:]
	}
	if len(s) > 0 && s[0] == '[' {
		if i := bytes.IndexByte(s, ']'); i >= 0 {
			return s[:i+1]
		}
		return s
	}
	if i := bytes.LastIndexByte(s, ':'); i >= 0 && allDigitsOrEmpty(string(s[i+1:])) {
		s = s[:i]
	}
	return s
}

// hostEnd returns the host of a schemeless www. or bare token.
func hostEnd(t []byte) []byte {
	for i := 0; i < len(t); i++ {
		if authEnd[t[i]] || t[i] == ':' || t[i] == '@' {
			return t[:i]
		}
	}
	return t
}

// mailToken takes the domain of a mail address, with or without mailto:.
// Tokens that look like message IDs (<20240101.123@mx.example>) are not
// addresses anyone writes to, and are skipped.
func (c *collector) mailToken(t []byte, at int, where string) {
	local := t[:at]
	explicit := false
	if i := indexFold(local, "mailto:"); i >= 0 {
		local = local[i+7:]
		explicit = true
	}
	if len(local) == 0 || !explicit && messageIDLike(local) {
		return
	}
	dom := hostEnd(t[at+1:])
	if !explicit && !c.oddSeen && !tldShaped(dom) {
		return // not in seen, and plausibleDomain would say no
	}
	if _, ok := c.seen[string(dom)]; ok {
		c.res.Mentions++
		return
	}
	if !explicit && !c.plausibleDomain(dom, false) {
		return
	}
	c.add(KindMail, dom, t, where)
}

// messageIDLike tells a message ID's left part from a mailbox: IDs are long,
// digit-heavy, or carry characters people do not put in addresses.
func messageIDLike(local []byte) bool {
	if len(local) > 40 {
		return true
	}
	digits, seps := 0, 0
	for _, c := range local {
		switch {
		case '0' <= c && c <= '9':
			digits++
		case c == '.' || c == '-':
			seps++
		case c == '$' || c == '=' || c == '%':
			return true
		}
	}
	return digits >= 6 && digits*2 >= len(local) || seps >= 3 && digits >= 4
}

// fileExt lists top-level domains that are also common file extensions; a
// bare "name.ext" with one of them is read as a file name.
var fileExt = map[string]bool{"zip": true, "mov": true, "md": true, "py": true, "pl": true, "sh": true, "rs": true, "cc": true, "cs": true, "ps": true, "ai": true, "so": true, "sb": true, "st": true}

// bare handles a schemeless token that may be a domain.
func (c *collector) bare(t []byte, where string) {
	h := hostEnd(t)
	if !c.oddSeen && !tldShaped(h) {
		return // not in seen, and plausibleDomain would say no
	}
	if _, ok := c.seen[string(h)]; ok {
		c.res.Mentions++
		return
	}
	if !c.plausibleDomain(h, true) {
		return
	}
	c.add(KindBare, h, t, where)
}

// tldShaped reports whether h ends in a dot and a top-level label of two
// ASCII letters or more, which plausibleDomain requires first.
func tldShaped[T string | []byte](h T) bool {
	i := len(h) - 1
	for ; i >= 0 && h[i] != '.'; i-- {
		if ch := h[i]; !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z') {
			return false
		}
	}
	return i > 0 && len(h)-i-1 >= 2
}

// plausibleDomain is the cheap test a bare token must pass before a public
// suffix lookup: two labels or more, a top-level label of two letters or
// more, all one case (Hello.World is prose), a known public suffix, and not
// a file name.
func (c *collector) plausibleDomain(h []byte, strict bool) bool {
	dot := bytes.LastIndexByte(h, '.')
	if dot <= 0 || len(h)-dot-1 < 2 || len(h) > 253 {
		return false
	}
	tld := h[dot+1:]
	lower, upper := false, false
	for _, ch := range tld {
		switch {
		case 'a' <= ch && ch <= 'z':
			lower = true
		case 'A' <= ch && ch <= 'Z':
			upper = true
		default:
			return false
		}
	}
	if strict && lower && upper {
		return false
	}
	for _, ch := range h {
		if !(ch >= 0x80 || ch == '.' || ch == '-' || ch == '_' || '0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z') {
			return false
		}
	}
	var buf [253]byte
	n := copy(buf[:], h)
	for i := 0; i < n; i++ {
		if 'A' <= buf[i] && buf[i] <= 'Z' {
			buf[i] += 'a' - 'A'
		}
	}
	// The file-name test reads the buffer: a string is made only for the
	// suffix lookup.
	if strict && fileExt[string(buf[n-len(tld):n])] && bytes.Count(buf[:n], []byte(".")) == 1 {
		return false
	}
	return c.x.knownSuffix(buf[:n])
}

// indexFold finds an ASCII lower-case needle in b, ignoring case.
func indexFold(b []byte, needle string) int {
	for i := 0; i+len(needle) <= len(b); i++ {
		if ascii.HasPrefixFold(b[i:], needle) {
			return i
		}
	}
	return -1
}
