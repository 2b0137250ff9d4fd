package apptest

import (
	"testing"
	"time"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

func reviewID(rv market.Review) string { return rv.ID }

func (s Stores) reviews(of app.ReviewsOf) func(app.Page) ([]string, string, error) {
	return listed(reviewID, func(p app.Page) ([]market.Review, string, error) { return s.Store.Reviews(ctx, of, p) })
}

// testReviewListings writes reviews of two items of one seller and one of
// another, with ids and times of their own, and reads them newest first
// by item and by seller.
func testReviewListings(t *testing.T, s Stores) {
	alice, bob := "alice-"+uid(), "bob-"+uid()
	lamp, desk, sofa := uid(), uid(), uid()
	start := now().Truncate(time.Second)
	specs := []struct {
		item, seller string
		at           time.Duration
	}{
		{lamp, alice, 3 * time.Second},
		{desk, alice, 1 * time.Second},
		{lamp, alice, 2 * time.Second},
		{lamp, alice, 5 * time.Millisecond},
		{sofa, bob, 4 * time.Second},
		{lamp, alice, 2 * time.Second}, // the same instant as another: the id breaks the tie
	}
	written := make([]market.Review, len(specs))
	mustWrite(t, s, func(tx app.Tx) {
		for i, sp := range specs {
			written[i] = market.Review{ID: uid(), RsvID: uid(), ItemID: sp.item, ReviewerID: "buyer", SellerID: sp.seller,
				Score: 1 + i%market.MaxScore, Comment: "thanks", CreatedAt: start.Add(sp.at)}
			tx.AddReview(written[i])
		}
	})
	newestFirst := func(is ...int) []string {
		out := []string{}
		for _, i := range is {
			out = append(out, written[i].ID)
		}
		return out
	}
	// Review ids are time-ordered, so of the two at one instant the later
	// written (5) has the greater id and comes first.
	testEveryListing(t, []listing{
		{"reviews of an item, newest first", s.reviews(app.ReviewsOf{ItemID: lamp}), newestFirst(0, 5, 2, 3), true},
		{"reviews of another item", s.reviews(app.ReviewsOf{ItemID: desk}), newestFirst(1), true},
		{"reviews of a seller, newest first", s.reviews(app.ReviewsOf{SellerID: alice}), newestFirst(0, 5, 2, 1, 3), true},
		{"reviews of another seller", s.reviews(app.ReviewsOf{SellerID: bob}), newestFirst(4), true},
		{"reviews of an item without any", s.reviews(app.ReviewsOf{ItemID: uid()}), nil, true},
		{"reviews of a seller without any", s.reviews(app.ReviewsOf{SellerID: "nobody-" + uid()}), nil, true},
	})
	testForeignCursors(t, []partition{
		{"reviews of an item", s.reviews(app.ReviewsOf{ItemID: lamp}), s.reviews(app.ReviewsOf{ItemID: desk})},
		{"reviews of a seller", s.reviews(app.ReviewsOf{SellerID: alice}), s.reviews(app.ReviewsOf{SellerID: bob})},
		{"reviews of an item in a seller's", s.reviews(app.ReviewsOf{ItemID: lamp}), s.reviews(app.ReviewsOf{SellerID: alice})},
	})
}
