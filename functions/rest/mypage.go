package rest

import (
	"net/http"

	"github.com/carrot-market/carrot/infra/edge"
	"github.com/carrot-market/carrot/infra/web"
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
func (h *Handler) GetMyPages(w http.ResponseWriter, r *http.Request) {
	userID := r.URL.Query().Get("userId")
	if userID == "" {
		p, err := page(r)
		if err != nil {
			edge.Error(w, r, err)
			return
		}
		rows, next, err := h.App.MyPage(r.Context(), p)
		if err != nil {
			edge.Error(w, r, err)
			return
		}
		web.JSON(w, http.StatusOK, listOf(rows, next, toPageRow))
		return
	}
	selling, err := pageOf(r, "limit", "sellingCursor")
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	buying, err := pageOf(r, "limit", "buyingCursor")
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	pg, nextSelling, nextBuying, err := h.App.MyPageOf(r.Context(), user(r), userID, selling, buying)
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	out := userPage{UserID: userID, SellingCursor: nextSelling, BuyingCursor: nextBuying,
		Selling: listOf(pg.Selling, "", toPageRow).Items, Buying: listOf(pg.Buying, "", toPageDeal).Items}
	web.JSON(w, http.StatusOK, out)
}

func (h *Handler) GetMyPage(w http.ResponseWriter, r *http.Request) {
	row, err := h.App.MyPageRow(r.Context(), vars(r, "itemId"))
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, toPageRow(*row))
}
