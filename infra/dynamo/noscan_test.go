package dynamo_test

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/deploy"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
)

// calls records the DynamoDB actions a client makes. It is safe for
// concurrent use.
type calls struct {
	mu      sync.Mutex
	actions []string
}

func (c *calls) record(reqs []deploy.Request, _ error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range reqs {
		c.actions = append(c.actions, r.Action)
	}
}

// take returns the actions recorded since the last take.
func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.actions
	c.actions = nil
	return out
}

// TestPublicReadsNeverScan drives every read a user can make through a
// store whose client records its calls: each must be answered by Gets and
// Queries, so that its cost does not grow with the catalogue. Operator
// paths (the checker, the rebuild, the reconciler, the outbox relay) may
// scan; the last case shows that the recorder sees a Scan when one is made.
func TestPublicReadsNeverScan(t *testing.T) {
	t.Parallel()
	base := dynamotest.MustClient(t)
	prefix := dynamotest.MustTables(t, base)
	rec := &calls{}
	store := dynamo.New(dynamodb.New(base.Options(), deploy.RecordRequests(rec.record)), prefix)
	svc := &app.Service{Store: store, Views: store, Source: "/carrot/test"}
	ctx := context.Background()

	it, err := svc.RegisterItem(ctx, "ann", market.ItemDetails{Name: "desk", Category: "home", Price: 1000, Region: "seoul/mapo"})
	require.NoError(t, err)
	rsv, _, err := svc.RequestChat(ctx, "ben", it.ID(), "")
	require.NoError(t, err)
	_, err = svc.PostMessage(ctx, "ben", rsv.ID(), "hi")
	require.NoError(t, err)
	price := func(won int64) *int64 { return &won }

	reads := []struct {
		name string
		read func() error
	}{
		{"an item", func() error { _, err := svc.Item(ctx, it.ID()); return err }},
		{"the feed", func() error { _, _, err := svc.Items(ctx, app.ItemFilter{}, app.Page{}); return err }},
		{"a region's feed", func() error {
			_, _, err := svc.Items(ctx, app.ItemFilter{Region: "seoul", Category: "home"}, app.Page{})
			return err
		}},
		{"a feed by status, price and words", func() error {
			f := app.ItemFilter{Status: market.ItemReserved, MinPrice: price(10), MaxPrice: price(5000), Query: "desk"}
			_, _, err := svc.Items(ctx, f, app.Page{})
			return err
		}},
		{"a seller's feed", func() error {
			_, _, err := svc.Items(ctx, app.ItemFilter{SellerID: "ann", Region: "seoul"}, app.Page{})
			return err
		}},
		{"a reservation", func() error { _, err := svc.Reservation(ctx, "ben", rsv.ID()); return err }},
		{"a chat", func() error { _, _, err := svc.Messages(ctx, "ben", rsv.ID(), app.Page{}); return err }},
		{"MyPage", func() error { _, _, err := svc.MyPage(ctx, "ann", app.Page{}); return err }},
		{"a user's MyPage", func() error {
			_, _, _, err := svc.MyPageOf(ctx, "ben", "ben", app.Page{}, app.Page{})
			return err
		}},
		{"a MyPage row", func() error { _, err := svc.MyPageRow(ctx, "ann", it.ID()); return err }},
		{"a payment", func() error { _, err := svc.Payment(ctx, "ben", events.NewID()); return err }},
	}
	for _, r := range reads { // in turn: they share the recorder
		rec.take()
		if err := r.read(); market.ErrorCode(err) != market.NotFound { // nothing was projected or paid
			require.NoError(t, err, r.name)
		}
		actions := rec.take()
		assert.NotEmpty(t, actions, "%s reads DynamoDB", r.name)
		assert.NotContains(t, actions, "dynamodb:Scan", "%s must not scan", r.name)
	}

	rec.take()
	_, err = store.Snapshot(ctx)
	require.NoError(t, err)
	assert.Contains(t, rec.take(), "dynamodb:Scan", "an operator's snapshot scans, and the recorder sees it")
}
