package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/idempotency"
	"github.com/carrot-market/carrot/infra/optimistic"
)

// Store keeps carrot's state in DynamoDB. It is safe for concurrent use by
// many goroutines and many processes: every write is conditional, so
// concurrent writers never overwrite each other silently.
//
// Store serves both app.Store and app.ViewStore; each Commit is one
// DynamoDB transaction whatever tables its ops touch.
type Store struct {
	client *dynamodb.Client
	t      tableNames
}

var (
	_ app.Store         = (*Store)(nil)
	_ app.ViewStore     = (*Store)(nil)
	_ idempotency.Store = (*Store)(nil)
	_ app.ChangeLog     = (*Store)(nil)
	_ app.Scanner       = (*Store)(nil)
)

type tableNames struct {
	items, reservations, messages, payments, reviews, sellers, claims,
	outbox, handled, idempotency, mypage, deals, changes, feed string
}

// New returns a Store over the tables under prefix. It does not create or
// check them: run CreateTables while wiring.
func New(client *dynamodb.Client, prefix string) *Store {
	return &Store{client: client, t: tableNames{
		items: prefix + TableItems, reservations: prefix + TableReservations, messages: prefix + TableMessages,
		payments: prefix + TablePayments, reviews: prefix + TableReviews, sellers: prefix + TableSellers,
		claims: prefix + TableClaims, outbox: prefix + TableOutbox, handled: prefix + TableHandled,
		idempotency: prefix + TableIdempotency, mypage: prefix + TableMyPage, deals: prefix + TableMyPageDeals,
		changes: prefix + TableChanges, feed: prefix + TableFeed,
	}}
}

// Update implements app.Store: each attempt of change is one DynamoDB
// transaction (TransactWriteItems) of its writes plus a ConditionCheck of
// every row it read and did not write, all or nothing:
//   - saving an aggregate or row loaded at version v requires the stored
//     version to be v (absent when v is 0) and stores v+1; deleting one
//     requires v too;
//   - a message, a review and a MarkHandled record require their key to be
//     free; a uniqueness record (open chat, approved payment) requires what
//     the attempt read of it, or that it is free when it was not read.
//
// A failed condition or a clash with a concurrent transaction makes the
// attempt stale, and the change runs again (optimistic.Retry); a failed
// MarkHandled is app.ErrDuplicate at once. An attempt that writes nothing
// commits nothing. Throttling and network trouble are market.Unavailable.
// The SDK retries a transaction with the same client token, so a retry
// after a lost response does not fail its own conditions.
func (s *Store) Update(ctx context.Context, change func(app.Tx) error) ([]cloudevents.Event, error) {
	return optimistic.Update(ctx, func() *tx { return s.begin(ctx) }, func(t *tx) error { return change(t) })
}

// UpdateView implements app.ViewStore, as Update does.
func (s *Store) UpdateView(ctx context.Context, change func(app.ViewTx) error) error {
	_, err := optimistic.Update(ctx, func() *tx { return s.begin(ctx) }, func(t *tx) error { return change(t) })
	return err
}

// get reads one row with a strongly consistent read into out and reports
// whether it exists.
func (s *Store) get(ctx context.Context, table string, k map[string]types.AttributeValue, out any, what string) (bool, error) {
	res, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, fail("reading the "+what, err)
	}
	if res.Item == nil {
		return false, nil
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return false, fail("reading the "+what, err)
	}
	return true, nil
}

// putRow puts rec into table when cond holds (always when cond is nil)
// and reports whether it did. When cond fails, held says whether a row
// failed it (DynamoDB returns the row with the refusal, unless it was
// deleted meanwhile), and old, when not nil, receives that row.
func (s *Store) putRow(ctx context.Context, table string, rec any, cond *expression.ConditionBuilder, old any, what string) (put, held bool, err error) {
	item, err := marshal(rec, 0)
	if err != nil {
		return false, false, err
	}
	c, names, values, err := condition(cond)
	if err != nil {
		return false, false, err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item,
		ConditionExpression: c, ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var failed *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &failed):
		if failed.Item == nil || old == nil {
			return false, failed.Item != nil, nil
		}
		if err := attributevalue.UnmarshalMap(failed.Item, old); err != nil {
			return false, false, fail(what, err)
		}
		return false, true, nil
	case err != nil:
		return false, false, fail(what, err)
	}
	return true, false, nil
}

// deleteRow deletes the row of key k from table when cond holds; when it
// does not, it deletes nothing and that is no error.
func (s *Store) deleteRow(ctx context.Context, table string, k map[string]types.AttributeValue, cond expression.ConditionBuilder, what string) error {
	c, names, values, err := condition(&cond)
	if err != nil {
		return err
	}
	_, err = s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: k,
		ConditionExpression: c, ExpressionAttributeNames: names, ExpressionAttributeValues: values})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fail(what, err)
	}
	return nil
}

// marshal returns rec as a DynamoDB item, with version when it is not 0.
func marshal(rec any, version int64) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return nil, internalf("dynamo: marshal %T: %w", rec, err)
	}
	if version != 0 {
		item[attrVersion] = &types.AttributeValueMemberN{Value: formatInt(version)}
	}
	return item, nil
}

// condition builds cond into the parts a request or a transaction action
// takes; a nil cond is no condition.
func condition(cond *expression.ConditionBuilder) (*string, map[string]string, map[string]types.AttributeValue, error) {
	if cond == nil {
		return nil, nil, nil, nil
	}
	expr, err := expression.NewBuilder().WithCondition(*cond).Build()
	if err != nil {
		return nil, nil, nil, internalf("dynamo: build condition: %w", err)
	}
	return expr.Condition(), expr.Names(), expr.Values(), nil
}
