package greylist

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeRecord(t *testing.T) {
	tests := []struct {
		in   string
		want record
		bad  bool
	}{
		{in: "1 1735732800 0", want: record{First: 1735732800}},
		{in: "1 1735732800 1735733100", want: record{First: 1735732800, Passed: 1735733100}},
		{in: "1 1735732800 0 abcdef", want: record{First: 1735732800, Hash: "abcdef"}},
		{in: " 1  7\t0 \n", want: record{First: 7}},
		{in: "1 +7 0", want: record{First: 7}},
		{in: "1 9223372036854775807 0", want: record{First: 1<<63 - 1}},
		{in: "1 9223372036854775808 0", bad: true},
		{in: "1 99999999999999999999 0", bad: true},
		{in: "1 -7 0", bad: true},
		{in: "1 7x 0", bad: true},
		{in: "1 + 0", bad: true},
		{in: "2 7 0", bad: true},
		{in: "1 7", bad: true},
		{in: "1 7 0 h extra", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		got, err := decodeRecord([]byte(tt.in))
		if tt.bad {
			if !errors.Is(err, errBadRecord) {
				t.Errorf("decodeRecord(%q) = %+v, %v; want errBadRecord", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("decodeRecord(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

// FuzzDecodeRecord checks that any stored bytes decode or are refused
// without panicking, and that what decodes encodes back to the same fields.
func FuzzDecodeRecord(f *testing.F) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeRecord")
	if _, err := os.Stat(dir); err != nil {
		f.Add([]byte("1 1735732800 0"))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		if r.First < 0 || r.Passed < 0 {
			t.Fatalf("decodeRecord(%q) = %+v: negative time", b, r)
		}
		if strings.ContainsAny(r.Hash, " \t\n") {
			t.Fatalf("decodeRecord(%q) = %+v: space in hash", b, r)
		}
		back, err := decodeRecord(r.encode())
		if err != nil || back != r {
			t.Fatalf("decodeRecord(encode(%+v)) = %+v, %v", r, back, err)
		}
	})
}
