package app_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

func reviewIDs(rvs []market.Review) []string {
	out := []string{}
	for _, rv := range rvs {
		out = append(out, rv.ID)
	}
	return out
}

func itemIDs(items []*market.Item) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.ID())
	}
	return out
}

// TestUserProfile follows reviews through the item policy to the seller's
// profile: the manner temperature, the items on sale and sold, and the
// reviews newest first.
func TestUserProfile(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()

	var sold []string
	for _, score := range []int{5, 5, 2} {
		it, _ := s.reviewed(score)
		sold = append(sold, it.ID())
	}
	onSale := s.item(seller)
	reserved, _ := s.reserved()

	pr, err := s.cmd.UserProfile(ctx, seller)
	require.NoError(t, err)
	assert.Equal(t, seller, pr.UserID)
	assert.InDelta(t, 36.5+0.5+0.5-0.2, pr.Seller.Temperature(), 1e-9)
	assert.Equal(t, 3, pr.Seller.ReviewCount)
	assert.InDelta(t, 4.0, pr.Seller.Score(), 1e-9)
	assert.Equal(t, []string{onSale.ID()}, itemIDs(pr.OnSale), "a reserved item is neither on sale nor sold")
	assert.ElementsMatch(t, sold, itemIDs(pr.Sold))
	assert.NotContains(t, itemIDs(pr.Sold), reserved.ID())
	require.Len(t, pr.Reviews, 3)
	assert.Equal(t, []int{2, 5, 5}, []int{pr.Reviews[0].Score, pr.Reviews[1].Score, pr.Reviews[2].Score}, "newest first")
	assert.Equal(t, sold[2], pr.Reviews[0].ItemID)
	assert.Empty(t, pr.OnSaleNext+pr.SoldNext+pr.ReviewsNext, "every list fits its first page")

	stranger, err := s.cmd.UserProfile(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, app.Profile{UserID: other, Seller: market.Seller{ID: other}}, stranger, "a user carrot never saw")
	assert.InDelta(t, market.StartTemperature, stranger.Seller.Temperature(), 1e-9)
}

func TestReviewListings(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	first, _ := s.reviewed(4)
	second, _ := s.reviewed(1)
	unreviewed := s.item(seller)

	all, next, err := s.cmd.UserReviews(ctx, seller, app.Page{})
	require.NoError(t, err)
	assert.Empty(t, next)
	require.Len(t, all, 2)
	assert.Equal(t, []string{second.ID(), first.ID()}, []string{all[0].ItemID, all[1].ItemID}, "newest first")

	tests := []struct {
		name string
		list func() ([]market.Review, string, error)
		want []string
		code market.Code
	}{
		{"an item's review", func() ([]market.Review, string, error) { return s.cmd.ItemReviews(ctx, first.ID(), app.Page{}) }, reviewIDs(all[1:]), ""},
		{"an item without reviews", func() ([]market.Review, string, error) { return s.cmd.ItemReviews(ctx, unreviewed.ID(), app.Page{}) }, []string{}, ""},
		{"an unknown item", func() ([]market.Review, string, error) { return s.cmd.ItemReviews(ctx, "no-such-item", app.Page{}) }, nil, market.NotFound},
		{"one page of a seller's", func() ([]market.Review, string, error) { return s.cmd.UserReviews(ctx, seller, app.Page{Limit: 1}) }, reviewIDs(all[:1]), ""},
		{"a user without reviews", func() ([]market.Review, string, error) { return s.cmd.UserReviews(ctx, buyer, app.Page{}) }, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _, err := tt.list()
			if tt.code != "" {
				assertCode(t, tt.code, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, reviewIDs(got))
		})
	}
}
