package app

import (
	"context"
	"fmt"
	"slices"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

// The policies below carry effects from one aggregate to another
// (choreography, SPEC section 5). An event is a notification, not a
// proof: each policy reads the event's source of truth when it runs and
// brings its own aggregate in line with it, so a forged, replayed, late
// or reordered event changes nothing that the sources do not say. An event
// that contradicts its source (an aggregate that does not exist, a version
// newer than the stored one, ids that do not belong together) is refused
// as poison (an Invalid error: the event edge answers 400 and the broker
// dead-letters it, with the reason). A fact that changes nothing is
// acknowledged and emits nothing; MarkHandled commits with every change.

// EventHandler handles one delivery of an event.
type EventHandler func(ctx context.Context, e cloudevents.Event) error

// Consumer is what one consuming function does with each event type its
// trigger delivers. It is plain data, so the types a consumer takes can be
// read without a Service.
type Consumer map[events.Type]func(*Service, context.Context, cloudevents.Event) error

// The consumers of carrot.
var (
	// ReservationPolicy: a reservation follows its payment, approved or
	// cancelled.
	ReservationPolicy = Consumer{
		events.PaymentApproved:  (*Service).FollowPayment,
		events.PaymentCancelled: (*Service).FollowPayment,
	}
	// ItemPolicy: an item follows the reservation that holds it, and
	// counts reviews into its and its seller's scores.
	ItemPolicy = Consumer{
		events.ReservationCompleted: (*Service).FollowReservation,
		events.ReservationReopened:  (*Service).FollowReservation,
		events.ReservationDeleted:   (*Service).FollowReservation,
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

// FollowPayment: payment approved or cancelled → the payment's reservation
// follows the payment as stored: COMPLETED while it is the reservation's
// approved payment, CONFIRMED again once it is cancelled.
func (s *Service) FollowPayment(ctx context.Context, e cloudevents.Event) error {
	return follow(ctx, s, e, func(tx Tx, fact *events.Payment) (events.Type, events.Payload, error) {
		p, err := tx.Payment(fact.PayID)
		if err != nil {
			return "", nil, missing(e, err, "payment %s does not exist", fact.PayID)
		}
		if err := agrees(e, fact.Version, p.Version(), fact.RsvID == p.RsvID() && fact.ItemID == p.ItemID()); err != nil {
			return "", nil, err
		}
		r, err := tx.Reservation(p.RsvID())
		if err != nil {
			return "", nil, err
		}
		return s.followPayment(tx, r, p)
	})
}

// followPayment is the step of FollowPayment once its sources are loaded
// in tx: reservation r follows its payment p as stored, and the fact of
// what changed is returned ("" when nothing did).
func (s *Service) followPayment(tx Tx, r *market.Reservation, p *market.Payment) (events.Type, events.Payload, error) {
	approved, err := tx.ApprovedPayment(r.ID())
	if err != nil {
		return "", nil, err
	}
	if changed, err := r.FollowPayment(p, approved == p.ID(), s.now()); err != nil || !changed {
		return "", nil, err
	}
	typ := events.ReservationReopened
	if r.Status() == market.RsvCompleted {
		typ = events.ReservationCompleted
	}
	return typ, reservationPayload(r, tx.SaveReservation(r)), nil
}

// FollowReservation: reservation completed, reopened or deleted → the item
// follows the reservation that holds it as stored: SOLDOUT while it is
// paid, RESERVED while it is confirmed, on sale once it is gone.
func (s *Service) FollowReservation(ctx context.Context, e cloudevents.Event) error {
	return follow(ctx, s, e, func(tx Tx, fact *events.Reservation) (events.Type, events.Payload, error) {
		it, err := tx.Item(fact.ItemID)
		if err != nil {
			return "", nil, err
		}
		holder, err := tx.Reservation(fact.RsvID)
		switch {
		case market.ErrorCode(err) == market.NotFound:
			holder = nil // deleted
		case err != nil:
			return "", nil, err
		default:
			if err := agrees(e, fact.Version, holder.Version(), fact.ItemID == holder.ItemID()); err != nil {
				return "", nil, err
			}
		}
		return s.followHolder(tx, it, fact.RsvID, holder)
	})
}

// followHolder is the step of FollowReservation once its sources are
// loaded in tx: item it follows reservation rsvID as stored (holder, nil
// when it is gone), and the fact of what changed is returned ("" when
// nothing did).
func (s *Service) followHolder(tx Tx, it *market.Item, rsvID string, holder *market.Reservation) (events.Type, events.Payload, error) {
	if changed, err := it.Follow(rsvID, holder, s.now()); err != nil || !changed {
		return "", nil, err
	}
	return itemFact[it.Status()], itemPayload(it, tx.SaveItem(it)), nil
}

// itemFact names the fact of an item moving to a status.
var itemFact = map[market.ItemStatus]events.Type{
	market.ItemCreated:  events.ItemReleased,
	market.ItemReserved: events.ItemReserved,
	market.ItemSoldOut:  events.ItemSoldOut,
}

// ScoreItem: review written → the item's and the seller's mean scores,
// from the review as stored. Adding a score is not idempotent by itself:
// the review is marked counted in the same transaction, so another event
// about the same review, a replay or a forgery, counts nothing.
func (s *Service) ScoreItem(ctx context.Context, e cloudevents.Event) error {
	return follow(ctx, s, e, func(tx Tx, fact *events.Review) (events.Type, events.Payload, error) {
		rv, err := tx.Review(fact.RsvID)
		if err != nil {
			return "", nil, missing(e, err, "reservation %s has no review", fact.RsvID)
		}
		if rv.ID != fact.ReviewID || rv.ItemID != fact.ItemID {
			return "", nil, refused(e, "review %s is not the review of reservation %s", fact.ReviewID, fact.RsvID)
		}
		return s.score(tx, rv, s.Source)
	})
}

// score is the step of ScoreItem once the review is loaded in tx: it
// counts rv into its item's and seller's mean scores, once per review id
// for counter, the consumer whose count it is (MarkFact): any other unit
// of work counting the same review for counter fails with ErrDuplicate.
func (s *Service) score(tx Tx, rv market.Review, counter string) (events.Type, events.Payload, error) {
	tx.MarkFact(counter, "review|"+rv.ID)
	it, err := tx.Item(rv.ItemID)
	if err != nil {
		return "", nil, err
	}
	seller, err := tx.Seller(it.SellerID())
	if err != nil {
		return "", nil, err
	}
	it.AddReview(rv.Score, s.now())
	seller.AddReview(rv.Score)
	tx.SaveSeller(seller)
	return events.ItemScored, &events.ItemScore{
		ItemID: it.ID(), SellerID: it.SellerID(), ReviewID: rv.ID,
		Score: it.Score(), ReviewCount: it.ReviewCount(),
		SellerScore: seller.Score(), SellerReviewCount: seller.ReviewCount,
		Version: tx.SaveItem(it),
	}, nil
}

// follow runs one step of a policy as a unit of work on the fact that
// cause carries, decoded as T (a cause that does not carry a T is poison):
// step reads the sources, applies them and returns the fact it emits, or
// an empty type when the cause changes nothing (a redelivery, or a fact
// overtaken).
func follow[T events.Payload](ctx context.Context, s *Service, cause cloudevents.Event, step func(Tx, T) (events.Type, events.Payload, error)) error {
	fact, err := decode[T](cause)
	if err != nil {
		return err
	}
	_, err = s.repair(ctx, func(tx Tx) (cloudevents.Event, events.Type, events.Payload, error) {
		typ, out, err := step(tx, fact)
		return cause, typ, out, err
	})
	return err
}

// repair runs one step as a unit of work, as follow does, for a step that
// names its cause once it has read its sources (the reconciler's causes
// name the versions they repair). It returns the fact the committed
// attempt emitted, nil when it changed nothing.
func (s *Service) repair(ctx context.Context, step func(Tx) (cloudevents.Event, events.Type, events.Payload, error)) (*cloudevents.Event, error) {
	published, err := s.Store.Update(ctx, func(tx Tx) error {
		cause, typ, out, err := step(tx)
		if err != nil || typ == "" {
			return err
		}
		return s.react(ctx, tx, cause, typ, out)
	})
	if err != nil || len(published) == 0 {
		return nil, err
	}
	if s.Publisher != nil {
		s.Publisher.Publish(ctx, published)
	}
	return &published[0], nil
}

// agrees refuses e when it contradicts its source: a version newer than
// the stored one (no genuine fact is ahead of its source), or ids that do
// not match the stored aggregate.
func agrees(e cloudevents.Event, version, stored int64, sameIDs bool) error {
	switch {
	case !sameIDs:
		return refused(e, "its ids do not match %s as stored", e.Subject())
	case version > stored:
		return refused(e, "it claims version %d of %s, which is at version %d", version, e.Subject(), stored)
	}
	return nil
}

// missing is err, or the refusal of e when err says that e's source of
// truth does not exist.
func missing(e cloudevents.Event, err error, format string, args ...any) error {
	if market.ErrorCode(err) == market.NotFound {
		return refused(e, format, args...)
	}
	return err
}

// refused is the error of an event its source of truth contradicts: poison,
// dead-lettered with the reason.
func refused(e cloudevents.Event, format string, args ...any) error {
	return market.Errorf(market.Invalid, "poison event: %s %s refused: %s", e.Type(), e.ID(), fmt.Sprintf(format, args...))
}

// payloadOf returns the payload of e. An event that does not decode, or
// whose subject or item is not an id at all (market.IsID), is poison: an
// Invalid error, which the event edge answers with 400 so it is
// dead-lettered. Such an id names no row, and one beyond the storage's key
// limits would fail the read instead of refusing the event.
func payloadOf(e cloudevents.Event) (events.Payload, error) {
	p, err := events.Decode(e)
	if err != nil {
		return nil, market.Errorf(market.Invalid, "poison event: %v", err)
	}
	if !market.IsID(p.Subject()) || !market.IsID(p.PartitionKey()) {
		return nil, market.Errorf(market.Invalid, "poison event: %s %s names something that is not an id", e.Type(), e.ID())
	}
	return p, nil
}

// decode returns the payload of e as T (payloadOf); one of another type
// than the handler expects is poison too.
func decode[T events.Payload](e cloudevents.Event) (T, error) {
	var zero T
	p, err := payloadOf(e)
	if err != nil {
		return zero, err
	}
	t, ok := p.(T)
	if !ok {
		return zero, market.Errorf(market.Invalid, "poison event: %s does not carry %T", e.Type(), zero)
	}
	return t, nil
}
