package app

import (
	"context"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

// Pay approves the buyer's payment of a confirmed reservation. itemID is
// optional (the seed's clients send it) and must match when given. The
// payment claim makes concurrent payments of one reservation pay once.
func (s *Service) Pay(ctx context.Context, by, rsvID, itemID string) (*market.Payment, error) {
	r, err := s.Store.Reservation(ctx, rsvID)
	if err != nil {
		return nil, err
	}
	if itemID != "" && itemID != r.ItemID() {
		var f market.Fields
		f.Add("itemId", "does not match the reservation's item")
		return nil, f.Err()
	}
	if err := r.CheckPay(by); err != nil {
		return nil, err
	}
	if payID, err := s.Store.Claimed(ctx, paymentClaim(rsvID)); err != nil || payID != "" {
		if err == nil {
			err = errAlreadyPay
		}
		return nil, err
	}
	item, err := s.Store.Item(ctx, r.ItemID())
	if err != nil {
		return nil, err
	}
	p, err := market.Pay(s.newID(), r, item, by, s.now())
	if err != nil {
		return nil, err
	}
	ev, err := s.fact(ctx, events.PaymentApproved, paymentPayload(p))
	if err != nil {
		return nil, err
	}
	return p, s.commit(ctx, s.Store,
		CheckReservation{Reservation: r},
		Claim{Key: paymentClaim(rsvID), Owner: p.ID(), Conflict: errAlreadyPay},
		SavePayment{Payment: p},
		ev)
}

// CancelPayment cancels an approved payment for its buyer or seller.
// Cancelling again changes nothing and answers the cancelled payment, also
// when the cancels race: one that loses to a concurrent cancel reloads the
// payment and finds it cancelled. rsvID and itemID are optional (the
// seed's clients send them) and must match the payment when given.
func (s *Service) CancelPayment(ctx context.Context, by, payID, rsvID, itemID string) (p *market.Payment, err error) {
	err = retryStale(ctx, func() error {
		p, err = s.cancelPayment(ctx, by, payID, rsvID, itemID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) cancelPayment(ctx context.Context, by, payID, rsvID, itemID string) (*market.Payment, error) {
	p, err := s.Store.Payment(ctx, payID)
	if err != nil {
		return nil, err
	}
	var f market.Fields
	if rsvID != "" && rsvID != p.RsvID() {
		f.Add("rsvId", "does not match the payment's reservation")
	}
	if itemID != "" && itemID != p.ItemID() {
		f.Add("itemId", "does not match the payment's item")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	changed, err := p.Cancel(by, s.now())
	if err != nil || !changed {
		return p, err
	}
	ev, err := s.fact(ctx, events.PaymentCancelled, paymentPayload(p))
	if err != nil {
		return nil, err
	}
	return p, s.commit(ctx, s.Store,
		SavePayment{Payment: p},
		Unclaim{Key: paymentClaim(p.RsvID())},
		ev)
}

// Payment returns a payment to its buyer or seller.
func (s *Service) Payment(ctx context.Context, by, payID string) (*market.Payment, error) {
	p, err := s.Store.Payment(ctx, payID)
	if err != nil {
		return nil, err
	}
	return p, p.CheckView(by)
}

// WriteReview records the buyer's review of a paid deal, once per
// reservation. The item policy turns it into the item's and the seller's
// scores.
func (s *Service) WriteReview(ctx context.Context, by, rsvID string, score int, comment string) (market.Review, error) {
	r, err := s.Store.Reservation(ctx, rsvID)
	if err != nil {
		return market.Review{}, err
	}
	rv, err := market.WriteReview(s.newID(), r, by, score, comment, s.now())
	if err != nil {
		return market.Review{}, err
	}
	ev, err := s.fact(ctx, events.ReviewWritten, reviewPayload(rv))
	if err != nil {
		return market.Review{}, err
	}
	return rv, s.commit(ctx, s.Store,
		CheckReservation{Reservation: r},
		SaveReview{Review: rv, Conflict: errReviewed},
		ev)
}
