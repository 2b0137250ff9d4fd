package market_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
)

func TestMeetingValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		meeting market.Meeting
		want    []string // the fields named by the Invalid error; nil means valid
	}{
		{"valid", market.Meeting{Date: "2026-03-07", Time: "14:30", Place: "Mangwon station exit 2"}, nil},
		{"place may be empty", market.Meeting{Date: "2026-03-07", Time: "14:30"}, nil},
		{"leap day of a leap year", market.Meeting{Date: "2028-02-29", Time: "09:00"}, nil},
		{"midnight", market.Meeting{Date: "2026-12-31", Time: "00:00"}, nil},
		{"last minute of the day", market.Meeting{Date: "2026-01-01", Time: "23:59"}, nil},
		{"place of 200 Hangul syllables", market.Meeting{Date: "2026-03-07", Time: "14:30", Place: strings.Repeat("역", 200)}, nil},

		{"February 30", market.Meeting{Date: "2026-02-30", Time: "14:30"}, []string{"rsvDate"}},
		{"leap day of a common year", market.Meeting{Date: "2026-02-29", Time: "14:30"}, []string{"rsvDate"}},
		{"month 13", market.Meeting{Date: "2026-13-01", Time: "14:30"}, []string{"rsvDate"}},
		{"day 0", market.Meeting{Date: "2026-03-00", Time: "14:30"}, []string{"rsvDate"}},
		{"unpadded date", market.Meeting{Date: "2026-3-7", Time: "14:30"}, []string{"rsvDate"}},
		{"slashes", market.Meeting{Date: "2026/03/07", Time: "14:30"}, []string{"rsvDate"}},
		{"day first", market.Meeting{Date: "07-03-2026", Time: "14:30"}, []string{"rsvDate"}},
		{"timestamp", market.Meeting{Date: "2026-03-07T14:30:00Z", Time: "14:30"}, []string{"rsvDate"}},
		{"no date", market.Meeting{Time: "14:30"}, []string{"rsvDate"}},

		{"24:00", market.Meeting{Date: "2026-03-07", Time: "24:00"}, []string{"rsvTime"}},
		{"7:5", market.Meeting{Date: "2026-03-07", Time: "7:5"}, []string{"rsvTime"}},
		{"7:05", market.Meeting{Date: "2026-03-07", Time: "7:05"}, []string{"rsvTime"}},
		{"minute 60", market.Meeting{Date: "2026-03-07", Time: "12:60"}, []string{"rsvTime"}},
		{"with seconds", market.Meeting{Date: "2026-03-07", Time: "14:30:00"}, []string{"rsvTime"}},
		{"12-hour clock", market.Meeting{Date: "2026-03-07", Time: "2:30PM"}, []string{"rsvTime"}},
		{"no time", market.Meeting{Date: "2026-03-07"}, []string{"rsvTime"}},

		{"place of 201 characters", market.Meeting{Date: "2026-03-07", Time: "14:30", Place: strings.Repeat("역", 201)}, []string{"rsvPlace"}},
		{"everything wrong", market.Meeting{Date: "2026-02-30", Time: "24:00", Place: strings.Repeat("p", 201)},
			[]string{"rsvDate", "rsvTime", "rsvPlace"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertFields(t, tt.want, tt.meeting.Validate())
		})
	}
}

func TestRequestChat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status market.ItemStatus
		buyer  string
		place  string
		want   market.Code
		fields []string
	}{
		{name: "item on sale", status: market.ItemCreated, buyer: buyer, place: "seoul"},
		{name: "no place yet", status: market.ItemCreated, buyer: buyer},
		{name: "place of 200 characters", status: market.ItemCreated, buyer: buyer, place: strings.Repeat("p", 200)},
		{name: "reserved item: back-up buyer", status: market.ItemReserved, buyer: other},
		{name: "sold-out item", status: market.ItemSoldOut, buyer: other, want: market.Conflict},
		{name: "own item", status: market.ItemCreated, buyer: seller, want: market.Conflict},
		{name: "place of 201 characters", status: market.ItemCreated, buyer: buyer, place: strings.Repeat("p", 201),
			want: market.Invalid, fields: []string{"rsvPlace"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			held := rsvB
			if tt.status == market.ItemCreated {
				held = ""
			}
			r, err := market.RequestChat(rsvA, itemIn(tt.status, held), tt.buyer, tt.place, t1)
			if tt.want != "" {
				requireRefusal(t, tt.want, tt.fields, err)
				assert.Nil(t, r)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, market.ReservationState{
				ID: rsvA, ItemID: itemID, BuyerID: tt.buyer, SellerID: seller, Status: market.RsvCreated,
				Meeting: market.Meeting{Place: tt.place}, CreatedAt: t1, UpdatedAt: t1,
			}, r.State())
		})
	}
}

func TestReservationConfirm(t *testing.T) {
	t.Parallel()
	seoulNextDay := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)
	meeting := market.Meeting{Date: "2026-03-08", Time: "18:00", Place: "Hapjeong station"}
	tests := []struct {
		name        string
		status      market.RsvStatus
		by          string
		meeting     market.Meeting
		want        market.Code
		fields      []string
		wantMeeting market.Meeting
		at          time.Time // when the seller confirms; t1 when zero
	}{
		{name: "seller fixes the meeting", status: market.RsvCreated, by: seller, meeting: meeting, wantMeeting: meeting},
		{name: "seller moves the meeting", status: market.RsvConfirmed, by: seller, meeting: meeting, wantMeeting: meeting},
		{name: "no place keeps the chat's place", status: market.RsvCreated, by: seller,
			meeting:     market.Meeting{Date: "2026-03-08", Time: "18:00"},
			wantMeeting: market.Meeting{Date: "2026-03-08", Time: "18:00", Place: "Mangwon station exit 2"}},
		{name: "paid", status: market.RsvCompleted, by: seller, meeting: meeting, want: market.Conflict},
		{name: "buyer", status: market.RsvCreated, by: buyer, meeting: meeting, want: market.Forbidden},
		{name: "outsider", status: market.RsvCreated, by: other, meeting: meeting, want: market.Forbidden},
		{name: "anonymous", status: market.RsvCreated, by: "", meeting: meeting, want: market.Forbidden},
		{name: "bad date", status: market.RsvCreated, by: seller,
			meeting: market.Meeting{Date: "2026-02-30", Time: "18:00"}, want: market.Invalid, fields: []string{"rsvDate"}},
		{name: "bad time", status: market.RsvConfirmed, by: seller,
			meeting: market.Meeting{Date: "2026-03-08", Time: "24:00"}, want: market.Invalid, fields: []string{"rsvTime"}},
		{name: "long place", status: market.RsvCreated, by: seller,
			meeting: market.Meeting{Date: "2026-03-08", Time: "18:00", Place: strings.Repeat("p", 201)},
			want:    market.Invalid, fields: []string{"rsvPlace"}},

		// t1 is 19:00 on 2026-03-01 in Seoul.
		{name: "a meeting this minute", status: market.RsvCreated, by: seller,
			meeting:     market.Meeting{Date: "2026-03-01", Time: "19:00", Place: "here"},
			wantMeeting: market.Meeting{Date: "2026-03-01", Time: "19:00", Place: "here"}},
		{name: "a meeting a year ahead", status: market.RsvCreated, by: seller,
			meeting:     market.Meeting{Date: "2027-03-01", Time: "23:59", Place: "here"},
			wantMeeting: market.Meeting{Date: "2027-03-01", Time: "23:59", Place: "here"}},
		{name: "a meeting yesterday", status: market.RsvCreated, by: seller,
			meeting: market.Meeting{Date: "2026-02-28", Time: "20:00"}, want: market.Invalid, fields: []string{"rsvDate"}},
		{name: "a meeting earlier today", status: market.RsvConfirmed, by: seller,
			meeting: market.Meeting{Date: "2026-03-01", Time: "18:59"}, want: market.Invalid, fields: []string{"rsvTime"}},
		{name: "a meeting in year 0000", status: market.RsvCreated, by: seller,
			meeting: market.Meeting{Date: "0000-01-01", Time: "12:00"}, want: market.Invalid, fields: []string{"rsvDate"}},
		{name: "a meeting over a year ahead", status: market.RsvCreated, by: seller,
			meeting: market.Meeting{Date: "2027-03-02", Time: "00:00"}, want: market.Invalid, fields: []string{"rsvDate"}},
		{name: "a meeting in year 9999", status: market.RsvCreated, by: seller,
			meeting: market.Meeting{Date: "9999-12-31", Time: "12:00"}, want: market.Invalid, fields: []string{"rsvDate"}},

		// At 16:00 UTC on 2026-03-01 it is 01:00 on 2026-03-02 in Seoul.
		{name: "a day that is today in UTC but past in Seoul", status: market.RsvCreated, by: seller, at: seoulNextDay,
			meeting: market.Meeting{Date: "2026-03-01", Time: "23:30"}, want: market.Invalid, fields: []string{"rsvDate"}},
		{name: "an hour past in Seoul's new day", status: market.RsvCreated, by: seller, at: seoulNextDay,
			meeting: market.Meeting{Date: "2026-03-02", Time: "00:30"}, want: market.Invalid, fields: []string{"rsvTime"}},
		{name: "an hour ahead in Seoul's new day", status: market.RsvCreated, by: seller, at: seoulNextDay,
			meeting:     market.Meeting{Date: "2026-03-02", Time: "02:00", Place: "here"},
			wantMeeting: market.Meeting{Date: "2026-03-02", Time: "02:00", Place: "here"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rsvAt(tt.status)
			before := r.State()

			at := tt.at
			if at.IsZero() {
				at = t1
			}
			err := r.Confirm(tt.by, tt.meeting, at)
			if tt.want != "" {
				requireRefusal(t, tt.want, tt.fields, err)
				assert.Equal(t, before, r.State(), "a refused confirmation changes nothing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, market.RsvConfirmed, r.Status())
			assert.Equal(t, tt.wantMeeting, r.Meeting())
			assert.Equal(t, at, r.UpdatedAt())
			assert.Empty(t, r.PayID())
		})
	}
}

// TestReservationChecks pins who may do what to a reservation in each
// status: each row gives the code a check answers the buyer, the seller, a
// third user and an anonymous caller ("" allows).
func TestReservationChecks(t *testing.T) {
	t.Parallel()
	view := check[*market.Reservation]{"view", (*market.Reservation).CheckView}
	del := check[*market.Reservation]{"delete", (*market.Reservation).CheckDelete}
	pay := check[*market.Reservation]{"pay", (*market.Reservation).CheckPay}
	review := check[*market.Reservation]{"review", (*market.Reservation).CheckReview}
	const allowed, forbidden, conflict = market.Code(""), market.Forbidden, market.Conflict

	tests := []struct {
		check                           check[*market.Reservation]
		status                          market.RsvStatus
		buyer, seller, other, anonymous market.Code
	}{
		{view, market.RsvCreated, allowed, allowed, forbidden, forbidden},
		{view, market.RsvConfirmed, allowed, allowed, forbidden, forbidden},
		{view, market.RsvCompleted, allowed, allowed, forbidden, forbidden},

		{del, market.RsvCreated, allowed, allowed, forbidden, forbidden},
		{del, market.RsvConfirmed, allowed, allowed, forbidden, forbidden},
		{del, market.RsvCompleted, conflict, conflict, forbidden, forbidden},

		{pay, market.RsvCreated, conflict, forbidden, forbidden, forbidden},
		{pay, market.RsvConfirmed, allowed, forbidden, forbidden, forbidden},
		{pay, market.RsvCompleted, conflict, forbidden, forbidden, forbidden},

		{review, market.RsvCreated, conflict, forbidden, forbidden, forbidden},
		{review, market.RsvConfirmed, conflict, forbidden, forbidden, forbidden},
		{review, market.RsvCompleted, allowed, forbidden, forbidden, forbidden},
	}
	for _, tt := range tests {
		for by, want := range map[string]market.Code{buyer: tt.buyer, seller: tt.seller, other: tt.other, "": tt.anonymous} {
			t.Run(tt.check.name+"/"+string(tt.status)+"/by "+by, func(t *testing.T) {
				t.Parallel()
				r := rsvAt(tt.status)
				before := r.State()
				requireCode(t, want, tt.check.call(r, by))
				assert.Equal(t, before, r.State(), "a check changes nothing")
				assert.Equal(t, by == buyer || by == seller, r.IsParticipant(by))
			})
		}
	}
}

func TestReservationCompleteAndReopen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     market.RsvStatus
		payID      string // before
		call       func(r *market.Reservation) (bool, error)
		want       market.Code
		changed    bool
		wantStatus market.RsvStatus
		wantPayID  string
	}{
		{"confirmed is paid", market.RsvConfirmed, "",
			func(r *market.Reservation) (bool, error) { return r.Complete(payA, t1) },
			"", true, market.RsvCompleted, payA},
		{"same payment redelivered", market.RsvCompleted, payA,
			func(r *market.Reservation) (bool, error) { return r.Complete(payA, t1) },
			"", false, market.RsvCompleted, payA},
		{"second payment", market.RsvCompleted, payA,
			func(r *market.Reservation) (bool, error) { return r.Complete(payB, t1) },
			market.Conflict, false, market.RsvCompleted, payA},
		{"chat not confirmed", market.RsvCreated, "",
			func(r *market.Reservation) (bool, error) { return r.Complete(payA, t1) },
			market.Conflict, false, market.RsvCreated, ""},

		{"payment cancelled: confirmed again", market.RsvCompleted, payA,
			func(r *market.Reservation) (bool, error) { return r.Reopen(payA, t1) },
			"", true, market.RsvConfirmed, ""},
		{"cancel redelivered", market.RsvConfirmed, "",
			func(r *market.Reservation) (bool, error) { return r.Reopen(payA, t1) },
			"", false, market.RsvConfirmed, ""},
		{"cancel of an older payment", market.RsvCompleted, payB,
			func(r *market.Reservation) (bool, error) { return r.Reopen(payA, t1) },
			"", false, market.RsvCompleted, payB},
		{"cancel reaching an open chat", market.RsvCreated, "",
			func(r *market.Reservation) (bool, error) { return r.Reopen(payA, t1) },
			"", false, market.RsvCreated, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rsvIn(tt.status, tt.payID)
			meeting := r.Meeting()
			changed, err := tt.call(r)
			requireCode(t, tt.want, err)
			assert.Equal(t, tt.changed, changed, "changed")
			assert.Equal(t, tt.wantStatus, r.Status())
			assert.Equal(t, tt.wantPayID, r.PayID())
			assert.Equal(t, meeting, r.Meeting(), "payment facts never move the meeting")
			if tt.changed {
				assert.Equal(t, t1, r.UpdatedAt())
			} else {
				assert.Equal(t, t0, r.UpdatedAt(), "no change, no new updatedAt")
			}
		})
	}
}

func TestReservationPostMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status market.RsvStatus
		by     string
		text   string
		want   market.Code
	}{
		{"buyer writes", market.RsvCreated, buyer, "Is it still available?", ""},
		{"seller answers", market.RsvCreated, seller, "네, 아직 있어요", ""},
		{"after the deal", market.RsvCompleted, buyer, "Thanks!", ""},
		{"one character", market.RsvConfirmed, seller, "?", ""},
		{"2000 Hangul syllables", market.RsvCreated, buyer, strings.Repeat("안", 2000), ""},
		{"2001 Hangul syllables", market.RsvCreated, buyer, strings.Repeat("안", 2001), market.Invalid},
		{"empty", market.RsvCreated, buyer, "", market.Invalid},
		{"blank", market.RsvCreated, buyer, " \n\t", market.Invalid},
		{"outsider", market.RsvCreated, other, "hello", market.Forbidden},
		{"anonymous", market.RsvCreated, "", "hello", market.Forbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rsvIn(tt.status, payA)
			m, err := r.PostMessage("msg-1", tt.by, tt.text, t1)
			requireCode(t, tt.want, err)
			if tt.want != "" {
				if tt.want == market.Invalid {
					assertFields(t, []string{"text"}, err)
				}
				assert.Zero(t, m)
				return
			}
			assert.Equal(t, market.Message{ID: "msg-1", RsvID: rsvA, ItemID: itemID, SenderID: tt.by, Text: tt.text, CreatedAt: t1}, m)
		})
	}
}

func TestReservationStateRoundTrip(t *testing.T) {
	t.Parallel()
	s := market.ReservationState{
		ID: rsvA, ItemID: itemID, BuyerID: buyer, SellerID: seller, Status: market.RsvCompleted,
		Meeting: market.Meeting{Date: "2026-03-07", Time: "14:30", Place: "Mangwon"},
		PayID:   payA, Version: 4, CreatedAt: t0, UpdatedAt: t2,
	}
	assertRoundTrip(t, s, market.RestoreReservation, func(r *market.Reservation) market.ReservationState {
		return market.ReservationState{ID: r.ID(), ItemID: r.ItemID(), BuyerID: r.BuyerID(), SellerID: r.SellerID(), Status: r.Status(),
			Meeting: r.Meeting(), PayID: r.PayID(), Version: r.Version(), CreatedAt: r.CreatedAt(), UpdatedAt: r.UpdatedAt()}
	})
}

// TestDealLifecycle walks one deal through every step of SPEC 3.2 and 3.3 on
// the aggregates, the way the choreography applies them.
func TestDealLifecycle(t *testing.T) {
	t.Parallel()
	it := MustItem(t)

	r, err := market.RequestChat(rsvA, it, buyer, "seoul", t0)
	require.NoError(t, err)
	backup, err := market.RequestChat(rsvB, it, other, "", t0)
	require.NoError(t, err)
	_, err = r.PostMessage("m-1", buyer, "Can we meet on Saturday?", t0)
	require.NoError(t, err)

	meeting := market.Meeting{Date: "2026-03-07", Time: "14:30", Place: "Mangwon station"}
	require.NoError(t, r.Confirm(seller, meeting, t1))
	require.NoError(t, it.Reserve(r, t1))
	assert.Equal(t, it.Price(), r.AgreedPrice(), "the price is agreed at confirmation")

	// A back-up buyer may still chat, but cannot take the item.
	_, err = market.RequestChat("rsv-c", it, "u-third", "", t1)
	require.NoError(t, err)
	require.NoError(t, backup.Confirm(seller, meeting, t1))
	requireCode(t, market.Conflict, it.Reserve(backup, t1))
	require.NoError(t, backup.CheckPay(other), "the reservation alone looks payable; Pay must check the item")
	_, err = market.Pay(payB, backup, it, other, nil, t1)
	requireCode(t, market.Conflict, err)

	p, err := market.Pay(payA, r, it, buyer, nil, t1)
	assert.Equal(t, r.AgreedPrice(), p.Amount())
	require.NoError(t, err)
	changed, err := r.Complete(p.ID(), t1)
	require.NoError(t, err)
	require.True(t, changed)
	changed, err = it.SellOut(r.ID(), t1)
	require.NoError(t, err)
	require.True(t, changed)

	requireCode(t, market.Conflict, r.CheckDelete(buyer))
	_, err = market.RequestChat("rsv-d", it, "u-late", "", t1)
	requireCode(t, market.Conflict, err)

	changed, err = p.Cancel(seller, t2)
	require.NoError(t, err)
	require.True(t, changed)
	changed, err = r.Reopen(p.ID(), t2)
	require.NoError(t, err)
	require.True(t, changed)
	changed, err = it.Reopen(r.ID(), t2)
	require.NoError(t, err)
	require.True(t, changed)
	assert.Equal(t, market.RsvConfirmed, r.Status())
	assert.Equal(t, market.ItemReserved, it.Status())

	require.NoError(t, r.CheckDelete(buyer))
	changed, err = it.Release(r.ID(), t2)
	require.NoError(t, err)
	require.True(t, changed)
	assert.Equal(t, market.ItemCreated, it.Status())
	assert.NoError(t, it.Reserve(backup, t2), "the back-up buyer's confirmed reservation may now hold the item")
}

// TestReservationFollowPayment: a reservation follows its payment as
// storage has it.
func TestReservationFollowPayment(t *testing.T) {
	t.Parallel()
	payment := func(rsvID string, status market.PayStatus) *market.Payment {
		return market.RestorePayment(market.PaymentState{ID: payA, RsvID: rsvID, ItemID: itemID, BuyerID: buyer, SellerID: seller,
			Amount: 25_000, Status: status, Version: 1, CreatedAt: t0})
	}
	for _, tt := range []struct {
		name       string
		rsv        market.RsvStatus
		pay        *market.Payment
		approved   bool // the payment is the reservation's approved one
		changed    bool
		code       market.Code
		wantStatus market.RsvStatus
	}{
		{"approved: completed", market.RsvConfirmed, payment(rsvA, market.PayApproved), true, true, "", market.RsvCompleted},
		{"approved but no longer the approved one: nothing", market.RsvConfirmed, payment(rsvA, market.PayApproved), false, false, "", market.RsvConfirmed},
		{"approved again: nothing", market.RsvCompleted, payment(rsvA, market.PayApproved), true, false, "", market.RsvCompleted},
		{"cancelled: confirmed again", market.RsvCompleted, payment(rsvA, market.PayDeleted), false, true, "", market.RsvConfirmed},
		{"cancelled before it completed: nothing", market.RsvConfirmed, payment(rsvA, market.PayDeleted), false, false, "", market.RsvConfirmed},
		{"a payment of another reservation", market.RsvConfirmed, payment(rsvB, market.PayApproved), true, false, market.Conflict, market.RsvConfirmed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rsvAt(tt.rsv)
			changed, err := r.FollowPayment(tt.pay, tt.approved, t1)
			requireCode(t, tt.code, err)
			assert.Equal(t, tt.changed, changed)
			assert.Equal(t, tt.wantStatus, r.Status())
		})
	}
}
