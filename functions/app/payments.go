package app

import (
	"context"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

// Pay approves the buyer's payment of a confirmed reservation, for the
// price agreed at confirmation. itemID is optional (the seed's clients
// send it) and must match when given; amount, when given, is what the buyer
// expects to pay, and another agreed price is a conflict. Of concurrent
// payments of one reservation exactly one is approved.
func (s *Service) Pay(ctx context.Context, by, rsvID, itemID string, amount *int64) (*market.Payment, error) {
	return produce(ctx, s, func(tx Tx) (*market.Payment, error) {
		r, err := tx.Reservation(rsvID)
		if err != nil {
			return nil, err
		}
		if itemID != "" && itemID != r.ItemID() {
			var f market.Fields
			f.Add("itemId", "does not match the reservation's item")
			return nil, f.Err()
		}
		item, err := tx.Item(r.ItemID())
		if err != nil {
			return nil, err
		}
		p, err := market.Pay(s.newID(), r, item, by, amount, s.now())
		if err != nil {
			return nil, err
		}
		if err := noApprovedPayment(tx, rsvID, errAlreadyPay); err != nil {
			return nil, err
		}
		tx.SetApprovedPayment(rsvID, p.ID())
		return p, s.publish(ctx, tx, events.PaymentApproved, paymentPayload(p, tx.SavePayment(p)))
	})
}

// CancelPayment cancels an approved payment for its buyer or seller.
// Cancelling again changes nothing and answers the cancelled payment, also
// when the cancels race: one that loses to a concurrent cancel runs again
// and finds the payment cancelled. rsvID and itemID are optional (the
// seed's clients send them) and must match the payment when given.
func (s *Service) CancelPayment(ctx context.Context, by, payID, rsvID, itemID string) (*market.Payment, error) {
	return produce(ctx, s, func(tx Tx) (*market.Payment, error) {
		p, err := tx.Payment(payID)
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
		// A reviewed deal is closed; the review's transaction read the
		// payment approved, so of a cancel and a review racing one wins.
		if reviewed, err := tx.Reviewed(p.RsvID()); err != nil || reviewed {
			if err == nil {
				err = errReviewedDeal
			}
			return nil, err
		}
		tx.SetApprovedPayment(p.RsvID(), "")
		return p, s.publish(ctx, tx, events.PaymentCancelled, paymentPayload(p, tx.SavePayment(p)))
	})
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
// reservation: the reservation's payment must be approved when the review
// is written (the unit of work reads it, so a cancel racing the review
// makes it run again and fail). The item policy turns it into the item's
// and the seller's scores.
func (s *Service) WriteReview(ctx context.Context, by, rsvID string, score int, comment string) (market.Review, error) {
	return produce(ctx, s, func(tx Tx) (market.Review, error) {
		r, err := tx.Reservation(rsvID)
		if err != nil {
			return market.Review{}, err
		}
		rv, err := market.WriteReview(s.newID(), r, by, score, comment, s.now())
		if err != nil {
			return market.Review{}, err
		}
		if payID, err := tx.ApprovedPayment(rsvID); err != nil || payID == "" {
			if err == nil {
				err = errUnpaidDeal
			}
			return market.Review{}, err
		}
		reviewed, err := tx.Reviewed(rsvID)
		if err != nil {
			return market.Review{}, err
		}
		if reviewed {
			return market.Review{}, errReviewed
		}
		tx.AddReview(rv)
		return rv, s.publish(ctx, tx, events.ReviewWritten, reviewPayload(rv))
	})
}
