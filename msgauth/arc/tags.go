package arc

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// tags is a parsed tag=value list (RFC 6376 3.2).
type tags map[string]string

const fws = " \t\r\n"

// parseTags reads a tag list: tag=value pairs separated by semicolons,
// white space allowed around each part, a final semicolon allowed, a tag
// named twice an error.
func parseTags(s string) (tags, error) {
	t := tags{}
	parts := strings.Split(s, ";")
	for i, p := range parts {
		p = strings.Trim(p, fws)
		if p == "" {
			if i == len(parts)-1 {
				break
			}
			return nil, errors.New("empty tag")
		}
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not tag=value", p)
		}
		name = strings.Trim(name, fws)
		if !tagName(name) {
			return nil, fmt.Errorf("%q is not a tag name", name)
		}
		if _, dup := t[name]; dup {
			return nil, fmt.Errorf("tag %s= twice", name)
		}
		t[name] = strings.Trim(value, fws)
	}
	return t, nil
}

// tagName is RFC 6376's tag-name: ALPHA *(ALNUM / "_").
func tagName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alpha && (i == 0 || !(c >= '0' && c <= '9' || c == '_')) {
			return false
		}
	}
	return true
}

// require returns an error naming the first of names that t lacks.
func (t tags) require(names ...string) error {
	for _, n := range names {
		if _, ok := t[n]; !ok {
			return fmt.Errorf("no %s= tag", n)
		}
	}
	return nil
}

// base64Value decodes a b= or bh= value, whose folding white space is not
// part of it.
func base64Value(v string) ([]byte, error) {
	v = strings.Map(func(r rune) rune {
		if strings.ContainsRune(fws, r) {
			return -1
		}
		return r
	}, v)
	return base64.StdEncoding.DecodeString(v)
}

// Algorithms a set may be signed with (RFC 8617 uses DKIM's; ed25519-sha256
// is RFC 8463's).
const (
	RSASHA256     = "rsa-sha256"
	Ed25519SHA256 = "ed25519-sha256"
)

// minRSABits is the smallest RSA key accepted (RFC 8301 3.2).
const minRSABits = 1024

// parseKey reads a DKIM key record (RFC 6376 3.6.1) for algo.
func parseKey(txt, algo string) (crypto.PublicKey, error) {
	t, err := parseTags(txt)
	if err != nil {
		return nil, fmt.Errorf("key record: %v", err)
	}
	if v, ok := t["v"]; ok && v != "DKIM1" {
		return nil, fmt.Errorf("key record: v=%s, want DKIM1", v)
	}
	if h, ok := t["h"]; ok && !listHas(h, "sha256") {
		return nil, fmt.Errorf("key record: h=%s does not allow sha256", h)
	}
	if s, ok := t["s"]; ok && !listHas(s, "*") && !listHas(s, "email") {
		return nil, fmt.Errorf("key record: s=%s is not for email", s)
	}
	k := strings.ToLower(t["k"])
	if k == "" {
		k = "rsa"
	}
	if !strings.HasPrefix(algo, k+"-") {
		return nil, fmt.Errorf("key record: k=%s cannot verify %s", k, algo)
	}
	p, ok := t["p"]
	if !ok {
		return nil, errors.New("key record: no p= tag")
	}
	if strings.Trim(p, fws) == "" {
		return nil, errors.New("key revoked (empty p=)")
	}
	der, err := base64Value(p)
	if err != nil {
		return nil, fmt.Errorf("key record: p=: %v", err)
	}
	switch k {
	case "rsa":
		var pub *rsa.PublicKey
		if pk, err := x509.ParsePKIXPublicKey(der); err == nil {
			pub, _ = pk.(*rsa.PublicKey)
		} else if pk, err := x509.ParsePKCS1PublicKey(der); err == nil {
			pub = pk
		}
		if pub == nil {
			return nil, errors.New("key record: p= is not an RSA public key")
		}
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("key record: RSA key of %d bits, want %d or more", pub.N.BitLen(), minRSABits)
		}
		return pub, nil
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("key record: ed25519 key of %d octets", len(der))
		}
		return ed25519.PublicKey(der), nil
	}
	return nil, fmt.Errorf("key record: unknown k=%s", k)
}

// listHas reports whether a colon-separated list holds s.
func listHas(list, s string) bool {
	for _, v := range strings.Split(list, ":") {
		if strings.EqualFold(strings.Trim(v, fws), s) {
			return true
		}
	}
	return false
}

// verifySig checks sig over digest (a SHA-256) with pub for algo.
func verifySig(pub crypto.PublicKey, algo string, digest, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if algo == RSASHA256 {
			return rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, sig)
		}
	case ed25519.PublicKey:
		// RFC 8463 3: Ed25519 signs the SHA-256 hash.
		if algo == Ed25519SHA256 && ed25519.Verify(k, digest, sig) {
			return nil
		}
		if algo == Ed25519SHA256 {
			return errors.New("ed25519: verification error")
		}
	}
	return fmt.Errorf("key cannot verify %s", algo)
}
