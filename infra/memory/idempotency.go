package memory

import (
	"context"
	"time"

	"github.com/carrot-market/carrot/infra/idempotency"
)

var _ idempotency.Store = (*Store)(nil)

// idempotencyRecord is one Idempotency-Key: pending (no answer) while a
// request holds its lease until leaseUntil, done once it has its answer.
type idempotencyRecord struct {
	fingerprint string
	leaseUntil  time.Time
	answer      *idempotency.Response
}

// Begin implements idempotency.Store. Records are kept for the life of
// the store.
func (s *Store) Begin(_ context.Context, key, fingerprint string, lease time.Duration) (*idempotency.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	rec, ok := s.idempotency[key]
	switch {
	case ok && rec.answer != nil:
		answer := *rec.answer
		return &answer, nil
	case ok && now.Before(rec.leaseUntil):
		return nil, idempotency.ErrInProgress
	}
	s.idempotency[key] = idempotencyRecord{fingerprint: fingerprint, leaseUntil: now.Add(lease)}
	return nil, nil
}

// Finish implements idempotency.Store.
func (s *Store) Finish(_ context.Context, key string, resp idempotency.Response) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idempotency[key] = idempotencyRecord{fingerprint: resp.Fingerprint, answer: &resp}
	return nil
}

// Abort implements idempotency.Store: a pending key is freed, a finished
// one keeps its answer.
func (s *Store) Abort(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.idempotency[key]; ok && rec.answer == nil {
		delete(s.idempotency, key)
	}
	return nil
}
