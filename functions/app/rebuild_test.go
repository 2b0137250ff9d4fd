package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/app/apptest"
)

// The view rebuilt from the sources (SPEC 3.5), on the world of the
// checker's tests.

func TestRebuildViewFromTheSources(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	before, err := w.store.Snapshot(ctx)
	require.NoError(t, err)
	require.NoError(t, apptest.DropView(ctx, w.store, before))
	dropped, err := w.store.Snapshot(ctx)
	require.NoError(t, err)
	require.Empty(t, dropped.Rows)
	require.Empty(t, dropped.Deals)
	require.False(t, w.check().OK())

	rep, err := w.mypage.RebuildView(ctx, w.store)
	require.NoError(t, err)
	assert.Equal(t, app.RebuildReport{Items: 6, RowsWritten: 5, DealsWritten: 6}, rep)
	assert.Empty(t, w.check().Findings, "after the rebuild")

	after, err := w.store.Snapshot(ctx)
	require.NoError(t, err)
	// When a row changed, and so its version, is not compared.
	for id, row := range before.Rows {
		got := after.Rows[id]
		got.UpdatedAt, got.Version = row.UpdatedAt, row.Version
		assert.Equal(t, row, got, "row of item %s", id)
	}
	for item, deals := range before.Deals {
		for rsv, d := range deals {
			got := after.Deals[item][rsv]
			got.UpdatedAt, got.Version = d.UpdatedAt, d.Version
			if item == w.deleted.ID() {
				// A deleted item's name and price live only in its events.
				d.ItemName, d.Price = "", 0
			}
			assert.Equal(t, d, got, "deal %s of item %s", rsv, item)
		}
	}

	again, err := w.mypage.RebuildView(ctx, w.store)
	require.NoError(t, err)
	assert.Equal(t, app.RebuildReport{Items: 6}, again, "a second rebuild writes nothing")
}

func TestRebuildViewRepairsAndDeletes(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.mustBreakView(func(tx app.ViewTx) error {
		tx.SaveRow(&app.PageRow{ItemID: "ghost", ItemName: "ghost", ItemStatus: "CREATED"})
		tx.SaveDeal(&app.PageDeal{ItemID: w.onSale.ID(), RsvID: "gone", BuyerID: buyer, RsvStatus: "CREATED"})
		row, err := tx.Row(w.paid.ID())
		if err != nil {
			return err
		}
		row.ItemStatus = "CREATED"
		tx.SaveRow(row)
		return nil
	})
	require.Len(t, w.check().Findings, 3)
	rep, err := w.mypage.RebuildView(ctx, w.store)
	require.NoError(t, err)
	assert.Equal(t, app.RebuildReport{Items: 7, RowsWritten: 1, RowsDeleted: 1, DealsDeleted: 1}, rep)
	assert.Empty(t, w.check().Findings)
}

// TestRebuildViewLosesNoProjection runs rebuilds while the projector
// applies events: the view ends as its sources say.
func TestRebuildViewLosesNoProjection(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			_, err := w.mypage.RebuildView(ctx, w.store)
			assert.NoError(t, err)
		}
	}()
	for range 5 {
		it := w.item(seller)
		w.confirmed(it.ID())
		w.deliver()
	}
	<-done
	assert.Empty(t, w.check().Findings)
}
