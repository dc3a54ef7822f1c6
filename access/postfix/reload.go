package postfix

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// reloadInterval bounds how often a reloading table looks at its files:
// a lookup costs at most two stat calls a second, however many queries
// the checks make.
const reloadInterval = time.Second

// reloading is a hash:, btree: or lmdb: table. Postfix reads these from
// the file postmap(1) builds (path.db, path.lmdb); this package reads the
// source text, path itself, and reads it again when path or its built file
// changes, as Postfix's smtpd processes restart after a postmap. A source
// that no longer loads keeps the previous table in service until the files
// change again; LastError reports why.
type reloading struct {
	kind, path, built string
	raw               bool

	cur     atomic.Pointer[loadedTable]
	next    atomic.Int64 // unix nanoseconds of the next look at the files
	mu      sync.Mutex   // one reload at a time
	lastErr atomic.Pointer[error]
}

type loadedTable struct {
	Table
	src, built fileStamp
}

// fileStamp is what tells that a file changed: its modification time and
// size (zero for a file that does not exist).
type fileStamp struct {
	mod  int64
	size int64
}

func stamp(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{fi.ModTime().UnixNano(), fi.Size()}
}

func newReloading(kind, path string, raw bool) (*reloading, error) {
	r := &reloading{kind: kind, path: path, raw: raw, built: path + ".db"}
	if strings.EqualFold(kind, "lmdb") {
		r.built = path + ".lmdb"
	}
	lt, err := r.read()
	if err != nil {
		return nil, err
	}
	r.cur.Store(lt)
	r.next.Store(time.Now().Add(reloadInterval).UnixNano())
	return r, nil
}

func (r *reloading) read() (*loadedTable, error) {
	src, built := stamp(r.path), stamp(r.built)
	t, err := loadFile(r.kind, r.path, r.raw)
	if err != nil {
		return nil, err
	}
	return &loadedTable{Table: t, src: src, built: built}, nil
}

// table returns the table in service, reloaded first when its files
// changed since it was read.
func (r *reloading) table() Table {
	lt := r.cur.Load()
	now := time.Now().UnixNano()
	next := r.next.Load()
	if now < next || !r.next.CompareAndSwap(next, now+int64(reloadInterval)) {
		return lt.Table
	}
	if stamp(r.path) == lt.src && stamp(r.built) == lt.built {
		return lt.Table
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if lt2 := r.cur.Load(); lt2 != lt {
		return lt2.Table // reloaded meanwhile
	}
	nt, err := r.read()
	if err != nil {
		r.lastErr.Store(&err)
		// Keep serving the old table; look again when the files change
		// once more.
		stale := *lt
		stale.src, stale.built = stamp(r.path), stamp(r.built)
		r.cur.Store(&stale)
		return lt.Table
	}
	r.lastErr.Store(nil)
	r.cur.Store(nt)
	return nt.Table
}

// Name implements Table.
func (r *reloading) Name() string { return r.kind + ":" + r.path }

// Fixed implements Table.
func (r *reloading) Fixed() bool { return true }

// Find implements Table.
func (r *reloading) Find(q string) (TableAction, bool) { return r.table().Find(q) }

func (r *reloading) entryList() []TableAction { return Entries(r.cur.Load().Table) }

// LastError reports why the last reload of t failed, when t is a
// hash:, btree: or lmdb: table whose source no longer loads (the table
// read before stays in service); nil otherwise.
func LastError(t Table) error {
	if r, ok := t.(*reloading); ok {
		if e := r.lastErr.Load(); e != nil {
			return *e
		}
	}
	return nil
}
