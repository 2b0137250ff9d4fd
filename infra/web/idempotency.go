package web

import (
	"context"
	"errors"
	"time"
)

// IdempotencyStore remembers the answers to POST requests that carried an
// Idempotency-Key header, so that a retry gets the first answer and the
// command runs once. Implementations must be safe for concurrent use: of
// many concurrent Begin calls with one key, exactly one may win.
type IdempotencyStore interface {
	// Begin claims key for a request whose body hashes to fingerprint.
	// It returns (nil, nil) when the caller won the claim and must run the
	// request; the stored answer when the key finished before; ErrInProgress
	// while another request holds an unexpired lease on it.
	Begin(ctx context.Context, key, fingerprint string, lease time.Duration) (*StoredResponse, error)
	// Finish stores the answer under key; it is kept for the store's TTL.
	Finish(ctx context.Context, key string, resp StoredResponse) error
	// Abort frees key after a failure that did not change anything, so a
	// retry runs again.
	Abort(ctx context.Context, key string) error
}

// StoredResponse is an answer as it was sent.
type StoredResponse struct {
	Fingerprint string            // hash of the request that produced it
	Status      int               // HTTP status
	Header      map[string]string // Content-Type, Location
	Body        []byte
}

// ErrInProgress says another request with the same key is still running.
var ErrInProgress = errors.New("a request with this idempotency key is in progress")
