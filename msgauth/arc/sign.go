package arc

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// DefaultHeaderKeys returns the fields an ARC-Message-Signature covers
// when SignOptions.HeaderKeys is nil, each occurrence present in the
// message: those RFC 6376 5.4.1 recommends, the list fields a mailing list
// adds, and the DKIM signatures already there.
func DefaultHeaderKeys() []string {
	return []string{
		"From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID", "In-Reply-To", "References",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-ID", "Content-Description",
		"Resent-Date", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID",
		"List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe", "List-Post", "List-Owner", "List-Archive",
		"DKIM-Signature",
	}
}

// SignOptions says how Sign seals a message.
type SignOptions struct {
	// Domain and Selector name the key: its record is at
	// Selector._domainkey.Domain. Required.
	Domain   string
	Selector string
	// Signer is the private key: *rsa.PrivateKey (rsa-sha256) or
	// ed25519.PrivateKey (ed25519-sha256). Required.
	Signer crypto.Signer
	// AuthResults is what this sealer found on the message's arrival, as
	// the value of its Authentication-Results (authserv-id; results),
	// arc= included. Required.
	AuthResults string
	// Chain is the state of the arriving chain as Verify found it:
	// ignored for a message without one (cv=none); pass or fail
	// otherwise. A failed chain is sealed with cv=fail over the new set
	// alone, which ends it.
	Chain State
	// HeaderKeys are the fields the message signature covers; nil:
	// DefaultHeaderKeys(). From is always covered.
	HeaderKeys []string
	// Now stamps t=; nil: time.Now.
	Now func() time.Time
}

// Sign adds an ARC set to the message msg, as an intermediary does before
// passing it on (RFC 8617 5.1). It returns the set's three header fields,
// ARC-Seal first, each ending in CRLF, to be put above the message's
// header as they are.
func Sign(msg io.Reader, o *SignOptions) (string, error) {
	if o == nil || o.Domain == "" || o.Selector == "" || o.Signer == nil {
		return "", errors.New("arc: Sign needs a domain, a selector and a key")
	}
	if o.AuthResults == "" {
		return "", errors.New("arc: Sign needs this sealer's Authentication-Results")
	}
	var algo string
	switch o.Signer.Public().(type) {
	case *rsa.PublicKey:
		algo = RSASHA256
	case ed25519.PublicKey:
		algo = Ed25519SHA256
	default:
		return "", fmt.Errorf("arc: key of type %T: want RSA or ed25519", o.Signer.Public())
	}
	b, err := io.ReadAll(msg)
	if err != nil {
		return "", fmt.Errorf("arc: read message: %w", err)
	}
	m := parseMessage(b)
	sets, n, err := collect(m)
	cv := None
	switch {
	case n == 0 && err == nil:
	case o.Chain == Pass && err == nil:
		cv = Pass
	case o.Chain == Fail || err != nil:
		cv = Fail
	default:
		return "", errors.New("arc: the message carries a chain: give its state (Verify's) as Chain, pass or fail")
	}
	i := n + 1
	if cv == Fail && n == 0 {
		i = 1 // a chain whose fields do not parse: number past what reads
		for _, f := range m.fields {
			if strings.EqualFold(f.name, SealField) || strings.EqualFold(f.name, MessageField) || strings.EqualFold(f.name, ResultsField) {
				if k, _, err := instanceOfResults(f.raw); err == nil {
					i = max(i, k+1)
				} else if t, err := parseTags(f.raw[strings.IndexByte(f.raw, ':')+1:]); err == nil {
					if k, err := instance(t["i"]); err == nil {
						i = max(i, k+1)
					}
				}
			}
		}
	}
	if i > MaxInstance {
		return "", fmt.Errorf("arc: the chain has %d sets already", i-1)
	}
	if cv == Pass {
		for k := 1; k < i; k++ {
			if s := sets[k]; s == nil || s.aar == nil || s.ams == nil || s.as == nil {
				return "", fmt.Errorf("arc: Chain is pass, but set i=%d is incomplete", k)
			}
		}
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	stamp := strconv.FormatInt(now().Unix(), 10)

	aar := field{name: ResultsField, raw: ResultsField + ": i=" + strconv.Itoa(i) + "; " + strings.TrimSpace(o.AuthResults)}

	// The message signature, relaxed/relaxed.
	keys := o.HeaderKeys
	if keys == nil {
		keys = DefaultHeaderKeys()
	}
	var h []string
	seen := map[string]bool{}
	for _, k := range append([]string{"From"}, keys...) {
		lk := strings.ToLower(k)
		if seen[lk] {
			continue
		}
		seen[lk] = true
		for _, f := range m.fields {
			if strings.EqualFold(f.name, k) {
				h = append(h, lk)
			}
		}
	}
	if len(h) == 0 || h[0] != "from" {
		return "", errors.New("arc: the message has no From: field to sign")
	}
	hb := sha256.New()
	hashBody(hb, m.body, relaxed, -1)
	ams := field{name: MessageField, raw: MessageField + ": i=" + strconv.Itoa(i) + "; a=" + algo + "; c=relaxed/relaxed; d=" + o.Domain +
		"; s=" + o.Selector + ";\r\n\tt=" + stamp + "; h=" + strings.Join(h, ":") +
		";\r\n\tbh=" + base64.StdEncoding.EncodeToString(hb.Sum(nil)) + ";\r\n\tb="}
	hh := sha256.New()
	for _, f := range pick(m.fields, h) {
		io.WriteString(hh, canonHeader(f.raw, relaxed))
	}
	io.WriteString(hh, strings.TrimSuffix(canonHeader(ams.raw, relaxed), "\r\n"))
	sig, err := sign(o.Signer, algo, hh.Sum(nil))
	if err != nil {
		return "", err
	}
	ams.raw += fold(sig)

	// The seal.
	as := field{name: SealField, raw: SealField + ": i=" + strconv.Itoa(i) + "; cv=" + string(cv) + "; a=" + algo +
		"; d=" + o.Domain + "; s=" + o.Selector + ";\r\n\tt=" + stamp + "; b="}
	if sets == nil {
		sets = map[int]*arcSet{}
	}
	sets[i] = &arcSet{aar: &aar, ams: &ams, as: &as}
	sig, err = sign(o.Signer, algo, sealHash(sets, i, cv == Fail))
	if err != nil {
		return "", err
	}
	as.raw += fold(sig)
	return as.raw + "\r\n" + ams.raw + "\r\n" + aar.raw + "\r\n", nil
}

func sign(k crypto.Signer, algo string, digest []byte) (string, error) {
	var opts crypto.SignerOpts = crypto.SHA256
	if algo == Ed25519SHA256 {
		opts = crypto.Hash(0) // RFC 8463: Ed25519 over the SHA-256 hash
	}
	sig, err := k.Sign(rand.Reader, digest, opts)
	if err != nil {
		return "", fmt.Errorf("arc: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// fold cuts a signature into lines of 72 characters, so no line of the
// field runs long.
func fold(s string) string {
	var b strings.Builder
	for len(s) > 72 {
		b.WriteString(s[:72])
		b.WriteString("\r\n\t")
		s = s[72:]
	}
	b.WriteString(s)
	return b.String()
}
