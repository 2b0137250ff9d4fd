package rest

import (
	"net/http"
)

// userPage is one user's MyPage on the wire. The two lists page on their
// own: sellingCursor and buyingCursor continue them.
type userPage struct {
	UserID        string     `json:"userId"`
	Selling       []PageRow  `json:"selling"`
	Buying        []PageDeal `json:"buying"`
	SellingCursor string     `json:"sellingCursor,omitempty"`
	BuyingCursor  string     `json:"buyingCursor,omitempty"`
}

// GetMyPages answers every item with its deal state, or with ?userId= one
// user's page. A user's page shows what they bought, so only that user
// may read it.
func (h *Handler) GetMyPages(r *http.Request) (reply, error) {
	userID, err := userIDParam(r, "userId")
	if err != nil {
		return reply{}, err
	}
	if userID == "" {
		p, err := page(r)
		if err != nil {
			return reply{}, err
		}
		rows, next, err := h.App.MyPage(r.Context(), user(r), p)
		return listed(rows, next, err, toPageRow)
	}
	selling, err := pageOf(r, "limit", "sellingCursor")
	if err != nil {
		return reply{}, err
	}
	buying, err := pageOf(r, "limit", "buyingCursor")
	if err != nil {
		return reply{}, err
	}
	pg, nextSelling, nextBuying, err := h.App.MyPageOf(r.Context(), user(r), userID, selling, buying)
	if err != nil {
		return reply{}, err
	}
	out := userPage{UserID: userID, SellingCursor: nextSelling, BuyingCursor: nextBuying,
		Selling: listOf(pg.Selling, "", toPageRow).Items, Buying: listOf(pg.Buying, "", toPageDeal).Items}
	return reply{status: http.StatusOK, body: out}, nil
}

func (h *Handler) GetMyPage(r *http.Request) (reply, error) {
	row, err := h.App.MyPageRow(r.Context(), user(r), vars(r, "itemId"))
	if err != nil {
		return reply{}, err
	}
	return ok(*row, nil, toPageRow)
}
