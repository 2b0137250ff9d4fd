package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// Row loads an item's MyPage row, market.NotFound when it has none.
func (s *Store) Row(ctx context.Context, itemID string) (*app.PageRow, error) {
	var rec rowRecord
	ok, err := s.get(ctx, s.t.mypage, key("itemId", itemID), &rec, "page row")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, market.Errorf(market.NotFound, "item %s not found", itemID)
	}
	row := rec.row()
	return &row, nil
}

// Rows pages through every MyPage row, newest item first (item ids are
// time-ordered), by Query of the newest index, whose one partition holds
// every row (rowShard). It reads an index, so a row written a moment ago
// may be missing. Deleted items have no row (the projector deletes it).
func (s *Store) Rows(ctx context.Context, p app.Page) ([]app.PageRow, string, error) {
	in := &dynamodb.QueryInput{TableName: aws.String(s.t.mypage), IndexName: aws.String(IndexNewest), ScanIndexForward: aws.Bool(false)}
	raw, next, err := s.query(ctx, p, in, "shard", rowShard, nil, []string{"itemId", "shard"}, "page rows")
	return decoded(raw, next, err, "page rows", rowRecord.row)
}

// RowsBySeller pages through one seller's rows in item id order. It reads
// an index, so a row written a moment ago may be missing.
func (s *Store) RowsBySeller(ctx context.Context, sellerID string, p app.Page) ([]app.PageRow, string, error) {
	raw, next, err := s.query(ctx, p, &dynamodb.QueryInput{TableName: aws.String(s.t.mypage), IndexName: aws.String(IndexBySeller)},
		"sellerId", sellerID, nil, []string{"itemId", "sellerId"}, "page rows")
	return decoded(raw, next, err, "page rows", rowRecord.row)
}

// dealsOf returns every buyer-side row of one item, in reservation id
// order, with consistent reads.
func (s *Store) dealsOf(ctx context.Context, itemID string) ([]app.PageDeal, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key("itemId").Equal(expression.Value(itemID))).Build()
	if err != nil {
		return nil, internalf("dynamo: build query: %w", err)
	}
	in := &dynamodb.QueryInput{TableName: aws.String(s.t.deals), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
	var deals []app.PageDeal
	pages := dynamodb.NewQueryPaginator(s.client, in)
	for pages.HasMorePages() {
		res, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fail("reading deals", err)
		}
		more, err := decodeAll(res.Items, "deals", dealRecord.deal)
		if err != nil {
			return nil, err
		}
		deals = append(deals, more...)
	}
	return deals, nil
}

// DealsByBuyer pages through the reservations one buyer made, in
// reservation id order. It reads an index, so a deal written a moment ago
// may be missing.
func (s *Store) DealsByBuyer(ctx context.Context, buyerID string, p app.Page) ([]app.PageDeal, string, error) {
	raw, next, err := s.query(ctx, p, &dynamodb.QueryInput{TableName: aws.String(s.t.deals), IndexName: aws.String(IndexByBuyer)},
		"buyerId", buyerID, nil, []string{"itemId", "rsvId", "buyerId"}, "deals")
	return decoded(raw, next, err, "deals", dealRecord.deal)
}
