package app

import (
	"context"
	"unicode/utf8"

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

// Items pages through the items that match f. A filter text that no
// item's field could hold (validate) is refused before any read.
func (s *Service) Items(ctx context.Context, f ItemFilter, p Page) ([]*market.Item, string, error) {
	if err := f.validate(); err != nil {
		return nil, "", err
	}
	return s.Store.Items(ctx, f, p)
}

// MaxQuery is the longest search (ItemFilter.Query), in characters.
const MaxQuery = 100

// MaxQueryWords is the most words a search may hold, each given once
// (ParseSearch). Each word is a condition every row read is checked
// against, and a store's filter has a size limit (DynamoDB's is 4 KB):
// "a1b2c3…" is a hundred words in a hundred characters.
const MaxQueryWords = 10

// validate refuses, naming the field, a region, category or search that
// is not UTF-8 or is longer than the item field it is compared with could
// be: it could match nothing, and it would only make each feed row read
// cost more. So is a search of more than MaxQueryWords words.
func (f ItemFilter) validate() error {
	var fs market.Fields
	for _, t := range []struct {
		field, value string
		max          int
	}{{"region", f.Region, market.MaxItemRegion}, {"category", f.Category, market.MaxItemCategory}, {"q", f.Query, MaxQuery}} {
		if !utf8.ValidString(t.value) || utf8.RuneCountInString(t.value) > t.max {
			fs.Add(t.field, "must be text of at most %d characters", t.max)
		}
	}
	if !fs.Has("q") && len(ParseSearch(f.Query).Words) > MaxQueryWords {
		fs.Add("q", "must hold at most %d words", MaxQueryWords)
	}
	return fs.Err()
}
