package rest

import (
	"net/http"

	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/edge"
	"github.com/carrot-market/carrot/infra/web"
)

type newReservation struct {
	ItemID    ID     `json:"itemId"`
	RsvPlace  string `json:"rsvPlace"`
	RsvStatus string `json:"rsvStatus"` // the seed sends CREATED; nothing else is allowed
}

type reservationPatch struct {
	RsvStatus string `json:"rsvStatus"`
	RsvDate   string `json:"rsvDate"`
	RsvTime   string `json:"rsvTime"`
	RsvPlace  string `json:"rsvPlace"`
}

type newMessage struct {
	Text string `json:"text"`
}

// PostReservations opens a chat: 201 with the new reservation, or 200 with
// the buyer's open one when they asked before.
func (h *Handler) PostReservations(w http.ResponseWriter, r *http.Request) {
	var in newReservation
	if err := web.Decode(r, &in); err != nil {
		edge.Error(w, r, err)
		return
	}
	var f market.Fields
	if in.ItemID == "" {
		f.Add("itemId", "is required")
	}
	if in.RsvStatus != "" && in.RsvStatus != string(market.RsvCreated) {
		f.Add("rsvStatus", "a new reservation is CREATED; confirm it with PATCH")
	}
	if err := f.Err(); err != nil {
		edge.Error(w, r, err)
		return
	}
	rsv, isNew, err := h.App.RequestChat(r.Context(), user(r), string(in.ItemID), in.RsvPlace)
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	if !isNew {
		web.JSON(w, http.StatusOK, toReservation(rsv))
		return
	}
	created(w, "/reservations/"+rsv.ID(), toReservation(rsv))
}

func (h *Handler) GetReservation(w http.ResponseWriter, r *http.Request) {
	rsv, err := h.App.Reservation(r.Context(), user(r), vars(r, "rsvId"))
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, toReservation(rsv))
}

// PatchReservation confirms the meeting; it is the only change a
// reservation takes by PATCH.
func (h *Handler) PatchReservation(w http.ResponseWriter, r *http.Request) {
	var in reservationPatch
	if err := web.Decode(r, &in); err != nil {
		edge.Error(w, r, err)
		return
	}
	if in.RsvStatus != string(market.RsvConfirmed) {
		var f market.Fields
		f.Add("rsvStatus", "must be CONFIRMED; DELETE the reservation to cancel it")
		edge.Error(w, r, f.Err())
		return
	}
	m := market.Meeting{Date: in.RsvDate, Time: in.RsvTime, Place: in.RsvPlace}
	rsv, err := h.App.ConfirmReservation(r.Context(), user(r), vars(r, "rsvId"), m)
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, toReservation(rsv))
}

func (h *Handler) DeleteReservation(w http.ResponseWriter, r *http.Request) {
	if err := h.App.DeleteReservation(r.Context(), user(r), vars(r, "rsvId")); err != nil {
		edge.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) PostMessages(w http.ResponseWriter, r *http.Request) {
	var in newMessage
	if err := web.Decode(r, &in); err != nil {
		edge.Error(w, r, err)
		return
	}
	m, err := h.App.PostMessage(r.Context(), user(r), vars(r, "rsvId"), in.Text)
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	created(w, "/reservations/"+m.RsvID+"/messages", toMessage(m))
}

func (h *Handler) GetMessages(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	msgs, next, err := h.App.Messages(r.Context(), user(r), vars(r, "rsvId"), p)
	if err != nil {
		edge.Error(w, r, err)
		return
	}
	web.JSON(w, http.StatusOK, listOf(msgs, next, toMessage))
}
