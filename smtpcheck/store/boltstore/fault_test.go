package boltstore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/smtppolicy/smtppolicy/smtpcheck/store"
	"github.com/smtppolicy/smtppolicy/smtpcheck/store/boltstore"
)

// bbolt's page header: id uint64, flags uint16, count uint16, overflow
// uint32; the meta page's page size sits after its magic and version.
const (
	branchPage   = 0x01
	leafPage     = 0x02
	freelistPage = 0x10
	pageHeader   = 16
)

// writeFile fills a store with enough records for several leaf pages under
// a branch page, closes it and returns the file's bytes and page size.
func writeFile(t *testing.T, path string) ([]byte, int) {
	t.Helper()
	s := open(t, path, boltstore.Options{NoSync: true})
	ctx := t.Context()
	for i := range 2000 {
		if err := s.Set(ctx, fmt.Sprintf("grey:t:192.0.2.%d/sender%d@example.org/rcpt", i%256, i), []byte("a greylisting record"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := int(binary.LittleEndian.Uint32(data[pageHeader+8:]))
	if ps < 512 || len(data)%ps != 0 {
		t.Fatalf("page size %d read from the meta page does not fit a file of %d bytes", ps, len(data))
	}
	return data, ps
}

// meta returns the free-page list's page and the high-water mark (pages
// in use) from the newer of the two meta pages. After the page header: magic,
// version, page size, flags (4 bytes each), root bucket (16), free-page
// list, high-water mark, transaction id (8 each).
func meta(data []byte, ps int) (freelist, hwm int) {
	var txid uint64
	for p := range 2 {
		m := data[p*ps+pageHeader:]
		if id := binary.LittleEndian.Uint64(m[48:]); p == 0 || id > txid {
			txid = id
			freelist, hwm = int(binary.LittleEndian.Uint64(m[32:])), int(binary.LittleEndian.Uint64(m[40:]))
		}
	}
	return freelist, hwm
}

// recordLeaves returns the leaf pages the records bucket's root branch
// page points to (pages in use, not stale free ones).
func recordLeaves(t *testing.T, data []byte, ps int) []int {
	t.Helper()
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var root int
	db.View(func(tx *bolt.Tx) error {
		root = int(tx.Bucket([]byte("records")).Root())
		return nil
	})
	db.Close()
	h := data[root*ps:]
	if binary.LittleEndian.Uint16(h[8:]) != branchPage {
		t.Fatalf("records bucket's root page %d is not a branch page", root)
	}
	var leaves []int
	for i := range int(binary.LittleEndian.Uint16(h[10:])) {
		// Branch elements: pos, ksize (4 bytes each), child page (8).
		leaves = append(leaves, int(binary.LittleEndian.Uint64(h[pageHeader+16*i+8:])))
	}
	return leaves
}

// pages returns the numbers of the pages whose header names them and has
// the flags, so that a test damages pages bbolt will read.
func pages(data []byte, ps int, flags uint16) []int {
	var out []int
	for p := 2; p < len(data)/ps; p++ {
		h := data[p*ps:]
		if binary.LittleEndian.Uint64(h) == uint64(p) && binary.LittleEndian.Uint16(h[8:]) == flags {
			out = append(out, p)
		}
	}
	return out
}

// TestOpenDamagedFile writes damaged bolt files the ways disks, copies and
// crashes damage them: Open returns an error wrapping ErrCorrupt, and the
// process does not panic (bbolt panics on such pages, and a page number
// outside the file is a memory fault, which kills a process unguarded).
func TestOpenDamagedFile(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, data []byte, ps int) []byte
	}{
		{"truncated to half", func(t *testing.T, data []byte, ps int) []byte { return data[:len(data)/2] }},
		{"truncated to its meta pages and one more", func(t *testing.T, data []byte, ps int) []byte { return data[:3*ps] }},
		{"last page in use cut short", func(t *testing.T, data []byte, ps int) []byte {
			_, hwm := meta(data, ps)
			return data[:hwm*ps-ps/2]
		}},
		{"leaf pages overwritten", func(t *testing.T, data []byte, ps int) []byte {
			leaves := pages(data, ps, leafPage)
			if len(leaves) < 2 {
				t.Fatalf("only %d leaf pages", len(leaves))
			}
			for _, p := range leaves {
				for i := range ps {
					data[p*ps+i] = byte(i*7 + 13)
				}
			}
			return data
		}},
		{"one leaf page's header zeroed", func(t *testing.T, data []byte, ps int) []byte {
			leaves := recordLeaves(t, data, ps)
			clear(data[leaves[len(leaves)/2]*ps:][:pageHeader])
			return data
		}},
		{"branch page pointing outside the file", func(t *testing.T, data []byte, ps int) []byte {
			branches := pages(data, ps, branchPage)
			if len(branches) == 0 {
				t.Fatal("no branch page")
			}
			for _, p := range branches {
				// The first element's child page number: pos, ksize, pgid.
				binary.LittleEndian.PutUint64(data[p*ps+pageHeader+8:], 1<<30)
			}
			return data
		}},
		{"free-page list zeroed", func(t *testing.T, data []byte, ps int) []byte {
			fl, _ := meta(data, ps)
			if h := data[fl*ps:]; binary.LittleEndian.Uint16(h[8:]) != freelistPage {
				t.Fatalf("page %d named by the meta page is not a free-page list", fl)
			}
			clear(data[fl*ps:][:ps])
			return data
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.db")
			data, ps := writeFile(t, path)
			if err := os.WriteFile(path, tt.damage(t, data, ps), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := boltstore.Open(path, boltstore.Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open(damaged file) = nil error, want ErrCorrupt")
			}
			if !errors.Is(err, boltstore.ErrCorrupt) {
				t.Errorf("Open(damaged file) = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestDamagedPageWithoutCheck opens a file with a damaged leaf page without
// the check at Open: calls that reach the page fail with ErrPanicked, the
// store keeps serving, and nothing panics.
func TestDamagedPageWithoutCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	data, ps := writeFile(t, path)
	for _, p := range pages(data, ps, leafPage) {
		for i := range ps {
			data[p*ps+i] = byte(i*7 + 13)
		}
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := boltstore.Open(path, boltstore.Options{NoCheck: true})
	if err != nil {
		// bbolt may also refuse it on its own; either way, no panic.
		if !errors.Is(err, boltstore.ErrCorrupt) {
			t.Fatalf("Open = %v, want nil or ErrCorrupt", err)
		}
		return
	}
	defer s.Close()
	ctx := t.Context()
	err = s.Scan(ctx, "", func(string, []byte) error { return nil })
	if !errors.Is(err, boltstore.ErrPanicked) || !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Scan over damaged pages = %v, want ErrPanicked and ErrUnavailable", err)
	}
	if _, _, err := s.Get(ctx, "grey:t:192.0.2.7/sender7@example.org/rcpt"); err == nil {
		t.Errorf("Get of a record on a damaged page = nil error, want one")
	}
}

// TestCommitPanicFailsItsBatch makes bbolt's side of a shared commit panic
// (where the writers' own functions have run and been recovered): every
// writer of that batch gets ErrPanicked, nothing of it is stored, and the
// next write succeeds within its deadline.
func TestCommitPanicFailsItsBatch(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"), boltstore.Options{NoSync: true})
	release := make(chan struct{})
	var calls atomic.Int32
	s.InTx(func() {
		switch calls.Add(1) {
		case 1:
			<-release // hold the first transaction so the others queue up
		case 2:
			panic("page 42 already freed") // as bbolt's freelist does
		}
	})
	ctx := t.Context()
	first := make(chan error, 1)
	go func() { first <- s.Set(ctx, "first", []byte("v"), 0) }()
	waitFor(t, func() bool { return calls.Load() == 1 })
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Incr(ctx, fmt.Sprint("batch", i), 1, time.Hour)
		})
	}
	waitFor(t, func() bool { return s.Queued() == n })
	close(release)
	if err := <-first; err != nil {
		t.Errorf("write before the panic = %v, want nil", err)
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, boltstore.ErrPanicked) || !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("writer %d of the panicking batch = %v, want ErrPanicked and ErrUnavailable", i, err)
		}
		if _, ok, _ := s.Get(ctx, fmt.Sprint("batch", i)); ok {
			t.Errorf("writer %d's record is stored although its batch failed", i)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if n, err := s.Incr(wctx, "after", 1, 0); n != 1 || err != nil {
		t.Fatalf("Incr after the panicking batch = %d, %v; want 1, nil", n, err)
	}
}

// TestWaitingWritersHonourContext holds the committer in a transaction (a
// stalled disk): writers whose context ends, or whose store Timeout
// passes, return at once with an error, the writes they gave up are
// dropped, and the store serves again once the transaction ends.
func TestWaitingWritersHonourContext(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "s.db"), boltstore.Options{NoSync: true, Timeout: 300 * time.Millisecond})
	release := make(chan struct{})
	var calls atomic.Int32
	s.InTx(func() {
		if calls.Add(1) == 1 {
			<-release
		}
	})
	ctx := t.Context()
	held := make(chan error, 1)
	go func() { held <- s.Set(context.Background(), "held", []byte("v"), 0) }()
	waitFor(t, func() bool { return calls.Load() == 1 })

	cancelled, cancel := context.WithCancel(ctx)
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	tests := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"cancelled context", cancelled, context.Canceled},
		{"deadline", short, context.DeadlineExceeded},
		{"store timeout", t.Context(), context.DeadlineExceeded},
	}
	errs := make([]error, len(tests))
	took := make([]time.Duration, len(tests))
	var wg sync.WaitGroup
	for i, tt := range tests {
		wg.Go(func() {
			start := time.Now()
			errs[i] = s.Set(tt.ctx, "gave-up-"+tt.name, []byte("v"), 0)
			took[i] = time.Since(start)
		})
	}
	waitFor(t, func() bool { return s.Queued() == len(tests) })
	cancel()
	wg.Wait()
	for i, tt := range tests {
		if !errors.Is(errs[i], tt.want) || !errors.Is(errs[i], store.ErrUnavailable) {
			t.Errorf("%s: Set = %v, want %v and ErrUnavailable", tt.name, errs[i], tt.want)
		}
		if took[i] > 2*time.Second {
			t.Errorf("%s: Set returned after %v, with the committer still held", tt.name, took[i])
		}
	}
	// The held write's transaction had begun: its caller gives up at the
	// store's Timeout, and the write still commits with its transaction.
	if err := <-held; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("held write = %v, want DeadlineExceeded after the store's Timeout", err)
	}
	close(release)
	if err := s.Set(ctx, "after", []byte("v"), 0); err != nil {
		t.Errorf("Set after the stall = %v, want nil", err)
	}
	if _, ok, _ := s.Get(ctx, "held"); !ok {
		t.Errorf("the held write, whose transaction had begun, was not stored")
	}
	for _, tt := range tests {
		if _, ok, _ := s.Get(ctx, "gave-up-"+tt.name); ok {
			t.Errorf("%s: the write its caller gave up was stored", tt.name)
		}
	}
}

// TestCloseLeavesNoGoroutines opens and closes stores (with the sweeper
// and the committer) and checks that no goroutine outlives them.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	dir := t.TempDir()
	for i := range 5 {
		s, err := boltstore.Open(filepath.Join(dir, fmt.Sprint(i, ".db")), boltstore.Options{NoSync: true, SweepInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Set(t.Context(), "k", []byte("v"), time.Second); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(t.Context(), "k", []byte("v"), 0); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Set after Close = %v, want ErrUnavailable", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("goroutines after Close = %d, want at most %d", n, base)
	}
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
