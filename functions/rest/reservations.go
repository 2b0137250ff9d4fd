package rest

import (
	"net/http"

	"github.com/carrot-market/carrot/functions/market"
)

type newReservation struct {
	ItemID    ID     `json:"itemId"`
	RsvPlace  string `json:"rsvPlace"`
	RsvStatus string `json:"rsvStatus"` // the seed sends CREATED; nothing else is allowed
}

func (in newReservation) check() error {
	return refuse(
		rule{in.ItemID == "", "itemId", "is required"},
		idForm("itemId", in.ItemID),
		rule{in.RsvStatus != "" && in.RsvStatus != string(market.RsvCreated), "rsvStatus", "a new reservation is CREATED; confirm it with PATCH"},
	)
}

type reservationPatch struct {
	RsvStatus string `json:"rsvStatus"`
	RsvDate   string `json:"rsvDate"`
	RsvTime   string `json:"rsvTime"`
	RsvPlace  string `json:"rsvPlace"`
}

func (in reservationPatch) check() error {
	return refuse(rule{in.RsvStatus != string(market.RsvConfirmed), "rsvStatus", "must be CONFIRMED; DELETE the reservation to cancel it"})
}

type newMessage struct {
	Text string `json:"text"`
}

// PostReservations opens a chat: 201 with the new reservation, or 200 with
// the buyer's open one when they asked before.
func (h *Handler) PostReservations(r *http.Request, in newReservation) (reply, error) {
	rsv, isNew, err := h.App.RequestChat(r.Context(), user(r), string(in.ItemID), in.RsvPlace)
	if err == nil && !isNew {
		return ok(rsv, nil, toReservation)
	}
	return created(rsv, err, toReservation)
}

func (h *Handler) GetReservation(r *http.Request) (reply, error) {
	rsv, err := h.App.Reservation(r.Context(), user(r), vars(r, "rsvId"))
	return ok(rsv, err, toReservation)
}

// PatchReservation confirms the meeting; it is the only change a
// reservation takes by PATCH.
func (h *Handler) PatchReservation(r *http.Request, in reservationPatch) (reply, error) {
	m := market.Meeting{Date: in.RsvDate, Time: in.RsvTime, Place: in.RsvPlace}
	rsv, err := h.App.ConfirmReservation(r.Context(), user(r), vars(r, "rsvId"), m)
	return ok(rsv, err, toReservation)
}

func (h *Handler) DeleteReservation(r *http.Request) (reply, error) {
	return noContent(h.App.DeleteReservation(r.Context(), user(r), vars(r, "rsvId")))
}

func (h *Handler) PostMessages(r *http.Request, in newMessage) (reply, error) {
	m, err := h.App.PostMessage(r.Context(), user(r), vars(r, "rsvId"), in.Text)
	return created(m, err, toMessage)
}

func (h *Handler) GetMessages(r *http.Request) (reply, error) {
	p, err := page(r)
	if err != nil {
		return reply{}, err
	}
	msgs, next, err := h.App.Messages(r.Context(), user(r), vars(r, "rsvId"), p)
	return listed(msgs, next, err, toMessage)
}
