package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/carrot-market/carrot/functions/market"
)

// PutItems writes items as new, at version 1, with their rows in every
// feed that shows them, exactly as SaveItem stores them, by BatchWriteItem:
// without conditions, transactions, change log or events. It is for tools
// that seed a catalogue straight into the tables (the bench), never for a
// running system, whose projections would not hear of these items. It
// overwrites a stored item of the same id.
func (s *Store) PutItems(ctx context.Context, items []market.ItemState) error {
	var rows, feeds []types.WriteRequest
	for _, st := range items {
		item, err := marshal(toItemRecord(st), 1)
		if err != nil {
			return err
		}
		rows = append(rows, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		for _, rec := range feedRecords(st) {
			row, err := marshal(rec, 1)
			if err != nil {
				return err
			}
			feeds = append(feeds, types.WriteRequest{PutRequest: &types.PutRequest{Item: row}})
		}
	}
	for table, reqs := range map[string][]types.WriteRequest{s.t.items: rows, s.t.feed: feeds} {
		for len(reqs) > 0 {
			n := min(len(reqs), maxBatchWrite)
			if err := s.batchWrite(ctx, table, reqs[:n], "seeding items"); err != nil {
				return err
			}
			reqs = reqs[n:]
		}
	}
	return nil
}
