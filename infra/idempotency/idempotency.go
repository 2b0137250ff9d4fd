// Package idempotency is the port between the Idempotency-Key middleware
// (infra/web) and the stores that keep its records (infra/dynamo,
// infra/memory), so that neither side names the other. Its contract suite
// is idempotencytest.
package idempotency

import (
	"context"
	"errors"
	"time"
)

// Store remembers the answers to requests that carried an Idempotency-Key,
// so that a retry gets the first answer and the command runs once.
// Implementations are safe for concurrent use: of many concurrent Begin
// calls with one key, exactly one wins.
type Store interface {
	// Begin claims key for a request whose body hashes to fingerprint, for
	// lease. It returns (nil, nil) when the caller won the claim and must
	// run the request; the stored answer when the key finished before,
	// whatever the new fingerprint (the caller compares them); and
	// ErrInProgress while another request holds an unexpired lease. A
	// lease that ran out (its holder crashed) is taken over.
	Begin(ctx context.Context, key, fingerprint string, lease time.Duration) (*Response, error)
	// Finish stores the answer under key; it is kept for the store's TTL.
	Finish(ctx context.Context, key string, resp Response) error
	// Abort frees key after a failure that changed nothing, so that a
	// retry runs again. Aborting a finished or unknown key changes nothing.
	Abort(ctx context.Context, key string) error
}

// Response is an answer as it was sent. Stores keep it opaque.
type Response struct {
	Fingerprint string            // hash of the request that produced it
	Status      int               // HTTP status
	Header      map[string]string // the headers a replay repeats
	Body        []byte
}

// ErrInProgress says another request with the same key holds an unexpired
// lease on it.
var ErrInProgress = errors.New("a request with this idempotency key is in progress")
