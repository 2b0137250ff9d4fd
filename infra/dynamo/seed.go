package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/carrot-market/carrot/functions/market"
)

// PutItems writes items as new, at version 1, with their rows in every
// feed that shows them and in the word index, exactly as SaveItem stores
// them, by BatchWriteItem: without conditions, transactions, change log or
// events. It is for tools that seed a catalogue straight into the tables
// (the bench), never for a running system, whose projections would not
// hear of these items. It overwrites a stored item of the same id.
func (s *Store) PutItems(ctx context.Context, items []market.ItemState) error {
	var rows, feeds []types.WriteRequest
	for _, st := range items {
		rec := toItemRecord(st)
		if indexed(st) {
			rec.Words = newNonce()
		}
		item, err := marshal(rec, 1)
		if err != nil {
			return err
		}
		rows = append(rows, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		// Feed rows carry the item's version, as a save writes them; word
		// rows carry none (their nonce, in the item, says which are live).
		put := func(r any, version int64) error {
			row, err := marshal(r, version)
			if err == nil {
				feeds = append(feeds, types.WriteRequest{PutRequest: &types.PutRequest{Item: row}})
			}
			return err
		}
		for _, r := range feedRecords(st) {
			if err := put(r, 1); err != nil {
				return err
			}
		}
		for _, r := range wordRecords(rec) {
			if err := put(r, 0); err != nil {
				return err
			}
		}
	}
	for table, reqs := range map[string][]types.WriteRequest{s.t.items: rows, s.t.feed: feeds} {
		if err := s.batchWriteAll(ctx, table, reqs, "seeding items"); err != nil {
			return err
		}
	}
	return nil
}
