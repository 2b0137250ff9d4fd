package app

import (
	"context"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

var (
	errItemGone   = market.Errorf(market.Conflict, "the item was deleted")
	errPaidRsv    = market.Errorf(market.Conflict, "a payment for this reservation is approved; cancel it first")
	errAlreadyPay = market.Errorf(market.Conflict, "this reservation is already paid")
	errReviewed   = market.Errorf(market.Conflict, "this reservation is already reviewed")
	errUnpaidDeal = market.Errorf(market.Conflict, "the payment of this deal is not approved (it may have been cancelled)")
	// errReviewedDeal: a reviewed deal is closed (SPEC 3.4: a cancel and a
	// review of one deal never both succeed).
	errReviewedDeal = market.Errorf(market.Conflict, "this deal is reviewed and closed; its payment can no longer be cancelled")
)

// RequestChat opens the buyer's chat on an item, which is a reservation in
// CREATED. Asking again answers the buyer's open reservation for that item
// and reports created=false; concurrent requests open exactly one.
func (s *Service) RequestChat(ctx context.Context, buyerID, itemID, place string) (*market.Reservation, bool, error) {
	var (
		r       *market.Reservation
		created bool
	)
	err := s.update(ctx, func(tx Tx) error {
		// The item is read first: a deleted item is unknown (404) also to
		// a buyer whose chat on it is still open.
		item, err := tx.Item(itemID)
		if err != nil {
			return err
		}
		open, err := tx.OpenChat(itemID, buyerID)
		if err != nil {
			return err
		}
		if open != "" {
			created = false
			r, err = tx.Reservation(open)
			return err
		}
		if r, err = market.RequestChat(s.newID(), item, buyerID, place, s.now()); err != nil {
			return err
		}
		created = true
		tx.SetOpenChat(itemID, buyerID, r.ID())
		return s.publish(ctx, tx, events.ReservationRequested, reservationPayload(r, tx.SaveReservation(r)))
	})
	if err != nil {
		return nil, false, err
	}
	return r, created, nil
}

// Reservation returns a reservation to one of its participants.
func (s *Service) Reservation(ctx context.Context, by, rsvID string) (*market.Reservation, error) {
	r, err := s.Store.Reservation(ctx, rsvID)
	if err != nil {
		return nil, err
	}
	return r, r.CheckView(by)
}

// PostMessage writes a chat message from a participant.
func (s *Service) PostMessage(ctx context.Context, by, rsvID, text string) (market.Message, error) {
	return produce(ctx, s, func(tx Tx) (market.Message, error) {
		r, err := tx.Reservation(rsvID)
		if err != nil {
			return market.Message{}, err
		}
		m, err := r.PostMessage(s.newID(), by, text, s.now())
		if err != nil {
			return market.Message{}, err
		}
		tx.AddMessage(m)
		return m, s.publish(ctx, tx, events.ChatMessagePosted, messagePayload(m))
	})
}

// Messages pages through a chat in posting order, for its participants.
func (s *Service) Messages(ctx context.Context, by, rsvID string, p Page) ([]market.Message, string, error) {
	if _, err := s.Reservation(ctx, by, rsvID); err != nil {
		return nil, "", err
	}
	return s.Store.Messages(ctx, rsvID, p)
}

// ConfirmReservation fixes the meeting, holds the item for this
// reservation and records on it the price agreed, in one unit of work. Of many confirmations racing for one
// item exactly one commits; the others run again, find the item held and
// get a conflict.
func (s *Service) ConfirmReservation(ctx context.Context, by, rsvID string, m market.Meeting) (*market.Reservation, error) {
	return produce(ctx, s, func(tx Tx) (*market.Reservation, error) {
		r, err := tx.Reservation(rsvID)
		if err != nil {
			return nil, err
		}
		if err := r.Confirm(by, m, s.now()); err != nil {
			return nil, err
		}
		item, err := tx.Item(r.ItemID())
		if market.ErrorCode(err) == market.NotFound {
			return nil, errItemGone
		}
		if err != nil {
			return nil, err
		}
		wasHeld := item.RsvID() == r.ID()
		if err := item.Reserve(r, s.now()); err != nil {
			return nil, err
		}
		if err := s.publish(ctx, tx, events.ReservationConfirmed, reservationPayload(r, tx.SaveReservation(r))); err != nil {
			return nil, err
		}
		if wasHeld {
			return r, nil // a new meeting: the item stays held, and unchanged since it was read
		}
		return r, s.publish(ctx, tx, events.ItemReserved, itemPayload(item, tx.SaveItem(item)))
	})
}

// DeleteReservation closes the chat. A reservation whose payment is
// approved cannot go, also when the payment is approved while this runs:
// the unit of work read the reservation's payment as absent. The item it
// held is released by the item policy.
func (s *Service) DeleteReservation(ctx context.Context, by, rsvID string) error {
	return s.update(ctx, func(tx Tx) error {
		r, err := tx.Reservation(rsvID)
		if err != nil {
			return err
		}
		if err := r.CheckDelete(by); err != nil {
			return err
		}
		if err := noApprovedPayment(tx, rsvID, errPaidRsv); err != nil {
			return err
		}
		tx.SetOpenChat(r.ItemID(), r.BuyerID(), "")
		return s.publish(ctx, tx, events.ReservationDeleted, reservationPayload(r, tx.DeleteReservation(r)))
	})
}

// noApprovedPayment returns conflict when the reservation has an approved
// payment.
func noApprovedPayment(tx Tx, rsvID string, conflict error) error {
	payID, err := tx.ApprovedPayment(rsvID)
	if err == nil && payID != "" {
		err = conflict
	}
	return err
}
