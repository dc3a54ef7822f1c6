package store

import (
	"context"
	"time"
)

var _ Tallier = (*Memory)(nil)

// Tally implements Tallier: the record stays decoded in memory, so an
// event costs a map lookup under the store's lock.
func (s *Memory) Tally(ctx context.Context, key string, op TallyOp) (TallyResult, error) {
	if err := op.Validate(); err != nil {
		return TallyResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx); err != nil {
		return TallyResult{}, err
	}
	nowNano := s.nowNano()
	now := nowNano / int64(time.Millisecond)
	e := s.lookup(key)
	rec := &TallyRecord{}
	if e != nil {
		if e.tally != nil {
			rec = e.tally
		} else if err := rec.UnmarshalText(e.bytes()); err != nil {
			return TallyResult{}, err
		}
	}
	res, exp, changed := rec.Apply(now, op)
	switch {
	case !changed:
	case exp <= now:
		delete(s.m, key)
	case e != nil && e.tally == rec:
		e.expires = exp * int64(time.Millisecond)
	default:
		s.insert(key, &entry{tally: rec, expires: exp * int64(time.Millisecond)})
	}
	return res, nil
}
