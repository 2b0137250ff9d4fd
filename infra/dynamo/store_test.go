package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/app/apptest"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
	"github.com/carrot-market/carrot/infra/idempotency/idempotencytest"
)

// The tests run against DynamoDB Local (make test, or
// local/with-dynamodb.sh, starts it); each store has tables of its own,
// so they run in parallel.

// TestStore holds the DynamoDB store to the contract of app.Store and
// app.ViewStore that every adapter passes.
func TestStore(t *testing.T) {
	t.Parallel()
	apptest.TestStore(t, func(t *testing.T) apptest.Stores {
		s := dynamotest.MustStore(t)
		return apptest.Stores{Store: s, Views: s, Inspector: inspector{s}}
	})
}

// inspector reads the whole outbox as apptest.Inspector does.
type inspector struct{ *dynamo.Store }

func (i inspector) Outbox(ctx context.Context) ([]cloudevents.Event, error) {
	return i.PendingEvents(ctx, 0)
}

// TestIdempotency holds the DynamoDB store's Idempotency-Key records to
// the contract every store keeps.
func TestIdempotency(t *testing.T) {
	t.Parallel()
	idempotencytest.TestStore(t, dynamotest.MustStore(t))
}

// write commits writes in one unit of work.
func write(s *dynamo.Store, writes func(tx app.Tx)) error {
	_, err := s.Update(context.Background(), func(tx app.Tx) error { writes(tx); return nil })
	return err
}

// A unit of work is one DynamoDB transaction, within DynamoDB's limits.
func TestCommitLimits(t *testing.T) {
	t.Parallel()
	s := dynamotest.MustStore(t)
	require.NoError(t, write(s, func(app.Tx) {}), "a unit that writes nothing commits nothing")

	keys := make([]string, 101)
	for i := range keys {
		keys[i] = uid()
	}
	takeAll := func(keys []string) func(tx app.Tx) {
		return func(tx app.Tx) {
			for _, k := range keys {
				tx.SetApprovedPayment(k, "pay")
			}
		}
	}
	requireCode(t, market.Internal, write(s, takeAll(keys)))
	require.NoError(t, write(s, takeAll(keys[:100])))

	k := uid()
	err := write(s, func(tx app.Tx) {
		tx.SetApprovedPayment(k, "a")
		tx.SetApprovedPayment(k, "")
	})
	requireCode(t, market.Internal, err) // DynamoDB refuses two writes of one row in a transaction
	assert.NotContains(t, err.Error(), "ValidationException", "no SDK text in the message")
}

func TestTablesAreIdempotent(t *testing.T) {
	t.Parallel()
	c := dynamotest.MustClient(t)
	prefix := dynamotest.MustTables(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, dynamo.CreateTables(ctx, c, prefix), "creating existing tables is a no-op")
	require.NoError(t, dynamo.CheckTables(ctx, c, prefix))

	// Every missing table is named.
	for _, name := range []string{dynamo.TableClaims, dynamo.TableMyPage} {
		_, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(prefix + name)})
		require.NoError(t, err)
	}
	err := dynamo.CheckTables(ctx, c, prefix)
	require.Error(t, err)
	assert.Contains(t, err.Error(), prefix+dynamo.TableClaims)
	assert.Contains(t, err.Error(), prefix+dynamo.TableMyPage)

	require.Error(t, dynamo.CheckTables(ctx, c, dynamotest.RandomPrefix()), "no tables at all")
}

// A store with no tables fails while wiring would; a request against it is
// Internal and says nothing of the SDK.
func TestMissingTablesAreInternal(t *testing.T) {
	t.Parallel()
	s := dynamo.New(dynamotest.MustClient(t), dynamotest.RandomPrefix())
	_, err := s.Item(context.Background(), "x")
	requireCode(t, market.Internal, err)
	assert.NotContains(t, err.Error(), "ResourceNotFound")
	requireCode(t, market.Internal, write(s, func(tx app.Tx) { tx.SetOpenChat("item", "buyer", "rsv") }))
}

func uid() string { return events.NewID() }

func requireCode(t *testing.T, code market.Code, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, market.ErrorCode(err), "error: %v", err)
}
