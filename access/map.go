package access

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/netip"
	"os"
	"strings"
	"unsafe"
)

// Tag names of the smtpf access map, lower case as keys are stored.
const (
	TagConnect           = "connect"
	TagFrom              = "from"
	TagTo                = "to"
	TagHelo              = "helo"
	TagBody              = "body"
	TagConcurrentConnect = "concurrent-connect"
	TagRateConnect       = "rate-connect"
	TagMsgLimitConnect   = "msg-limit-connect"
	TagMsgLimitFrom      = "msg-limit-from"
	TagMsgLimitTo        = "msg-limit-to"
	TagLengthConnect     = "length-connect"
	TagLengthFrom        = "length-from"
	TagLengthTo          = "length-to"
	TagNullRateTo        = "null-rate-to"
	TagGreyConnect       = "grey-connect"
	TagGreyTo            = "grey-to"
	TagGreetPause        = "greetpause"
	TagCommandPause      = "commandpause"
)

var tagKinds = map[string]valueKind{
	TagConnect: kindAction, TagFrom: kindAction, TagTo: kindAction, TagHelo: kindAction, TagBody: kindAction,
	TagConcurrentConnect: kindCount, TagRateConnect: kindCount, TagNullRateTo: kindCount,
	TagMsgLimitConnect: kindRate, TagMsgLimitFrom: kindRate, TagMsgLimitTo: kindRate,
	TagLengthConnect: kindSize, TagLengthFrom: kindSize, TagLengthTo: kindSize,
	TagGreyConnect: kindPause, TagGreyTo: kindPause,
	TagGreetPause: kindPause, TagCommandPause: kindPause,
}

// tagNames lists the tags as written in smtpf's documentation, for the
// error about an unknown one.
const tagNames = "Connect, From, To, Helo, Body, Concurrent-Connect, Rate-Connect, Msg-Limit-Connect, " +
	"Msg-Limit-From, Msg-Limit-To, Length-Connect, Length-From, Length-To, Null-Rate-To, " +
	"Grey-Connect, Grey-To, GreetPause, CommandPause"

// tags whose key is a client (IP address or host name).
var clientTags = map[string]bool{
	TagConnect: true, TagConcurrentConnect: true, TagRateConnect: true,
	TagMsgLimitConnect: true, TagLengthConnect: true, TagGreyConnect: true,
	TagGreetPause: true, TagCommandPause: true,
}

// combo kinds.
const (
	comboConnectFrom = iota
	comboConnectTo
	comboFromTo
	numCombos
)

// comboInner is each combo kind's inner tag.
var comboInner = [numCombos]string{comboConnectFrom: TagFrom, comboConnectTo: TagTo, comboFromTo: TagTo}

// MaxLineLength bounds one line of a map file.
const MaxLineLength = 64 << 10

// Map is one loaded smtpf access map: immutable, safe for concurrent use.
// Keys live in one string arena and point into a table of distinct parsed
// values, so a million-entry map costs a few dozen bytes per entry.
type Map struct {
	keys   map[string]uint32 // "tag:key" in lower case → index into vals
	vals   []Value
	filter filter            // every key and every combo's "tag:outer:tag:" prefix
	tags   map[string]uint64 // tag → lengths of its keys (lenBit), for skipping probes
	combo  [numCombos]uint64 // lengths of each combo kind's outer parts
}

// lenBit is the bit of a length in a length set: one bit per length up to
// 62, the last for every longer one. A map's keys under one tag are often
// all of a few lengths (addresses, networks), and a chain element of a
// length no key has needs no hash.
func lenBit(n int) uint64 { return 1 << min(n, 63) }

// filter is a blocked Bloom filter over a map's keys: three bits in one
// 64-bit word per key, at least 16 bits per key (under 2% false
// positives). Nearly every lookup of a connection misses, and a miss in a
// large hash table costs a cache miss or two; the filter is small enough to
// stay in cache and answers most misses with one hash and one load.
type filter struct {
	seed  maphash.Seed
	words []uint64
	mask  uint64
}

func newFilter(n int) filter {
	size := 1
	for size*64 < n*16 {
		size <<= 1
	}
	return filter{seed: maphash.MakeSeed(), words: make([]uint64, size), mask: uint64(size - 1)}
}

// filterBits picks the word's three bits from hash bits the word index
// does not use (a map would need 2^40 words to reach them).
func filterBits(h uint64) uint64 {
	return 1<<(h>>40&63) | 1<<(h>>46&63) | 1<<(h>>52&63)
}

func (f *filter) add(k string) {
	h := maphash.String(f.seed, k)
	f.words[h&f.mask] |= filterBits(h)
}

// mayHave reports whether k may be a key; false is certain.
func (f *filter) mayHave(k []byte) bool {
	if len(f.words) == 0 {
		return false
	}
	h := maphash.Bytes(f.seed, k)
	bits := filterBits(h)
	return f.words[h&f.mask]&bits == bits
}

// Len returns the number of distinct keys.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.keys)
}

// Get returns the value stored at a full key such as "Connect:192.0.2"
// (case-insensitive), without any chain.
func (m *Map) Get(key string) (*Value, bool) {
	if m == nil {
		return nil, false
	}
	i, ok := m.keys[strings.ToLower(key)]
	if !ok {
		return nil, false
	}
	return &m.vals[i], true
}

// HasTag reports whether any key uses tag (lower case, such as "from").
func (m *Map) HasTag(tag string) bool { return m != nil && m.tags[tag] != 0 }

// LineError is the error for one bad line of a map or table file.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns the underlying error.
func (e *LineError) Unwrap() error { return e.Err }

// LoadError gathers every bad line of a load (up to a limit); it unwraps to
// the LineErrors.
type LoadError struct {
	Errs []error
	More int // bad lines not listed
}

func (e *LoadError) Error() string {
	var b strings.Builder
	for i, err := range e.Errs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(err.Error())
	}
	if e.More > 0 {
		fmt.Fprintf(&b, "\n(and %d more bad lines)", e.More)
	}
	return b.String()
}

// Unwrap returns the line errors.
func (e *LoadError) Unwrap() []error { return e.Errs }

const maxListedErrors = 20

// builder accumulates a map while parsing.
//
// Keys are normalised into an arena of fixed-size chunks and entered in
// the map as they are read, each key a string over its bytes in a chunk.
// Memory at the peak of a load is then the map itself plus one chunk: no
// slice of entries, no arena grown by copying, and no copy of the arena
// into a string at the end (a 1M-entry map peaked at twice its size).
type builder struct {
	chunk  []byte // bytes up to len(chunk) belong to keys and never change
	keys   map[string]uint32
	valIdx map[string]uint32
	vals   []Value
	errs   LoadError
}

// arenaChunk is the size of one arena chunk.
const arenaChunk = 1 << 20

func newBuilder() *builder {
	return &builder{keys: make(map[string]uint32), valIdx: make(map[string]uint32)}
}

// ParseFiles reads one or more smtpf map files into a new Map; a key in a
// later file overrides the same key in an earlier one. Any bad line fails
// the whole load, with a *LoadError naming every bad line as file:line.
func ParseFiles(paths ...string) (*Map, error) {
	b := newBuilder()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		err = b.read(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return b.finish()
}

// Parse reads an smtpf map from r; name is used in error messages.
func Parse(r io.Reader, name string) (*Map, error) {
	b := newBuilder()
	if err := b.read(r, name); err != nil {
		return nil, err
	}
	return b.finish()
}

func (b *builder) fail(name string, line int, err error) {
	if len(b.errs.Errs) < maxListedErrors {
		b.errs.Errs = append(b.errs.Errs, &LineError{File: name, Line: line, Err: err})
	} else {
		b.errs.More++
	}
}

func (b *builder) read(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineLength)
	n := 0
	for sc.Scan() {
		n++
		if err := b.line(sc.Bytes()); err != nil {
			b.fail(name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("line longer than %d bytes", MaxLineLength)
		}
		b.fail(name, n+1, err)
	}
	return nil
}

func (b *builder) finish() (*Map, error) {
	if len(b.errs.Errs) > 0 {
		return nil, &b.errs
	}
	m := &Map{keys: b.keys, vals: b.vals, tags: make(map[string]uint64)}
	m.filter = newFilter(len(m.keys))
	for k := range m.keys {
		m.filter.add(k)
		tag, rest, _ := strings.Cut(k, ":") // every key has its tag
		m.tags[tag] |= lenBit(len(rest))
		comboPrefixes(tag, rest, func(kind, n int) {
			m.combo[kind] |= lenBit(n - len(comboInner[kind]) - 2)
			// the key up to the inner part, as findCombo builds it
			m.filter.add(k[:len(tag)+1+n])
		})
	}
	return m, nil
}

// comboPrefixes calls fn with the kind and length of every way rest (of a
// key already in lower case) reads as a combo: the outer part with the
// inner tag and its colons, such as "192.0.2.1:from:" of
// "192.0.2.1:from:user@example.org". Every reading counts, so a key is
// found exactly when it exists, whatever its parts contain.
func comboPrefixes(tag, rest string, fn func(kind, n int)) {
	each := func(kind int, sep string, min int) {
		for off := 0; ; {
			i := strings.Index(rest[off:], sep)
			if i < 0 {
				return
			}
			if off+i >= min {
				fn(kind, off+i+len(sep))
			}
			off += i + 1
		}
	}
	switch tag {
	case TagConnect:
		each(comboConnectFrom, ":from:", 1)
		each(comboConnectTo, ":to:", 1)
	case TagFrom:
		each(comboFromTo, ":to:", 0)
	}
}

var errNUL = errors.New("NUL byte in line")

func (b *builder) line(raw []byte) error {
	line := bytes.TrimSpace(raw)
	if len(line) == 0 || line[0] == '#' {
		return nil
	}
	if bytes.IndexByte(line, 0) >= 0 {
		return errNUL
	}
	sp := bytes.IndexAny(line, " \t")
	if sp < 0 {
		return fmt.Errorf("key %q has no value", line)
	}
	key, val := line[:sp], bytes.TrimSpace(line[sp+1:])
	colon := bytes.IndexByte(key, ':')
	if colon <= 0 {
		return fmt.Errorf("key %q has no tag (want tag:key, such as Connect:192.0.2.1)", key)
	}
	// A normalised key is at most its raw length plus an IPv6 address
	// written out in full; a chunk with less room left is retired, so
	// appends never move bytes a key already points into.
	if need := len(key) + 64; cap(b.chunk)-len(b.chunk) < need {
		b.chunk = make([]byte, 0, max(arenaChunk, need))
	}
	start := len(b.chunk)
	b.chunk = appendLower(b.chunk, key[:colon+1])
	tag := string(b.chunk[start : start+colon])
	kind, known := tagKinds[tag]
	if !known {
		// A misspelt tag would otherwise load and never match: the
		// administrator believes in an entry that does nothing.
		b.chunk = b.chunk[:start]
		return fmt.Errorf("unknown tag %q (want one of %s)", key[:colon], tagNames)
	}
	rest := key[colon+1:]
	var err error
	switch {
	case tag == TagConnect || tag == TagFrom:
		b.chunk, err = appendComboKey(b.chunk, tag, rest)
	case clientTags[tag] || tag == TagHelo:
		b.chunk, err = appendClientKey(b.chunk, rest)
	default:
		b.chunk = appendLower(b.chunk, rest)
	}
	if err != nil {
		b.chunk = b.chunk[:start]
		return err
	}
	vi, err := b.value(kind, val)
	if err != nil {
		b.chunk = b.chunk[:start]
		return fmt.Errorf("%s: %w", key, err)
	}
	k := b.chunk[start:]
	// The key's bytes are final: later lines only append past them (a line
	// that fails truncates back to its own start, never below).
	b.keys[unsafe.String(unsafe.SliceData(k), len(k))] = vi
	return nil
}

// value interns a right-hand side: maps repeat a handful of values.
func (b *builder) value(kind valueKind, raw []byte) (uint32, error) {
	var kb [256]byte
	k := append(append(kb[:0], byte(kind)), raw...)
	if i, ok := b.valIdx[string(k)]; ok {
		return i, nil
	}
	v, err := parseValue(kind, string(raw))
	if err != nil {
		return 0, err
	}
	i := uint32(len(b.vals))
	b.vals = append(b.vals, v)
	b.valIdx[string(k)] = i
	return i, nil
}

// appendComboKey appends the lower-case key of a Connect: or From: entry,
// normalising the client part of Connect keys.
func appendComboKey(dst []byte, tag string, rest []byte) ([]byte, error) {
	if tag != TagConnect || !bytes.ContainsAny(rest, ":[") {
		// No combo and no IPv6 or bracketed address to normalise (most
		// keys): lower-cased straight into dst.
		if tag == TagConnect {
			return appendClientKey(dst, rest)
		}
		return appendLower(dst, rest), nil
	}
	lower := bytes.ToLower(rest)
	if tag == TagConnect {
		sep := bytes.Index(lower, []byte(":from:"))
		if sep < 0 {
			sep = bytes.Index(lower, []byte(":to:"))
		}
		if sep > 0 {
			var err error
			if dst, err = appendClientKey(dst, lower[:sep]); err != nil {
				return dst, err
			}
			return append(dst, lower[sep:]...), nil
		}
		return appendClientKey(dst, lower)
	}
	return append(dst, lower...), nil
}

// appendClientKey normalises the client part of a key: IPv6 addresses and
// prefixes are written in smtpf's full form (every group four hex digits),
// so "2001:db8::1" and "2001:0DB8:0:0:0:0:0:1" find the same entry, and a
// literal "[ip]" is normalised inside its brackets.
func appendClientKey(dst []byte, part []byte) ([]byte, error) {
	if !bytes.ContainsAny(part, ":[") {
		return appendLower(dst, part), nil // a host name or an IPv4 address
	}
	s := strings.ToLower(string(part))
	s = strings.TrimPrefix(s, "ipv6:")
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		inner := strings.TrimPrefix(s[1:len(s)-1], "ipv6:")
		if a, err := netip.ParseAddr(inner); err == nil {
			dst = append(dst, '[')
			dst = appendIP(dst, a.Unmap())
			return append(dst, ']'), nil
		}
		return append(dst, s...), nil
	}
	if strings.IndexByte(s, ':') < 0 {
		return append(dst, s...), nil
	}
	if strings.Contains(s, "::") || strings.IndexByte(s, '.') >= 0 {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return dst, fmt.Errorf("bad IPv6 address %q: %v", s, err)
		}
		if a.Is4In6() {
			return appendIP(dst, a.Unmap()), nil
		}
		return appendIP(dst, a), nil
	}
	groups := strings.Split(s, ":")
	if len(groups) > 8 {
		return dst, fmt.Errorf("bad IPv6 prefix %q: more than 8 groups", s)
	}
	for i, g := range groups {
		if len(g) == 0 || len(g) > 4 || !isHex(g) {
			return dst, fmt.Errorf("bad IPv6 prefix %q: group %q", s, g)
		}
		if i > 0 {
			dst = append(dst, ':')
		}
		for j := len(g); j < 4; j++ {
			dst = append(dst, '0')
		}
		dst = append(dst, g...)
	}
	return dst, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func appendLower(dst, s []byte) []byte {
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendIP writes an IPv4 address dotted and an IPv6 address in full form.
func appendIP(dst []byte, a netip.Addr) []byte {
	if a.Is4() {
		return a.AppendTo(dst)
	}
	b := a.As16()
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, hexDigits[b[i]>>4], hexDigits[b[i]&15], hexDigits[b[i+1]>>4], hexDigits[b[i+1]&15])
	}
	return dst
}
