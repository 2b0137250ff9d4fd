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
		var recs []any
		for _, r := range feedRecords(st) {
			recs = append(recs, r)
		}
		for _, r := range wordRecords(rec) {
			recs = append(recs, r)
		}
		for _, r := range recs {
			row, err := marshal(r, 1)
			if err != nil {
				return err
			}
			feeds = append(feeds, types.WriteRequest{PutRequest: &types.PutRequest{Item: row}})
		}
	}
	for table, reqs := range map[string][]types.WriteRequest{s.t.items: rows, s.t.feed: feeds} {
		if err := s.batchWriteAll(ctx, table, reqs, "seeding items"); err != nil {
			return err
		}
	}
	return nil
}
