package hygiene

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"Thu, 1 Jan 2026 10:00:00 +0100", "1 Jan 26 10:00 GMT", "Mon , 2 Feb 2026 23:59:60 -0000 (UTC)", "(((", "\\", "ſat, 1 Jan 2026 10:00:00 +0100", "1\u00a0Jan 2026 1:2:3:4 EST", "1 2 3 4 5 6 7 8 9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, strict := range []bool{false, true} {
			if got, want := fmt.Sprint(ParseDate(s, strict)), fmt.Sprint(parseDateRef(s, strict)); got != want {
				t.Fatalf("ParseDate(%q, %v) = %s, want %s", s, strict, got, want)
			}
		}
		_ = ValidMessageID(s)
	})
}

func FuzzLineEndings(f *testing.F) {
	for _, s := range []string{"a\r\nb\r\n", "a\n.\nb", "\r.\r", "\r\n.\r\n", "..\n\r", "a\r\n.\r\nb\n", "x\ry\r\n", ".\r\n.\n", "a\r\n\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		whole, _ := ScanLineEndings(t.Context(), bytes.NewReader(b))
		var sc Scanner
		for i := range b {
			sc.Write(b[i : i+1])
		}
		if got := sc.Findings(); got != whole {
			t.Fatalf("byte-wise scan %s != whole scan %s for %q", got, whole, b)
		}
		if ref := scanRef(b); ref != whole {
			t.Fatalf("ScanLineEndings(%q) = %s, want %s", b, whole, ref)
		}
		// Two writes split at every third of the input, as a reader's
		// chunks fall.
		var sc2 Scanner
		sc2.Write(b[:len(b)/3])
		sc2.Write(b[len(b)/3:])
		if got := sc2.Findings(); got != whole {
			t.Fatalf("split scan %s != whole scan %s for %q", got, whole, b)
		}
		norm, err := io.ReadAll(NormalizeLineEndings(bytes.NewReader(b)))
		if err != nil {
			t.Fatal(err)
		}
		if f, _ := ScanLineEndings(t.Context(), bytes.NewReader(norm)); f.BareLF+f.BareCR != 0 {
			t.Fatalf("normalised %q still has bare endings: %s", norm, f)
		}
	})
}
