package access

import (
	"bytes"
	"fmt"
	"testing"
)

// A map whose keys fill several arena chunks finds every key, first chunk
// to last, with its own value, and a later line overrides an earlier key.
func TestKeysAcrossArenaChunks(t *testing.T) {
	const n = 120_000 // about 4 MB of map text
	data := bigMap(n)
	data = append(data, "To:DOMAIN2.example OK\n"...) // overrides entry 2's REJECT:"..."
	m, err := Parse(bytes.NewReader(data), "big.map")
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != n {
		t.Fatalf("Len = %d, want %d", m.Len(), n)
	}
	values := []string{"REJECT", "OK", `REJECT:"550 5.7.1 spam source"`, "SKIP", "TEMPFAIL", "CONTENT"}
	for _, i := range []int{6, 1002, 40002, 80006, n - 2} {
		key := fmt.Sprintf("to:domain%d.example", i)
		v, ok := m.Get(key)
		if !ok {
			t.Errorf("Get(%q) not found", key)
			continue
		}
		if want := values[i%len(values)]; v.Raw != want {
			t.Errorf("Get(%q) = %q, want %q", key, v.Raw, want)
		}
	}
	if v, ok := m.Get("to:domain2.example"); !ok || v.Raw != "OK" {
		t.Errorf("Get(to:domain2.example) = %v, %v; want the later line's OK", v, ok)
	}
}
