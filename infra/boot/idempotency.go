package boot

import (
	"context"
	"errors"
	"time"

	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/web"
)

// Idempotency returns s's Idempotency-Key records as the store web's
// idempotency middleware runs on, so that neither adapter names the other.
func Idempotency(s *dynamo.Store) web.IdempotencyStore { return idempotency{s} }

// idempotency adapts *dynamo.Store to web.IdempotencyStore. The two
// response types have the same fields, so each converts into the other.
type idempotency struct{ s *dynamo.Store }

func (a idempotency) Begin(ctx context.Context, key, fingerprint string, lease time.Duration) (*web.StoredResponse, error) {
	stored, err := a.s.Begin(ctx, key, fingerprint, lease)
	switch {
	case errors.Is(err, dynamo.ErrInProgress):
		return nil, web.ErrInProgress
	case err != nil || stored == nil:
		return nil, err
	}
	resp := web.StoredResponse(*stored)
	return &resp, nil
}

func (a idempotency) Finish(ctx context.Context, key string, resp web.StoredResponse) error {
	return a.s.Finish(ctx, key, dynamo.StoredResponse(resp))
}

func (a idempotency) Abort(ctx context.Context, key string) error { return a.s.Abort(ctx, key) }
