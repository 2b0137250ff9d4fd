package app_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// The commands: each use case a buyer or seller calls.

func TestRegisterItem(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()

	it := s.item(seller)
	assert.Equal(t, market.ItemCreated, it.Status())
	assert.Equal(t, seller, it.SellerID())
	assert.Equal(t, int64(1), s.itemNow(it.ID()).Version())
	evs := s.store.Outbox()
	require.Len(t, evs, 1)
	assert.Equal(t, string(events.ItemRegistered), evs[0].Type())
	p, err := events.Decode(evs[0])
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.(*events.Item).Version, "the event carries the version as saved")

	_, err = s.cmd.RegisterItem(ctx, seller, market.ItemDetails{Name: "", Category: "furniture"})
	assertCode(t, market.Invalid, err)
	items, _, err := s.store.Items(ctx, app.ItemFilter{}, app.Page{})
	require.NoError(t, err)
	assert.Len(t, items, 1, "an invalid item stores nothing")
}

// Carrot's own ids, fresh and derived from a cause, have the form of an
// id that the API takes back in paths and bodies.
func TestOwnIDsHaveTheFormOfIDs(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	s.item(seller)
	cause := s.store.Outbox()[0]
	for _, id := range []string{events.NewID(), events.DerivedID(cause, "/carrot/item-policy", events.ItemScored)} {
		assert.True(t, market.IsID(id), id)
	}
}

func TestUpdateItem(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)
	name, price := "desk", int64(9_000)

	_, err := s.cmd.UpdateItem(ctx, other, it.ID(), market.ItemPatch{Name: &name})
	assertCode(t, market.Forbidden, err)
	_, err = s.cmd.UpdateItem(ctx, seller, "no-such-item", market.ItemPatch{Name: &name})
	assertCode(t, market.NotFound, err)

	got, err := s.cmd.UpdateItem(ctx, seller, it.ID(), market.ItemPatch{Name: &name, Price: &price})
	require.NoError(t, err)
	assert.Equal(t, "desk", got.Details().Name)
	now := s.itemNow(it.ID())
	assert.Equal(t, int64(9_000), now.Price())
	assert.Equal(t, int64(2), now.Version())
	assert.Equal(t, []events.Type{events.ItemRegistered, events.ItemUpdated}, s.log.Types())
}

func TestDeleteItem(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()

	onSale := s.item(seller)
	assertCode(t, market.Forbidden, s.cmd.DeleteItem(ctx, other, onSale.ID()))
	require.NoError(t, s.cmd.DeleteItem(ctx, seller, onSale.ID()))
	_, err := s.store.Item(ctx, onSale.ID())
	assertCode(t, market.NotFound, err)
	assertCode(t, market.NotFound, s.cmd.DeleteItem(ctx, seller, onSale.ID()))

	reserved := s.item(seller)
	s.confirmed(reserved.ID())
	assertCode(t, market.Conflict, s.cmd.DeleteItem(ctx, seller, reserved.ID()))
	assert.Equal(t, market.ItemReserved, s.itemNow(reserved.ID()).Status(), "seed rule 10: a reserved item stays")
}

// A delete that races a confirmation either deletes an item on sale or is
// refused; never does a reserved item vanish.
func TestDeleteItemRacesConfirmation(t *testing.T) {
	t.Parallel()
	for range 20 {
		s := newSystem(t)
		ctx := t.Context()
		it := s.item(seller)
		r := s.chat(buyer, it.ID())
		var deleteErr, confirmErr error
		concurrently(2, func(i int) error {
			if i == 0 {
				deleteErr = s.cmd.DeleteItem(ctx, seller, it.ID())
			} else {
				_, confirmErr = s.cmd.ConfirmReservation(ctx, seller, r.ID(), meeting)
			}
			return nil
		})
		require.True(t, (deleteErr == nil) != (confirmErr == nil), "exactly one wins: delete %v, confirm %v", deleteErr, confirmErr)
		if confirmErr == nil {
			assert.Equal(t, market.ItemReserved, s.itemNow(it.ID()).Status())
		}
	}
}

func TestRequestChat(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)

	_, _, err := s.cmd.RequestChat(ctx, buyer, "no-such-item", "")
	assertCode(t, market.NotFound, err)
	_, _, err = s.cmd.RequestChat(ctx, seller, it.ID(), "")
	assertCode(t, market.Conflict, err)

	first, created, err := s.cmd.RequestChat(ctx, buyer, it.ID(), "Mangwon")
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, market.RsvCreated, first.Status())
	again, created, err := s.cmd.RequestChat(ctx, buyer, it.ID(), "")
	require.NoError(t, err)
	assert.False(t, created, "asking twice answers the open chat")
	assert.Equal(t, first.ID(), again.ID())
	assert.Equal(t, []events.Type{events.ItemRegistered, events.ReservationRequested}, s.log.Types())

	_, _, p := s.paid()
	_, _, err = s.cmd.RequestChat(ctx, other, p.ItemID(), "")
	assertCode(t, market.Conflict, err) // seed rule 9: no chat on a sold-out item
}

func TestConcurrentChatRequestsOpenOne(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)
	ids := make([]string, 10)
	ok := concurrently(len(ids), func(i int) error {
		r, _, err := s.cmd.RequestChat(ctx, buyer, it.ID(), "")
		if err == nil {
			ids[i] = r.ID()
		}
		return err
	})
	assert.Equal(t, len(ids), ok)
	for _, id := range ids {
		assert.Equal(t, ids[0], id, "every request answers the one open chat")
	}
	assert.Equal(t, []events.Type{events.ItemRegistered, events.ReservationRequested}, s.log.Types())
}

func TestChatMessages(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	r := s.chat(buyer, s.item(seller).ID())

	_, err := s.cmd.PostMessage(ctx, other, r.ID(), "hello?")
	assertCode(t, market.Forbidden, err)
	_, err = s.cmd.PostMessage(ctx, buyer, r.ID(), "")
	assertCode(t, market.Invalid, err)
	for i, from := range []string{buyer, seller, buyer} {
		_, err := s.cmd.PostMessage(ctx, from, r.ID(), fmt.Sprintf("message %d", i))
		require.NoError(t, err)
	}
	_, _, err = s.cmd.Messages(ctx, other, r.ID(), app.Page{})
	assertCode(t, market.Forbidden, err)
	first, next, err := s.cmd.Messages(ctx, seller, r.ID(), app.Page{Limit: 2})
	require.NoError(t, err)
	rest, _, err := s.cmd.Messages(ctx, seller, r.ID(), app.Page{Limit: 2, Cursor: next})
	require.NoError(t, err)
	var texts []string
	for _, m := range append(first, rest...) {
		texts = append(texts, m.Text)
	}
	assert.Equal(t, []string{"message 0", "message 1", "message 2"}, texts, "in posting order")
}

func TestConfirmReservation(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)
	r := s.chat(buyer, it.ID())

	_, err := s.cmd.ConfirmReservation(ctx, buyer, r.ID(), meeting)
	assertCode(t, market.Forbidden, err)
	_, err = s.cmd.ConfirmReservation(ctx, seller, r.ID(), market.Meeting{Date: "soon"})
	assertCode(t, market.Invalid, err)

	got, err := s.cmd.ConfirmReservation(ctx, seller, r.ID(), meeting)
	require.NoError(t, err)
	assert.Equal(t, market.RsvConfirmed, got.Status())
	held := s.itemNow(it.ID())
	assert.Equal(t, market.ItemReserved, held.Status())
	assert.Equal(t, r.ID(), held.RsvID())

	moved := meeting
	moved.Time = "18:00"
	_, err = s.cmd.ConfirmReservation(ctx, seller, r.ID(), moved)
	require.NoError(t, err, "confirming again moves the meeting")
	assert.Equal(t, "18:00", s.rsvNow(r.ID()).Meeting().Time)
	assert.Equal(t, held.Version(), s.itemNow(it.ID()).Version(), "the held item is not written again")

	backup := s.chat(other, it.ID())
	_, err = s.cmd.ConfirmReservation(ctx, seller, backup.ID(), meeting)
	assertCode(t, market.Conflict, err)
}

// Of confirmations racing for one item exactly one wins (SPEC 3.2).
func TestConcurrentConfirmationsHoldOnce(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)
	var rsvs []*market.Reservation
	for i := range 12 {
		rsvs = append(rsvs, s.chat(fmt.Sprintf("buyer-%d", i), it.ID()))
	}
	ok := concurrently(len(rsvs), func(i int) error {
		_, err := s.cmd.ConfirmReservation(ctx, seller, rsvs[i].ID(), meeting)
		if err != nil && market.ErrorCode(err) != market.Conflict {
			t.Errorf("a lost race is a conflict, got %v", err)
		}
		return err
	})
	assert.Equal(t, 1, ok)
	confirmed := 0
	for _, r := range rsvs {
		if s.rsvNow(r.ID()).Status() == market.RsvConfirmed {
			confirmed++
			assert.Equal(t, r.ID(), s.itemNow(it.ID()).RsvID())
		}
	}
	assert.Equal(t, 1, confirmed)
}

func TestDeleteReservation(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)
	r := s.confirmed(it.ID())

	assertCode(t, market.Forbidden, s.cmd.DeleteReservation(ctx, other, r.ID()))
	require.NoError(t, s.cmd.DeleteReservation(ctx, buyer, r.ID()))
	_, err := s.store.Reservation(ctx, r.ID())
	assertCode(t, market.NotFound, err)
	s.deliver()
	assert.Equal(t, market.ItemCreated, s.itemNow(it.ID()).Status(), "the item policy releases the item")

	again := s.chat(buyer, it.ID())
	assert.NotEqual(t, r.ID(), again.ID(), "the chat is closed: asking again opens a new one")

	_, paid, _ := s.paid()
	assertCode(t, market.Conflict, s.cmd.DeleteReservation(ctx, buyer, paid.ID()))
}

// A delete racing a payment: either the payment is approved and the
// reservation stays, or the reservation goes and nothing is paid.
func TestDeleteReservationRacesPayment(t *testing.T) {
	t.Parallel()
	for range 20 {
		s := newSystem(t)
		ctx := t.Context()
		r := s.confirmed(s.item(seller).ID())
		var payErr, deleteErr error
		concurrently(2, func(i int) error {
			if i == 0 {
				_, payErr = s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
			} else {
				deleteErr = s.cmd.DeleteReservation(ctx, buyer, r.ID())
			}
			return nil
		})
		require.True(t, (payErr == nil) != (deleteErr == nil), "exactly one wins: pay %v, delete %v", payErr, deleteErr)
	}
}

func TestPay(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)
	open := s.chat(other, it.ID())
	r := s.confirmed(it.ID())

	_, err := s.cmd.Pay(ctx, seller, r.ID(), "", nil)
	assertCode(t, market.Forbidden, err)
	_, err = s.cmd.Pay(ctx, other, open.ID(), "", nil)
	assertCode(t, market.Conflict, err) // only a CONFIRMED reservation is paid
	_, err = s.cmd.Pay(ctx, buyer, r.ID(), "another-item", nil)
	assertCode(t, market.Invalid, err)
	_, err = s.cmd.Pay(ctx, buyer, "no-such-rsv", "", nil)
	assertCode(t, market.NotFound, err)

	p, err := s.cmd.Pay(ctx, buyer, r.ID(), it.ID(), nil)
	require.NoError(t, err)
	assert.Equal(t, market.PayApproved, p.Status())
	assert.Equal(t, int64(25_000), p.Amount(), "the item's price")
	_, err = s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
	assertCode(t, market.Conflict, err) // one approved payment per reservation, before the policy runs too

	s.deliver()
	assert.Equal(t, market.RsvCompleted, s.rsvNow(r.ID()).Status())
	assert.Equal(t, market.ItemSoldOut, s.itemNow(it.ID()).Status())
}

func TestConcurrentPaymentsPayOnce(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	r := s.confirmed(s.item(seller).ID())
	ok := concurrently(12, func(int) error {
		_, err := s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
		return err
	})
	assert.Equal(t, 1, ok)
	assert.Equal(t, 1, s.log.Count(events.PaymentApproved))
}

func TestCancelPayment(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it, r, p := s.paid()

	_, err := s.cmd.CancelPayment(ctx, other, p.ID(), "", "")
	assertCode(t, market.Forbidden, err)
	_, err = s.cmd.CancelPayment(ctx, buyer, p.ID(), "another-rsv", "another-item")
	assertCode(t, market.Invalid, err)
	assert.ElementsMatch(t, []string{"rsvId", "itemId"}, fields(err))

	got, err := s.cmd.CancelPayment(ctx, seller, p.ID(), r.ID(), it.ID())
	require.NoError(t, err, "the seller refunds")
	assert.Equal(t, market.PayDeleted, got.Status())
	again, err := s.cmd.CancelPayment(ctx, buyer, p.ID(), "", "")
	require.NoError(t, err, "cancelling again answers the cancelled payment")
	assert.Equal(t, got.CancelledAt(), again.CancelledAt())

	s.deliver()
	assert.Equal(t, market.RsvConfirmed, s.rsvNow(r.ID()).Status())
	assert.Equal(t, market.ItemReserved, s.itemNow(it.ID()).Status(), "SPEC 3.3: the confirmed reservation holds the item")
	paidAgain, err := s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
	require.NoError(t, err, "a cancelled payment frees the reservation to be paid again")
	assert.NotEqual(t, p.ID(), paidAgain.ID())
}

func TestConcurrentCancelsAllAnswerTheCancelledPayment(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	_, _, p := s.paid()
	ok := concurrently(8, func(int) error {
		got, err := s.cmd.CancelPayment(ctx, buyer, p.ID(), "", "")
		if err == nil && got.Status() != market.PayDeleted {
			t.Errorf("answered %s", got.Status())
		}
		return err
	})
	assert.Equal(t, 8, ok)
	assert.Equal(t, 1, s.log.Count(events.PaymentCancelled), "one cancellation happened")
}

func TestWriteReview(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	unpaid := s.chat(buyer, s.item(seller).ID())
	_, err := s.cmd.WriteReview(ctx, buyer, unpaid.ID(), 5, "")
	assertCode(t, market.Conflict, err)

	it, r, _ := s.paid()
	_, err = s.cmd.WriteReview(ctx, seller, r.ID(), 5, "")
	assertCode(t, market.Forbidden, err)
	_, err = s.cmd.WriteReview(ctx, buyer, r.ID(), 6, "")
	assertCode(t, market.Invalid, err)
	rv, err := s.cmd.WriteReview(ctx, buyer, r.ID(), 4, "kind seller")
	require.NoError(t, err)
	assert.Equal(t, seller, rv.SellerID)
	_, err = s.cmd.WriteReview(ctx, buyer, r.ID(), 5, "")
	assertCode(t, market.Conflict, err) // once per reservation

	s.deliver()
	scored := s.itemNow(it.ID())
	assert.Equal(t, 4.0, scored.Score())
	assert.Equal(t, 1, scored.ReviewCount())
}

func fields(err error) []string {
	var me *market.Error
	if !errors.As(err, &me) {
		return nil
	}
	var names []string
	for _, f := range me.Fields {
		names = append(names, f.Field)
	}
	return names
}

// The money rules hold when the command runs (SPEC 3.1, 3.3, 3.4), not
// later by an event: the price is agreed at confirmation, the buyer pays
// it, and a cancel and a review of one deal never both succeed.
func TestMoneyRules(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	newPrice := int64(1)

	t.Run("the price is agreed at confirmation", func(t *testing.T) {
		t.Parallel()
		s := newSystem(t)
		it := s.item(seller)
		r := s.confirmed(it.ID())
		assert.Equal(t, it.Price(), s.rsvNow(r.ID()).AgreedPrice())
		_, err := s.cmd.UpdateItem(ctx, seller, it.ID(), market.ItemPatch{Price: &newPrice})
		assertCode(t, market.Conflict, err)

		wrong := it.Price() + 1
		_, err = s.cmd.Pay(ctx, buyer, r.ID(), "", &wrong)
		assertCode(t, market.Conflict, err)
		assert.Zero(t, s.log.Count(events.PaymentApproved), "nothing is charged")
		agreed := it.Price()
		p, err := s.cmd.Pay(ctx, buyer, r.ID(), "", &agreed)
		require.NoError(t, err)
		assert.Equal(t, agreed, p.Amount())

		s.deliver()
		_, err = s.cmd.UpdateItem(ctx, seller, it.ID(), market.ItemPatch{Price: &newPrice})
		assertCode(t, market.Conflict, err) // nor once sold
	})

	t.Run("a price change racing the confirmation", func(t *testing.T) {
		t.Parallel()
		for range 20 {
			s := newSystem(t)
			it := s.item(seller)
			r := s.chat(buyer, it.ID())
			concurrently(2, func(i int) error {
				if i == 0 {
					_, err := s.cmd.UpdateItem(ctx, seller, it.ID(), market.ItemPatch{Price: &newPrice})
					return err
				}
				_, err := s.cmd.ConfirmReservation(ctx, seller, r.ID(), meeting)
				return err
			})
			p, err := s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
			require.NoError(t, err)
			assert.Equal(t, s.itemNow(it.ID()).Price(), p.Amount(), "the buyer pays the price the item has")
			assert.Equal(t, s.rsvNow(r.ID()).AgreedPrice(), p.Amount())
		}
	})

	t.Run("no review of a cancelled payment, no cancel of a reviewed deal", func(t *testing.T) {
		t.Parallel()
		s := newSystem(t)
		_, r, p := s.paid()
		_, err := s.cmd.CancelPayment(ctx, buyer, p.ID(), "", "")
		require.NoError(t, err)
		_, err = s.cmd.WriteReview(ctx, buyer, r.ID(), 5, "")
		assertCode(t, market.Conflict, err) // before the reservation reopens by event too
		assert.Equal(t, market.RsvCompleted, s.rsvNow(r.ID()).Status(), "the policy has not run yet")

		s2 := newSystem(t)
		_, r2, p2 := s2.paid()
		_, err = s2.cmd.WriteReview(ctx, buyer, r2.ID(), 5, "")
		require.NoError(t, err)
		_, err = s2.cmd.CancelPayment(ctx, seller, p2.ID(), "", "")
		assertCode(t, market.Conflict, err)
	})

	t.Run("a cancel racing a review", func(t *testing.T) {
		t.Parallel()
		for range 20 {
			s := newSystem(t)
			_, r, p := s.paid()
			ok := concurrently(2, func(i int) error {
				if i == 0 {
					_, err := s.cmd.CancelPayment(ctx, buyer, p.ID(), "", "")
					return err
				}
				_, err := s.cmd.WriteReview(ctx, buyer, r.ID(), 5, "")
				return err
			})
			require.Equal(t, 1, ok, "exactly one of the cancel and the review succeeds")
		}
	})
}
