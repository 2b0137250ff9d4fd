package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
)

func TestPay(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
	it := s.item(seller)
	open := s.chat(other, it.ID())
	r := s.confirmed(it.ID())

	_, err := s.cmd.Pay(ctx, seller, r.ID(), "")
	assertCode(t, market.Forbidden, err)
	_, err = s.cmd.Pay(ctx, other, open.ID(), "")
	assertCode(t, market.Conflict, err) // only a CONFIRMED reservation is paid
	_, err = s.cmd.Pay(ctx, buyer, r.ID(), "another-item")
	assertCode(t, market.Invalid, err)
	_, err = s.cmd.Pay(ctx, buyer, "no-such-rsv", "")
	assertCode(t, market.NotFound, err)

	p, err := s.cmd.Pay(ctx, buyer, r.ID(), it.ID())
	require.NoError(t, err)
	assert.Equal(t, market.PayApproved, p.Status())
	assert.Equal(t, int64(25_000), p.Amount(), "the item's price")
	_, err = s.cmd.Pay(ctx, buyer, r.ID(), "")
	assertCode(t, market.Conflict, err) // one approved payment per reservation, before the policy runs too

	s.deliver()
	assert.Equal(t, market.RsvCompleted, s.rsvNow(r.ID()).Status())
	assert.Equal(t, market.ItemSoldOut, s.itemNow(it.ID()).Status())
}

func TestConcurrentPaymentsPayOnce(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
	r := s.confirmed(s.item(seller).ID())
	ok := concurrently(12, func(int) error {
		_, err := s.cmd.Pay(ctx, buyer, r.ID(), "")
		return err
	})
	assert.Equal(t, 1, ok)
	approved := 0
	for _, typ := range s.log.types() {
		if typ == events.PaymentApproved {
			approved++
		}
	}
	assert.Equal(t, 1, approved)
}

func TestCancelPayment(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
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
	paidAgain, err := s.cmd.Pay(ctx, buyer, r.ID(), "")
	require.NoError(t, err, "a cancelled payment frees the reservation to be paid again")
	assert.NotEqual(t, p.ID(), paidAgain.ID())
}

func TestConcurrentCancelsAllAnswerTheCancelledPayment(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
	_, _, p := s.paid()
	ok := concurrently(8, func(int) error {
		got, err := s.cmd.CancelPayment(ctx, buyer, p.ID(), "", "")
		if err == nil && got.Status() != market.PayDeleted {
			t.Errorf("answered %s", got.Status())
		}
		return err
	})
	assert.Equal(t, 8, ok)
	cancelled := 0
	for _, typ := range s.log.types() {
		if typ == events.PaymentCancelled {
			cancelled++
		}
	}
	assert.Equal(t, 1, cancelled, "one cancellation happened")
}

func TestWriteReview(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
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
