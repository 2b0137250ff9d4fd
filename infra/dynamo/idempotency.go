package dynamo

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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

// idempotencyRecord is one Idempotency-Key: pending while a request holds
// its lease, done once the answer is stored.
type idempotencyRecord struct {
	Key         string            `dynamodbav:"key"`
	State       string            `dynamodbav:"state"`
	Fingerprint string            `dynamodbav:"fingerprint"`
	LeaseUntil  int64             `dynamodbav:"leaseUntil"` // Unix milliseconds
	Status      int               `dynamodbav:"status,omitempty"`
	Header      map[string]string `dynamodbav:"header,omitempty"`
	Body        []byte            `dynamodbav:"body,omitempty"`
	ExpiresAt   int64             `dynamodbav:"expiresAt"` // Unix seconds, the TTL attribute
}

func (r idempotencyRecord) response() *idempotency.Response {
	return &idempotency.Response{Fingerprint: r.Fingerprint, Status: r.Status, Header: r.Header, Body: r.Body}
}

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
		item, err := attributevalue.MarshalMap(rec)
		if err != nil {
			return nil, internalf("dynamo: marshal idempotency record: %w", err)
		}
		free := expression.AttributeNotExists(expression.Name("key")).
			Or(expression.Name("state").Equal(expression.Value(statePending)).
				And(expression.Name("leaseUntil").LessThan(expression.Value(now.UnixMilli())))).
			Or(expression.Name(attrExpiresAt).LessThan(expression.Value(now.Unix())))
		expr, err := expression.NewBuilder().WithCondition(free).Build()
		if err != nil {
			return nil, internalf("dynamo: build condition: %w", err)
		}
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.t.idempotency), Item: item,
			ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
		if err == nil {
			return nil, nil
		}
		var held *types.ConditionalCheckFailedException
		if !errors.As(err, &held) {
			return nil, fail("reading the idempotency key", err)
		}
		var old idempotencyRecord
		found := held.Item != nil
		if found {
			err = attributevalue.UnmarshalMap(held.Item, &old)
		} else {
			found, err = s.get(ctx, s.t.idempotency, map[string]types.AttributeValue{"key": str(key)}, &old, "idempotency key")
		}
		if err != nil {
			return nil, fail("reading the idempotency key", err)
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
	now := time.Now()
	rec := idempotencyRecord{Key: key, State: stateDone, Fingerprint: resp.Fingerprint, Status: resp.Status,
		Header: resp.Header, Body: resp.Body, ExpiresAt: now.Add(IdempotencyTTL).Unix()}
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return internalf("dynamo: marshal idempotency record: %w", err)
	}
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.t.idempotency), Item: item}); err != nil {
		return fail("storing the answer", err)
	}
	return nil
}

// Abort frees a pending key so a retry runs again. A finished key keeps
// its answer: Abort after Finish changes nothing.
func (s *Store) Abort(ctx context.Context, key string) error {
	expr, err := expression.NewBuilder().WithCondition(expression.Name("state").Equal(expression.Value(statePending))).Build()
	if err != nil {
		return internalf("dynamo: build condition: %w", err)
	}
	_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.t.idempotency),
		Key: map[string]types.AttributeValue{"key": str(key)}, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	var gone *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &gone) {
		return fail("freeing the idempotency key", err)
	}
	return nil
}
