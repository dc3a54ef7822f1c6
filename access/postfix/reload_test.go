package postfix

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// waitFor polls cond until it holds or ten seconds pass: a reloading table
// looks at its files at most once a second.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func findText(tb Table, q string) string {
	a, ok := tb.Find(q)
	if !ok {
		return ""
	}
	return a.String()
}

// A hash: table is read again when its source changes, or when postmap
// rebuilds its .db file, as Postfix's smtpd processes do after postmap; a
// source that no longer loads leaves the table in service.
func TestHashTableReloads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access")
	write := func(text string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write("a REJECT\n", t0)
	tb, err := Load("hash:" + path)
	if err != nil {
		t.Fatal(err)
	}
	if got := findText(tb, "a"); got != "REJECT" {
		t.Fatalf("Find(a) = %q, want REJECT", got)
	}

	// The source edited: read again.
	write("a OK\nb REJECT\n", t0.Add(time.Minute))
	waitFor(t, "edited source read again", func() bool { return findText(tb, "b") == "REJECT" })
	if got := findText(tb, "a"); got != "OK" {
		t.Errorf("after the edit Find(a) = %q, want OK", got)
	}

	// Same size, same time, but postmap built the .db: read again.
	write("a OK\nb DUNNO\n", t0.Add(time.Minute))
	if err := os.WriteFile(path+".db", []byte("built"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "postmap's .db noticed", func() bool { return findText(tb, "b") == "DUNNO" })

	// A broken source keeps the last good table.
	write("a OK\nb\n", t0.Add(2*time.Minute))
	waitFor(t, "broken source noticed", func() bool { findText(tb, "a"); return LastError(tb) != nil })
	if got := findText(tb, "b"); got != "DUNNO" {
		t.Errorf("after a bad edit Find(b) = %q, want the last good DUNNO", got)
	}
	write("a OK\nb REJECT again\n", t0.Add(3*time.Minute))
	waitFor(t, "fixed source read", func() bool { return findText(tb, "b") == "REJECT again" })
	if LastError(tb) != nil {
		t.Errorf("LastError = %v after a good reload", LastError(tb))
	}
}
