package rest

import (
	"net/http"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/edge"
	"github.com/carrot-market/carrot/infra/web"
)

type newPayment struct {
	RsvID  ID     `json:"rsvId"`
	ItemID ID     `json:"itemId"`
	Status string `json:"status"` // the seed sends APPROVED; nothing else is allowed
}

type paymentPatch struct {
	Status string `json:"status"`
	RsvID  ID     `json:"rsvId"`  // the seed sends it; must match when given
	ItemID ID     `json:"itemId"` // likewise
}

type newReview struct {
	RsvID   ID     `json:"rsvId"`
	Score   int    `json:"score"`
	Comment string `json:"comment"`
}

func (h *Handler) PostPayments(w http.ResponseWriter, r *http.Request) {
	var in newPayment
	if err := web.Decode(r, &in); err != nil {
		edge.Error(w, r, err)
		return
	}
	var f market.Fields
	if in.RsvID == "" {
		f.Add("rsvId", "is required")
	}
	if in.Status != "" && in.Status != string(market.PayApproved) {
		f.Add("status", "a new payment is APPROVED; cancel it with PATCH or DELETE")
	}
	if err := f.Err(); err != nil {
		edge.Error(w, r, err)
		return
	}
	p, err := h.App.Pay(r.Context(), user(r), string(in.RsvID), string(in.ItemID))
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	created(w, "/payments/"+p.ID(), toPayment(p))
}

func (h *Handler) GetPayment(w http.ResponseWriter, r *http.Request) {
	p, err := h.App.Payment(r.Context(), user(r), vars(r, "payId"))
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, toPayment(p))
}

// PatchPayment cancels a payment; DELETED is the only status it takes.
func (h *Handler) PatchPayment(w http.ResponseWriter, r *http.Request) {
	var in paymentPatch
	if err := web.Decode(r, &in); err != nil {
		edge.Error(w, r, err)
		return
	}
	if in.Status != string(market.PayDeleted) {
		var f market.Fields
		f.Add("status", "must be DELETED to cancel the payment")
		edge.Error(w, r, f.Err())
		return
	}
	h.cancel(w, r, string(in.RsvID), string(in.ItemID))
}

func (h *Handler) DeletePayment(w http.ResponseWriter, r *http.Request) {
	h.cancel(w, r, "", "")
}

func (h *Handler) cancel(w http.ResponseWriter, r *http.Request, rsvID, itemID string) {
	p, err := h.App.CancelPayment(r.Context(), user(r), vars(r, "payId"), rsvID, itemID)
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, toPayment(p))
}

func (h *Handler) PostReviews(w http.ResponseWriter, r *http.Request) {
	var in newReview
	if err := web.Decode(r, &in); err != nil {
		edge.Error(w, r, err)
		return
	}
	if in.RsvID == "" {
		var f market.Fields
		f.Add("rsvId", "is required")
		edge.Error(w, r, f.Err())
		return
	}
	rv, err := h.App.WriteReview(r.Context(), user(r), string(in.RsvID), in.Score, in.Comment)
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	created(w, "/reviews/"+rv.ID, toReview(rv))
}
