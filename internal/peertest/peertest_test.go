package peertest

import (
	"os/exec"
	"testing"
)

func TestLookFindsAProgramOnPath(t *testing.T) {
	want, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	if got := Look(t, "sh", "dash"); got != want {
		t.Fatalf("Look(sh) = %q, want %q", got, want)
	}
}

func TestMissingSkipsOrFails(t *testing.T) {
	for _, required := range []string{"", "1"} {
		t.Run("required="+required, func(t *testing.T) {
			t.Setenv(RequireEnv, required)
			ft := &fakeTB{TB: t}
			func() {
				defer func() { recover() }() // fakeTB stops the goroutine the way testing does
				Look(ft, "no-such-program-smtppolicy", "none")
			}()
			if required == "1" && !ft.failed {
				t.Error("missing peer did not fail the test though peers are required")
			}
			if required == "" && (!ft.skipped || ft.failed) {
				t.Errorf("missing peer: skipped=%v failed=%v, want a skip", ft.skipped, ft.failed)
			}
		})
	}
}

type stop struct{}

type fakeTB struct {
	testing.TB
	failed, skipped bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true; panic(stop{}) }
func (f *fakeTB) Skip(...any)           { f.skipped = true; panic(stop{}) }
