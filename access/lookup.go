package access

import (
	"net/netip"
	"strings"
)

// Hit is the entry a lookup found: its key as stored (lower case, such as
// "connect:192.0.2") and its value.
type Hit struct {
	Key   string
	Value *Value
}

// Found reports whether the lookup found an entry.
func (h Hit) Found() bool { return h.Value != nil }

// Client is a client as the map sees it: its address and verified name.
type Client struct {
	IP   netip.Addr
	Name string // the forward-confirmed PTR name, or "" when unknown
}

// ipKey writes ip in the form keys use: dotted IPv4, full-form IPv6.
func ipKey(ip netip.Addr) string {
	var b [40]byte
	return string(appendIP(b[:0], ip.Unmap()))
}

// appendIPChain appends the IP chain: the full address, then one octet (or
// 16-bit group) fewer at a time.
func appendIPChain(dst []string, ipk string) []string {
	sep := byte('.')
	if strings.IndexByte(ipk, ':') >= 0 {
		sep = ':'
	}
	for s := ipk; s != ""; {
		dst = append(dst, s)
		i := strings.LastIndexByte(s, sep)
		if i < 0 {
			break
		}
		s = s[:i]
	}
	return dst
}

// appendDomainChain appends a host or domain name and its parents down to
// the top-level domain.
func appendDomainChain(dst []string, d string) []string {
	for s := d; s != ""; {
		dst = append(dst, s)
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	return dst
}

// ClientChain returns the keys tried for a client, most specific first,
// without the tag and without the bare default: the IP chain, "[ip]", then
// the name chain label by label.
func ClientChain(c Client) []string {
	return appendClientChain(nil, c)
}

func appendClientChain(dst []string, c Client) []string {
	bracket, name := clientParts(c)
	return appendClientParts(dst, bracket, name)
}

// clientParts returns the strings a client chain is cut from: "[ip]" (one
// allocation for it and the IP chain inside it) and the lower-case name,
// each "" when absent.
func clientParts(c Client) (bracket, name string) {
	if c.IP.IsValid() {
		var b [42]byte
		bracket = string(append(appendIP(append(b[:0], '['), c.IP.Unmap()), ']'))
	}
	if name = strings.TrimSuffix(strings.ToLower(c.Name), "."); name == "unknown" {
		name = ""
	}
	return bracket, name
}

func appendClientParts(dst []string, bracket, name string) []string {
	if bracket != "" {
		dst = appendIPChain(dst, bracket[1:len(bracket)-1])
		dst = append(dst, bracket)
	}
	if name != "" {
		dst = appendDomainChain(dst, name)
	}
	return dst
}

// HeloChain returns the keys tried for a HELO argument: an address literal's
// IP chain and bracketed form, or the name's domain chain.
func HeloChain(helo string) []string {
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(helo)), ".")
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		inner := strings.TrimPrefix(h[1:len(h)-1], "ipv6:")
		if a, err := netip.ParseAddr(inner); err == nil {
			ipk := ipKey(a)
			return append(appendIPChain(nil, ipk), "["+ipk+"]")
		}
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return appendIPChain(nil, ipKey(a))
	}
	if h == "" {
		return nil
	}
	return appendDomainChain(nil, h)
}

// MailKey returns the lower-case address used for lookups: "+detail" is
// stripped from the local part unless literalPlus is set.
func MailKey(local, domain string, literalPlus bool) (l, d string) {
	l, d = strings.ToLower(local), strings.TrimSuffix(strings.ToLower(domain), ".")
	if !literalPlus {
		if i := strings.IndexByte(l, '+'); i > 0 {
			l = l[:i]
		}
	}
	return l, d
}

// MailChain returns the keys tried for a mail address, most specific first,
// without the tag and the bare default: user@sub.dom.tld, the domain chain
// down to the top-level domain, then user@. The null sender has no keys.
func MailChain(local, domain string, literalPlus bool) []string {
	l, d := MailKey(local, domain, literalPlus)
	return appendMailChain(nil, l, d)
}

func appendMailChain(dst []string, l, d string) []string {
	if l == "" && d == "" {
		return dst
	}
	full := l + "@" + d // "user@" is its prefix: one allocation for both
	if d != "" {
		dst = append(dst, full)
		dst = appendDomainChain(dst, full[len(l)+1:])
	}
	if l != "" {
		dst = append(dst, full[:len(l)+1])
	}
	return dst
}

// chain is a lookup chain whose keys need no allocation: a client chain
// or any []string as it is, or a mail chain kept as its local part and
// its domain's chain, "local@" being joined to them in the lookup's own
// buffer rather than in a new string per address.
type chain struct {
	keys  []string // the keys; for a mail chain, the domain chain
	local string   // mail: the lower-case local part
	mail  bool
}

// mailKeys returns the chain of a lower-case address (MailKey), the domain
// chain cut into dst: local@domain, the domain chain, local@.
func mailKeys(dst []string, l, d string) chain {
	if d != "" {
		dst = appendDomainChain(dst, d)
	}
	return chain{keys: dst, local: l, mail: true}
}

// len returns the number of keys.
func (c *chain) len() int {
	n := len(c.keys)
	if c.mail && len(c.keys) > 0 {
		n++
	}
	if c.mail && c.local != "" {
		n++
	}
	return n
}

// keyLen returns the length of key i.
func (c *chain) keyLen(i int) int {
	if !c.mail {
		return len(c.keys[i])
	}
	if len(c.keys) > 0 {
		if i == 0 {
			return len(c.local) + 1 + len(c.keys[0])
		}
		i--
	}
	if i < len(c.keys) {
		return len(c.keys[i])
	}
	return len(c.local) + 1
}

// appendKey appends key i to dst.
func (c *chain) appendKey(dst []byte, i int) []byte {
	if !c.mail {
		return append(dst, c.keys[i]...)
	}
	if len(c.keys) > 0 {
		if i == 0 {
			return append(append(append(dst, c.local...), '@'), c.keys[0]...)
		}
		i--
	}
	if i < len(c.keys) {
		return append(dst, c.keys[i]...)
	}
	return append(append(dst, c.local...), '@')
}

// first returns the first key, "" for none (for a mail chain, an
// allocation: call it on a hit only).
func (c *chain) first() string {
	switch {
	case c.len() == 0:
		return ""
	case !c.mail:
		return c.keys[0]
	}
	var b [256]byte
	return string(c.appendKey(b[:0], 0))
}

// find returns the first key of tag:chain[i] that exists, then the bare tag
// when bare is set.
func (m *Map) find(tag string, keys []string, bare bool) Hit {
	return m.findChain(tag, &chain{keys: keys}, bare)
}

// findChain is find over a chain. Keys of a length the tag has none of are
// skipped without being built.
func (m *Map) findChain(tag string, c *chain, bare bool) Hit {
	if m == nil {
		return Hit{}
	}
	lens := m.tags[tag]
	if lens == 0 {
		return Hit{}
	}
	var kb [320]byte
	buf := append(append(kb[:0], tag...), ':')
	n := len(buf)
	for i, end := 0, c.len(); i < end; i++ {
		if lens&lenBit(c.keyLen(i)) == 0 {
			continue
		}
		buf = c.appendKey(buf[:n], i)
		if h := m.probe(buf); h.Found() {
			return h
		}
	}
	if bare && lens&lenBit(0) != 0 {
		return m.probe(buf[:n])
	}
	return Hit{}
}

// probe looks up one full key, asking the filter first.
func (m *Map) probe(key []byte) Hit {
	if !m.filter.mayHave(key) {
		return Hit{}
	}
	if i, ok := m.keys[string(key)]; ok {
		return Hit{Key: string(key), Value: &m.vals[i]}
	}
	return Hit{}
}

// findCombo runs the nested loop of a combo tag: every outer key (most
// specific first) with every inner key. There are no combo defaults. Outer
// keys that begin no combo entry are skipped on their length or the
// filter's word.
func (m *Map) findCombo(kind int, tag string, outer *chain, inner string, innerChain *chain) Hit {
	if m == nil {
		return Hit{}
	}
	lens := m.combo[kind]
	if lens == 0 {
		return Hit{}
	}
	var kb [640]byte
	buf := append(append(kb[:0], tag...), ':')
	n := len(buf)
	for i, end := 0, outer.len(); i < end; i++ {
		if lens&lenBit(outer.keyLen(i)) == 0 {
			continue
		}
		buf = append(append(append(outer.appendKey(buf[:n], i), ':'), inner...), ':')
		if !m.filter.mayHave(buf) {
			continue
		}
		n2 := len(buf)
		for j, end := 0, innerChain.len(); j < end; j++ {
			buf = innerChain.appendKey(buf[:n2], j)
			if h := m.probe(buf); h.Found() {
				return h
			}
		}
	}
	return Hit{}
}

// Connect looks up the Connect: tag for a client.
func (m *Map) Connect(c Client) Hit { return m.find(TagConnect, ClientChain(c), true) }

// From looks up the From: tag for a sender address (local part, domain).
func (m *Map) From(local, domain string, literalPlus bool) Hit {
	return m.find(TagFrom, MailChain(local, domain, literalPlus), true)
}

// To looks up the To: tag for a recipient address.
func (m *Map) To(local, domain string, literalPlus bool) Hit {
	return m.find(TagTo, MailChain(local, domain, literalPlus), true)
}

// ConnectFrom looks up Connect:<client>:From:<sender> combos.
func (m *Map) ConnectFrom(c Client, local, domain string, literalPlus bool) Hit {
	l, d := MailKey(local, domain, literalPlus)
	cs, ms := chain{keys: ClientChain(c)}, mailKeys(nil, l, d)
	return m.findCombo(comboConnectFrom, TagConnect, &cs, TagFrom, &ms)
}

// ConnectTo looks up Connect:<client>:To:<recipient> combos.
func (m *Map) ConnectTo(c Client, local, domain string, literalPlus bool) Hit {
	l, d := MailKey(local, domain, literalPlus)
	cs, ms := chain{keys: ClientChain(c)}, mailKeys(nil, l, d)
	return m.findCombo(comboConnectTo, TagConnect, &cs, TagTo, &ms)
}

// FromTo looks up From:<sender>:To:<recipient> combos; sender and recipient
// are (local, domain) pairs.
func (m *Map) FromTo(fromLocal, fromDomain, toLocal, toDomain string, literalPlus bool) Hit {
	fl, fd := MailKey(fromLocal, fromDomain, literalPlus)
	tl, td := MailKey(toLocal, toDomain, literalPlus)
	from, to := mailKeys(nil, fl, fd), mailKeys(nil, tl, td)
	return m.findCombo(comboFromTo, TagFrom, &from, TagTo, &to)
}

// Helo looks up the Helo: tag for a HELO/EHLO argument.
func (m *Map) Helo(helo string) Hit { return m.find(TagHelo, HeloChain(helo), true) }

// Body looks up the Body: tag for a host name or IP address found in a
// message (a URI's host): its domain or IP chain, then the bare Body: tag.
// The verdict is the entry's action after its pattern list ran against host;
// found is false when no entry applies.
func (m *Map) Body(host string) (v MapValue, key string, found bool) {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	var chain []string
	if a, err := netip.ParseAddr(h); err == nil {
		chain = appendIPChain(nil, ipKey(a))
	} else if h != "" {
		chain = appendDomainChain(nil, h)
	}
	hit := m.find(TagBody, chain, true)
	if !hit.Found() {
		return MapValue{}, "", false
	}
	subj := Subject{Text: h}
	if a, err := netip.ParseAddr(h); err == nil {
		subj.IP = a
	}
	return hit.Value.Decide(subj), hit.Key, true
}
