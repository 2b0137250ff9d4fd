package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
)

// TestPutItemsListsAsSaved checks that seeded items are stored and listed
// in their feeds as the store's own writes are.
func TestPutItemsListsAsSaved(t *testing.T) {
	t.Parallel()
	client := dynamotest.MustClient(t)
	store := dynamo.New(client, dynamotest.MustTables(t, client))
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var states []market.ItemState
	for i, name := range []string{"아이폰 12 프로", "desk", "iPhone 13"} {
		it, err := market.NewItem("item-"+name, "ann", market.ItemDetails{Name: name, Category: "digital", Price: 1000, Region: "seoul/mapo"}, at.Add(time.Duration(i)*time.Second))
		require.NoError(t, err)
		states = append(states, it.State())
	}
	require.NoError(t, store.PutItems(ctx, states))

	tests := []struct {
		name   string
		filter app.ItemFilter
		want   []string
	}{
		{"region, newest first", app.ItemFilter{Region: "seoul"}, []string{"item-iPhone 13", "item-desk", "item-아이폰 12 프로"}},
		{"sub-region and category", app.ItemFilter{Region: "seoul/mapo", Category: "digital"}, []string{"item-iPhone 13", "item-desk", "item-아이폰 12 프로"}},
		{"search", app.ItemFilter{Query: "아이폰 프로"}, []string{"item-아이폰 12 프로"}},
		{"seller", app.ItemFilter{SellerID: "ann", Query: "iphone"}, []string{"item-iPhone 13"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			items, _, err := store.Items(ctx, tt.filter, app.Page{Limit: 10})
			require.NoError(t, err)
			var ids []string
			for _, it := range items {
				ids = append(ids, it.ID())
			}
			assert.Equal(t, tt.want, ids)
		})
	}
	got, err := store.Item(ctx, states[0].ID)
	require.NoError(t, err)
	want := states[0]
	want.Version = 1
	assert.Equal(t, want, got.State())
}
