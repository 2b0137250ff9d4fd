package dynamo

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// Snapshot implements app.Scanner: it scans the source tables, the claims
// and the two view tables whole, each with consistent reads, one after the
// other. It reads every row, so it is for operator tools only, and on a
// running system it is no consistent cut (see app.Snapshot).
func (s *Store) Snapshot(ctx context.Context) (*app.Snapshot, error) {
	snap := &app.Snapshot{
		Items: map[string]*market.Item{}, Reservations: map[string]*market.Reservation{},
		Payments: map[string]*market.Payment{}, Reviews: map[string]market.Review{}, Sellers: map[string]market.Seller{},
		OpenChats: map[app.OpenChat]string{}, Approved: map[string]string{},
		Rows: map[string]app.PageRow{}, Deals: map[string]map[string]app.PageDeal{},
	}
	err := scanAll(ctx, s, s.t.items, "items", func(r itemRecord) { snap.Items[r.ItemID] = r.item() })
	if err == nil {
		err = scanAll(ctx, s, s.t.reservations, "reservations", func(r reservationRecord) { snap.Reservations[r.RsvID] = r.reservation() })
	}
	if err == nil {
		err = scanAll(ctx, s, s.t.payments, "payments", func(r paymentRecord) { snap.Payments[r.PayID] = r.payment() })
	}
	if err == nil {
		err = scanAll(ctx, s, s.t.reviews, "reviews", func(r reviewRecord) { snap.Reviews[r.RsvID] = r.review() })
	}
	if err == nil {
		err = scanAll(ctx, s, s.t.sellers, "sellers", func(r sellerRecord) { snap.Sellers[r.SellerID] = *r.seller() })
	}
	if err == nil {
		err = scanAll(ctx, s, s.t.claims, "claims", func(r claimRecord) { addClaim(snap, r) })
	}
	if err == nil {
		err = scanAll(ctx, s, s.t.mypage, "page rows", func(r rowRecord) { snap.Rows[r.ItemID] = r.row() })
	}
	if err == nil {
		err = scanAll(ctx, s, s.t.deals, "deals", func(r dealRecord) {
			if snap.Deals[r.ItemID] == nil {
				snap.Deals[r.ItemID] = map[string]app.PageDeal{}
			}
			snap.Deals[r.ItemID][r.RsvID] = r.deal()
		})
	}
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// addClaim puts a claim row where the snapshot keeps its rule (see
// chatClaim and paymentClaim). Item ids hold no "|", so a buyer id that
// does stays whole.
func addClaim(snap *app.Snapshot, r claimRecord) {
	parts := strings.SplitN(r.Key, "|", 3)
	switch {
	case len(parts) == 3 && parts[0] == "chat":
		snap.OpenChats[app.OpenChat{ItemID: parts[1], BuyerID: parts[2]}] = r.Owner
	case len(parts) >= 2 && parts[0] == "payment":
		snap.Approved[strings.TrimPrefix(r.Key, "payment|")] = r.Owner
	}
}

// scanAll reads every row of table with consistent reads and hands each,
// decoded as R, to each.
func scanAll[R any](ctx context.Context, s *Store, table, what string, each func(R)) error {
	pages := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for pages.HasMorePages() {
		res, err := pages.NextPage(ctx)
		if err != nil {
			return fail("reading "+what, err)
		}
		recs, err := decodeAll(res.Items, what, func(r R) R { return r })
		if err != nil {
			return err
		}
		for _, r := range recs {
			each(r)
		}
	}
	return nil
}
