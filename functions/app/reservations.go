package app

import (
	"context"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

// chatClaim is the key that keeps one open reservation per buyer and item.
func chatClaim(itemID, buyerID string) string { return "chat|" + itemID + "|" + buyerID }

// paymentClaim is the key that keeps one approved payment per reservation.
func paymentClaim(rsvID string) string { return "payment|" + rsvID }

var (
	errItemGone   = market.Errorf(market.Conflict, "the item was deleted")
	errItemMoved  = market.Errorf(market.Conflict, "the item changed meanwhile (it may be sold out now); reload and retry")
	errLostRace   = market.Errorf(market.Conflict, "another reservation of this item was confirmed first")
	errPaidRsv    = market.Errorf(market.Conflict, "a payment for this reservation is approved; cancel it first")
	errAlreadyPay = market.Errorf(market.Conflict, "this reservation is already paid")
	errReviewed   = market.Errorf(market.Conflict, "this reservation is already reviewed")
)

// RequestChat opens the buyer's chat on an item, which is a reservation in
// CREATED. Asking again answers the buyer's open reservation for that item
// and reports created=false; concurrent requests open exactly one.
func (s *Service) RequestChat(ctx context.Context, buyerID, itemID, place string) (r *market.Reservation, created bool, err error) {
	err = retryStale(ctx, func() error {
		r, created, err = s.requestChat(ctx, buyerID, itemID, place)
		return err
	})
	return r, created, err
}

func (s *Service) requestChat(ctx context.Context, buyerID, itemID, place string) (*market.Reservation, bool, error) {
	// The item is read first: a deleted item is unknown (404) also to a
	// buyer whose chat on it is still open.
	item, err := s.Store.Item(ctx, itemID)
	if err != nil {
		return nil, false, err
	}
	key := chatClaim(itemID, buyerID)
	if open, err := s.openChat(ctx, key); open != nil || err != nil {
		return open, false, err
	}
	r, err := market.RequestChat(s.newID(), item, buyerID, place, s.now())
	if err != nil {
		return nil, false, err
	}
	ev, err := s.fact(ctx, events.ReservationRequested, reservationPayload(r))
	if err != nil {
		return nil, false, err
	}
	err = s.commit(ctx, s.Store,
		CheckItem{Item: item, Conflict: ErrStale},
		Claim{Key: key, Owner: r.ID(), Conflict: ErrStale},
		SaveReservation{Reservation: r},
		ev)
	return r, true, err
}

// openChat returns the reservation claimed under key, nil when none.
func (s *Service) openChat(ctx context.Context, key string) (*market.Reservation, error) {
	rsvID, err := s.Store.Claimed(ctx, key)
	if err != nil || rsvID == "" {
		return nil, err
	}
	return s.Store.Reservation(ctx, rsvID)
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
	r, err := s.Store.Reservation(ctx, rsvID)
	if err != nil {
		return market.Message{}, err
	}
	m, err := r.PostMessage(s.newID(), by, text, s.now())
	if err != nil {
		return market.Message{}, err
	}
	ev, err := s.fact(ctx, events.ChatMessagePosted, messagePayload(m))
	if err != nil {
		return market.Message{}, err
	}
	return m, s.commit(ctx, s.Store, SaveMessage{Message: m}, ev)
}

// Messages pages through a chat in posting order, for its participants.
func (s *Service) Messages(ctx context.Context, by, rsvID string, p Page) ([]market.Message, string, error) {
	if _, err := s.Reservation(ctx, by, rsvID); err != nil {
		return nil, "", err
	}
	return s.Store.Messages(ctx, rsvID, p)
}

// ConfirmReservation fixes the meeting and holds the item for this
// reservation in one transaction. The item write is conditional on the
// version that was read, so of many confirmations racing for one item
// exactly one wins; the others get a conflict.
func (s *Service) ConfirmReservation(ctx context.Context, by, rsvID string, m market.Meeting) (*market.Reservation, error) {
	r, err := s.Store.Reservation(ctx, rsvID)
	if err != nil {
		return nil, err
	}
	if err := r.Confirm(by, m, s.now()); err != nil {
		return nil, err
	}
	item, err := s.Store.Item(ctx, r.ItemID())
	if market.ErrorCode(err) == market.NotFound {
		return nil, errItemGone
	}
	if err != nil {
		return nil, err
	}
	wasHeld := item.RsvID() == r.ID()
	if err := item.Reserve(r.ID(), s.now()); err != nil {
		return nil, err
	}
	confirmed, err := s.fact(ctx, events.ReservationConfirmed, reservationPayload(r))
	if err != nil {
		return nil, err
	}
	ops := []Op{SaveReservation{Reservation: r}, confirmed}
	if wasHeld {
		ops = append(ops, CheckItem{Item: item, Conflict: ErrStale})
	} else {
		reserved, err := s.fact(ctx, events.ItemReserved, itemPayload(item))
		if err != nil {
			return nil, err
		}
		ops = append(ops, SaveItem{Item: item, Conflict: errLostRace}, reserved)
	}
	return r, s.commit(ctx, s.Store, ops...)
}

// DeleteReservation closes the chat. A reservation whose payment is
// approved cannot go, also when the payment is approved while this runs:
// the transaction requires the payment claim to be free. The item it held
// is released by the item policy.
func (s *Service) DeleteReservation(ctx context.Context, by, rsvID string) error {
	r, err := s.Store.Reservation(ctx, rsvID)
	if err != nil {
		return err
	}
	if err := r.CheckDelete(by); err != nil {
		return err
	}
	ev, err := s.fact(ctx, events.ReservationDeleted, reservationPayload(r))
	if err != nil {
		return err
	}
	return s.commit(ctx, s.Store,
		DeleteReservation{Reservation: r},
		RequireUnclaimed{Key: paymentClaim(r.ID()), Conflict: errPaidRsv},
		Unclaim{Key: chatClaim(r.ItemID(), r.BuyerID())},
		ev)
}
