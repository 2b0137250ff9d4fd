package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot/boottest"
)

// The component tests of confirm-reservation call its own URL over HTTP;
// items, chats and payments go through the other functions' URLs, and the
// item policy runs behind the test broker.

// meetingDay and movedDay are the days of the tests' meetings, ahead
// whenever the tests run.
var meetingDay, movedDay = boottest.Day(7), boottest.Day(8)

func TestPatchReservation(t *testing.T) {
	sys := boottest.NewSystem(t)
	patch := func(t *testing.T, user, rsvID string, body any) boottest.Response {
		return sys.Do(t, sys.URL[registry.ConfirmReservation.Name], user, http.MethodPatch, "/reservations/"+rsvID, body)
	}

	t.Run("the seller fixes the meeting and the item is reserved", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		rsvID := d.chat(t, boottest.Buyer)
		res := patch(t, boottest.Seller, rsvID, boottest.Meeting(meetingDay, "18:30", "Hapjeong station exit 3"))
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		rsv := res.JSON(t)
		assert.Equal(t, rsvID, rsv["rsvId"])
		assert.Equal(t, "CONFIRMED", rsv["rsvStatus"])
		assert.Equal(t, meetingDay, rsv["rsvDate"])
		assert.Equal(t, "18:30", rsv["rsvTime"])
		assert.Equal(t, "Hapjeong station exit 3", rsv["rsvPlace"])
		assert.Equal(t, boottest.Buyer, rsv["buyerId"])
		assert.Equal(t, rsv, sys.MustGetReservation(t, boottest.Buyer, rsvID), "the buyer sees it")

		item := d.item(t)
		assert.Equal(t, "RESERVED", item["status"])
		assert.Len(t, sys.EventsAbout(events.ItemReserved, d.id), 1)
		assert.Len(t, sys.EventsAbout(events.ReservationConfirmed, d.id), 1)
	})

	t.Run("confirming again moves the meeting", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		rsvID := d.chat(t, boottest.Buyer)
		sys.MustConfirm(t, boottest.Seller, rsvID, boottest.Meeting(meetingDay, "18:30", "station"))
		res := patch(t, boottest.Seller, rsvID, boottest.Meeting(movedDay, "09:05", "cafe"))
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		assert.Equal(t, movedDay, res.JSON(t)["rsvDate"])
		assert.Equal(t, "09:05", res.JSON(t)["rsvTime"])
		assert.Equal(t, "cafe", res.JSON(t)["rsvPlace"])
		assert.Equal(t, "RESERVED", d.item(t)["status"])
		assert.Len(t, sys.EventsAbout(events.ReservationConfirmed, d.id), 2, "each confirmation is a fact")
		assert.Len(t, sys.EventsAbout(events.ItemReserved, d.id), 1, "the item was reserved once")
		row := sys.MustCall(t, registry.MyPage.Name, boottest.Seller, http.MethodGet, "/myPages/"+d.id, nil, http.StatusOK)
		assert.Equal(t, movedDay, row["rsvDate"], "MyPage shows the moved meeting")
		assert.Equal(t, "cafe", row["rsvPlace"])
	})

	t.Run("a meeting without a place keeps the chat's place", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		rsvID := sys.MustCall(t, registry.RequestChat.Name, boottest.Buyer, http.MethodPost, "/reservations", map[string]any{"itemId": d.id, "rsvPlace": "seoul"}, http.StatusCreated)["rsvId"].(string)
		res := patch(t, boottest.Seller, rsvID, map[string]any{"rsvStatus": "CONFIRMED", "rsvDate": meetingDay, "rsvTime": "00:00"})
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		assert.Equal(t, "seoul", res.JSON(t)["rsvPlace"])
	})

	t.Run("403 when the buyer or an outsider confirms", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		rsvID := d.chat(t, boottest.Buyer)
		for _, user := range []string{boottest.Buyer, "mallory"} {
			patch(t, user, rsvID, boottest.Meeting(meetingDay, "18:30", "")).RequireProblem(t, http.StatusForbidden)
		}
		assert.Equal(t, "CREATED", d.item(t)["status"])
		assert.Equal(t, "CREATED", sys.MustGetReservation(t, boottest.Buyer, rsvID)["rsvStatus"])
	})

	t.Run("404 for an unknown reservation", func(t *testing.T) {
		t.Parallel()
		patch(t, boottest.Seller, "no-such-rsv", boottest.Meeting(meetingDay, "18:30", "")).RequireProblem(t, http.StatusNotFound)
	})

	t.Run("401 without a token", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		patch(t, "", d.chat(t, boottest.Buyer), boottest.Meeting(meetingDay, "18:30", "")).RequireProblem(t, http.StatusUnauthorized)
	})

	t.Run("409 when another reservation of the item is confirmed", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		first, second := d.chat(t, boottest.Buyer), d.chat(t, "carl")
		sys.MustConfirm(t, boottest.Seller, first, boottest.Meeting(meetingDay, "18:30", ""))
		patch(t, boottest.Seller, second, boottest.Meeting(meetingDay, "19:30", "")).RequireProblem(t, http.StatusConflict)
		assert.Equal(t, "CREATED", sys.MustGetReservation(t, "carl", second)["rsvStatus"])
		assert.Equal(t, first, holder(t, sys, d.id), "the first keeps the item")
	})

	t.Run("409 when the reservation is paid", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		rsvID := d.paid(t, boottest.Buyer)
		patch(t, boottest.Seller, rsvID, boottest.Meeting(movedDay, "10:00", "")).RequireProblem(t, http.StatusConflict)
		got := sys.MustGetReservation(t, boottest.Buyer, rsvID)
		assert.Equal(t, "COMPLETED", got["rsvStatus"])
		assert.Equal(t, meetingDay, got["rsvDate"])
	})

	for _, tc := range []struct {
		name   string
		body   any
		fields []string
	}{
		{"February 30", boottest.Meeting("2026-02-30", "18:30", ""), []string{"rsvDate"}},
		{"a day in the past", boottest.Meeting(boottest.Day(-1), "18:30", ""), []string{"rsvDate"}},
		{"year 0000", boottest.Meeting("0000-01-01", "18:30", ""), []string{"rsvDate"}},
		{"over a year ahead", boottest.Meeting(boottest.Day(367), "18:30", ""), []string{"rsvDate"}},
		{"year 9999", boottest.Meeting("9999-12-31", "18:30", ""), []string{"rsvDate"}},
		{"a place with a right-to-left override", boottest.Meeting(meetingDay, "18:30", "\u202etats"), []string{"rsvPlace"}},
		{"a place with an escape character", boottest.Meeting(meetingDay, "18:30", "\x1b[2Jstation"), []string{"rsvPlace"}},
		{"rsvDate in another case", map[string]any{"rsvStatus": "CONFIRMED", "RsvDate": meetingDay, "rsvTime": "18:30"}, []string{"RsvDate"}},
		{"rsvDate given twice", `{"rsvStatus":"CONFIRMED","rsvDate":"` + meetingDay + `","rsvDate":"` + movedDay + `","rsvTime":"18:30"}`, []string{"rsvDate"}},
		{"rsvPlace null", `{"rsvStatus":"CONFIRMED","rsvDate":"` + meetingDay + `","rsvTime":"18:30","rsvPlace":null}`, []string{"rsvPlace"}},
		{"a date in another format", boottest.Meeting("01/12/2026", "18:30", ""), []string{"rsvDate"}},
		{"time 24:00", boottest.Meeting(meetingDay, "24:00", ""), []string{"rsvTime"}},
		{"time 9:30", boottest.Meeting(meetingDay, "9:30", ""), []string{"rsvTime"}},
		{"time with seconds", boottest.Meeting(meetingDay, "18:30:00", ""), []string{"rsvTime"}},
		{"missing date", map[string]any{"rsvStatus": "CONFIRMED", "rsvTime": "18:30"}, []string{"rsvDate"}},
		{"missing time", map[string]any{"rsvStatus": "CONFIRMED", "rsvDate": meetingDay}, []string{"rsvTime"}},
		{"missing date and time", map[string]any{"rsvStatus": "CONFIRMED"}, []string{"rsvDate", "rsvTime"}},
		{"place of 201 characters", boottest.Meeting(meetingDay, "18:30", strings.Repeat("p", 201)), []string{"rsvPlace"}},
		{"rsvStatus COMPLETED", withStatus("COMPLETED"), []string{"rsvStatus"}},
		{"rsvStatus CREATED", withStatus("CREATED"), []string{"rsvStatus"}},
		{"no rsvStatus", withStatus(""), []string{"rsvStatus"}},
		{"rsvStatus in lower case", withStatus("confirmed"), []string{"rsvStatus"}},
		{"date as a number", map[string]any{"rsvStatus": "CONFIRMED", "rsvDate": 20261201, "rsvTime": "18:30"}, []string{"rsvDate"}},
		{"unknown field", map[string]any{"rsvStatus": "CONFIRMED", "rsvDate": meetingDay, "rsvTime": "18:30", "buyerId": "x"}, []string{"buyerId"}},
		{"malformed JSON", `{"rsvStatus": "CONFIRMED",`, nil},
	} {
		t.Run("400 for "+tc.name, func(t *testing.T) {
			t.Parallel()
			d := newDeal(t, sys)
			rsvID := d.chat(t, boottest.Buyer)
			patch(t, boottest.Seller, rsvID, tc.body).RequireProblem(t, http.StatusBadRequest, tc.fields...)
			assert.Equal(t, "CREATED", d.item(t)["status"], "nothing was reserved")
			assert.Empty(t, sys.EventsAbout(events.ReservationConfirmed, d.id))
		})
	}
}

func TestDeleteReservation(t *testing.T) {
	sys := boottest.NewSystem(t)
	del := func(t *testing.T, user, rsvID string) boottest.Response {
		return sys.Do(t, sys.URL[registry.ConfirmReservation.Name], user, http.MethodDelete, "/reservations/"+rsvID, nil)
	}
	gone := func(t *testing.T, rsvID string) {
		t.Helper()
		sys.Do(t, sys.URL[registry.RequestChat.Name], boottest.Buyer, http.MethodGet, "/reservations/"+rsvID, nil).RequireProblem(t, http.StatusNotFound)
	}

	t.Run("the buyer closes an open chat", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		rsvID := d.chat(t, boottest.Buyer)
		res := del(t, boottest.Buyer, rsvID)
		require.Equal(t, http.StatusNoContent, res.Status, "%s", res.Body)
		assert.Empty(t, res.Body)
		gone(t, rsvID)
		assert.Equal(t, "CREATED", d.item(t)["status"])
		assert.Empty(t, sys.EventsAbout(events.ItemReleased, d.id), "a chat that held nothing releases nothing")
		del(t, boottest.Buyer, rsvID).RequireProblem(t, http.StatusNotFound)
	})

	for _, by := range []string{boottest.Buyer, boottest.Seller} {
		t.Run("a confirmed reservation deleted by "+by+" releases the item", func(t *testing.T) {
			t.Parallel()
			d := newDeal(t, sys)
			rsvID := d.confirmed(t, boottest.Buyer)
			backup := d.chat(t, "carl")
			require.Equal(t, "RESERVED", d.item(t)["status"])
			require.Equal(t, http.StatusNoContent, del(t, by, rsvID).Status)
			gone(t, rsvID)
			item := d.item(t)
			assert.Equal(t, "CREATED", item["status"], "the item policy put the item on sale again")
			assert.Len(t, sys.EventsAbout(events.ItemReleased, d.id), 1)
			row := sys.MustCall(t, registry.MyPage.Name, boottest.Seller, http.MethodGet, "/myPages/"+d.id, nil, http.StatusOK)
			assert.Equal(t, "CREATED", row["itemStatus"])
			assert.Empty(t, row["rsvId"])
			assert.EqualValues(t, 1, row["openChats"])

			sys.MustConfirm(t, boottest.Seller, backup, boottest.Meeting(meetingDay, "12:00", ""))
			assert.Equal(t, backup, holder(t, sys, d.id), "the back-up buyer can now be confirmed")
			assert.NotEqual(t, rsvID, sys.MustChat(t, boottest.Buyer, d.id), "the first buyer may open a new chat")
		})
	}

	t.Run("deleting a back-up chat keeps the item reserved", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		held := d.confirmed(t, boottest.Buyer)
		backup := d.chat(t, "carl")
		require.Equal(t, http.StatusNoContent, del(t, "carl", backup).Status)
		assert.Equal(t, held, holder(t, sys, d.id))
		assert.Empty(t, sys.EventsAbout(events.ItemReleased, d.id))
	})

	t.Run("409 when COMPLETED", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		rsvID := d.paid(t, boottest.Buyer)
		for _, user := range []string{boottest.Buyer, boottest.Seller} {
			del(t, user, rsvID).RequireProblem(t, http.StatusConflict)
		}
		assert.Equal(t, "COMPLETED", sys.MustGetReservation(t, boottest.Buyer, rsvID)["rsvStatus"])
		assert.Equal(t, "SOLDOUT", d.item(t)["status"])
	})

	t.Run("after the payment is cancelled the reservation can go, and the item is on sale", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		rsvID := d.confirmed(t, boottest.Buyer)
		payID := sys.MustPay(t, boottest.Buyer, rsvID)
		sys.MustCall(t, registry.CancelPayment.Name, boottest.Buyer, http.MethodDelete, "/payments/"+payID, nil, http.StatusOK)
		require.Equal(t, "RESERVED", d.item(t)["status"], "SPEC 3.3: a cancelled payment leaves the item reserved")
		require.Equal(t, http.StatusNoContent, del(t, boottest.Seller, rsvID).Status)
		gone(t, rsvID)
		assert.Equal(t, "CREATED", d.item(t)["status"])
	})

	t.Run("403 for an outsider", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		rsvID := d.confirmed(t, boottest.Buyer)
		del(t, "mallory", rsvID).RequireProblem(t, http.StatusForbidden)
		assert.Equal(t, "CONFIRMED", sys.MustGetReservation(t, boottest.Buyer, rsvID)["rsvStatus"])
		assert.Equal(t, "RESERVED", d.item(t)["status"])
	})

	t.Run("404 for an unknown reservation", func(t *testing.T) {
		t.Parallel()
		del(t, boottest.Buyer, "no-such-rsv").RequireProblem(t, http.StatusNotFound)
	})

	t.Run("401 without a token", func(t *testing.T) {
		t.Parallel()
		d := newDeal(t, sys)
		rsvID := d.chat(t, boottest.Buyer)
		del(t, "", rsvID).RequireProblem(t, http.StatusUnauthorized)
		sys.MustGetReservation(t, boottest.Buyer, rsvID)
	})
}

// TestConfirmRace has the seller confirm many buyers' reservations of one
// item at once: exactly one wins, every other answer is 409, and the item
// is held by the winner (SPEC 3.2: at most one CONFIRMED per item).
func TestConfirmRace(t *testing.T) {
	sys := boottest.NewSystem(t)
	d := newDeal(t, sys)
	const n = 12
	rsvIDs := make([]string, n)
	for i := range rsvIDs {
		rsvIDs[i] = d.chat(t, fmt.Sprintf("buyer-%02d", i))
	}

	token := "Bearer " + sys.Token(t, boottest.Seller)
	res := boottest.Burst(t, n, func(i int) (boottest.Response, error) {
		return boottest.Send(http.MethodPatch, sys.URL[registry.ConfirmReservation.Name]+"/reservations/"+rsvIDs[i],
			boottest.Meeting(meetingDay, fmt.Sprintf("%02d:00", i), ""), "Authorization", token)
	})

	var winners []string
	for i, r := range res {
		switch r.Status {
		case http.StatusOK:
			winners = append(winners, rsvIDs[i])
		default:
			r.RequireProblem(t, http.StatusConflict)
		}
	}
	require.Len(t, winners, 1, "exactly one confirmation wins")
	winner := winners[0]

	item := d.item(t)
	assert.Equal(t, "RESERVED", item["status"])
	assert.Equal(t, winner, holder(t, sys, d.id))
	confirmedEvents := sys.EventsAbout(events.ReservationConfirmed, d.id)
	require.Len(t, confirmedEvents, 1, "one reservation.confirmed")
	assert.Equal(t, winner, confirmedEvents[0].Subject())
	assert.Len(t, sys.EventsAbout(events.ItemReserved, d.id), 1, "one item.reserved")
	for _, rsvID := range rsvIDs {
		want := "CREATED"
		if rsvID == winner {
			want = "CONFIRMED"
		}
		got := sys.MustGetReservation(t, boottest.Seller, rsvID)
		assert.Equal(t, want, got["rsvStatus"], rsvID)
	}
}

// deal is one item of boottest.Seller and the steps of its sale.
type deal struct {
	sys *boottest.System
	id  string
}

func newDeal(t *testing.T, sys *boottest.System) deal {
	t.Helper()
	return deal{sys, sys.MustItem(t, boottest.Seller, map[string]any{"name": "TV", "category": "electronics", "price": 50000})}
}

func (d deal) chat(t *testing.T, buyer string) string {
	t.Helper()
	return d.sys.MustChat(t, buyer, d.id)
}

func (d deal) confirmed(t *testing.T, buyer string) string {
	t.Helper()
	rsvID := d.chat(t, buyer)
	d.sys.MustConfirm(t, boottest.Seller, rsvID, boottest.Meeting(meetingDay, "18:30", "station"))
	return rsvID
}

func (d deal) paid(t *testing.T, buyer string) string {
	t.Helper()
	rsvID := d.confirmed(t, buyer)
	d.sys.MustPay(t, buyer, rsvID)
	return rsvID
}

func (d deal) item(t *testing.T) map[string]any {
	t.Helper()
	return d.sys.MustGetItem(t, d.id)
}

// holder is the reservation that holds the item, as the last event that
// carries the item says (the item's wire form does not show it).
func holder(t *testing.T, sys *boottest.System, itemID string) string {
	t.Helper()
	var rsvID string
	for _, e := range sys.EventsAbout("", itemID) {
		p, err := events.Decode(e)
		require.NoError(t, err, "%s %s", e.Type(), e.ID())
		if item, ok := p.(*events.Item); ok {
			rsvID = item.RsvID
		}
	}
	row := sys.MustCall(t, registry.MyPage.Name, boottest.Seller, http.MethodGet, "/myPages/"+itemID, nil, http.StatusOK)
	assert.Equal(t, rsvID, row["rsvId"], "MyPage agrees on the holder")
	return rsvID
}

func withStatus(status string) map[string]any {
	m := boottest.Meeting(meetingDay, "18:30", "")
	if status == "" {
		delete(m, "rsvStatus")
	} else {
		m["rsvStatus"] = status
	}
	return m
}
