package app

import (
	"context"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

// RegisterItem lists a new item on sale for the caller.
func (s *Service) RegisterItem(ctx context.Context, sellerID string, d market.ItemDetails) (*market.Item, error) {
	it, err := market.NewItem(s.newID(), sellerID, d, s.now())
	if err != nil {
		return nil, err
	}
	return it, s.update(ctx, func(tx Tx) error {
		return s.publish(ctx, tx, events.ItemRegistered, itemPayload(it, tx.SaveItem(it)))
	})
}

// UpdateItem applies the seller's patch.
func (s *Service) UpdateItem(ctx context.Context, by, itemID string, p market.ItemPatch) (*market.Item, error) {
	return produce(ctx, s, func(tx Tx) (*market.Item, error) {
		it, err := tx.Item(itemID)
		if err != nil {
			return nil, err
		}
		if err := it.Update(by, p, s.now()); err != nil {
			return nil, err
		}
		return it, s.publish(ctx, tx, events.ItemUpdated, itemPayload(it, tx.SaveItem(it)))
	})
}

// DeleteItem removes an item that is on sale. The unit of work deletes
// the version that was checked, so an item reserved meanwhile is checked
// again and not deleted (seed rule 10 holds even under races).
func (s *Service) DeleteItem(ctx context.Context, by, itemID string) error {
	return s.update(ctx, func(tx Tx) error {
		it, err := tx.Item(itemID)
		if err != nil {
			return err
		}
		if err := it.CheckDelete(by); err != nil {
			return err
		}
		return s.publish(ctx, tx, events.ItemDeleted, itemPayload(it, tx.DeleteItem(it)))
	})
}

// Item returns one item; items are public.
func (s *Service) Item(ctx context.Context, itemID string) (*market.Item, error) {
	return s.Store.Item(ctx, itemID)
}

// Items pages through the items that match f.
func (s *Service) Items(ctx context.Context, f ItemFilter, p Page) ([]*market.Item, string, error) {
	return s.Store.Items(ctx, f, p)
}
