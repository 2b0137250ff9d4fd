package app

import (
	"context"

	"github.com/carrot-market/carrot/functions/market"
)

// ProfileLimit is the number of items and reviews each list of a profile
// holds; its cursors continue the list in the listing it comes from.
const ProfileLimit = 20

// Profile is a user's public face: their reputation as a seller, the
// first page of the items they have on sale and of those they sold, and
// the first page of the reviews they received, each with the cursor of
// its next page.
type Profile struct {
	UserID      string
	Seller      market.Seller
	OnSale      []*market.Item
	OnSaleNext  string // continues Items(ItemFilter{SellerID, Status: ItemCreated})
	Sold        []*market.Item
	SoldNext    string // continues Items(ItemFilter{SellerID, Status: ItemSoldOut})
	Reviews     []market.Review
	ReviewsNext string // continues UserReviews
}

// UserProfile answers userID's public profile. A user exists by their
// token alone, so a user carrot has never seen has a profile too: the
// starting temperature and empty lists.
func (s *Service) UserProfile(ctx context.Context, userID string) (Profile, error) {
	first := Page{Limit: ProfileLimit}
	sl, err := s.Store.Seller(ctx, userID)
	if err != nil {
		return Profile{}, err
	}
	pr := Profile{UserID: userID, Seller: *sl}
	pr.OnSale, pr.OnSaleNext, err = s.Items(ctx, ItemFilter{SellerID: userID, Status: market.ItemCreated}, first)
	if err != nil {
		return Profile{}, err
	}
	pr.Sold, pr.SoldNext, err = s.Items(ctx, ItemFilter{SellerID: userID, Status: market.ItemSoldOut}, first)
	if err != nil {
		return Profile{}, err
	}
	pr.Reviews, pr.ReviewsNext, err = s.UserReviews(ctx, userID, first)
	if err != nil {
		return Profile{}, err
	}
	return pr, nil
}

// UserReviews pages through the reviews userID received as a seller,
// newest first; a user without any has an empty list.
func (s *Service) UserReviews(ctx context.Context, userID string, p Page) ([]market.Review, string, error) {
	return s.Store.Reviews(ctx, ReviewsOf{SellerID: userID}, p)
}

// ItemReviews pages through an item's reviews, newest first. An unknown
// item is NotFound.
func (s *Service) ItemReviews(ctx context.Context, itemID string, p Page) ([]market.Review, string, error) {
	if _, err := s.Store.Item(ctx, itemID); err != nil {
		return nil, "", err
	}
	return s.Store.Reviews(ctx, ReviewsOf{ItemID: itemID}, p)
}
