package spamd_test

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/scan/spamd"
)

// FuzzParseReply: any answer spamd (or something posing as it) sends is a
// verdict or an error, never a panic; a verdict's scores are finite and its
// rules are names a header can carry.
func FuzzParseReply(f *testing.F) {
	f.Add([]byte("SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE"))
	f.Add([]byte("SPAMD/1.0 76 Bad header line: X\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := spamd.ParseReply(bytes.NewReader(b))
		if err != nil {
			return
		}
		if math.IsNaN(v.Score) || math.IsInf(v.Score, 0) || math.IsNaN(v.Required) || math.IsInf(v.Required, 0) {
			t.Fatalf("ParseReply(%q) scores %v / %v", b, v.Score, v.Required)
		}
		for _, r := range v.Rules {
			if r == "" || strings.ContainsAny(r, " ,\r\n\t") {
				t.Fatalf("ParseReply(%q) rule %q", b, r)
			}
		}
	})
}
