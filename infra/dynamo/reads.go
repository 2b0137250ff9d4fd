package dynamo

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// get reads one row with a strongly consistent read into out and reports
// whether it exists.
func (s *Store) get(ctx context.Context, table string, k map[string]types.AttributeValue, out any, what string) (bool, error) {
	res, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, fail("reading the "+what, err)
	}
	if res.Item == nil {
		return false, nil
	}
	if err := attributevalue.UnmarshalMap(res.Item, out); err != nil {
		return false, fail("reading the "+what, err)
	}
	return true, nil
}

// Item loads an item, market.NotFound when there is none.
func (s *Store) Item(ctx context.Context, itemID string) (*market.Item, error) {
	var rec itemRecord
	ok, err := s.get(ctx, s.t.items, key("itemId", itemID), &rec, "item")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, market.Errorf(market.NotFound, "item %s not found", itemID)
	}
	return market.RestoreItem(rec.state()), nil
}

// Reservation loads a reservation, market.NotFound when there is none.
func (s *Store) Reservation(ctx context.Context, rsvID string) (*market.Reservation, error) {
	var rec reservationRecord
	ok, err := s.get(ctx, s.t.reservations, key("rsvId", rsvID), &rec, "reservation")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, market.Errorf(market.NotFound, "reservation %s not found", rsvID)
	}
	return market.RestoreReservation(rec.state()), nil
}

// Payment loads a payment, market.NotFound when there is none.
func (s *Store) Payment(ctx context.Context, payID string) (*market.Payment, error) {
	var rec paymentRecord
	ok, err := s.get(ctx, s.t.payments, key("payId", payID), &rec, "payment")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, market.Errorf(market.NotFound, "payment %s not found", payID)
	}
	return market.RestorePayment(rec.state()), nil
}

// Review loads the review of a reservation, market.NotFound when it has
// none. It is not part of app.Store; tests and tools use it.
func (s *Store) Review(ctx context.Context, rsvID string) (market.Review, error) {
	var rec reviewRecord
	ok, err := s.get(ctx, s.t.reviews, key("rsvId", rsvID), &rec, "review")
	if err != nil {
		return market.Review{}, err
	}
	if !ok {
		return market.Review{}, market.Errorf(market.NotFound, "review of reservation %s not found", rsvID)
	}
	return rec.review(), nil
}

// Seller loads a seller's score record; a seller without one gets a zero
// record with Version 0, which the next SaveSeller creates.
func (s *Store) Seller(ctx context.Context, sellerID string) (*market.Seller, error) {
	var rec sellerRecord
	ok, err := s.get(ctx, s.t.sellers, key("sellerId", sellerID), &rec, "seller")
	if err != nil {
		return nil, err
	}
	if !ok {
		return &market.Seller{ID: sellerID}, nil
	}
	return &market.Seller{ID: rec.SellerID, ScoreSum: rec.ScoreSum, ReviewCount: rec.ReviewCount, Version: rec.Version}, nil
}

// Claimed returns the owner of a claim key, "" when it is free.
func (s *Store) Claimed(ctx context.Context, claimKey string) (string, error) {
	var rec claimRecord
	ok, err := s.get(ctx, s.t.claims, key("key", claimKey), &rec, "claim")
	if err != nil || !ok {
		return "", err
	}
	return rec.Owner, nil
}

// Items pages through items. With a SellerID it reads the bySeller index
// (eventually consistent, in item id order, which is creation order for
// time-ordered ids); otherwise it scans the table with a consistent read
// in no particular order. Other filters are applied as DynamoDB reads, so
// a sparse filter may read many rows to fill one page.
func (s *Store) Items(ctx context.Context, f app.ItemFilter, p app.Page) ([]*market.Item, string, error) {
	var conds []expression.ConditionBuilder
	if f.Status != "" {
		conds = append(conds, expression.Name("status").Equal(expression.Value(string(f.Status))))
	}
	if f.Category != "" {
		conds = append(conds, expression.Name("category").Equal(expression.Value(f.Category)))
	}
	if f.Query != "" {
		conds = append(conds, expression.Contains(expression.Name("search"), strings.ToLower(f.Query)))
	}
	var (
		rows []map[string]types.AttributeValue
		next string
		err  error
	)
	if f.SellerID != "" {
		kc := expression.Key("sellerId").Equal(expression.Value(f.SellerID))
		rows, next, err = s.query(ctx, p, &dynamodb.QueryInput{TableName: aws.String(s.t.items), IndexName: aws.String(IndexBySeller)},
			kc, conds, []string{"itemId", "sellerId"}, map[string]string{"sellerId": f.SellerID}, "items")
	} else {
		rows, next, err = s.scan(ctx, p, s.t.items, conds, []string{"itemId"}, "items")
	}
	if err != nil {
		return nil, "", err
	}
	items, err := decodeAll(rows, "items", func(r itemRecord) *market.Item { return market.RestoreItem(r.state()) })
	if err != nil {
		return nil, "", err
	}
	return items, next, nil
}

// Messages pages through a reservation's chat in posting order.
func (s *Store) Messages(ctx context.Context, rsvID string, p app.Page) ([]market.Message, string, error) {
	kc := expression.Key("rsvId").Equal(expression.Value(rsvID))
	rows, next, err := s.query(ctx, p, &dynamodb.QueryInput{TableName: aws.String(s.t.messages), ConsistentRead: aws.Bool(true)},
		kc, nil, []string{"rsvId", "messageId"}, map[string]string{"rsvId": rsvID}, "messages")
	if err != nil {
		return nil, "", err
	}
	msgs, err := decodeAll(rows, "messages", messageRecord.message)
	if err != nil {
		return nil, "", err
	}
	return msgs, next, nil
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

// query pages through a Query in ascending key order. in names the table,
// and the index if any, and whether to read consistently (never on an
// index: DynamoDB refuses it).
func (s *Store) query(ctx context.Context, p app.Page, in *dynamodb.QueryInput, kc expression.KeyConditionBuilder,
	conds []expression.ConditionBuilder, attrs []string, fixed map[string]string, what string) ([]map[string]types.AttributeValue, string, error) {
	b := expression.NewBuilder().WithKeyCondition(kc)
	if c, ok := and(conds); ok {
		b = b.WithFilter(c)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, "", internalf("dynamo: build query: %w", err)
	}
	return collect(ctx, p, attrs, fixed, func(ctx context.Context, start map[string]types.AttributeValue, limit int32) ([]map[string]types.AttributeValue, map[string]types.AttributeValue, error) {
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

// scan pages through a table with consistent reads, in no meaningful order.
func (s *Store) scan(ctx context.Context, p app.Page, table string, conds []expression.ConditionBuilder,
	attrs []string, what string) ([]map[string]types.AttributeValue, string, error) {
	var expr *expression.Expression
	if c, ok := and(conds); ok {
		e, err := expression.NewBuilder().WithFilter(c).Build()
		if err != nil {
			return nil, "", internalf("dynamo: build scan: %w", err)
		}
		expr = &e
	}
	return collect(ctx, p, attrs, nil, func(ctx context.Context, start map[string]types.AttributeValue, limit int32) ([]map[string]types.AttributeValue, map[string]types.AttributeValue, error) {
		in := &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true), ExclusiveStartKey: start, Limit: aws.Int32(limit)}
		if expr != nil {
			in.FilterExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues = expr.Filter(), expr.Names(), expr.Values()
		}
		res, err := s.client.Scan(ctx, in)
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
