package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

func TestRequestChat(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
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
	assert.Equal(t, []events.Type{events.ItemRegistered, events.ReservationRequested}, s.log.types())

	_, _, p := s.paid()
	_, _, err = s.cmd.RequestChat(ctx, other, p.ItemID(), "")
	assertCode(t, market.Conflict, err) // seed rule 9: no chat on a sold-out item
}

func TestConcurrentChatRequestsOpenOne(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
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
	assert.Equal(t, []events.Type{events.ItemRegistered, events.ReservationRequested}, s.log.types())
}

func TestChatMessages(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := context.Background()
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
	ctx := context.Background()
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
	ctx := context.Background()
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
	ctx := context.Background()
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
		ctx := context.Background()
		r := s.confirmed(s.item(seller).ID())
		var payErr, deleteErr error
		concurrently(2, func(i int) error {
			if i == 0 {
				_, payErr = s.cmd.Pay(ctx, buyer, r.ID(), "")
			} else {
				deleteErr = s.cmd.DeleteReservation(ctx, buyer, r.ID())
			}
			return nil
		})
		require.True(t, (payErr == nil) != (deleteErr == nil), "exactly one wins: pay %v, delete %v", payErr, deleteErr)
	}
}
