package boltstore

import bolt "go.etcd.io/bbolt"

// Commits returns the number of write transactions the store has run.
func (s *Store) Commits() int64 { return s.w.commits.Load() }

// InTx makes fn run inside every shared write transaction after its
// operations, where a panic stands in for bbolt failing mid-commit. Call
// it before the store's first write.
func (s *Store) InTx(fn func()) { s.w.inTx = func(*bolt.Tx) { fn() } }

// Queued returns the number of writes waiting for a transaction.
func (s *Store) Queued() int {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return len(s.w.queue)
}
