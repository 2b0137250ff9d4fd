package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// one reads the row of id from table into a record of type R and returns
// it converted; market.NotFound when there is none.
func one[R, T any](ctx context.Context, s *Store, table, pk, id, what string, convert func(R) T) (T, error) {
	var rec R
	found, err := s.get(ctx, table, key(pk, id), &rec, what)
	if err == nil && !found {
		err = market.Errorf(market.NotFound, "%s %s not found", what, id)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return convert(rec), nil
}

// Item loads an item, market.NotFound when there is none.
func (s *Store) Item(ctx context.Context, itemID string) (*market.Item, error) {
	return one(ctx, s, s.t.items, "itemId", itemID, "item", itemRecord.item)
}

// Reservation loads a reservation, market.NotFound when there is none.
func (s *Store) Reservation(ctx context.Context, rsvID string) (*market.Reservation, error) {
	return one(ctx, s, s.t.reservations, "rsvId", rsvID, "reservation", reservationRecord.reservation)
}

// Payment loads a payment, market.NotFound when there is none.
func (s *Store) Payment(ctx context.Context, payID string) (*market.Payment, error) {
	return one(ctx, s, s.t.payments, "payId", payID, "payment", paymentRecord.payment)
}

// Review loads the review of a reservation, market.NotFound when it has
// none. It is not part of app.Store; tests and tools use it.
func (s *Store) Review(ctx context.Context, rsvID string) (market.Review, error) {
	return one(ctx, s, s.t.reviews, "rsvId", rsvID, "review of reservation", reviewRecord.review)
}

// Seller loads a seller's score record, a zero one when the seller has no
// review yet.
func (s *Store) Seller(ctx context.Context, sellerID string) (*market.Seller, error) {
	sl, err := one(ctx, s, s.t.sellers, "sellerId", sellerID, "seller", sellerRecord.seller)
	if market.ErrorCode(err) == market.NotFound {
		return &market.Seller{ID: sellerID}, nil
	}
	return sl, err
}

// Reviews pages through an item's or a seller's reviews, newest first,
// from the byItem or bySeller index (eventually consistent).
func (s *Store) Reviews(ctx context.Context, of app.ReviewsOf, p app.Page) ([]market.Review, string, error) {
	index, partition, value := IndexBySeller, "sellerId", of.SellerID
	if of.ItemID != "" {
		index, partition, value = IndexByItem, "itemId", of.ItemID
	}
	rows, next, err := s.query(ctx, p, &dynamodb.QueryInput{TableName: aws.String(s.t.reviews), IndexName: aws.String(index), ScanIndexForward: aws.Bool(false)},
		partition, value, nil, []string{"rsvId", partition, "newest"}, "reviews")
	return decoded(rows, next, err, "reviews", reviewRecord.review)
}

// Items pages through one feed, newest first, with consistent reads: the
// feed table is written in the items' own transactions (feeds.go), so a
// committed item is listed at once. Filters the feed's key does not hold
// (feedQuery) are applied by DynamoDB to the rows read, so a page of a
// sparse price range may read more than a page of rows. A search of the
// items on sale reads the word index (words.go); a search of another
// status filters its feed.
func (s *Store) Items(ctx context.Context, f app.ItemFilter, p app.Page) ([]*market.Item, string, error) {
	if searchable(f) {
		return s.search(ctx, f, p)
	}
	feed, conds := feedQuery(f)
	in := &dynamodb.QueryInput{TableName: aws.String(s.t.feed), ConsistentRead: aws.Bool(true), ScanIndexForward: aws.Bool(false)}
	rows, next, err := s.query(ctx, p, in, "feed", feed, conds, []string{"feed", "at"}, "items")
	return decoded(rows, next, err, "items", feedRecord.item)
}

// Messages pages through a reservation's chat in posting order.
func (s *Store) Messages(ctx context.Context, rsvID string, p app.Page) ([]market.Message, string, error) {
	rows, next, err := s.query(ctx, p, &dynamodb.QueryInput{TableName: aws.String(s.t.messages), ConsistentRead: aws.Bool(true)},
		"rsvId", rsvID, nil, []string{"rsvId", "messageId"}, "messages")
	return decoded(rows, next, err, "messages", messageRecord.message)
}

// decoded converts one page of raw rows of records R, or passes the
// listing's error on.
func decoded[R, T any](raw []map[string]types.AttributeValue, next string, err error, what string, convert func(R) T) ([]T, string, error) {
	if err != nil {
		return nil, "", err
	}
	out, err := decodeAll(raw, what, convert)
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// decodeAll unmarshals raw rows into records of type R and converts each.
func decodeAll[R, T any](raw []map[string]types.AttributeValue, what string, convert func(R) T) ([]T, error) {
	var recs []R
	if err := attributevalue.UnmarshalListOfMaps(raw, &recs); err != nil {
		return nil, fail("reading "+what, err)
	}
	out := make([]T, len(recs))
	for i, r := range recs {
		out[i] = convert(r)
	}
	return out, nil
}

// query pages through the rows whose partition attribute holds value, in
// ascending key order unless in says otherwise (ScanIndexForward). in names the table, and the index if any, and
// whether to read consistently (never on an index: DynamoDB refuses it). A
// cursor must belong to the same partition. A page reads at most
// MaxPageRead rows, so one that conds filter may come short.
func (s *Store) query(ctx context.Context, p app.Page, in *dynamodb.QueryInput, partition, value string,
	conds []expression.ConditionBuilder, attrs []string, what string) ([]map[string]types.AttributeValue, string, error) {
	return s.queryWithin(ctx, pageBudget(), p, in, partition, value, conds, attrs, what)
}

// queryWithin is query spending the reads of budget, which a page made of
// several queries shares.
func (s *Store) queryWithin(ctx context.Context, budget *readBudget, p app.Page, in *dynamodb.QueryInput, partition, value string,
	conds []expression.ConditionBuilder, attrs []string, what string) ([]map[string]types.AttributeValue, string, error) {
	b := expression.NewBuilder().WithKeyCondition(expression.Key(partition).Equal(expression.Value(value)))
	if c, ok := and(conds); ok {
		b = b.WithFilter(c)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, "", internalf("dynamo: build query: %w", err)
	}
	return collect(ctx, p, attrs, map[string]string{partition: value}, budget, func(ctx context.Context, start map[string]types.AttributeValue, limit int32) ([]map[string]types.AttributeValue, map[string]types.AttributeValue, error) {
		q := *in
		q.KeyConditionExpression, q.FilterExpression = expr.KeyCondition(), expr.Filter()
		q.ExpressionAttributeNames, q.ExpressionAttributeValues = expr.Names(), expr.Values()
		q.ExclusiveStartKey, q.Limit = start, aws.Int32(limit)
		res, err := s.client.Query(ctx, &q)
		if err != nil {
			return nil, nil, fail("reading "+what, err)
		}
		return res.Items, res.LastEvaluatedKey, nil
	})
}

// and joins conditions; ok is false when there are none.
func and(conds []expression.ConditionBuilder) (expression.ConditionBuilder, bool) {
	switch len(conds) {
	case 0:
		return expression.ConditionBuilder{}, false
	case 1:
		return conds[0], true
	}
	return expression.And(conds[0], conds[1], conds[2:]...), true
}

// search pages through the word partition of the search's key token,
// newest first, and keeps the rows the items confirm. The cursor is the
// key of the last row read, so rows the confirmation dropped are not read
// again. The page's Queries share one read budget, so the rows it
// confirms, and the items it reads to do so, are bounded too.
func (s *Store) search(ctx context.Context, f app.ItemFilter, p app.Page) ([]*market.Item, string, error) {
	limit, err := app.PageLimit(p)
	if err != nil {
		return nil, "", err
	}
	q := app.ParseSearch(f.Query)
	feed, conds := wordFeed(q.Key()), wordConds(f, q)
	in := &dynamodb.QueryInput{TableName: aws.String(s.t.feed), ConsistentRead: aws.Bool(true), ScanIndexForward: aws.Bool(false)}
	var out []*market.Item
	budget := pageBudget()
	for cursor := p.Cursor; ; {
		raw, next, err := s.queryWithin(ctx, budget, app.Page{Limit: limit - len(out), Cursor: cursor}, in, "feed", feed, conds, []string{"feed", "at"}, "items")
		if err != nil {
			return nil, "", err
		}
		var rows []wordRecord
		if err := attributevalue.UnmarshalListOfMaps(raw, &rows); err != nil {
			return nil, "", fail("reading items", err)
		}
		found, err := s.confirm(ctx, f, rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, found...)
		if next == "" || len(out) == limit || budget.spent() {
			return out, next, nil
		}
		cursor = next
	}
}

// confirm reads the items of rows consistently and returns, in the rows'
// order, those that hold the row's nonce and match f. It deletes the rows
// older than orphanAge whose nonce their item does not hold (words.go).
func (s *Store) confirm(ctx context.Context, f app.ItemFilter, rows []wordRecord) ([]*market.Item, error) {
	ids := make([]string, 0, len(rows))
	for _, row := range rows {
		ids = append(ids, row.ItemID)
	}
	items, err := s.itemRecords(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []*market.Item
	var orphans []wordRecord
	orphaned := time.Now().Add(-orphanAge).Unix()
	for _, row := range rows {
		rec, ok := items[row.ItemID]
		if !ok || rec.Words == "" || row.At != app.FeedOrder(rec.CreatedAt, rec.ItemID)+"#"+rec.Words {
			if row.Written != 0 && row.Written < orphaned {
				orphans = append(orphans, row)
			}
			continue
		}
		if st := rec.state(); f.Matches(st) {
			out = append(out, rec.item())
		}
	}
	s.dropWords(ctx, orphans)
	return out, nil
}

// maxBatchGet is DynamoDB's limit of keys in one BatchGetItem.
const maxBatchGet = 100

// itemRecords reads the items of ids with consistent reads, by batches,
// retrying the keys DynamoDB leaves unprocessed; an item not stored is
// not in the answer.
func (s *Store) itemRecords(ctx context.Context, ids []string) (map[string]itemRecord, error) {
	seen := map[string]bool{}
	var keys []map[string]types.AttributeValue
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, key("itemId", id))
		}
	}
	out := make(map[string]itemRecord, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), maxBatchGet)
		req := map[string]types.KeysAndAttributes{s.t.items: {Keys: keys[:n], ConsistentRead: aws.Bool(true)}}
		keys = keys[n:]
		for backoff := 50 * time.Millisecond; len(req) > 0; backoff = min(2*backoff, 2*time.Second) {
			res, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fail("reading items", err)
			}
			var recs []itemRecord
			if err := attributevalue.UnmarshalListOfMaps(res.Responses[s.t.items], &recs); err != nil {
				return nil, fail("reading items", err)
			}
			for _, rec := range recs {
				out[rec.ItemID] = rec
			}
			if req = res.UnprocessedKeys; len(req) == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return nil, fail("reading items", ctx.Err())
			case <-time.After(backoff):
			}
		}
	}
	return out, nil
}
