package greylist

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// Default client network sizes: a sender's outbound pool usually sits in
// one IPv4 /24 or one IPv6 /64, and a retry often comes from a neighbour.
const (
	DefaultIPv4Prefix = 24
	DefaultIPv6Prefix = 64
)

// maxPart bounds one key component; a longer address (a 1 MB MAIL FROM) is
// replaced by its hash so that keys stay small in every store.
const maxPart = 256

// ClientNetwork returns the network a client address is greylisted by: the
// address masked to v4 bits (IPv4) or v6 bits (IPv6). Bits out of range are
// clamped; 32 and 128 give the exact address. An invalid address yields the
// zero Prefix.
func ClientNetwork(ip netip.Addr, v4, v6 int) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	ip = ip.Unmap()
	bits := v6
	if ip.Is4() {
		bits = v4
	}
	bits = max(0, min(bits, ip.BitLen()))
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// NormalizeSender folds a sender address the way postgrey does, so that one
// sender gives one key however its software varies the address between
// messages: the whole address in lower case; a BATV tag (prvs=TAG=user or
// the reversed prvs=user=TAG) removed; a "+extension" dropped; and every
// all-digit word of the local part (the numbers of VERP and bounce
// addresses) replaced by '#'. The null sender stays "".
func NormalizeSender(a smtpcheck.Address) string {
	var buf [256]byte
	return string(appendSender(buf[:0], a))
}

// appendSender appends NormalizeSender's form of a.
func appendSender(dst []byte, a smtpcheck.Address) []byte {
	if a.IsNull() {
		return dst
	}
	local := strings.ToLower(a.Local)
	domain := strings.TrimSuffix(strings.ToLower(a.Domain), ".")
	if domain == "" {
		return append(dst, local...)
	}
	local = stripBATV(local)
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	dst = append(dst, hashNumbers(local)...)
	dst = append(dst, '@')
	return append(dst, domain...)
}

// NormalizeRecipient folds a recipient address to lower case. The
// extension is kept: user+lists and user are different mailboxes to the
// receiving side.
func NormalizeRecipient(a smtpcheck.Address) string {
	var buf [256]byte
	return string(appendRecipient(buf[:0], a))
}

// appendRecipient appends NormalizeRecipient's form of a.
func appendRecipient(dst []byte, a smtpcheck.Address) []byte {
	dst = append(dst, strings.ToLower(a.Local)...)
	if a.Domain == "" {
		return dst
	}
	dst = append(dst, '@')
	return append(dst, strings.TrimSuffix(strings.ToLower(a.Domain), ".")...)
}

// stripBATV removes a BATV "prvs=" tag (RFC draft-levine-smtp-batv). The
// draft says prvs=TAG=user, but some signers write prvs=user=TAG; the tag
// is the part that looks like one (ten characters of [0-9a-z] at its
// start), and when both or neither do, the standard order wins.
func stripBATV(local string) string {
	if !strings.HasPrefix(local, "prvs=") {
		return local
	}
	parts := strings.Split(local, "=")
	if len(parts) != 3 {
		return local
	}
	a, b := looksLikeTag(parts[1]), looksLikeTag(parts[2])
	if !a && b {
		return parts[1]
	}
	return parts[2]
}

func looksLikeTag(s string) bool {
	if len(s) < 10 {
		return false
	}
	for i := range 10 {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

func isWord(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// hashNumbers replaces every word (a run of [A-Za-z0-9_]) made only of
// digits with '#': bounce-1234-x becomes bounce-#-x, user42 stays.
func hashNumbers(s string) string {
	if !hasNumberWord(s) {
		return s // most senders: no copy
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !isWord(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j, digits := wordAt(s, i)
		if digits {
			b.WriteByte('#')
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

// hasNumberWord reports whether s has a word hashNumbers would replace.
func hasNumberWord(s string) bool {
	for i := 0; i < len(s); {
		if !isWord(s[i]) {
			i++
			continue
		}
		j, digits := wordAt(s, i)
		if digits {
			return true
		}
		i = j
	}
	return false
}

// wordAt returns the end of the word that starts at s[i], and whether it
// is all digits.
func wordAt(s string, i int) (end int, digits bool) {
	digits = true
	for ; i < len(s) && isWord(s[i]); i++ {
		if s[i] < '0' || s[i] > '9' {
			digits = false
		}
	}
	return i, digits
}

// Triplet is what greylisting remembers: the client's network, the
// normalised sender and the normalised recipient.
type Triplet struct {
	Client netip.Prefix
	Sender string // normalised; "" for the null sender
	Rcpt   string // normalised
	// Addr is the client's own address, which Greylist.Triplet fills in.
	// It is not part of the triplet's key: auto-allowing counts passes by
	// it (unless Config.AutoAllowByNetwork), and by Client when it is unset.
	Addr netip.Addr
}

// String renders the triplet as "192.0.2.0/24 <a@example.org> <b@example.net>".
func (t Triplet) String() string {
	// Built on the stack: the string is the one allocation.
	var buf [256]byte
	return string(appendTriplet(buf[:0], t.Client, t.Sender, t.Rcpt))
}

// text is what the key builders read a triplet's parts from: strings, or
// the bytes of a decision's buffer before it becomes one string.
type text interface{ ~string | ~[]byte }

// appendTriplet appends Triplet.String's form of a triplet.
func appendTriplet[S text](dst []byte, client netip.Prefix, sender, rcpt S) []byte {
	dst = client.AppendTo(dst)
	dst = append(dst, " <"...)
	dst = append(dst, sender...)
	dst = append(dst, "> <"...)
	dst = append(dst, rcpt...)
	return append(dst, '>')
}

// escapePart makes a key component safe to join with spaces: '%', spaces
// and control bytes become %XX, and an over-long part becomes its hash.
func escapePart(s string) string {
	clean := len(s) <= maxPart
	for i := 0; clean && i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '%' || c == 0x7f {
			clean = false
		}
	}
	if clean {
		return s
	}
	return string(appendEscaped(nil, s))
}

// appendEscaped appends escapePart's form of s.
func appendEscaped[S text](dst []byte, s S) []byte {
	if len(s) > maxPart {
		sum := sha256.Sum256([]byte(s))
		return hex.AppendEncode(append(dst, '#'), sum[:16])
	}
	const hexd = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '%' || c == 0x7f {
			dst = append(dst, '%', hexd[c>>4], hexd[c&15])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

func unescapePart(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				b.WriteByte(v[0])
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Key prefixes inside Config.KeyPrefix.
const (
	tripletSpace = "t:"
	clientSpace  = "c:"
)

// tripletKey returns the store key of t: readable, or a hash in privacy mode.
func (g *Greylist) tripletKey(t Triplet) string {
	if g.cfg.Privacy {
		return g.cfg.KeyPrefix + tripletSpace + hashHex(t.Client.String()+" "+escapePart(t.Sender)+" "+escapePart(t.Rcpt))
	}
	// Built on the stack: the string is the one allocation.
	var buf [256]byte
	return string(appendTripletKey(g, buf[:0], t.Client, t.Sender, t.Rcpt))
}

// appendTripletKey appends the readable store key of a triplet (not the
// privacy mode's hash).
func appendTripletKey[S text](g *Greylist, dst []byte, client netip.Prefix, sender, rcpt S) []byte {
	dst = append(dst, g.cfg.KeyPrefix...)
	dst = append(dst, tripletSpace...)
	dst = client.AppendTo(dst)
	dst = append(dst, ' ')
	dst = appendEscaped(dst, sender)
	dst = append(dst, ' ')
	return appendEscaped(dst, rcpt)
}

// clientKey returns the store key of a client network's pass counter.
func (g *Greylist) clientKey(p netip.Prefix) string {
	if g.cfg.Privacy {
		return g.cfg.KeyPrefix + clientSpace + hashHex(p.String())
	}
	var buf [128]byte // on the stack: the string is the one allocation
	return string(g.appendClientKey(buf[:0], p))
}

// appendClientKey appends the readable store key of a client network's
// pass counter.
func (g *Greylist) appendClientKey(dst []byte, p netip.Prefix) []byte {
	dst = append(dst, g.cfg.KeyPrefix...)
	dst = append(dst, clientSpace...)
	return p.AppendTo(dst)
}

// keyed is a triplet with its store keys and its form in logs, for one
// decision.
type keyed struct {
	Triplet
	key, clientKey, display string
}

// keyedTriplet is Triplet with its keys and display: outside privacy mode
// all five strings are built in one buffer and share one allocation, since
// every request needs them.
func (g *Greylist) keyedTriplet(client netip.Addr, from, rcpt smtpcheck.Address) keyed {
	if g.cfg.Privacy {
		t := g.Triplet(client, from, rcpt)
		return keyed{Triplet: t, key: g.tripletKey(t), clientKey: g.clientKey(g.counted(t)), display: g.display(t)}
	}
	t := Triplet{Client: ClientNetwork(client, g.cfg.IPv4Prefix, g.cfg.IPv6Prefix), Addr: client}
	var buf [512]byte
	b := appendSender(buf[:0], from)
	ns := len(b)
	b = appendRecipient(b, rcpt)
	nr := len(b)
	b = appendTripletKey(g, b, t.Client, b[:ns], b[ns:nr])
	nk := len(b)
	b = g.appendClientKey(b, g.counted(t))
	nc := len(b)
	b = appendTriplet(b, t.Client, b[:ns], b[ns:nr])
	s := string(b)
	t.Sender, t.Rcpt = s[:ns], s[ns:nr]
	return keyed{Triplet: t, key: s[nr:nk], clientKey: s[nk:nc], display: s[nc:]}
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:20])
}

// parseTripletKey reverses tripletKey's readable form; ok is false for a
// hashed (privacy mode) or foreign key.
func parseTripletKey(body string) (Triplet, bool) {
	parts := strings.Split(body, " ")
	if len(parts) != 3 {
		return Triplet{}, false
	}
	p, err := netip.ParsePrefix(parts[0])
	if err != nil {
		return Triplet{}, false
	}
	return Triplet{Client: p, Sender: unescapePart(parts[1]), Rcpt: unescapePart(parts[2])}, true
}
