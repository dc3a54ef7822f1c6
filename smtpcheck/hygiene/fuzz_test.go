package hygiene

import (
	"bytes"
	"context"
	"io"
	"testing"
)

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"Thu, 1 Jan 2026 10:00:00 +0100", "1 Jan 26 10:00 GMT", "Mon , 2 Feb 2026 23:59:60 -0000 (UTC)", "(((", "\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = ParseDate(s, false)
		_ = ParseDate(s, true)
		_ = ValidMessageID(s)
	})
}

func FuzzLineEndings(f *testing.F) {
	for _, s := range []string{"a\r\nb\r\n", "a\n.\nb", "\r.\r", "\r\n.\r\n", "..\n\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		whole, _ := ScanLineEndings(context.Background(), bytes.NewReader(b))
		var sc Scanner
		for i := range b {
			sc.Write(b[i : i+1])
		}
		if got := sc.Findings(); got != whole {
			t.Fatalf("byte-wise scan %s != whole scan %s for %q", got, whole, b)
		}
		norm, err := io.ReadAll(NormalizeLineEndings(bytes.NewReader(b)))
		if err != nil {
			t.Fatal(err)
		}
		if f, _ := ScanLineEndings(context.Background(), bytes.NewReader(norm)); f.BareLF+f.BareCR != 0 {
			t.Fatalf("normalised %q still has bare endings: %s", norm, f)
		}
	})
}
