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
	_ app.Store     = (*Store)(nil)
	_ app.ViewStore = (*Store)(nil)
)

type tableNames struct {
	items, reservations, messages, payments, reviews, sellers, claims,
	outbox, handled, idempotency, mypage, deals string
}

// New returns a Store over the tables under prefix. It does not create or
// check them: run CreateTables while wiring.
func New(client *dynamodb.Client, prefix string) *Store {
	return &Store{client: client, t: tableNames{
		items: prefix + TableItems, reservations: prefix + TableReservations, messages: prefix + TableMessages,
		payments: prefix + TablePayments, reviews: prefix + TableReviews, sellers: prefix + TableSellers,
		claims: prefix + TableClaims, outbox: prefix + TableOutbox, handled: prefix + TableHandled,
		idempotency: prefix + TableIdempotency, mypage: prefix + TableMyPage, deals: prefix + TableMyPageDeals,
	}}
}

// maxTransactOps is DynamoDB's limit of actions in one transaction.
const maxTransactOps = 100

// handledTTL is how long a consumer's dedupe record is kept. A redelivery
// later than this would be applied again; Kafka-backed brokers redeliver
// within minutes, so a week leaves a wide margin.
const handledTTL = 7 * 24 * time.Hour

// Commit applies every op in one DynamoDB transaction, all or nothing, and
// implements the conditions app.Op documents:
//   - a create (an aggregate or row whose Version is 0, a message, a
//     review, a Claim, a MarkHandled) requires the key to be free;
//   - a save or delete of a loaded aggregate or row requires the stored
//     version to be the loaded one; a save stores Version+1;
//   - Check* and RequireUnclaimed write nothing and only test.
//
// Commit never changes the aggregates it is given: reload one to see its
// new version. When a condition fails it returns that op's Conflict, or
// app.ErrStale when the op has none; a failed MarkHandled always yields
// app.ErrDuplicate. A clash with a concurrent transaction is app.ErrStale.
// Throttling and network trouble are market.Unavailable. Two ops on the
// same row in one transaction are refused by DynamoDB (market.Internal).
//
// The SDK retries a transaction with the same client token, so a retry
// after a lost response does not fail its own conditions.
func (s *Store) Commit(ctx context.Context, ops ...app.Op) error {
	if len(ops) == 0 {
		return nil
	}
	if len(ops) > maxTransactOps {
		return internalf("dynamo: %d ops exceed the %d ops of one transaction", len(ops), maxTransactOps)
	}
	now := time.Now().UTC()
	items := make([]types.TransactWriteItem, 0, len(ops))
	for i, op := range ops {
		item, err := s.write(op, now, i)
		if err != nil {
			return err
		}
		items = append(items, item)
	}
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err != nil {
		return commitError(ops, err)
	}
	return nil
}

// write translates one op into a transaction action; seq is its position,
// which orders the events of one commit in the outbox.
func (s *Store) write(op app.Op, now time.Time, seq int) (types.TransactWriteItem, error) {
	switch o := op.(type) {
	case app.SaveItem:
		if o.Item == nil {
			return nilOp(o)
		}
		st := o.Item.State()
		return s.save(s.t.items, "itemId", toItemRecord(st), st.Version)
	case app.DeleteItem:
		if o.Item == nil {
			return nilOp(o)
		}
		return s.remove(s.t.items, "itemId", key("itemId", o.Item.ID()), o.Item.Version())
	case app.CheckItem:
		if o.Item == nil {
			return nilOp(o)
		}
		return s.check(s.t.items, "itemId", key("itemId", o.Item.ID()), o.Item.Version())
	case app.SaveReservation:
		if o.Reservation == nil {
			return nilOp(o)
		}
		st := o.Reservation.State()
		return s.save(s.t.reservations, "rsvId", toReservationRecord(st), st.Version)
	case app.DeleteReservation:
		if o.Reservation == nil {
			return nilOp(o)
		}
		return s.remove(s.t.reservations, "rsvId", key("rsvId", o.Reservation.ID()), o.Reservation.Version())
	case app.CheckReservation:
		if o.Reservation == nil {
			return nilOp(o)
		}
		return s.check(s.t.reservations, "rsvId", key("rsvId", o.Reservation.ID()), o.Reservation.Version())
	case app.SaveMessage:
		return s.save(s.t.messages, "rsvId", toMessageRecord(o.Message), 0)
	case app.SavePayment:
		if o.Payment == nil {
			return nilOp(o)
		}
		st := o.Payment.State()
		return s.save(s.t.payments, "payId", toPaymentRecord(st), st.Version)
	case app.SaveReview:
		return s.save(s.t.reviews, "rsvId", toReviewRecord(o.Review), 0)
	case app.SaveSeller:
		if o.Seller == nil {
			return nilOp(o)
		}
		sl := o.Seller
		return s.save(s.t.sellers, "sellerId", sellerRecord{SellerID: sl.ID, ScoreSum: sl.ScoreSum, ReviewCount: sl.ReviewCount}, sl.Version)
	case app.Claim:
		return s.create(s.t.claims, "key", claimRecord{Key: o.Key, Owner: o.Owner, CreatedAt: now})
	case app.Unclaim:
		return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.t.claims), Key: key("key", o.Key)}}, nil
	case app.RequireUnclaimed:
		return s.check(s.t.claims, "key", key("key", o.Key), 0)
	case app.MarkHandled:
		return s.create(s.t.handled, "key", handledRecord{Key: o.Key, HandledAt: now, ExpiresAt: now.Add(handledTTL).Unix()})
	case app.Publish:
		rec, err := newOutboxRecord(o.Event, now, seq)
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		item, err := attributevalue.MarshalMap(rec)
		if err != nil {
			return types.TransactWriteItem{}, internalf("dynamo: marshal outbox row: %w", err)
		}
		return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.t.outbox), Item: item}}, nil
	case app.SaveRow:
		if o.Row == nil {
			return nilOp(o)
		}
		return s.save(s.t.mypage, "itemId", toRowRecord(*o.Row), o.Row.Version)
	case app.DeleteRow:
		if o.Row == nil {
			return nilOp(o)
		}
		return s.remove(s.t.mypage, "itemId", key("itemId", o.Row.ItemID), o.Row.Version)
	case app.SaveDeal:
		if o.Deal == nil {
			return nilOp(o)
		}
		return s.save(s.t.deals, "itemId", toDealRecord(*o.Deal), o.Deal.Version)
	case app.DeleteDeal:
		if o.Deal == nil {
			return nilOp(o)
		}
		return s.remove(s.t.deals, "itemId", key2("itemId", o.Deal.ItemID, "rsvId", o.Deal.RsvID), o.Deal.Version)
	}
	return types.TransactWriteItem{}, internalf("dynamo: unsupported op %T", op)
}

func nilOp(op app.Op) (types.TransactWriteItem, error) {
	return types.TransactWriteItem{}, internalf("dynamo: %T without its aggregate", op)
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

// save puts rec with version loaded+1 if the stored row has version loaded
// (or is absent when loaded is 0).
func (s *Store) save(table, pk string, rec any, loaded int64) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return types.TransactWriteItem{}, internalf("dynamo: marshal %T: %w", rec, err)
	}
	item[attrVersion] = &types.AttributeValueMemberN{Value: formatInt(loaded + 1)}
	return s.put(table, item, expectVersion(pk, loaded))
}

// create puts rec if its key is free.
func (s *Store) create(table, pk string, rec any) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return types.TransactWriteItem{}, internalf("dynamo: marshal %T: %w", rec, err)
	}
	return s.put(table, item, expectVersion(pk, 0))
}

func (s *Store) put(table string, item map[string]types.AttributeValue, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, internalf("dynamo: build condition: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: item,
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
}

func (s *Store) remove(table, pk string, k map[string]types.AttributeValue, loaded int64) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(expectVersion(pk, loaded)).Build()
	if err != nil {
		return types.TransactWriteItem{}, internalf("dynamo: build condition: %w", err)
	}
	return types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(table), Key: k,
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
}

func (s *Store) check(table, pk string, k map[string]types.AttributeValue, loaded int64) (types.TransactWriteItem, error) {
	expr, err := expression.NewBuilder().WithCondition(expectVersion(pk, loaded)).Build()
	if err != nil {
		return types.TransactWriteItem{}, internalf("dynamo: build condition: %w", err)
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(table), Key: k,
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}}, nil
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
