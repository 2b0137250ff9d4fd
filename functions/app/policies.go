package app

import (
	"context"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

// The policies below carry effects from one aggregate to another
// (choreography, SPEC section 5). Each is idempotent: the domain reports
// whether a fact changes anything, and MarkHandled commits with the change,
// so a redelivered event changes nothing and emits nothing new. A stale or
// impossible event comes back as a market NotFound or Conflict error, which
// the event edge acknowledges without retrying.

// EventHandler handles one delivery of an event.
type EventHandler func(ctx context.Context, e cloudevents.Event) error

// ReservationPolicy handles payment facts: an approved payment completes
// its reservation, a cancelled one reopens it.
func (s *Service) ReservationPolicy() map[events.Type]EventHandler {
	return map[events.Type]EventHandler{
		events.PaymentApproved:  s.CompleteReservation,
		events.PaymentCancelled: s.ReopenReservation,
	}
}

// ItemPolicy handles reservation and review facts that move an item.
func (s *Service) ItemPolicy() map[events.Type]EventHandler {
	return map[events.Type]EventHandler{
		events.ReservationCompleted: s.SellOutItem,
		events.ReservationReopened:  s.ReserveItemAgain,
		events.ReservationDeleted:   s.ReleaseItem,
		events.ReviewWritten:        s.ScoreItem,
	}
}

// CompleteReservation: payment approved → reservation COMPLETED.
func (s *Service) CompleteReservation(ctx context.Context, e cloudevents.Event) error {
	return s.onReservation(ctx, e, events.ReservationCompleted, func(p *events.Payment, r *market.Reservation) (bool, error) {
		return r.Complete(p.PayID, s.now())
	})
}

// ReopenReservation: payment cancelled → reservation CONFIRMED again.
func (s *Service) ReopenReservation(ctx context.Context, e cloudevents.Event) error {
	return s.onReservation(ctx, e, events.ReservationReopened, func(p *events.Payment, r *market.Reservation) (bool, error) {
		return r.Reopen(p.PayID, s.now())
	})
}

func (s *Service) onReservation(ctx context.Context, e cloudevents.Event, emits events.Type, apply func(*events.Payment, *market.Reservation) (bool, error)) error {
	p, err := decode[*events.Payment](e)
	if err != nil {
		return err
	}
	return retryStale(ctx, func() error {
		r, err := s.Store.Reservation(ctx, p.RsvID)
		if err != nil {
			return err
		}
		changed, err := apply(p, r)
		if err != nil || !changed {
			return err
		}
		ev, err := s.reaction(ctx, e, emits, reservationPayload(r))
		if err != nil {
			return err
		}
		return s.commit(ctx, s.Store, SaveReservation{Reservation: r, Conflict: ErrStale}, MarkHandled{Key: HandledKey(s.Source, e)}, ev)
	})
}

// SellOutItem: reservation completed → item SOLDOUT.
func (s *Service) SellOutItem(ctx context.Context, e cloudevents.Event) error {
	return s.onItem(ctx, e, events.ItemSoldOut, func(r *events.Reservation, it *market.Item) (bool, error) {
		return it.SellOut(r.RsvID, s.now())
	})
}

// ReserveItemAgain: reservation reopened → item RESERVED again.
func (s *Service) ReserveItemAgain(ctx context.Context, e cloudevents.Event) error {
	return s.onItem(ctx, e, events.ItemReserved, func(r *events.Reservation, it *market.Item) (bool, error) {
		return it.Reopen(r.RsvID, s.now())
	})
}

// ReleaseItem: reservation deleted → the item it held is on sale again.
func (s *Service) ReleaseItem(ctx context.Context, e cloudevents.Event) error {
	return s.onItem(ctx, e, events.ItemReleased, func(r *events.Reservation, it *market.Item) (bool, error) {
		return it.Release(r.RsvID, s.now())
	})
}

func (s *Service) onItem(ctx context.Context, e cloudevents.Event, emits events.Type, apply func(*events.Reservation, *market.Item) (bool, error)) error {
	r, err := decode[*events.Reservation](e)
	if err != nil {
		return err
	}
	return retryStale(ctx, func() error {
		it, err := s.Store.Item(ctx, r.ItemID)
		if err != nil {
			return err
		}
		changed, err := apply(r, it)
		if err != nil || !changed {
			return err
		}
		ev, err := s.reaction(ctx, e, emits, itemPayload(it))
		if err != nil {
			return err
		}
		return s.commit(ctx, s.Store, SaveItem{Item: it, Conflict: ErrStale}, MarkHandled{Key: HandledKey(s.Source, e)}, ev)
	})
}

// ScoreItem: review written → the item's and the seller's mean scores.
// Adding a score is not idempotent by itself; MarkHandled in the same
// transaction makes it so.
func (s *Service) ScoreItem(ctx context.Context, e cloudevents.Event) error {
	rv, err := decode[*events.Review](e)
	if err != nil {
		return err
	}
	return retryStale(ctx, func() error {
		it, err := s.Store.Item(ctx, rv.ItemID)
		if err != nil {
			return err
		}
		seller, err := s.Store.Seller(ctx, it.SellerID())
		if err != nil {
			return err
		}
		it.AddReview(rv.Score, s.now())
		seller.AddReview(rv.Score)
		ev, err := s.reaction(ctx, e, events.ItemScored, &events.ItemScore{
			ItemID: it.ID(), SellerID: it.SellerID(), ReviewID: rv.ReviewID,
			Score: it.Score(), ReviewCount: it.ReviewCount(),
			SellerScore: seller.Score(), SellerReviewCount: seller.ReviewCount,
			Version: it.Version() + 1,
		})
		if err != nil {
			return err
		}
		return s.commit(ctx, s.Store,
			SaveItem{Item: it, Conflict: ErrStale},
			SaveSeller{Seller: seller, Conflict: ErrStale},
			MarkHandled{Key: HandledKey(s.Source, e)},
			ev)
	})
}

// decode returns the payload of e as T. An event that does not decode, or
// carries another payload than the handler expects, is poison: an Invalid
// error, which the event edge answers with 400 so it is dead-lettered.
func decode[T events.Payload](e cloudevents.Event) (T, error) {
	var zero T
	p, err := events.Decode(e)
	if err != nil {
		return zero, market.Errorf(market.Invalid, "poison event: %v", err)
	}
	t, ok := p.(T)
	if !ok {
		return zero, market.Errorf(market.Invalid, "poison event: %s does not carry %T", e.Type(), zero)
	}
	return t, nil
}

// Dispatch returns one handler for a set of handlers keyed by type. An
// event of another type is poison for this consumer: its trigger should
// never have delivered it.
func Dispatch(handlers map[events.Type]EventHandler) EventHandler {
	return func(ctx context.Context, e cloudevents.Event) error {
		h, ok := handlers[events.Type(e.Type())]
		if !ok {
			return market.Errorf(market.Invalid, "poison event: this consumer does not handle %q", e.Type())
		}
		return h(ctx, e)
	}
}
