package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/d--j/go-milter"
)

// TestCPUProfileWrittenAtStop checks -cpu-profile: the flag is in -h, and
// a filter that served a session and was stopped (as SIGTERM stops it)
// leaves a complete profile, gzip-compressed as go tool pprof reads it.
func TestCPUProfileWrittenAtStop(t *testing.T) {
	dir := t.TempDir()
	help, err := os.Create(filepath.Join(dir, "help"))
	if err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"-h"}, help, nil); err == nil {
		t.Fatal("-h did not stop the program")
	}
	help.Close()
	if b, _ := os.ReadFile(help.Name()); !bytes.Contains(b, []byte("-cpu-profile")) {
		t.Fatalf("-h does not document -cpu-profile:\n%s", b)
	}

	prof := filepath.Join(dir, "cpu.pprof")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-listen", "inet:" + addr, "-cpu-profile", prof}, devnull, nil) }()
	c := milter.NewClient("tcp", addr, milter.WithActions(milter.AllClientSupportedActionMasks))
	var s *milter.ClientSession
	for deadline := time.Now().Add(10 * time.Second); ; {
		if s, err = c.Session(milter.NewMacroBag()); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if act, err := s.Conn("mx.client.example", milter.FamilyInet, 40000, "192.0.2.7"); err != nil || act.Type != milter.ActionContinue {
		t.Fatalf("connect = %v, %v", act, err)
	}
	s.Close()
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("the profile is not a gzip-compressed pprof file: %q", strings.ToValidUTF8(string(b[:min(len(b), 32)]), "?"))
	}
}
