package app_test

import (
	"context"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
)

// The consumers: the policies and the MyPage projector.

// lastOf returns the last published event of typ.
func (s *system) lastOf(typ events.Type) cloudevents.Event {
	s.t.Helper()
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	for i := len(s.log.events) - 1; i >= 0; i-- {
		if s.log.events[i].Type() == string(typ) {
			return s.log.events[i]
		}
	}
	s.t.Fatalf("no %s published", typ)
	return cloudevents.Event{}
}

func TestConsumersTakeWhatTheyHandle(t *testing.T) {
	t.Parallel()
	assert.Equal(t, []events.Type{events.PaymentApproved, events.PaymentCancelled}, app.ReservationPolicy.Types())
	assert.Equal(t, []events.Type{events.ReservationCompleted, events.ReservationDeleted, events.ReservationReopened, events.ReviewWritten},
		app.ItemPolicy.Types())
	assert.Len(t, app.MyPageProjector.Types(), 14)
	assert.NotContains(t, app.MyPageProjector.Types(), events.ChatMessagePosted)
}

func TestPolicyRefusesPoison(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)
	registered := s.lastOf(events.ItemRegistered)

	err := s.reservationPolicy.Handler(app.ReservationPolicy)(ctx, registered)
	assertCode(t, market.Invalid, err) // a type the trigger should never deliver

	wrong := registered.Clone()
	wrong.SetType(string(events.PaymentApproved)) // an item where a payment belongs
	assertCode(t, market.Invalid, s.reservationPolicy.CompleteReservation(ctx, wrong))
	assert.Equal(t, int64(1), s.itemNow(it.ID()).Version(), "nothing changed")
}

// Every consumer is idempotent: a redelivered event changes nothing and
// publishes nothing new.
func TestRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it, r := s.reviewed(5)
	before := len(s.log.types())
	item, rsv := s.itemNow(it.ID()), s.rsvNow(r.ID())
	row, err := s.store.Row(ctx, it.ID())
	require.NoError(t, err)

	redeliver := []struct {
		typ     events.Type
		handler app.EventHandler
	}{
		{events.PaymentApproved, s.reservationPolicy.CompleteReservation},
		{events.ReservationCompleted, s.itemPolicy.SellOutItem},
		{events.ReviewWritten, s.itemPolicy.ScoreItem},
		{events.PaymentApproved, s.mypage.Project},
		{events.ItemScored, s.mypage.Project},
	}
	for _, rd := range redeliver {
		err := rd.handler(ctx, s.lastOf(rd.typ))
		if err != nil {
			assert.ErrorIs(t, err, app.ErrDuplicate, "%s", rd.typ)
		}
	}
	assert.Len(t, s.log.types(), before, "nothing new published")
	assert.Equal(t, item.Version(), s.itemNow(it.ID()).Version())
	assert.Equal(t, 1, s.itemNow(it.ID()).ReviewCount(), "a review counts once")
	assert.Equal(t, rsv.Version(), s.rsvNow(r.ID()).Version())
	again, err := s.store.Row(ctx, it.ID())
	require.NoError(t, err)
	assert.Equal(t, row.Version, again.Version)
}

func TestItemPolicyMovesTheItem(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it, r, p := s.paid()
	assert.Equal(t, market.ItemSoldOut, s.itemNow(it.ID()).Status())
	assert.Equal(t, r.ID(), s.itemNow(it.ID()).RsvID())

	_, err := s.cmd.CancelPayment(ctx, buyer, p.ID(), "", "")
	require.NoError(t, err)
	s.deliver()
	assert.Equal(t, market.ItemReserved, s.itemNow(it.ID()).Status())
	assert.Equal(t, market.RsvConfirmed, s.rsvNow(r.ID()).Status())

	require.NoError(t, s.cmd.DeleteReservation(ctx, buyer, r.ID()))
	s.deliver()
	assert.Equal(t, market.ItemCreated, s.itemNow(it.ID()).Status())
	assert.Empty(t, s.itemNow(it.ID()).RsvID())
}

// A reservation deleted without ever holding the item releases nothing.
func TestReleaseOfAnotherReservationChangesNothing(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)
	backup := s.chat(other, it.ID())
	s.confirmed(it.ID())
	s.deliver()
	held := s.itemNow(it.ID())

	require.NoError(t, s.cmd.DeleteReservation(ctx, other, backup.ID()))
	s.deliver()
	assert.Equal(t, held.Version(), s.itemNow(it.ID()).Version())
	assert.Equal(t, market.ItemReserved, s.itemNow(it.ID()).Status())
}

func TestScoresAreMeans(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	scores := []int{5, 2, 4}
	var items []*market.Item
	for _, score := range scores {
		it, _ := s.reviewed(score)
		items = append(items, it)
	}
	for i, it := range items {
		assert.Equal(t, float64(scores[i]), s.itemNow(it.ID()).Score())
	}
	scored, err := events.Decode(s.lastOf(events.ItemScored))
	require.NoError(t, err)
	assert.InDelta(t, 11.0/3, scored.(*events.ItemScore).SellerScore, 1e-9, "the seller's manner score spans their items")
	assert.Equal(t, 3, scored.(*events.ItemScore).SellerReviewCount)
}

// An impossible fact is a Conflict, which the event edge acknowledges
// without retrying; it changes nothing.
func TestStaleFactsAreAcknowledged(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)
	r := s.confirmed(it.ID())
	s.deliver()
	reopened, err := events.New(ctx, events.ReservationReopened, events.Meta{ID: "forged-1", Source: "/carrot/elsewhere", Time: time.Now()},
		&events.Reservation{RsvID: "rsv-of-nobody", ItemID: it.ID(), BuyerID: buyer, SellerID: seller, RsvStatus: "CONFIRMED", Version: 9})
	require.NoError(t, err)
	assertCode(t, market.Conflict, s.itemPolicy.ReserveItemAgain(ctx, reopened))
	assertCode(t, market.NotFound, s.itemPolicy.ReserveItemAgain(ctx, withItem(t, reopened, "no-such-item")))
	assert.Equal(t, r.ID(), s.itemNow(it.ID()).RsvID())
}

func withItem(t *testing.T, e cloudevents.Event, itemID string) cloudevents.Event {
	t.Helper()
	p, err := events.Decode(e)
	require.NoError(t, err)
	r := p.(*events.Reservation)
	r.ItemID = itemID
	out, err := events.New(context.Background(), events.Type(e.Type()), events.Meta{ID: e.ID(), Source: e.Source(), Time: e.Time()}, r)
	require.NoError(t, err)
	return out
}

func (s *system) row(itemID string) app.PageRow {
	s.t.Helper()
	row, err := s.mypage.MyPageRow(context.Background(), itemID)
	require.NoError(s.t, err)
	return *row
}

func TestMyPageFollowsADeal(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)
	s.deliver()
	row := s.row(it.ID())
	assert.Equal(t, app.PageRow{ItemID: it.ID(), ItemName: "armchair", ItemStatus: "CREATED", Price: 25_000, SellerID: seller,
		UpdatedAt: row.UpdatedAt, Version: row.Version}, row)

	backup := s.chat(other, it.ID())
	r := s.confirmed(it.ID())
	s.deliver()
	row = s.row(it.ID())
	assert.Equal(t, "RESERVED", row.ItemStatus)
	assert.Equal(t, 2, row.OpenChats)
	assert.Equal(t, []string{r.ID(), buyer, "CONFIRMED", meeting.Date, meeting.Time, meeting.Place},
		[]string{row.RsvID, row.BuyerID, row.RsvStatus, row.RsvDate, row.RsvTime, row.RsvPlace})

	p, err := s.cmd.Pay(ctx, buyer, r.ID(), "")
	require.NoError(t, err)
	s.deliver()
	row = s.row(it.ID())
	assert.Equal(t, []string{"SOLDOUT", "COMPLETED", p.ID(), "APPROVED"}, []string{row.ItemStatus, row.RsvStatus, row.PayID, row.PayStatus})

	_, err = s.cmd.CancelPayment(ctx, seller, p.ID(), "", "")
	require.NoError(t, err)
	s.deliver()
	require.NoError(t, s.cmd.DeleteReservation(ctx, buyer, r.ID()))
	s.deliver()
	row = s.row(it.ID())
	assert.Equal(t, "CREATED", row.ItemStatus)
	assert.Empty(t, row.RsvID+row.BuyerID+row.RsvStatus+row.PayID+row.PayStatus, "no deal holds it")
	assert.Equal(t, 1, row.OpenChats, "the back-up buyer's chat is open")

	page, _, _, err := s.mypage.MyPageOf(ctx, other, other, app.Page{}, app.Page{})
	require.NoError(t, err)
	require.Len(t, page.Buying, 1)
	assert.Equal(t, backup.ID(), page.Buying[0].RsvID)
	assert.Equal(t, "CREATED", page.Buying[0].ItemStatus)
}

func TestMyPageOfIsTheUsersAlone(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it, r, _ := s.paid()

	_, _, _, err := s.mypage.MyPageOf(ctx, other, seller, app.Page{}, app.Page{})
	assertCode(t, market.Forbidden, err)
	selling, _, _, err := s.mypage.MyPageOf(ctx, seller, seller, app.Page{}, app.Page{})
	require.NoError(t, err)
	require.Len(t, selling.Selling, 1)
	assert.Equal(t, it.ID(), selling.Selling[0].ItemID)
	assert.Empty(t, selling.Buying)
	buying, _, _, err := s.mypage.MyPageOf(ctx, buyer, buyer, app.Page{}, app.Page{})
	require.NoError(t, err)
	require.Len(t, buying.Buying, 1)
	assert.Equal(t, []string{r.ID(), "SOLDOUT", "COMPLETED", "APPROVED"},
		[]string{buying.Buying[0].RsvID, buying.Buying[0].ItemStatus, buying.Buying[0].RsvStatus, buying.Buying[0].PayStatus})
}

func TestMyPageForgetsDeletedItems(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	kept, gone := s.item(seller), s.item(seller)
	r := s.chat(buyer, gone.ID())
	require.NoError(t, s.cmd.DeleteItem(ctx, seller, gone.ID()))
	s.deliver()

	rows, _, err := s.mypage.MyPage(ctx, app.Page{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, kept.ID(), rows[0].ItemID)
	_, err = s.mypage.MyPageRow(ctx, gone.ID())
	assertCode(t, market.NotFound, err)
	page, _, _, err := s.mypage.MyPageOf(ctx, buyer, buyer, app.Page{}, app.Page{})
	require.NoError(t, err)
	require.Len(t, page.Buying, 1)
	assert.Equal(t, r.ID(), page.Buying[0].RsvID)
	assert.Equal(t, "DELETED", page.Buying[0].ItemStatus, "the buyer sees the item went away")
}

// Replaying the log into an empty view rebuilds the same view, and a
// replay over a built view changes nothing (SPEC 3.5).
func TestMyPageReplays(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it, _ := s.reviewed(5)
	want := s.row(it.ID())

	fresh := newSystem(t)
	for _, e := range s.log.events {
		if _, ok := app.MyPageProjector[events.Type(e.Type())]; ok {
			require.NoError(t, fresh.mypage.Project(ctx, e))
			err := s.mypage.Project(ctx, e)
			assert.ErrorIs(t, err, app.ErrDuplicate, "a replay over the view is a duplicate")
		}
	}
	got := fresh.row(it.ID())
	want.UpdatedAt, want.Version, got.Version = got.UpdatedAt, 0, 0
	assert.Equal(t, want, got)
	assert.Equal(t, 5.0, got.Score)
}
