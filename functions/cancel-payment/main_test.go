package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/infra/boot/boottest"
)

// TestCancelPayment covers PATCH and DELETE /payments/{payId} on the
// cancel-payment function: the buyer withdraws or the seller refunds, the
// reservation is CONFIRMED and the item RESERVED again (SPEC 3.3, the
// decision on seed rule 6), a second cancel changes nothing, and the
// buyer can pay again.
func TestCancelPayment(t *testing.T) {
	sys := boottest.NewSystem(t)
	cancel := sys.URL["cancel-payment"]

	for _, tc := range []struct {
		name, user, method string
		body               func(itemID, rsvID string) any
	}{
		{"the buyer PATCHes status DELETED", boottest.Buyer, http.MethodPatch, func(string, string) any { return map[string]any{"status": "DELETED"} }},
		{"the seller refunds with PATCH", boottest.Seller, http.MethodPatch, func(string, string) any { return map[string]any{"status": "DELETED"} }},
		{"the seed's form with rsvId and itemId", boottest.Buyer, http.MethodPatch, func(itemID, rsvID string) any {
			return map[string]any{"rsvId": rsvID, "itemId": itemID, "status": "DELETED"}
		}},
		{"the buyer DELETEs", boottest.Buyer, http.MethodDelete, func(string, string) any { return nil }},
		{"the seller DELETEs", boottest.Seller, http.MethodDelete, func(string, string) any { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			itemID, rsvID, payID := paidDeal(t, sys, 40_000)

			res := sys.Do(t, cancel, tc.user, tc.method, "/payments/"+payID, tc.body(itemID, rsvID))
			require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
			p := res.JSON(t)
			assert.Equal(t, payID, p["payId"])
			assert.Equal(t, "DELETED", p["status"])
			assert.NotEmpty(t, p["cancelledAt"])
			assert.EqualValues(t, 40_000, p["amount"])
			assert.Equal(t, p, sys.MustGetPayment(t, boottest.Buyer, payID), "GET answers the cancelled payment")

			assert.Equal(t, "CONFIRMED", sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"])
			assert.Equal(t, "RESERVED", sys.MustGetItem(t, itemID)["status"], "the confirmed reservation still holds the item")
			assert.Equal(t, 1, sys.CountEventsAbout(events.PaymentCancelled, itemID))
			assert.Equal(t, 1, sys.CountEventsAbout(events.ReservationReopened, itemID))
			assert.Equal(t, 2, sys.CountEventsAbout(events.ItemReserved, itemID), "reserved when confirmed and again when cancelled")
			published := sys.CountEventsAbout("", itemID)

			again := sys.Do(t, cancel, tc.user, tc.method, "/payments/"+payID, tc.body(itemID, rsvID))
			require.Equal(t, http.StatusOK, again.Status, "cancelling again: %s", again.Body)
			assert.Equal(t, p, again.JSON(t), "cancelling again answers the cancelled payment")
			assert.Equal(t, 1, sys.CountEventsAbout(events.PaymentCancelled, itemID), "cancelling again publishes nothing")
			assert.Equal(t, published, sys.CountEventsAbout("", itemID))
		})
	}

	t.Run("the buyer pays again after a cancel", func(t *testing.T) {
		t.Parallel()
		itemID, rsvID, payID := paidDeal(t, sys, 9_000)
		res := sys.Do(t, cancel, boottest.Buyer, http.MethodDelete, "/payments/"+payID, nil)
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)

		res = sys.Do(t, sys.URL["pay"], boottest.Buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		repaid := res.JSON(t)
		assert.NotEqual(t, payID, repaid["payId"], "a new payment")
		assert.Equal(t, "APPROVED", repaid["status"])
		assert.Equal(t, "SOLDOUT", sys.MustGetItem(t, itemID)["status"])
		assert.Equal(t, "COMPLETED", sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"])
		assert.Equal(t, "DELETED", sys.MustGetPayment(t, boottest.Buyer, payID)["status"], "the cancelled payment stays cancelled")
		assert.Equal(t, 2, sys.CountEventsAbout(events.ItemSoldOut, itemID))
	})

	t.Run("concurrent cancels by both sides: each answers the cancelled payment", func(t *testing.T) {
		t.Parallel()
		itemID, rsvID, payID := paidDeal(t, sys, 3_000)
		tokens := map[string]string{boottest.Buyer: sys.Token(t, boottest.Buyer), boottest.Seller: sys.Token(t, boottest.Seller)}
		answers := boottest.Burst(t, 10, func(i int) (boottest.Response, error) {
			token := tokens[[]string{boottest.Buyer, boottest.Seller}[i%2]]
			return boottest.Send(http.MethodDelete, cancel+"/payments/"+payID, nil, "Authorization", "Bearer "+token)
		})
		for _, a := range answers {
			if assert.Equal(t, http.StatusOK, a.Status, "%s", a.Body) {
				assert.Equal(t, "DELETED", a.JSON(t)["status"])
			}
		}
		assert.Equal(t, 1, sys.CountEventsAbout(events.PaymentCancelled, itemID))
		assert.Equal(t, "CONFIRMED", sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"])
		assert.Equal(t, "RESERVED", sys.MustGetItem(t, itemID)["status"])
	})

	t.Run("refusals change nothing", func(t *testing.T) {
		t.Parallel()
		itemID, rsvID, payID := paidDeal(t, sys, 5_000)
		otherItemID, otherRsvID, _ := paidDeal(t, sys, 6_000)
		for _, tc := range []struct {
			name, user, method, payID string
			body                      any
			status                    int
			fields                    []string // the fields the problem names
		}{
			{"status APPROVED", boottest.Buyer, http.MethodPatch, payID, map[string]any{"status": "APPROVED"}, http.StatusBadRequest, []string{"status"}},
			{"no status", boottest.Buyer, http.MethodPatch, payID, map[string]any{"rsvId": rsvID}, http.StatusBadRequest, []string{"status"}},
			{"rsvId of another reservation", boottest.Buyer, http.MethodPatch, payID, map[string]any{"rsvId": otherRsvID, "status": "DELETED"}, http.StatusBadRequest, []string{"rsvId"}},
			{"rsvId as a JSON number that does not match", boottest.Buyer, http.MethodPatch, payID, map[string]any{"rsvId": 1, "status": "DELETED"}, http.StatusBadRequest, []string{"rsvId"}},
			{"itemId of another item", boottest.Buyer, http.MethodPatch, payID, map[string]any{"itemId": otherItemID, "status": "DELETED"}, http.StatusBadRequest, []string{"itemId"}},
			{"an unknown field", boottest.Buyer, http.MethodPatch, payID, map[string]any{"status": "DELETED", "reason": "x"}, http.StatusBadRequest, []string{"reason"}},
			{"an outsider PATCHes", boottest.Outsider, http.MethodPatch, payID, map[string]any{"status": "DELETED"}, http.StatusForbidden, nil},
			{"an outsider DELETEs", boottest.Outsider, http.MethodDelete, payID, nil, http.StatusForbidden, nil},
			{"no token", "", http.MethodDelete, payID, nil, http.StatusUnauthorized, nil},
			{"PATCH an unknown payment", boottest.Buyer, http.MethodPatch, "no-such-payment", map[string]any{"status": "DELETED"}, http.StatusNotFound, nil},
			{"DELETE an unknown payment", boottest.Buyer, http.MethodDelete, "no-such-payment", nil, http.StatusNotFound, nil},
			{"PATCH a payment id of 2049 digits", boottest.Buyer, http.MethodPatch, strings.Repeat("1", 2049), map[string]any{"status": "DELETED"}, http.StatusNotFound, nil},
			{"DELETE a payment id of 2049 digits", boottest.Buyer, http.MethodDelete, strings.Repeat("1", 2049), nil, http.StatusNotFound, nil},
			{"rsvId of 2049 digits", boottest.Buyer, http.MethodPatch, payID, map[string]any{"rsvId": strings.Repeat("1", 2049), "status": "DELETED"}, http.StatusBadRequest, []string{"rsvId"}},
			{"status in another case", boottest.Buyer, http.MethodPatch, payID, map[string]any{"Status": "DELETED"}, http.StatusBadRequest, []string{"Status"}},
			{"status given twice", boottest.Buyer, http.MethodPatch, payID, `{"status": "DELETED", "status": "DELETED"}`, http.StatusBadRequest, []string{"status"}},
			{"status null", boottest.Buyer, http.MethodPatch, payID, `{"status": null}`, http.StatusBadRequest, []string{"status"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := sys.Do(t, cancel, tc.user, tc.method, "/payments/"+tc.payID, tc.body)
				res.RequireProblem(t, tc.status, tc.fields...)
			})
		}

		assert.Equal(t, "APPROVED", sys.MustGetPayment(t, boottest.Buyer, payID)["status"])
		assert.Equal(t, "COMPLETED", sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"])
		assert.Equal(t, "SOLDOUT", sys.MustGetItem(t, itemID)["status"])
		assert.Equal(t, 0, sys.CountEventsAbout(events.PaymentCancelled, itemID))
	})
}

// paidDeal lists an item at price for seller, opens buyer's chat on it,
// lets the seller confirm it and the buyer pay, each through the function
// that owns the route. It returns the item's, reservation's and payment's ids.
func paidDeal(t *testing.T, sys *boottest.System, price int) (itemID, rsvID, payID string) {
	t.Helper()
	return sys.MustPaidDeal(t, boottest.Seller, boottest.Buyer, map[string]any{"name": "bike", "category": "sports", "price": price},
		boottest.Meeting(boottest.Day(2), "09:00", "Mangwon market"))
}
