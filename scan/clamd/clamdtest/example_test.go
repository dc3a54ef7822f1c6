package clamdtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/scan/clamd"
	"github.com/smtppolicy/smtppolicy/scan/clamd/clamdtest"
)

// A test starts its own clamd and scans the EICAR test file with it: clamd
// reports the Signature. Without clamd installed the test is skipped (it
// fails when SMTPPOLICY_REQUIRE_PEERS=1).
func ExampleStart() {
	testEICAR := func(t *testing.T) {
		srv := clamdtest.Start(t, clamdtest.Options{StreamMaxLength: "1M"})
		sc, err := clamd.New(clamd.Config{Address: srv.Socket})
		if err != nil {
			t.Fatal(err)
		}
		v, err := sc.Scan(context.Background(), strings.NewReader(clamdtest.EICAR()))
		if err != nil || v.Virus != clamdtest.Signature {
			t.Errorf("Scan = %+v, %v; want %s", v, err, clamdtest.Signature)
		}
	}
	_ = testEICAR // in a _test.go file: func TestEICAR(t *testing.T) { ... }
}
