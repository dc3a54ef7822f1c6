package dnsbl_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/dnsbl"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		zone     string
		weight   int
		str      string   // String() form
		match    []string // answers that list
		nomatch  []string // answers that do not
		errAt    int      // offset of the error, -1 for none
		errorHas string
	}{
		{"zone only", "zen.example", "zen.example", 1, "zen.example",
			[]string{"127.0.0.2", "127.1.2.3"}, []string{"10.0.0.2", "128.0.0.2"}, -1, ""},
		{"uppercase, trailing dot, space", "  ZEN.Example.  ", "zen.example", 1, "zen.example", []string{"127.0.0.2"}, nil, -1, ""},
		{"single value", "zen.example=127.0.0.2", "zen.example", 1, "zen.example=127.0.0.2",
			[]string{"127.0.0.2"}, []string{"127.0.0.3"}, -1, ""},
		{"range", "zen.example=127.0.0.[2..11]", "zen.example", 1, "zen.example=127.0.0.[2..11]",
			[]string{"127.0.0.2", "127.0.0.11"}, []string{"127.0.0.1", "127.0.0.12", "127.0.1.2"}, -1, ""},
		{"list and range", "zen.example=127.0.0.[2;4;10..11]", "zen.example", 1, "zen.example=127.0.0.[2;4;10..11]",
			[]string{"127.0.0.2", "127.0.0.4", "127.0.0.10", "127.0.0.11"}, []string{"127.0.0.3", "127.0.0.9", "127.0.0.12"}, -1, ""},
		{"bitmask", "dbl.example&0.0.0.4", "dbl.example", 1, "dbl.example&0.0.0.4",
			[]string{"127.0.0.4", "127.0.0.6", "127.0.0.255"}, []string{"127.0.0.2", "127.0.0.8"}, -1, ""},
		{"weight", "zen.example*3", "zen.example", 3, "zen.example*3", []string{"127.0.0.2"}, nil, -1, ""},
		{"range and weight", "zen.example=127.0.0.[10..11]*2", "zen.example", 2, "zen.example=127.0.0.[10..11]*2",
			[]string{"127.0.0.10"}, []string{"127.0.0.2"}, -1, ""},
		{"mask and weight", "dbl.example&0.0.0.2*5", "dbl.example", 5, "dbl.example&0.0.0.2*5", []string{"127.0.0.2"}, nil, -1, ""},
		{"allowlist", "list.dnswl.example=127.0.[0..255].[1..3]*-2", "list.dnswl.example", -2,
			"list.dnswl.example=127.0.[0..255].[1..3]*-2",
			[]string{"127.0.5.1", "127.0.255.3"}, []string{"127.0.5.0", "127.0.5.4", "127.0.0.255", "127.1.5.1"}, -1, ""},
		{"out of range answer never lists", "zen.example=[0..255].0.0.2", "zen.example", 1, "zen.example=[0..255].0.0.2",
			[]string{"127.0.0.2"}, []string{"10.0.0.2"}, -1, ""},

		{"empty", "", "", 0, "", nil, nil, 0, "empty spec"},
		{"missing zone", "=127.0.0.2", "", 0, "", nil, nil, 0, "missing zone"},
		{"bad zone", "zen example", "", 0, "", nil, nil, 0, "bad zone"},
		{"missing pattern", "zen.example=", "", 0, "", nil, nil, 12, "missing pattern"},
		{"three octets", "zen.example=127.0.0", "", 0, "", nil, nil, 19, "four octets"},
		{"five octets", "zen.example=127.0.0.2.1", "", 0, "", nil, nil, 21, "after four octets"},
		{"octet over 255", "zen.example=127.0.0.256", "", 0, "", nil, nil, 20, `bad number "256"`},
		{"bad number in range", "zen.example=127.0.0.[2..x]", "", 0, "", nil, nil, 21, `bad number "x"`},
		{"reversed range", "zen.example=127.0.0.[11..2]", "", 0, "", nil, nil, 21, "reversed"},
		{"unclosed bracket", "zen.example=127.0.0.[2..11", "", 0, "", nil, nil, 20, "unclosed"},
		{"empty bracket", "zen.example=127.0.0.[]", "", 0, "", nil, nil, 20, "empty"},
		{"second list element bad", "zen.example=127.0.0.[2;z]", "", 0, "", nil, nil, 23, `bad number "z"`},
		{"bad mask", "dbl.example&4", "", 0, "", nil, nil, 12, "bad mask"},
		{"zero mask", "dbl.example&0.0.0.0", "", 0, "", nil, nil, 12, "matches nothing"},
		{"bad weight", "zen.example*x", "", 0, "", nil, nil, 12, "bad weight"},
		{"zero weight", "zen.example*0", "", 0, "", nil, nil, 12, "bad weight"},
		{"huge weight", "zen.example*99999", "", 0, "", nil, nil, 12, "bad weight"},
		{"pattern and mask", "zen.example=127.0.0.2&0.0.0.4", "", 0, "", nil, nil, 20, `bad number "2&0"`},
		{"trailing junk", "zen.example*2x", "", 0, "", nil, nil, 12, "bad weight"},
		{"leading space offset", "  zen.example*x", "", 0, "", nil, nil, 14, "bad weight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := dnsbl.ParseList(tt.spec)
			if tt.errAt >= 0 {
				var se *dnsbl.SpecError
				if !errors.As(err, &se) || se.Pos != tt.errAt || !strings.Contains(se.Error(), tt.errorHas) {
					t.Fatalf("ParseList(%q) error = %v, want a SpecError at %d containing %q", tt.spec, err, tt.errAt, tt.errorHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseList(%q) error = %v", tt.spec, err)
			}
			if l.Zone != tt.zone || l.Weight != tt.weight || l.String() != tt.str {
				t.Errorf("ParseList(%q) = zone %q weight %d String %q; want %q, %d, %q", tt.spec, l.Zone, l.Weight, l.String(), tt.zone, tt.weight, tt.str)
			}
			if l2, err := dnsbl.ParseList(l.String()); err != nil || l2.String() != l.String() {
				t.Errorf("ParseList(%q) does not round-trip: %v, %v", l.String(), l2, err)
			}
			for _, a := range tt.match {
				if !l.Match(netip.MustParseAddr(a)) {
					t.Errorf("ParseList(%q).Match(%s) = false, want true", tt.spec, a)
				}
			}
			for _, a := range tt.nomatch {
				if l.Match(netip.MustParseAddr(a)) {
					t.Errorf("ParseList(%q).Match(%s) = true, want false", tt.spec, a)
				}
			}
		})
	}
}

func TestParseLists(t *testing.T) {
	ls, err := dnsbl.ParseLists("zen.example*2, bl.example", "dnswl.example*-3")
	if err != nil || len(ls) != 3 || ls[0].Weight != 2 || ls[2].Weight != -3 || !ls[2].Allowlist() {
		t.Errorf("ParseLists = %v, %v; want 3 lists", ls, err)
	}
	if _, err := dnsbl.ParseLists("zen.example", "bad=x"); err == nil {
		t.Errorf("ParseLists with a bad spec: no error")
	}
}
