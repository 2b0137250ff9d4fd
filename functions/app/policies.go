package app

import (
	"context"
	"slices"
	"time"

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

// Consumer is what one consuming function does with each event type its
// trigger delivers. It is plain data, so the types a consumer takes can be
// read without a Service.
type Consumer map[events.Type]func(*Service, context.Context, cloudevents.Event) error

// The consumers of carrot.
var (
	// ReservationPolicy: an approved payment completes its reservation, a
	// cancelled one reopens it.
	ReservationPolicy = Consumer{
		events.PaymentApproved:  (*Service).CompleteReservation,
		events.PaymentCancelled: (*Service).ReopenReservation,
	}
	// ItemPolicy: reservation and review facts that move an item.
	ItemPolicy = Consumer{
		events.ReservationCompleted: (*Service).SellOutItem,
		events.ReservationReopened:  (*Service).ReserveItemAgain,
		events.ReservationDeleted:   (*Service).ReleaseItem,
		events.ReviewWritten:        (*Service).ScoreItem,
	}
	// MyPageProjector: every fact that shows on MyPage.
	MyPageProjector = projecting(events.ItemRegistered, events.ItemUpdated, events.ItemReserved,
		events.ItemReleased, events.ItemSoldOut, events.ItemDeleted, events.ItemScored,
		events.ReservationRequested, events.ReservationConfirmed, events.ReservationDeleted,
		events.ReservationCompleted, events.ReservationReopened,
		events.PaymentApproved, events.PaymentCancelled)
)

func projecting(types ...events.Type) Consumer {
	c := Consumer{}
	for _, t := range types {
		c[t] = (*Service).Project
	}
	return c
}

// Types returns the event types c takes, sorted.
func (c Consumer) Types() []events.Type {
	types := make([]events.Type, 0, len(c))
	for t := range c {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// Handler returns one handler for every event c takes. An event of another
// type is poison for this consumer: its trigger should never have
// delivered it.
func (s *Service) Handler(c Consumer) EventHandler {
	return func(ctx context.Context, e cloudevents.Event) error {
		h, ok := c[events.Type(e.Type())]
		if !ok {
			return market.Errorf(market.Invalid, "poison event: this consumer does not handle %q", e.Type())
		}
		return h(s, ctx, e)
	}
}

// CompleteReservation: payment approved → reservation COMPLETED.
func (s *Service) CompleteReservation(ctx context.Context, e cloudevents.Event) error {
	return moveOne(s, ctx, e, events.ReservationCompleted, (*market.Reservation).Complete, paymentsReservation, saveReservation)
}

// ReopenReservation: payment cancelled → reservation CONFIRMED again.
func (s *Service) ReopenReservation(ctx context.Context, e cloudevents.Event) error {
	return moveOne(s, ctx, e, events.ReservationReopened, (*market.Reservation).Reopen, paymentsReservation, saveReservation)
}

// SellOutItem: reservation completed → item SOLDOUT.
func (s *Service) SellOutItem(ctx context.Context, e cloudevents.Event) error {
	return moveOne(s, ctx, e, events.ItemSoldOut, (*market.Item).SellOut, reservationsItem, saveItem)
}

// ReserveItemAgain: reservation reopened → item RESERVED again.
func (s *Service) ReserveItemAgain(ctx context.Context, e cloudevents.Event) error {
	return moveOne(s, ctx, e, events.ItemReserved, (*market.Item).Reopen, reservationsItem, saveItem)
}

// ReleaseItem: reservation deleted → the item it held is on sale again.
func (s *Service) ReleaseItem(ctx context.Context, e cloudevents.Event) error {
	return moveOne(s, ctx, e, events.ItemReleased, (*market.Item).Release, reservationsItem, saveItem)
}

// ScoreItem: review written → the item's and the seller's mean scores.
// Adding a score is not idempotent by itself; MarkHandled in the same
// transaction makes it so.
func (s *Service) ScoreItem(ctx context.Context, e cloudevents.Event) error {
	rv, err := decode[*events.Review](e)
	if err != nil {
		return err
	}
	return s.follow(ctx, e, events.ItemScored, func(tx Tx) (events.Payload, error) {
		it, err := tx.Item(rv.ItemID)
		if err != nil {
			return nil, err
		}
		seller, err := tx.Seller(it.SellerID())
		if err != nil {
			return nil, err
		}
		it.AddReview(rv.Score, s.now())
		seller.AddReview(rv.Score)
		tx.SaveSeller(seller)
		return &events.ItemScore{
			ItemID: it.ID(), SellerID: it.SellerID(), ReviewID: rv.ReviewID,
			Score: it.Score(), ReviewCount: it.ReviewCount(),
			SellerScore: seller.Score(), SellerReviewCount: seller.ReviewCount,
			Version: tx.SaveItem(it),
		}, nil
	})
}

// A move is a domain method that applies one fact, named by an id, to an
// aggregate and reports whether it changed anything.
type move[A any] func(a A, id string, now time.Time) (bool, error)

// paymentsReservation loads the reservation a payment fact is about; its
// moves take the payment's id.
func paymentsReservation(tx Tx, p *events.Payment) (*market.Reservation, string, error) {
	r, err := tx.Reservation(p.RsvID)
	return r, p.PayID, err
}

// reservationsItem loads the item a reservation fact is about; its moves
// take the reservation's id.
func reservationsItem(tx Tx, r *events.Reservation) (*market.Item, string, error) {
	it, err := tx.Item(r.ItemID)
	return it, r.RsvID, err
}

func saveReservation(tx Tx, r *market.Reservation) events.Payload {
	return reservationPayload(r, tx.SaveReservation(r))
}

func saveItem(tx Tx, it *market.Item) events.Payload { return itemPayload(it, tx.SaveItem(it)) }

// moveOne runs a policy step that moves one aggregate: load finds the
// aggregate the fact is about and the id the move takes, save stores the
// moved aggregate and returns the payload of the fact it emits.
func moveOne[P events.Payload, A any](s *Service, ctx context.Context, e cloudevents.Event, emits events.Type, m move[A],
	load func(Tx, P) (A, string, error), save func(Tx, A) events.Payload) error {
	p, err := decode[P](e)
	if err != nil {
		return err
	}
	return s.follow(ctx, e, emits, func(tx Tx) (events.Payload, error) {
		a, id, err := load(tx, p)
		if err != nil {
			return nil, err
		}
		if changed, err := m(a, id, s.now()); err != nil || !changed {
			return nil, err
		}
		return save(tx, a), nil
	})
}

// follow runs one step of a policy as a unit of work: step applies the
// cause and returns the payload of the fact it emits, or nil when the
// cause changes nothing (a redelivery, or a fact already overtaken).
func (s *Service) follow(ctx context.Context, cause cloudevents.Event, emits events.Type, step func(Tx) (events.Payload, error)) error {
	return s.update(ctx, func(tx Tx) error {
		out, err := step(tx)
		if err != nil || out == nil {
			return err
		}
		return s.react(ctx, tx, cause, emits, out)
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
