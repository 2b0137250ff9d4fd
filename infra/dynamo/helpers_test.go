package dynamo_test

import (
	"context"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

func uid() string { return events.NewID() }

func itemEvent(t *testing.T, ctx context.Context, itemID string) cloudevents.Event {
	t.Helper()
	now := time.Now().UTC()
	e, err := events.New(ctx, events.ItemUpdated, events.Meta{ID: events.NewID(), Source: "/carrot/test", Time: now},
		&events.Item{ItemID: itemID, SellerID: "seller", Name: "bicycle", Category: "sports", Price: 15000,
			Photos: []string{}, Status: "CREATED", Version: 1, CreatedAt: now, UpdatedAt: now})
	require.NoError(t, err)
	return e
}

func requireCode(t *testing.T, code market.Code, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, market.ErrorCode(err), "error: %v", err)
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}
