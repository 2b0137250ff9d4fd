package dynamo

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/events"
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
)

type tableNames struct {
	items, reservations, messages, payments, reviews, sellers, claims,
	outbox, handled, idempotency, mypage, deals, changes string
}

// New returns a Store over the tables under prefix. It does not create or
// check them: run CreateTables while wiring.
func New(client *dynamodb.Client, prefix string) *Store {
	return &Store{client: client, t: tableNames{
		items: prefix + TableItems, reservations: prefix + TableReservations, messages: prefix + TableMessages,
		payments: prefix + TablePayments, reviews: prefix + TableReviews, sellers: prefix + TableSellers,
		claims: prefix + TableClaims, outbox: prefix + TableOutbox, handled: prefix + TableHandled,
		idempotency: prefix + TableIdempotency, mypage: prefix + TableMyPage, deals: prefix + TableMyPageDeals,
		changes: prefix + TableChanges,
	}}
}

// maxTransactOps is DynamoDB's limit of actions in one transaction.
const maxTransactOps = 100

// handledTTL is how long a consumer's dedupe record is kept. A redelivery
// later than this would be applied again; Kafka-backed brokers redeliver
// within minutes, so a week leaves a wide margin.
const handledTTL = 7 * 24 * time.Hour

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

// expectVersion is the condition that a row is as it was loaded: absent
// when loaded is 0, else stored with that version. pk is the partition key
// attribute, which every stored row has.
func expectVersion(pk string, loaded int64) expression.ConditionBuilder {
	if loaded == 0 {
		return expression.AttributeNotExists(expression.Name(pk))
	}
	return expression.Name(attrVersion).Equal(expression.Value(loaded))
}

// expectOwner is the condition that a uniqueness record is owned by owner,
// or absent when owner is "".
func expectOwner(owner string) expression.ConditionBuilder {
	if owner == "" {
		return expression.AttributeNotExists(expression.Name("key"))
	}
	return expression.Name("owner").Equal(expression.Value(owner))
}

// expectPresence is the condition that a row exists, or that it does not.
func expectPresence(pk string, present bool) expression.ConditionBuilder {
	if present {
		return expression.AttributeExists(expression.Name(pk))
	}
	return expression.AttributeNotExists(expression.Name(pk))
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

// condition builds cond into the parts a transaction action takes; a nil
// cond is no condition.
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

func put(table string, item map[string]types.AttributeValue, cond *expression.ConditionBuilder) (types.TransactWriteItem, error) {
	c, names, values, err := condition(cond)
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: item,
		ConditionExpression: c, ExpressionAttributeNames: names, ExpressionAttributeValues: values}}, err
}

func del(table string, k map[string]types.AttributeValue, cond *expression.ConditionBuilder) (types.TransactWriteItem, error) {
	c, names, values, err := condition(cond)
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(table), Key: k,
		ConditionExpression: c, ExpressionAttributeNames: names, ExpressionAttributeValues: values}}, err
}

func check(table string, k map[string]types.AttributeValue, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	c, names, values, err := condition(&cond)
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(table), Key: k,
		ConditionExpression: c, ExpressionAttributeNames: names, ExpressionAttributeValues: values}}, err
}

// outboxRecord is one event waiting to be sent. Its key is the event id,
// so ids must be unique across sources (events.NewID and events.DerivedID
// are); publishing the same event twice keeps one row.
type outboxRecord struct {
	ID           string `dynamodbav:"id"`
	Event        string `dynamodbav:"event"` // the structured-mode JSON of the CloudEvent
	Type         string `dynamodbav:"type"`
	PartitionKey string `dynamodbav:"partitionKey"` // the item id, for ordering per item
	// CreatedAt is the commit time in Unix nanoseconds and Seq the op's
	// position in its commit; together they order the outbox.
	CreatedAt int64 `dynamodbav:"createdAt"`
	Seq       int   `dynamodbav:"seq"`
}

func newOutboxRecord(e cloudevents.Event, now time.Time, seq int) (outboxRecord, error) {
	if err := e.Validate(); err != nil {
		return outboxRecord{}, internalf("dynamo: publish an invalid event: %w", err)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return outboxRecord{}, internalf("dynamo: encode event %s: %w", e.ID(), err)
	}
	pk, _ := e.Extensions()[events.PartitionKeyExtension].(string)
	return outboxRecord{ID: e.ID(), Event: string(body), Type: e.Type(), PartitionKey: pk, CreatedAt: now.UnixNano(), Seq: seq}, nil
}
