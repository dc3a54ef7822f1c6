package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBatchedLogInMemoryUnchanged(t *testing.T) {
	var buf bytes.Buffer
	w, done := batchedLog(&buf)
	defer done()
	if w != &buf {
		t.Fatalf("batchedLog(*bytes.Buffer) = %T, want the buffer itself", w)
	}
}

// TestBatchedLogLines writes lines from many goroutines to a file and
// checks that each arrives whole, once, and in each writer's order.
func TestBatchedLogLines(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, done := batchedLog(f)
	const writers, lines = 8, 2000 // past logBatchMax, so full batches go out too
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(w, "writer=%d line=%d %s\n", g, i, strings.Repeat("x", i%50))
			}
		}()
	}
	wg.Wait()
	done()
	fmt.Fprintf(w, "after close\n")
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(got) != writers*lines+1 || got[len(got)-1] != "after close" {
		t.Fatalf("%d lines, last %q; want %d, then %q", len(got), got[len(got)-1], writers*lines+1, "after close")
	}
	next := make([]int, writers)
	for _, l := range got[:len(got)-1] {
		var g, i int
		if _, err := fmt.Sscanf(l, "writer=%d line=%d", &g, &i); err != nil || g < 0 || g >= writers {
			t.Fatalf("line %q: not one whole line", l)
		}
		if want := fmt.Sprintf("writer=%d line=%d %s", g, i, strings.Repeat("x", i%50)); l != want || i != next[g] {
			t.Fatalf("line %q, want %q (line %d of writer %d)", l, want, next[g], g)
		}
		next[g]++
	}
}

// TestBatchedLogWritesWithoutClose checks that a lone line is written
// without anything else happening.
func TestBatchedLogWritesWithoutClose(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, done := batchedLog(f)
	defer done()
	fmt.Fprintf(w, "one line\n")
	for deadline := time.Now().Add(10 * time.Second); ; {
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if string(b) == "one line\n" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log file holds %q, want %q", b, "one line\n")
		}
		time.Sleep(time.Millisecond)
	}
}
