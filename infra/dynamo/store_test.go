package dynamo_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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

// A table made by an older carrot, without the indexes this one queries,
// gains them: make run's data folder survives an upgrade.
func TestCreateTablesAddsMissingIndexes(t *testing.T) {
	t.Parallel()
	c := dynamotest.MustClient(t)
	prefix := dynamotest.MustTables(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var reviews dynamo.Table
	for _, tb := range dynamo.Tables(prefix) {
		if tb.Name == prefix+dynamo.TableReviews {
			reviews = tb
		}
	}
	require.NotEmpty(t, reviews.Indexes, "the reviews table has indexes to lose")
	_, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(reviews.Name)})
	require.NoError(t, err)
	old := reviews
	old.Indexes = nil
	_, err = c.CreateTable(ctx, old.CreateTableInput())
	require.NoError(t, err)

	require.NoError(t, dynamo.CreateTables(ctx, c, prefix))
	out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(reviews.Name)})
	require.NoError(t, err)
	var got []string
	for _, ix := range out.Table.GlobalSecondaryIndexes {
		assert.Equal(t, types.IndexStatusActive, ix.IndexStatus, "%s", aws.ToString(ix.IndexName))
		got = append(got, aws.ToString(ix.IndexName))
	}
	var want []string
	for _, ix := range reviews.Indexes {
		want = append(want, ix.Name)
	}
	assert.ElementsMatch(t, want, got)
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

// TestCheckAndRebuildOnDynamoDB runs a deal on DynamoDB Local with every
// policy and the projector, then checks the tables through the store's
// scans, breaks a claim and the view, and rebuilds the view.
func TestCheckAndRebuildOnDynamoDB(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := dynamotest.MustStore(t)
	svc := func(source string) *app.Service {
		return &app.Service{Store: s, Views: s, Source: "/carrot/" + source}
	}
	cmd := svc("cmd")
	consumers := []struct {
		h app.EventHandler
		c app.Consumer
	}{
		{svc("reservation-policy").Handler(app.ReservationPolicy), app.ReservationPolicy},
		{svc("item-policy").Handler(app.ItemPolicy), app.ItemPolicy},
		{svc("mypage").Handler(app.MyPageProjector), app.MyPageProjector},
	}
	// deliver hands what the outbox holds to the consumers, as the relay and
	// the broker's triggers would, until they publish nothing more.
	deliver := func() {
		for {
			evs, err := s.PendingEvents(ctx, 0)
			require.NoError(t, err)
			if len(evs) == 0 {
				return
			}
			for _, e := range evs {
				for _, c := range consumers {
					if _, ok := c.c[events.Type(e.Type())]; ok {
						require.NoError(t, c.h(ctx, e), "%s", e.Type())
					}
				}
				require.NoError(t, s.MarkSent(ctx, e.ID()))
			}
		}
	}
	it, err := cmd.RegisterItem(ctx, "seller", market.ItemDetails{Name: "lamp", Category: "home", Price: 9000})
	require.NoError(t, err)
	r, _, err := cmd.RequestChat(ctx, "buyer", it.ID(), "")
	require.NoError(t, err)
	_, _, err = cmd.RequestChat(ctx, "other", it.ID(), "")
	require.NoError(t, err)
	_, err = cmd.ConfirmReservation(ctx, "seller", r.ID(), market.Meeting{Date: apptest.Day(7), Time: "10:00", Place: "park"})
	require.NoError(t, err)
	p, err := cmd.Pay(ctx, "buyer", r.ID(), "", nil)
	require.NoError(t, err)
	deliver()
	_, err = cmd.WriteReview(ctx, "buyer", r.ID(), 5, "")
	require.NoError(t, err)
	deliver()

	snap, err := s.Snapshot(ctx)
	require.NoError(t, err)
	assert.Equal(t, p.ID(), snap.Approved[r.ID()])
	assert.Len(t, snap.OpenChats, 2)
	assert.Len(t, snap.Deals[it.ID()], 2)
	assert.Equal(t, 1, snap.Sellers["seller"].ReviewCount)
	rep, err := app.Check(ctx, s)
	require.NoError(t, err)
	require.Empty(t, rep.Findings)

	_, err = s.Update(ctx, func(tx app.Tx) error { tx.SetApprovedPayment(r.ID(), ""); return nil })
	require.NoError(t, err)
	require.NoError(t, s.UpdateView(ctx, func(tx app.ViewTx) error {
		row, err := tx.Row(it.ID())
		if err == nil {
			tx.DeleteRow(row)
		}
		return err
	}))
	rep, err = app.Check(ctx, s)
	require.NoError(t, err)
	var rules []string
	for _, f := range rep.Findings {
		rules = append(rules, f.Rule)
	}
	assert.Subset(t, rules, []string{app.RuleCompletedPaid, app.RulePaymentApproved, app.RuleReviewPaid, app.RuleViewRow}, "%v", rep.Findings)

	_, err = s.Update(ctx, func(tx app.Tx) error { tx.SetApprovedPayment(r.ID(), p.ID()); return nil })
	require.NoError(t, err)
	rebuilt, err := cmd.RebuildView(ctx, s)
	require.NoError(t, err)
	assert.Equal(t, app.RebuildReport{Items: 1, RowsWritten: 1}, rebuilt)
	rep, err = app.Check(ctx, s)
	require.NoError(t, err)
	assert.Empty(t, rep.Findings)
}

func uid() string { return events.NewID() }

func requireCode(t *testing.T, code market.Code, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, market.ErrorCode(err), "error: %v", err)
}

// The word index holds the rows of an item's committed state alone: an
// edit, a lost race and a delete leave no row of what they replaced, and
// a row no commit owns (a crash between its write and the transaction)
// is never shown.
func TestWordIndexHoldsTheCommittedState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := dynamotest.MustClient(t)
	prefix := dynamotest.MustTables(t, client)
	store := dynamo.New(client, prefix)
	feed := prefix + dynamo.TableFeed

	// rows counts the item's rows in a token's partition.
	rows := func(token string) int {
		out, err := client.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(feed), ConsistentRead: aws.Bool(true),
			KeyConditionExpression:    aws.String("feed = :f"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":f": &types.AttributeValueMemberS{Value: dynamo.WordFeed(token)}}})
		require.NoError(t, err)
		return len(out.Items)
	}
	found := func(q string) []string {
		items, _, err := store.Items(ctx, app.ItemFilter{Query: q}, app.Page{})
		require.NoError(t, err)
		var ids []string
		for _, it := range items {
			ids = append(ids, it.ID())
		}
		return ids
	}
	rename := func(tx app.Tx, name string) error {
		it, err := tx.Item("phone")
		if err != nil {
			return err
		}
		if err := it.Update("ann", market.ItemPatch{Name: &name}, time.Now()); err != nil {
			return err
		}
		tx.SaveItem(it)
		return nil
	}

	it, err := market.NewItem("phone", "ann", market.ItemDetails{Name: "아이폰 12", Category: "digital", Price: 1000, Region: "seoul"}, time.Now())
	require.NoError(t, err)
	require.NoError(t, write(store, func(tx app.Tx) { tx.SaveItem(it) }))
	assert.Equal(t, 1, rows("아이"))
	assert.Equal(t, 1, rows("12"))

	_, err = store.Update(ctx, func(tx app.Tx) error { return rename(tx, "갤럭시 12") })
	require.NoError(t, err)
	assert.Zero(t, rows("아이"), "the edit drops the rows of the words it removed")
	assert.Equal(t, 1, rows("갤럭"))
	assert.Equal(t, 1, rows("12"), "a kept word has the row of the new state alone")
	assert.Empty(t, found("아이폰"))
	assert.Equal(t, []string{"phone"}, found("갤럭시"))

	// The first attempt loses its race to an edit made meanwhile; its rows
	// go with it, and the attempt that commits leaves one row a token.
	attempts := 0
	_, err = store.Update(ctx, func(tx app.Tx) error {
		attempts++
		if err := rename(tx, "갤럭시 14"); err != nil || attempts > 1 {
			return err
		}
		_, err := store.Update(ctx, func(tx app.Tx) error { return rename(tx, "갤럭시 13") })
		return err
	})
	require.NoError(t, err)
	assert.Equal(t, 2, attempts)
	assert.Equal(t, 1, rows("갤럭"))
	assert.Zero(t, rows("13"))
	assert.Equal(t, []string{"phone"}, found("14"))

	// A row whose nonce the item does not hold is never shown. A search
	// deletes it once it is old enough that no attempt can be about to
	// commit its nonce; a younger one, or one with no time, it leaves.
	putOrphan := func(nonce string, written time.Time) {
		orphan := map[string]types.AttributeValue{
			"feed":   &types.AttributeValueMemberS{Value: dynamo.WordFeed("갤럭")},
			"at":     &types.AttributeValueMemberS{Value: app.FeedOrder(it.CreatedAt(), "phone") + "#" + nonce},
			"itemId": &types.AttributeValueMemberS{Value: "phone"}, "region": &types.AttributeValueMemberS{Value: "seoul"},
			"category": &types.AttributeValueMemberS{Value: "digital"}, "price": &types.AttributeValueMemberN{Value: "1000"},
		}
		if !written.IsZero() {
			orphan["written"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(written.Unix(), 10)}
		}
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(feed), Item: orphan})
		require.NoError(t, err)
	}
	putOrphan("0000", time.Time{})
	putOrphan("0001", time.Now().Add(-11*time.Minute))
	putOrphan("0002", time.Now().Add(-time.Minute))
	assert.Equal(t, 4, rows("갤럭"))
	assert.Equal(t, []string{"phone"}, found("갤럭시"), "shown once, from its committed row")
	assert.Equal(t, 3, rows("갤럭"), "the search deleted the old orphan alone")

	_, err = store.Update(ctx, func(tx app.Tx) error {
		it, err := tx.Item("phone")
		if err != nil {
			return err
		}
		tx.DeleteItem(it)
		return nil
	})
	require.NoError(t, err)
	assert.Zero(t, rows("14"))
	assert.Equal(t, 2, rows("갤럭"), "the young orphans are left, and hidden")
	assert.Empty(t, found("갤럭시"))
}

// Reindex lists and indexes items stored before the feeds existed, and a
// second run changes nothing a reader sees.
func TestReindexIndexesOldItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client := dynamotest.MustClient(t)
	prefix := dynamotest.MustTables(t, client)
	store := dynamo.New(client, prefix)
	old := map[string]types.AttributeValue{
		"itemId": &types.AttributeValueMemberS{Value: "old"}, "sellerId": &types.AttributeValueMemberS{Value: "ann"},
		"name": &types.AttributeValueMemberS{Value: "원목 책상"}, "category": &types.AttributeValueMemberS{Value: "furniture"},
		"price": &types.AttributeValueMemberN{Value: "5000"}, "description": &types.AttributeValueMemberS{Value: ""},
		"region": &types.AttributeValueMemberS{Value: "seoul/mapo"}, "status": &types.AttributeValueMemberS{Value: "CREATED"},
		"version":   &types.AttributeValueMemberN{Value: "3"},
		"createdAt": &types.AttributeValueMemberS{Value: "2025-01-02T03:04:05Z"}, "updatedAt": &types.AttributeValueMemberS{Value: "2025-01-02T03:04:05Z"},
	}
	_, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(prefix + dynamo.TableItems), Item: old})
	require.NoError(t, err)
	list := func(f app.ItemFilter) int {
		items, _, err := store.Items(ctx, f, app.Page{})
		require.NoError(t, err)
		return len(items)
	}
	require.Zero(t, list(app.ItemFilter{Region: "seoul"}), "an old item is in no feed")

	for range 2 {
		n, err := store.Reindex(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Equal(t, 1, list(app.ItemFilter{Region: "seoul"}))
		assert.Equal(t, 1, list(app.ItemFilter{SellerID: "ann", Category: "furniture"}))
		assert.Equal(t, 1, list(app.ItemFilter{Query: "책상", Region: "seoul/mapo"}))
	}
	it, err := store.Item(ctx, "old")
	require.NoError(t, err)
	assert.Equal(t, int64(3), it.Version(), "reindexing changes no item")
}
