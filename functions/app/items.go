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
	ev, err := s.fact(ctx, events.ItemRegistered, itemPayload(it))
	if err != nil {
		return nil, err
	}
	return it, s.commit(ctx, s.Store, SaveItem{Item: it}, ev)
}

// UpdateItem applies the seller's patch.
func (s *Service) UpdateItem(ctx context.Context, by, itemID string, p market.ItemPatch) (*market.Item, error) {
	it, err := s.Store.Item(ctx, itemID)
	if err != nil {
		return nil, err
	}
	if err := it.Update(by, p, s.now()); err != nil {
		return nil, err
	}
	ev, err := s.fact(ctx, events.ItemUpdated, itemPayload(it))
	if err != nil {
		return nil, err
	}
	return it, s.commit(ctx, s.Store, SaveItem{Item: it}, ev)
}

// DeleteItem removes an item that is on sale. The write is conditional on
// the version that was checked, so an item reserved meanwhile is not
// deleted (seed rule 10 holds even under races).
func (s *Service) DeleteItem(ctx context.Context, by, itemID string) error {
	it, err := s.Store.Item(ctx, itemID)
	if err != nil {
		return err
	}
	if err := it.CheckDelete(by); err != nil {
		return err
	}
	ev, err := s.fact(ctx, events.ItemDeleted, itemPayload(it))
	if err != nil {
		return err
	}
	return s.commit(ctx, s.Store, DeleteItem{Item: it}, ev)
}

// Item returns one item; items are public.
func (s *Service) Item(ctx context.Context, itemID string) (*market.Item, error) {
	return s.Store.Item(ctx, itemID)
}

// Items pages through the items that match f.
func (s *Service) Items(ctx context.Context, f ItemFilter, p Page) ([]*market.Item, string, error) {
	return s.Store.Items(ctx, f, p)
}
