package peertest

import (
	"errors"
	"os"
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

func TestWorkdirFailSaysWhyAndCleansUp(t *testing.T) {
	w, err := NewWorkdir("peertest", "out")
	if err != nil {
		t.Fatal(err)
	}
	err = w.Start("sh", exec.Command("sh", "-c", "echo bad config; exit 1"), func() error { return errors.New("no") }, 10*time.Millisecond, 5*time.Second)
	if err == nil {
		w.Close(time.Second)
		t.Fatal("Start of a daemon that exits = nil, want an error")
	}
	err = w.Fail(err)
	if msg := err.Error(); !strings.HasPrefix(msg, "peertest: sh exited") || !strings.Contains(msg, "bad config") {
		t.Errorf("Fail = %q, want the prefix, the exit and the daemon's output", msg)
	}
	if _, serr := os.Stat(w.Path); !os.IsNotExist(serr) {
		t.Errorf("Fail left %s behind", w.Path)
	}
}

func TestWorkdirCloseStopsAndRemoves(t *testing.T) {
	w, err := NewWorkdir("peertest", "out")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.Path, "log"), []byte("started\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Start("sleep", exec.Command("sleep", "60"), func() error { return nil }, time.Millisecond, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := w.Read("log"); got != "started\n" {
		t.Errorf("Read(log) = %q, want %q", got, "started\n")
	}
	w.Close(5 * time.Second)
	if _, err := os.Stat(w.Path); !os.IsNotExist(err) {
		t.Errorf("Close left %s behind", w.Path)
	}
}
