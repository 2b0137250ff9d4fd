package dynamo

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/infra/optimistic"
)

// Reindex writes the feed and word rows of every stored item as it is
// stored, for items saved by a carrot older than the feeds (they appear in
// no feed until they next change) and for any row a fault left out. It
// scans the items table, so it is an operator tool (infra/deploy/cmd/reindex),
// safe while the system runs, and idempotent. It returns how many items it
// read.
//
// Each item is one conditional step: its rows are put unless a newer
// version of them is stored; an item on sale with no word rows gets them
// under a fresh nonce, stored in the item on condition that its version
// is unchanged. When the item changed meanwhile, the rows put for feeds
// the new state is not in are deleted again and the item is done anew.
func (s *Store) Reindex(ctx context.Context) (int, error) {
	var ids []string
	if err := scanAll(ctx, s, s.t.items, "items", func(r itemRecord) { ids = append(ids, r.ItemID) }); err != nil {
		return 0, err
	}
	for _, id := range ids {
		if err := optimistic.Retry(ctx, func() error { return s.reindex(ctx, id) }); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// reindex is one attempt at one item; app.ErrStale when it changed meanwhile.
func (s *Store) reindex(ctx context.Context, itemID string) error {
	var rec itemRecord
	found, err := s.get(ctx, s.t.items, key("itemId", itemID), &rec, "item")
	if err != nil || !found {
		return err
	}
	st := rec.state()
	notNewer := expression.AttributeNotExists(expression.Name("feed")).Or(expression.Name(attrVersion).LessThanEqual(expression.Value(rec.Version)))
	recs := feedRecords(st)
	for _, fr := range recs {
		if _, _, err := s.putRow(ctx, s.t.feed, fr, &notNewer, nil, "reindexing feeds"); err != nil {
			return err
		}
	}
	var words []wordRecord
	if indexed(st) && rec.Words == "" {
		rec.Words = newNonce()
		words = wordRecords(rec)
		if err := s.putWords(ctx, words); err != nil {
			s.dropWords(ctx, words)
			return err
		}
	}
	// The item must be as read: the update sets the nonce, or nothing.
	update := expression.Set(expression.Name("words"), expression.Value(rec.Words))
	if rec.Words == "" {
		update = expression.Set(expression.Name(attrVersion), expression.Value(rec.Version))
	}
	cond := expectVersion("itemId", rec.Version)
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return internalf("dynamo: build reindex: %w", err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.t.items), Key: key("itemId", itemID),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()})
	if err == nil {
		return nil
	}
	s.dropWords(ctx, words)
	var failed *types.ConditionalCheckFailedException
	if !errors.As(err, &failed) {
		return fail("reindexing items", err)
	}
	return s.undoFeeds(ctx, itemID, recs, rec.Version)
}

// undoFeeds deletes the rows of recs, put for an item at version, from the
// feeds its state now stored is not in, unless they are newer, and
// returns app.ErrStale for the item to be done again.
func (s *Store) undoFeeds(ctx context.Context, itemID string, recs []feedRecord, version int64) error {
	var now itemRecord
	found, err := s.get(ctx, s.t.items, key("itemId", itemID), &now, "item")
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	if found {
		for _, feed := range feedsOf(now.state()) {
			keep[feed] = true
		}
	}
	notNewer := expression.Name(attrVersion).LessThanEqual(expression.Value(version))
	for _, fr := range recs {
		if !keep[fr.Feed] {
			if err := s.deleteRow(ctx, s.t.feed, key2("feed", fr.Feed, "at", fr.At), notNewer, "reindexing feeds"); err != nil {
				return err
			}
		}
	}
	return app.ErrStale
}
