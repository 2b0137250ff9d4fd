package rest

import (
	"context"
	"net/http"

	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// Profile is a user's public profile on the wire. Each list is the first
// page of a listing, and its nextCursor continues that listing: onSale
// GET /items?sellerId=U&status=CREATED, sold the same with SOLDOUT, and
// reviews GET /users/U/reviews.
type Profile struct {
	UserID            string       `json:"userId"`
	MannerTemperature float64      `json:"mannerTemperature"`
	Score             float64      `json:"score"`
	ReviewCount       int          `json:"reviewCount"`
	OnSale            List[Item]   `json:"onSale"`
	Sold              List[Item]   `json:"sold"`
	Reviews           List[Review] `json:"reviews"`
}

func toProfile(p app.Profile) Profile {
	return Profile{UserID: p.UserID, MannerTemperature: p.Seller.Temperature(), Score: p.Seller.Score(), ReviewCount: p.Seller.ReviewCount,
		OnSale: listOf(p.OnSale, p.OnSaleNext, toItem), Sold: listOf(p.Sold, p.SoldNext, toItem),
		Reviews: listOf(p.Reviews, p.ReviewsNext, toReview)}
}

func (h *Handler) GetUser(r *http.Request) (reply, error) {
	pr, err := h.App.UserProfile(r.Context(), vars(r, "userId"))
	return ok(pr, err, toProfile)
}

func (h *Handler) GetUserReviews(r *http.Request) (reply, error) {
	return reviews(r, vars(r, "userId"), h.App.UserReviews)
}

func (h *Handler) GetItemReviews(r *http.Request) (reply, error) {
	return reviews(r, vars(r, "itemId"), h.App.ItemReviews)
}

// reviews answers the page the request asks for of a listing of the
// reviews of id.
func reviews(r *http.Request, id string, list func(context.Context, string, app.Page) ([]market.Review, string, error)) (reply, error) {
	p, err := page(r)
	if err != nil {
		return reply{}, err
	}
	rvs, next, err := list(r.Context(), id, p)
	return listed(rvs, next, err, toReview)
}
