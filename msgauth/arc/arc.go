// Package arc validates and extends Authenticated Received Chains (RFC
// 8617). Each intermediary that handles a message (a mailing list, a
// forwarder) adds an ARC set: an ARC-Authentication-Results with what it
// found on arrival, an ARC-Message-Signature over the message as it sent
// it on, and an ARC-Seal over every set so far. A receiver whose DKIM and
// DMARC checks fail because a list changed the message can still trust
// what a sealer it knows saw before the change.
//
// Verify validates a chain; Sign adds a set. Signatures are rsa-sha256 or
// ed25519-sha256 (RFC 8463), canonicalized as DKIM does (RFC 6376 3.4);
// keys are DKIM key records, looked up through a Resolver so the
// lookups share the caller's DNS and deadline.
package arc

import (
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Header field names.
const (
	SealField    = "ARC-Seal"
	MessageField = "ARC-Message-Signature"
	ResultsField = "ARC-Authentication-Results"
)

// MaxInstance is the highest instance a set may have (RFC 8617 4.2.1).
const MaxInstance = 50

// Resolver looks up TXT records; *net.Resolver and the resolver package's
// Resolver are ones. An error with a Temporary method that returns true
// (as *net.DNSError's does for a timeout) makes the result temporary.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// State is a chain validation status, the cv= of RFC 8617 4.1.3, spelled
// as in Authentication-Results' arc= (RFC 8617 10.1).
type State string

// Chain states.
const (
	None State = "none" // no ARC sets
	Pass State = "pass" // every seal and the latest message signature verify
	Fail State = "fail" // anything else
)

// Set is one ARC set as found in the message.
type Set struct {
	Instance int
	Sealer   string // the ARC-Seal's d=
	Signer   string // the ARC-Message-Signature's d=
	CV       State  // the chain state the sealer found on arrival
	// AuthServID and Results are the ARC-Authentication-Results: the
	// sealer's authserv-id and everything after "i=N;", in the form of
	// an Authentication-Results value.
	AuthServID string
	Results    string
}

// Result is a chain's validation.
type Result struct {
	State State
	// Sets are the chain's sets in instance order, as far as they could
	// be read.
	Sets []Set
	// Err says why the chain is not pass: a *ParseError, *ChainError,
	// *SignatureError or *KeyError.
	Err error
}

// Temporary reports a chain that failed only because a key lookup failed
// temporarily: a later try may pass.
func (r Result) Temporary() bool { return IsTemporary(r.Err) }

// Verify validates the ARC chain of the message msg (RFC 8617 5.2): the
// sets are complete and numbered 1 to N, the seals declare cv=none for
// the first and pass for the others, the latest ARC-Message-Signature
// and every ARC-Seal verify. The error is only for a message that cannot
// be read; the chain's troubles are in the Result.
func Verify(ctx context.Context, msg io.Reader, r Resolver) (Result, error) {
	b, err := io.ReadAll(msg)
	if err != nil {
		return Result{}, fmt.Errorf("arc: read message: %w", err)
	}
	return verify(ctx, parseMessage(b), r), nil
}

// arcSet is a set's fields and parsed tags.
type arcSet struct {
	aar, ams, as *field
	amsTags      tags
	asTags       tags
}

// instanceOfResults reads the "i=N;" an ARC-Authentication-Results value
// starts with, and what follows it.
func instanceOfResults(raw string) (int, string, error) {
	v := strings.TrimLeft(raw[strings.IndexByte(raw, ':')+1:], fws)
	tag, rest, ok := strings.Cut(v, ";")
	if !ok {
		return 0, "", fmt.Errorf("no \"i=N;\"")
	}
	name, num, ok := strings.Cut(tag, "=")
	if !ok || strings.Trim(name, fws) != "i" {
		return 0, "", fmt.Errorf("does not start with i=")
	}
	i, err := instance(num)
	return i, strings.Trim(rest, fws), err
}

func instance(v string) (int, error) {
	v = strings.Trim(v, fws)
	i, err := strconv.Atoi(v)
	if err != nil || i < 1 || i > MaxInstance || v[0] == '+' {
		return 0, fmt.Errorf("i=%s is not an instance from 1 to %d", v, MaxInstance)
	}
	return i, nil
}

// collect groups the message's ARC fields by instance.
func collect(m *message) (map[int]*arcSet, int, error) {
	sets := map[int]*arcSet{}
	maxI := 0
	for k := range m.fields {
		f := &m.fields[k]
		var name string
		switch {
		case strings.EqualFold(f.name, SealField):
			name = SealField
		case strings.EqualFold(f.name, MessageField):
			name = MessageField
		case strings.EqualFold(f.name, ResultsField):
			name = ResultsField
		default:
			continue
		}
		var (
			i   int
			t   tags
			err error
		)
		if name == ResultsField {
			i, _, err = instanceOfResults(f.raw)
		} else if t, err = parseTags(f.raw[strings.IndexByte(f.raw, ':')+1:]); err == nil {
			if v, ok := t["i"]; ok {
				i, err = instance(v)
			} else {
				err = fmt.Errorf("no i= tag")
			}
		}
		if err != nil {
			return nil, 0, &ParseError{Field: name, Msg: err.Error()}
		}
		s := sets[i]
		if s == nil {
			s = &arcSet{}
			sets[i] = s
		}
		slot := map[string]**field{SealField: &s.as, MessageField: &s.ams, ResultsField: &s.aar}[name]
		if *slot != nil {
			return nil, 0, &ChainError{Instance: i, Msg: "two " + name + " fields"}
		}
		*slot = f
		switch name {
		case SealField:
			s.asTags = t
		case MessageField:
			s.amsTags = t
		}
		maxI = max(maxI, i)
	}
	return sets, maxI, nil
}

func verify(ctx context.Context, m *message, r Resolver) Result {
	sets, n, err := collect(m)
	if err != nil {
		return Result{State: Fail, Err: err}
	}
	if n == 0 {
		return Result{State: None}
	}
	res := Result{State: Fail}
	for i := 1; i <= n; i++ {
		s := sets[i]
		if s == nil || s.aar == nil || s.ams == nil || s.as == nil {
			res.Err = &ChainError{Instance: i, Msg: "incomplete set"}
			return res
		}
		if err := s.asTags.require("i", "cv", "a", "b", "d", "s"); err != nil {
			res.Err = &ParseError{Field: SealField, Instance: i, Msg: err.Error()}
			return res
		}
		if _, ok := s.asTags["h"]; ok {
			res.Err = &ParseError{Field: SealField, Instance: i, Msg: "h= tag in a seal"}
			return res
		}
		if err := s.amsTags.require("i", "a", "b", "bh", "d", "h", "s"); err != nil {
			res.Err = &ParseError{Field: MessageField, Instance: i, Msg: err.Error()}
			return res
		}
		cv := State(strings.ToLower(s.asTags["cv"]))
		if cv != None && cv != Pass && cv != Fail {
			res.Err = &ParseError{Field: SealField, Instance: i, Msg: "cv=" + string(cv)}
			return res
		}
		_, results, _ := instanceOfResults(s.aar.raw)
		id, _, _ := strings.Cut(results, ";")
		res.Sets = append(res.Sets, Set{Instance: i, Sealer: strings.ToLower(s.asTags["d"]), Signer: strings.ToLower(s.amsTags["d"]),
			CV: cv, AuthServID: strings.Trim(id, fws), Results: results})
	}
	// RFC 8617 5.2 step 3 and 4.
	if res.Sets[n-1].CV == Fail {
		res.Err = &ChainError{Instance: n, Msg: "the sealer found the chain failed (cv=fail)"}
		return res
	}
	for _, s := range res.Sets {
		if want := map[bool]State{true: None, false: Pass}[s.Instance == 1]; s.CV != want {
			res.Err = &ChainError{Instance: s.Instance, Msg: "cv=" + string(s.CV) + ", want " + string(want)}
			return res
		}
	}
	// Step 5: the latest message signature; step 7: every seal, latest
	// first.
	if res.Err = verifyAMS(ctx, m, sets[n], n, r); res.Err != nil {
		return res
	}
	for i := n; i >= 1; i-- {
		if res.Err = verifySeal(ctx, sets, i, r); res.Err != nil {
			return res
		}
	}
	res.State = Pass
	return res
}

// lookupKey finds the key of selector s at domain d for algo.
func lookupKey(ctx context.Context, r Resolver, field string, i int, d, s, algo string) (crypto.PublicKey, error) {
	if algo != RSASHA256 && algo != Ed25519SHA256 {
		return nil, &SignatureError{Field: field, Instance: i, Domain: d, Msg: "unknown algorithm a=" + algo}
	}
	name := s + "._domainkey." + d
	txts, err := r.LookupTXT(ctx, name)
	if err != nil {
		return nil, &KeyError{Name: name, Temp: temporary(ctx, err), Err: err}
	}
	var first error
	for _, t := range txts {
		pub, err := parseKey(t, algo)
		if err == nil {
			return pub, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = fmt.Errorf("no key record")
	}
	return nil, &SignatureError{Field: field, Instance: i, Domain: d, Msg: first.Error()}
}

// pick returns the fields h= names, each name taken from the bottom up
// (RFC 6376 5.4.2); a name with no field left contributes nothing.
func pick(fields []field, h []string) []*field {
	used := map[string]int{}
	var out []*field
	for _, name := range h {
		key := strings.ToLower(strings.Trim(name, fws))
		skip := used[key]
		used[key]++
		for k := len(fields) - 1; k >= 0; k-- {
			if strings.EqualFold(fields[k].name, key) {
				if skip == 0 {
					out = append(out, &fields[k])
					break
				}
				skip--
			}
		}
	}
	return out
}

func verifyAMS(ctx context.Context, m *message, s *arcSet, i int, r Resolver) error {
	t := s.amsTags
	d, algo := strings.ToLower(t["d"]), strings.ToLower(t["a"])
	fail := func(msg string) error { return &SignatureError{Field: MessageField, Instance: i, Domain: d, Msg: msg} }
	hc, bc, ok := parseCanon(t["c"])
	if !ok {
		return &ParseError{Field: MessageField, Instance: i, Msg: "c=" + t["c"]}
	}
	h := strings.Split(t["h"], ":")
	for _, name := range h {
		if strings.EqualFold(strings.Trim(name, fws), SealField) {
			return fail("h= names ARC-Seal")
		}
	}
	limit := int64(-1)
	if l, ok := t["l"]; ok {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil || n < 0 {
			return &ParseError{Field: MessageField, Instance: i, Msg: "l=" + l}
		}
		limit = n
	}
	bh, err := base64Value(t["bh"])
	if err != nil {
		return &ParseError{Field: MessageField, Instance: i, Msg: "bh=: " + err.Error()}
	}
	sig, err := base64Value(t["b"])
	if err != nil {
		return &ParseError{Field: MessageField, Instance: i, Msg: "b=: " + err.Error()}
	}
	pub, err := lookupKey(ctx, r, MessageField, i, d, t["s"], algo)
	if err != nil {
		return err
	}
	hb := sha256.New()
	hashBody(hb, m.body, bc, limit)
	if string(hb.Sum(nil)) != string(bh) {
		return fail("body hash does not match")
	}
	hh := sha256.New()
	for _, f := range pick(m.fields, h) {
		io.WriteString(hh, canonHeader(f.raw, hc))
	}
	io.WriteString(hh, strings.TrimSuffix(canonHeader(withoutB(s.ams.raw), hc), "\r\n"))
	if err := verifySig(pub, algo, hh.Sum(nil), sig); err != nil {
		return fail("signature: " + err.Error())
	}
	return nil
}

// sealHash hashes the seal of instance i (RFC 8617 5.1.1): every set up
// to i in order, each as ARC-Authentication-Results, ARC-Message-
// Signature, ARC-Seal, relaxed, the seal of i without its b= value and
// final CRLF. With only, the sets below i are left out, as in a seal
// that records cv=fail (RFC 8617 5.1.2).
func sealHash(sets map[int]*arcSet, i int, only bool) []byte {
	h := sha256.New()
	from := 1
	if only {
		from = i
	}
	for k := from; k <= i; k++ {
		s := sets[k]
		io.WriteString(h, canonHeader(s.aar.raw, relaxed))
		io.WriteString(h, canonHeader(s.ams.raw, relaxed))
		if k < i {
			io.WriteString(h, canonHeader(s.as.raw, relaxed))
		}
	}
	io.WriteString(h, strings.TrimSuffix(canonHeader(withoutB(sets[i].as.raw), relaxed), "\r\n"))
	return h.Sum(nil)
}

func verifySeal(ctx context.Context, sets map[int]*arcSet, i int, r Resolver) error {
	t := sets[i].asTags
	d, algo := strings.ToLower(t["d"]), strings.ToLower(t["a"])
	sig, err := base64Value(t["b"])
	if err != nil {
		return &ParseError{Field: SealField, Instance: i, Msg: "b=: " + err.Error()}
	}
	pub, err := lookupKey(ctx, r, SealField, i, d, t["s"], algo)
	if err != nil {
		return err
	}
	if err := verifySig(pub, algo, sealHash(sets, i, false), sig); err != nil {
		return &SignatureError{Field: SealField, Instance: i, Domain: d, Msg: "signature: " + err.Error()}
	}
	return nil
}
