package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

func TestRegisterItem(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()

	it := s.item(seller)
	assert.Equal(t, market.ItemCreated, it.Status())
	assert.Equal(t, seller, it.SellerID())
	assert.Equal(t, int64(1), s.itemNow(it.ID()).Version())
	evs := s.store.Outbox()
	require.Len(t, evs, 1)
	assert.Equal(t, string(events.ItemRegistered), evs[0].Type())
	p, err := events.Decode(evs[0])
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.(*events.Item).Version, "the event carries the version as saved")

	_, err = s.cmd.RegisterItem(ctx, seller, market.ItemDetails{Name: "", Category: "furniture"})
	assertCode(t, market.Invalid, err)
	items, _, err := s.store.Items(ctx, app.ItemFilter{}, app.Page{})
	require.NoError(t, err)
	assert.Len(t, items, 1, "an invalid item stores nothing")
}

func TestUpdateItem(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
	it := s.item(seller)
	name, price := "desk", int64(9_000)

	_, err := s.cmd.UpdateItem(ctx, other, it.ID(), market.ItemPatch{Name: &name})
	assertCode(t, market.Forbidden, err)
	_, err = s.cmd.UpdateItem(ctx, seller, "no-such-item", market.ItemPatch{Name: &name})
	assertCode(t, market.NotFound, err)

	got, err := s.cmd.UpdateItem(ctx, seller, it.ID(), market.ItemPatch{Name: &name, Price: &price})
	require.NoError(t, err)
	assert.Equal(t, "desk", got.Details().Name)
	now := s.itemNow(it.ID())
	assert.Equal(t, int64(9_000), now.Price())
	assert.Equal(t, int64(2), now.Version())
	assert.Equal(t, []events.Type{events.ItemRegistered, events.ItemUpdated}, s.log.types())
}

func TestDeleteItem(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()

	onSale := s.item(seller)
	assertCode(t, market.Forbidden, s.cmd.DeleteItem(ctx, other, onSale.ID()))
	require.NoError(t, s.cmd.DeleteItem(ctx, seller, onSale.ID()))
	_, err := s.store.Item(ctx, onSale.ID())
	assertCode(t, market.NotFound, err)
	assertCode(t, market.NotFound, s.cmd.DeleteItem(ctx, seller, onSale.ID()))

	reserved := s.item(seller)
	s.confirmed(reserved.ID())
	assertCode(t, market.Conflict, s.cmd.DeleteItem(ctx, seller, reserved.ID()))
	assert.Equal(t, market.ItemReserved, s.itemNow(reserved.ID()).Status(), "seed rule 10: a reserved item stays")
}

// A delete that races a confirmation either deletes an item on sale or is
// refused; never does a reserved item vanish.
func TestDeleteItemRacesConfirmation(t *testing.T) {
	t.Parallel()
	for range 20 {
		s := newSystem(t)
		ctx := context.Background()
		it := s.item(seller)
		r := s.chat(buyer, it.ID())
		var deleteErr, confirmErr error
		concurrently(2, func(i int) error {
			if i == 0 {
				deleteErr = s.cmd.DeleteItem(ctx, seller, it.ID())
			} else {
				_, confirmErr = s.cmd.ConfirmReservation(ctx, seller, r.ID(), meeting)
			}
			return nil
		})
		require.True(t, (deleteErr == nil) != (confirmErr == nil), "exactly one wins: delete %v, confirm %v", deleteErr, confirmErr)
		if confirmErr == nil {
			assert.Equal(t, market.ItemReserved, s.itemNow(it.ID()).Status())
		}
	}
}
