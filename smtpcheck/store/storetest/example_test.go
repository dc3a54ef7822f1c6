package storetest_test

import (
	"testing"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/storetest"
)

// A Store of your own runs the same contract suite as the library's stores:
// call Run from a test function with a constructor of fresh stores and the
// clock that drives their expiry.
func ExampleRun() {
	testStore := func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) (store.Store, *storetest.Clock) {
			clock := storetest.NewClock()
			s := store.NewMemory(store.MemoryOptions{Now: clock.Now})
			t.Cleanup(func() { s.Close() })
			return s, clock
		})
	}
	_ = testStore // in a _test.go file: func TestMyStore(t *testing.T) { ... }
}
