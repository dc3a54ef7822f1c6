package peertest

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartDaemonReportsOneThatExits(t *testing.T) {
	_, err := StartDaemon("true", exec.Command("true"), filepath.Join(t.TempDir(), "out"), func() error { return errors.New("no") }, 10*time.Millisecond, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "true exited") {
		t.Fatalf("StartDaemon(true) = %v, want an error saying it exited", err)
	}
}

func TestStartDaemonWaitsForReadyAndStops(t *testing.T) {
	asked := 0
	d, err := StartDaemon("sleep", exec.Command("sleep", "60"), filepath.Join(t.TempDir(), "out"), func() error {
		if asked++; asked < 3 {
			return errors.New("not yet")
		}
		return nil
	}, time.Millisecond, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if asked != 3 {
		t.Errorf("ready asked %d times, want 3", asked)
	}
	start := time.Now()
	d.Stop(5 * time.Second)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Stop took %v: the interrupt did not end sleep", took)
	}
}
