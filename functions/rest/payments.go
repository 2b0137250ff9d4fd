package rest

import (
	"net/http"

	"github.com/carrot-market/carrot/functions/market"
)

type newPayment struct {
	RsvID  ID     `json:"rsvId"`
	ItemID ID     `json:"itemId"`
	Status string `json:"status"` // the seed sends APPROVED; nothing else is allowed
	// Amount is what the buyer expects to pay; another agreed price is 409.
	Amount *int64 `json:"amount"`
}

func (in newPayment) check() error {
	return refuse(
		rule{in.RsvID == "", "rsvId", "is required"},
		idForm("rsvId", in.RsvID),
		idForm("itemId", in.ItemID),
		rule{in.Status != "" && in.Status != string(market.PayApproved), "status", "a new payment is APPROVED; cancel it with PATCH or DELETE"},
		rule{in.Amount != nil && (*in.Amount < 0 || *in.Amount > market.MaxItemPrice), "amount", "must be a price in won, from 0 to 1000000000"},
	)
}

type paymentPatch struct {
	Status string `json:"status"`
	RsvID  ID     `json:"rsvId"`  // the seed sends it; must match when given
	ItemID ID     `json:"itemId"` // likewise
}

func (in paymentPatch) check() error {
	return refuse(
		rule{in.Status != string(market.PayDeleted), "status", "must be DELETED to cancel the payment"},
		idForm("rsvId", in.RsvID),
		idForm("itemId", in.ItemID),
	)
}

type newReview struct {
	RsvID   ID     `json:"rsvId"`
	Score   int    `json:"score"`
	Comment string `json:"comment"`
}

func (in newReview) check() error {
	return refuse(rule{in.RsvID == "", "rsvId", "is required"}, idForm("rsvId", in.RsvID))
}

func (h *Handler) PostPayments(r *http.Request, in newPayment) (reply, error) {
	p, err := h.App.Pay(r.Context(), user(r), string(in.RsvID), string(in.ItemID), in.Amount)
	return created(p, err, toPayment)
}

func (h *Handler) GetPayment(r *http.Request) (reply, error) {
	p, err := h.App.Payment(r.Context(), user(r), vars(r, "payId"))
	return ok(p, err, toPayment)
}

// PatchPayment cancels a payment; DELETED is the only status it takes.
func (h *Handler) PatchPayment(r *http.Request, in paymentPatch) (reply, error) {
	return h.cancel(r, string(in.RsvID), string(in.ItemID))
}

func (h *Handler) DeletePayment(r *http.Request) (reply, error) {
	return h.cancel(r, "", "")
}

func (h *Handler) cancel(r *http.Request, rsvID, itemID string) (reply, error) {
	p, err := h.App.CancelPayment(r.Context(), user(r), vars(r, "payId"), rsvID, itemID)
	return ok(p, err, toPayment)
}

func (h *Handler) PostReviews(r *http.Request, in newReview) (reply, error) {
	rv, err := h.App.WriteReview(r.Context(), user(r), string(in.RsvID), in.Score, in.Comment)
	return created(rv, err, toReview)
}
