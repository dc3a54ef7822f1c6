package smtpcheck_test

import (
	"sync"
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck"
)

// ValueOf makes a session's state once: every caller, at once or later,
// gets the same value, and a value of another type under the key is
// replaced.
func TestValueOf(t *testing.T) {
	type key struct{}
	type counter struct{ n int }
	s := &smtpcheck.Session{}
	got := make([]*counter, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = smtpcheck.ValueOf[counter](s, key{})
		}()
	}
	wg.Wait()
	for i, c := range got {
		if c == nil || c != got[0] {
			t.Fatalf("ValueOf call %d = %p, want %p as the first", i, c, got[0])
		}
	}
	if v, ok := s.Value(key{}).(*counter); !ok || v != got[0] {
		t.Errorf("Value(key) = %v, want the *counter ValueOf made", s.Value(key{}))
	}
	s.SetValue(key{}, "other")
	if c := smtpcheck.ValueOf[counter](s, key{}); c == nil || c == got[0] || c.n != 0 {
		t.Errorf("ValueOf over a string = %v, want a new zero *counter", c)
	}
}
