package smtppolicy_test

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/smtppolicy/smtppolicy"

// imports returns every import path that pkg (a path inside this module)
// reaches through the module's own packages, tests excluded.
func imports(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		dir := filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(p, module), "/"))
		if dir == "" {
			dir = "."
		}
		bp, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		for _, imp := range bp.Imports {
			if seen[imp] {
				continue
			}
			seen[imp] = true
			if strings.HasPrefix(imp, module+"/") {
				walk(imp)
			}
		}
	}
	walk(pkg)
	return seen
}

// The floors of DESIGN.md hold: a library user who imports one of these
// packages links none of what is listed beside it.
func TestFloors(t *testing.T) {
	tests := []struct {
		pkg    string
		absent []string
	}{
		// uri owns the verdict of a Body lookup; access is its peer.
		{"uri", []string{module + "/access"}},
		// A greylist user picks a store; the others stay unlinked.
		{"greylist", []string{module + "/smtpcheck/store/boltstore", module + "/smtpcheck/store/redisstore",
			"go.etcd.io/bbolt", "github.com/redis/go-redis/v9"}},
		{"access", []string{module + "/smtpcheck/store/boltstore", module + "/smtpcheck/store/redisstore", module + "/uri"}},
		{"dnsbl", []string{module + "/access", module + "/greylist"}},
	}
	for _, tt := range tests {
		got := imports(t, module+"/"+tt.pkg)
		for _, p := range tt.absent {
			if got[p] {
				t.Errorf("%s imports %s", tt.pkg, p)
			}
		}
	}
}

// dnsbl and uri read answers through the resolver's typed values, not
// miekg/dns records.
func TestChecksNeedNoDNSLibrary(t *testing.T) {
	for _, pkg := range []string{"dnsbl", "uri"} {
		bp, err := build.ImportDir(pkg, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range bp.Imports {
			if imp == "github.com/miekg/dns" {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
}
