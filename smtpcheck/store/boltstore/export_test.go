package boltstore

// Commits returns the number of write transactions the store has run.
func (s *Store) Commits() int64 { return s.w.commits.Load() }
