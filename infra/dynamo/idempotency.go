package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/carrot-market/carrot/infra/idempotency"
)

// IdempotencyTTL is how long an Idempotency-Key record is kept; a retry
// after that runs the request again.
const IdempotencyTTL = 24 * time.Hour

const (
	statePending = "pending"
	stateDone    = "done"
)

// idempotencyKey is the key of the record of an Idempotency-Key.
func idempotencyKey(k string) map[string]types.AttributeValue { return key("key", k) }

// maxBeginAttempts bounds Begin's retries when the record it lost to
// vanished (an Abort) before it could be read.
const maxBeginAttempts = 3

// Begin claims key with one conditional write, so of many concurrent
// calls exactly one wins. The key is free when there is no record, when
// the record expired (TTL deletion lags), or when its holder's lease ran
// out (it crashed mid-request). Otherwise Begin returns the stored answer
// of a finished request, or idempotency.ErrInProgress. Begin does not compare
// fingerprints: the caller does, with the one in the stored answer.
func (s *Store) Begin(ctx context.Context, key, fingerprint string, lease time.Duration) (*idempotency.Response, error) {
	for range maxBeginAttempts {
		now := time.Now()
		rec := idempotencyRecord{Key: key, State: statePending, Fingerprint: fingerprint,
			LeaseUntil: now.Add(lease).UnixMilli(), ExpiresAt: now.Add(IdempotencyTTL).Unix()}
		free := expression.AttributeNotExists(expression.Name("key")).
			Or(expression.Name("state").Equal(expression.Value(statePending)).
				And(expression.Name("leaseUntil").LessThan(expression.Value(now.UnixMilli())))).
			Or(expression.Name(attrExpiresAt).LessThan(expression.Value(now.Unix())))
		var old idempotencyRecord
		put, found, err := s.putRow(ctx, s.t.idempotency, rec, &free, &old, "reading the idempotency key")
		if err != nil || put {
			return nil, err
		}
		if !found {
			if found, err = s.get(ctx, s.t.idempotency, idempotencyKey(key), &old, "idempotency key"); err != nil {
				return nil, err
			}
		}
		switch {
		case !found:
			continue // aborted meanwhile: try to claim it again
		case old.State == stateDone:
			return old.response(), nil
		default:
			return nil, idempotency.ErrInProgress
		}
	}
	return nil, idempotency.ErrInProgress
}

// Finish stores the answer under key for IdempotencyTTL, whoever holds it.
func (s *Store) Finish(ctx context.Context, key string, resp idempotency.Response) error {
	rec := idempotencyRecord{Key: key, State: stateDone, Fingerprint: resp.Fingerprint, Status: resp.Status,
		Header: resp.Header, Body: resp.Body, ExpiresAt: time.Now().Add(IdempotencyTTL).Unix()}
	_, _, err := s.putRow(ctx, s.t.idempotency, rec, nil, nil, "storing the answer")
	return err
}

// Abort frees a pending key so a retry runs again. A finished key keeps
// its answer: Abort after Finish changes nothing.
func (s *Store) Abort(ctx context.Context, key string) error {
	pending := expression.Name("state").Equal(expression.Value(statePending))
	return s.deleteRow(ctx, s.t.idempotency, idempotencyKey(key), pending, "freeing the idempotency key")
}
