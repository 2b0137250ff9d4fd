package web

import "github.com/carrot-market/carrot/infra/idempotency"

// IdempotencyStore keeps the Idempotency-Key records the middleware runs
// on; the port and its contract suite live in infra/idempotency so that
// the stores need not name this package.
type IdempotencyStore = idempotency.Store

// StoredResponse is an answer as it was sent.
type StoredResponse = idempotency.Response

// ErrInProgress says another request with the same key is still running.
var ErrInProgress = idempotency.ErrInProgress
