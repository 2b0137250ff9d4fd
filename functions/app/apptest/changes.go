package apptest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// testChangeLog holds the change log (app.ChangeLog) to its promises: every
// committed write of an item, reservation, payment or review is listed in
// the window of its commit time, deletes too, with its item; a unit of work
// that fails lists nothing; a window before lists nothing; pages list each
// change once; and the checkpoint moves only from where it was read.
func testChangeLog(t *testing.T, s Stores) {
	log, ok := s.Store.(app.ChangeLog)
	require.True(t, ok, "the store keeps the change log")
	ctx := context.Background()
	since := app.ChangeBucketOf(time.Now())

	itemID, rsvID, goneID, payID := uid(), uid(), uid(), uid()
	mustWrite(t, s, func(tx app.Tx) {
		tx.SaveItem(newItem(itemID, "seller", market.ItemDetails{}))
		tx.SaveReservation(newReservation(rsvID, itemID))
		tx.SaveReservation(newReservation(goneID, itemID))
	})
	mustWrite(t, s, func(tx app.Tx) {
		gone, err := tx.Reservation(goneID)
		require.NoError(t, err)
		tx.DeleteReservation(gone)
		p := market.RestorePayment(func() market.PaymentState { st := newPayment(payID, rsvID).State(); st.ItemID = itemID; return st }())
		tx.SavePayment(p)
		rv := newReview(rsvID)
		rv.ItemID = itemID
		tx.AddReview(rv)
	})
	_, _, err := update(s, func(tx app.Tx, _ int) error {
		tx.SaveItem(newItem(uid(), "seller", market.ItemDetails{}))
		return errors.New("changed its mind")
	})
	require.Error(t, err)
	until := time.Now().Add(app.ChangeBucket)

	want := []app.Change{
		{Kind: app.ChangedItem, ID: itemID, ItemID: itemID},
		{Kind: app.ChangedReservation, ID: rsvID, ItemID: itemID},
		{Kind: app.ChangedReservation, ID: goneID, ItemID: itemID},
		{Kind: app.ChangedPayment, ID: payID, ItemID: itemID},
		{Kind: app.ChangedReview, ID: rsvID, ItemID: itemID},
	}
	var all []app.Change
	cursor := ""
	for range 20 {
		page, next, err := log.Changed(ctx, since, until, app.Page{Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		assert.LessOrEqual(t, len(page), 2)
		all = append(all, page...)
		if cursor = next; cursor == "" {
			break
		}
	}
	assert.ElementsMatch(t, want, all, "each write once, the delete too, the failed unit of work not at all")

	before, _, err := log.Changed(ctx, since.Add(-time.Hour), since, app.Page{})
	require.NoError(t, err)
	assert.Empty(t, before, "a window before the writes")
	_, _, err = log.Changed(ctx, since, until, app.Page{Cursor: "not-a-cursor"})
	assertInvalid(t, "cursor", err)

	at, err := log.Checkpoint(ctx, "reader")
	require.NoError(t, err)
	assert.True(t, at.IsZero(), "no checkpoint yet")
	t1, t2 := since, since.Add(app.ChangeBucket)
	require.NoError(t, log.SetCheckpoint(ctx, "reader", time.Time{}, t1))
	assert.Equal(t, app.ErrStale, log.SetCheckpoint(ctx, "reader", time.Time{}, t2), "moved meanwhile")
	require.NoError(t, log.SetCheckpoint(ctx, "reader", t1, t2))
	at, err = log.Checkpoint(ctx, "reader")
	require.NoError(t, err)
	assert.True(t, t2.Equal(at), "checkpoint %v", at)
	other, err := log.Checkpoint(ctx, "other")
	require.NoError(t, err)
	assert.True(t, other.IsZero(), "checkpoints are per reader")
}
