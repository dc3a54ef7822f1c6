package spamdtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/smtppolicy/smtppolicy/scan/spamd"
	"github.com/smtppolicy/smtppolicy/scan/spamd/spamdtest"
)

// A test starts its own spamd and scores GTUBE with it: 1000 points. spamd
// takes a second or more to start; tests of one package share one through
// Launch in a sync.Once. Without spamd installed the test is skipped (it
// fails when SMTPPOLICY_REQUIRE_PEERS=1).
func ExampleStart() {
	testGTUBE := func(t *testing.T) {
		srv := spamdtest.Start(t)
		sc, err := spamd.New(spamd.Config{Address: srv.Addr})
		if err != nil {
			t.Fatal(err)
		}
		msg := "Subject: test\r\n\r\n" + spamdtest.GTUBE + "\r\n"
		v, err := sc.Scan(context.Background(), strings.NewReader(msg), int64(len(msg)))
		if err != nil || v.Score < 1000 {
			t.Errorf("Scan = %+v, %v; want a score of 1000 or more", v, err)
		}
	}
	_ = testGTUBE // in a _test.go file: func TestGTUBE(t *testing.T) { ... }
}
