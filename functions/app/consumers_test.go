package app_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/memory"
)

// The consumers: the policies and the MyPage projector.

// lastOf returns the last published event of typ.
func (s *system) lastOf(typ events.Type) cloudevents.Event {
	s.t.Helper()
	for _, e := range slices.Backward(s.log.Published()) {
		if e.Type() == string(typ) {
			return e
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
	assertCode(t, market.Invalid, s.reservationPolicy.FollowPayment(ctx, wrong))
	assert.Equal(t, int64(1), s.itemNow(it.ID()).Version(), "nothing changed")
}

// Every consumer is idempotent: a redelivered event changes nothing and
// publishes nothing new.
func TestRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it, r := s.reviewed(5)
	before := len(s.log.Types())
	item, rsv := s.itemNow(it.ID()), s.rsvNow(r.ID())
	row, err := s.store.Row(ctx, it.ID())
	require.NoError(t, err)

	redeliver := []struct {
		typ     events.Type
		handler app.EventHandler
	}{
		{events.PaymentApproved, s.reservationPolicy.FollowPayment},
		{events.ReservationCompleted, s.itemPolicy.FollowReservation},
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
	assert.Len(t, s.log.Types(), before, "nothing new published")
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

// forged returns an event of typ with data, as anyone who can reach the
// broker could send it.
func forged(t *testing.T, typ events.Type, data events.Payload) cloudevents.Event {
	t.Helper()
	e, err := events.New(t.Context(), typ, events.Meta{ID: "forged-" + strconv.FormatInt(time.Now().UnixNano(), 10), Source: "/carrot/elsewhere", Time: time.Now()}, data)
	require.NoError(t, err)
	return e
}

// An event is a notification, not a proof (SPEC 5): the policies act on
// what the sources say. An event its source contradicts is refused as
// poison (Invalid); one the sources already overtook changes nothing.
func TestPoliciesFollowTheSourcesNotTheEvent(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it, r := s.reserved()
	before := len(s.log.Types())
	asStored := func(status string, version int64) *events.Reservation {
		return &events.Reservation{RsvID: r.ID(), ItemID: it.ID(), BuyerID: buyer, SellerID: seller, RsvStatus: status, Version: version}
	}
	pay := func(payID, rsvID string, version int64) *events.Payment {
		return &events.Payment{PayID: payID, RsvID: rsvID, ItemID: it.ID(), BuyerID: buyer, SellerID: seller, Amount: 1, Status: "APPROVED", Version: version}
	}
	stored := s.rsvNow(r.ID()).Version()

	for _, tt := range []struct {
		name string
		err  error
		code market.Code
	}{
		{"payment approved that never happened", s.reservationPolicy.FollowPayment(ctx, forged(t, events.PaymentApproved, pay("pay-of-nobody", r.ID(), 1))), market.Invalid},
		{"reservation completed ahead of the reservation", s.itemPolicy.FollowReservation(ctx, forged(t, events.ReservationCompleted, asStored("COMPLETED", stored+1))), market.Invalid},
		{"reservation completed that the reservation does not say", s.itemPolicy.FollowReservation(ctx, forged(t, events.ReservationCompleted, asStored("COMPLETED", stored))), ""},
		{"reservation deleted that still exists", s.itemPolicy.FollowReservation(ctx, forged(t, events.ReservationDeleted, asStored("CONFIRMED", stored))), ""},
		{"review that was never written", s.itemPolicy.ScoreItem(ctx, forged(t, events.ReviewWritten, &events.Review{ReviewID: "rv-1", RsvID: r.ID(), ItemID: it.ID(), ReviewerID: buyer, SellerID: seller, Score: 5})), market.Invalid},
		{"reopen of a reservation that holds nothing", s.itemPolicy.FollowReservation(ctx, forged(t, events.ReservationReopened,
			&events.Reservation{RsvID: "rsv-of-nobody", ItemID: it.ID(), BuyerID: buyer, SellerID: seller, RsvStatus: "CONFIRMED", Version: 9})), ""},
		{"payment whose id no key could hold", s.reservationPolicy.FollowPayment(ctx, forged(t, events.PaymentApproved, pay(strings.Repeat("p", 3000), r.ID(), 1))), market.Invalid},
		{"reservation fact about an item that is no id", s.itemPolicy.FollowReservation(ctx, forged(t, events.ReservationCompleted,
			&events.Reservation{RsvID: r.ID(), ItemID: "item\x00" + strings.Repeat("i", 3000), BuyerID: buyer, SellerID: seller, RsvStatus: "COMPLETED", Version: stored + 1})), market.Invalid},
		{"projection of an item that is no id", s.mypage.Project(ctx, forged(t, events.ItemUpdated,
			&events.Item{ItemID: strings.Repeat("i", 3000), SellerID: seller, Name: "x", Status: "CREATED"})), market.Invalid},
	} {
		assertCode(t, tt.code, tt.err)
		assert.Equal(t, market.ItemReserved, s.itemNow(it.ID()).Status(), tt.name)
		assert.Equal(t, market.RsvConfirmed, s.rsvNow(r.ID()).Status(), tt.name)
	}
	assert.Len(t, s.log.Types(), before, "no forged event made a policy publish anything")

	// A real payment, announced with the ids of another reservation.
	p, err := s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
	require.NoError(t, err)
	assertCode(t, market.Invalid, s.reservationPolicy.FollowPayment(ctx, forged(t, events.PaymentApproved, pay(p.ID(), "rsv-of-nobody", 1))))
	assert.Equal(t, market.RsvConfirmed, s.rsvNow(r.ID()).Status())
	// The same payment announced by a forger with the right ids completes
	// the deal: the payment is real, and the sources say so.
	require.NoError(t, s.reservationPolicy.FollowPayment(ctx, forged(t, events.PaymentApproved, pay(p.ID(), r.ID(), 1))))
	assert.Equal(t, market.RsvCompleted, s.rsvNow(r.ID()).Status())
	assertCode(t, market.NotFound, s.itemPolicy.FollowReservation(ctx, withItem(t, forged(t, events.ReservationCompleted, asStored("COMPLETED", stored)), "no-such-item")))
}

// Late and reordered facts: whatever order they come in, the aggregates
// end where their sources are.
func TestPoliciesConvergeWhateverTheOrder(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it, r, p := s.paid()
	approved := s.lastOf(events.PaymentApproved)
	_, err := s.cmd.CancelPayment(ctx, buyer, p.ID(), "", "")
	require.NoError(t, err)
	cancelled := s.lastOf(events.PaymentCancelled)
	s.log.Take() // deliver by hand, newest first

	require.NoError(t, s.reservationPolicy.FollowPayment(ctx, cancelled))
	assert.Equal(t, market.RsvConfirmed, s.rsvNow(r.ID()).Status())
	require.NoError(t, s.reservationPolicy.FollowPayment(ctx, approved), "the late approval is acknowledged")
	assert.Equal(t, market.RsvConfirmed, s.rsvNow(r.ID()).Status(), "and changes nothing: the payment is cancelled")
	s.deliver()
	assert.Equal(t, market.ItemReserved, s.itemNow(it.ID()).Status())

	// A replayed review, under a new event id, counts once.
	_, err = s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
	require.NoError(t, err)
	s.deliver()
	_, err = s.cmd.WriteReview(ctx, buyer, r.ID(), 4, "")
	require.NoError(t, err)
	s.deliver()
	written := s.lastOf(events.ReviewWritten)
	replay := written.Clone()
	replay.SetID("replayed-1")
	assert.ErrorIs(t, s.itemPolicy.ScoreItem(ctx, replay), app.ErrDuplicate)
	assert.Equal(t, 1, s.itemNow(it.ID()).ReviewCount())
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
	row, err := s.mypage.MyPageRow(context.Background(), seller, itemID)
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

	p, err := s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
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

	rows, _, err := s.mypage.MyPage(ctx, seller, app.Page{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, kept.ID(), rows[0].ItemID)
	_, err = s.mypage.MyPageRow(ctx, seller, gone.ID())
	assertCode(t, market.NotFound, err)
	page, _, _, err := s.mypage.MyPageOf(ctx, buyer, buyer, app.Page{}, app.Page{})
	require.NoError(t, err)
	require.Len(t, page.Buying, 1)
	assert.Equal(t, r.ID(), page.Buying[0].RsvID)
	assert.Equal(t, "DELETED", page.Buying[0].ItemStatus, "the buyer sees the item went away")
}

// Replaying the log into an empty view rebuilds the same view from the
// sources, whatever the order, and a replay over a built view changes
// nothing (SPEC 3.5).
func TestMyPageReplays(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it, _ := s.reviewed(5)
	want := s.row(it.ID())
	var log []cloudevents.Event
	for _, e := range s.log.Published() {
		if _, ok := app.MyPageProjector[events.Type(e.Type())]; ok {
			log = append(log, e)
		}
	}

	for name, order := range map[string]func([]cloudevents.Event) []cloudevents.Event{
		"in order": func(l []cloudevents.Event) []cloudevents.Event { return l },
		"newest first": func(l []cloudevents.Event) []cloudevents.Event {
			r := slices.Clone(l)
			slices.Reverse(r)
			return r
		},
		"only the last": func(l []cloudevents.Event) []cloudevents.Event { return l[len(l)-1:] },
	} {
		empty := memory.New() // a dropped view over the same sources
		rebuild := &app.Service{Store: s.store, Views: empty, Source: "/carrot/mypage"}
		for _, e := range order(log) {
			require.NoError(t, rebuild.Project(ctx, e), name)
		}
		got, err := rebuild.MyPageRow(ctx, seller, it.ID())
		require.NoError(t, err, name)
		want.UpdatedAt, want.Version, got.Version = got.UpdatedAt, 0, 0
		assert.Equal(t, want, *got, name)
	}
	for _, e := range log {
		assert.ErrorIs(t, s.mypage.Project(ctx, e), app.ErrDuplicate, "a replay over the view is a duplicate")
	}
	assert.Equal(t, 5.0, want.Score)
}

// The projector, too, writes what the sources say: a forged fact changes
// no row, and one its source contradicts is refused.
func TestMyPageFollowsTheSources(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it := s.item(seller)
	s.deliver()
	before := s.row(it.ID())
	hacked := &events.Item{ItemID: it.ID(), SellerID: seller, Name: "HACKED", Category: "furniture", Price: 1, Status: "SOLDOUT", Version: 1}

	require.NoError(t, s.mypage.Project(ctx, forged(t, events.ItemUpdated, hacked)), "a fact the sources overtook is acknowledged")
	assert.Equal(t, before.ItemName, s.row(it.ID()).ItemName, "and changes nothing")
	assert.Equal(t, before.ItemStatus, s.row(it.ID()).ItemStatus)
	hacked.Version = 99
	assertCode(t, market.Invalid, s.mypage.Project(ctx, forged(t, events.ItemUpdated, hacked)))
	assertCode(t, market.Invalid, s.mypage.Project(ctx, forged(t, events.PaymentApproved,
		&events.Payment{PayID: "pay-of-nobody", RsvID: "rsv-of-nobody", ItemID: it.ID(), BuyerID: buyer, SellerID: seller, Amount: 1, Status: "APPROVED", Version: 1})))
	require.NoError(t, s.mypage.Project(ctx, forged(t, events.ItemRegistered,
		&events.Item{ItemID: "item-of-nobody", SellerID: seller, Name: "ghost", Category: "x", Status: "CREATED", Version: 1})))
	_, err := s.mypage.MyPageRow(ctx, seller, "item-of-nobody")
	assertCode(t, market.NotFound, err)
	assert.Equal(t, before.ItemName, s.row(it.ID()).ItemName)
}

// TestMyPageHidesTheDealFromStrangers checks SPEC section 3.5's privacy
// rule on both reads: the seller and the buyer see who, where, when and
// the payment; anyone else (the back-up buyer included) sees the item and
// the state of its deal only.
func TestMyPageHidesTheDealFromStrangers(t *testing.T) {
	t.Parallel()
	s := newSystem(t)
	ctx := t.Context()
	it, r := s.reserved()
	s.chat(other, it.ID())
	p, err := s.cmd.Pay(ctx, buyer, r.ID(), "", nil)
	require.NoError(t, err)
	s.deliver()

	for _, viewer := range []string{seller, buyer, other, "u-stranger"} {
		row, err := s.mypage.MyPageRow(ctx, viewer, it.ID())
		require.NoError(t, err)
		rows, _, err := s.mypage.MyPage(ctx, viewer, app.Page{})
		require.NoError(t, err)
		require.Len(t, rows, 1)
		assert.Equal(t, *row, rows[0], "%s: the list and the row agree", viewer)

		assert.Equal(t, []string{it.ID(), "SOLDOUT", r.ID(), "COMPLETED", "APPROVED"},
			[]string{row.ItemID, row.ItemStatus, row.RsvID, row.RsvStatus, row.PayStatus}, "%s sees the state of the deal", viewer)
		private := []string{row.BuyerID, row.RsvDate, row.RsvTime, row.RsvPlace, row.PayID}
		if viewer == seller || viewer == buyer {
			assert.Equal(t, []string{buyer, meeting.Date, meeting.Time, meeting.Place, p.ID()}, private, "%s takes part in the deal", viewer)
		} else {
			assert.Equal(t, []string{"", "", "", "", ""}, private, "%s does not", viewer)
		}
	}
}
