package main

import (
	"net/http"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/infra/boot/boottest"
)

const policy = "item-policy"

// takes are the event types the item policy's trigger delivers.
var takes = []events.Type{events.ReservationCompleted, events.ReservationReopened, events.ReservationDeleted, events.ReviewWritten}

// TestItemPolicy drives the item policy with the facts the real flow
// publishes and with hand-made ones, and checks the Knative retry
// contract: 200 for done, duplicate or stale, 400 for poison, never 409,
// and nothing changes unless a fact is new. Its subtests run one after
// the other, so that the event log of the whole system must stay still.
func TestItemPolicy(t *testing.T) {
	sys := boottest.NewSystem(t)

	t.Run("every fact delivered again changes nothing and emits nothing", func(t *testing.T) {
		itemID, rsvID := confirmedDeal(t, sys)
		steps := []struct {
			name string
			do   func() boottest.Response
		}{
			{"pay", func() boottest.Response {
				return sys.Do(t, sys.URL["pay"], boottest.Buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
			}},
			{"cancel the payment", func() boottest.Response {
				return sys.Do(t, sys.URL["cancel-payment"], boottest.Buyer, http.MethodDelete, "/payments/"+payID(t, sys, rsvID), nil)
			}},
			{"pay again", func() boottest.Response {
				return sys.Do(t, sys.URL["pay"], boottest.Buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
			}},
			{"review", func() boottest.Response {
				return sys.Do(t, sys.URL["write-review"], boottest.Buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": rsvID, "score": 4})
			}},
		}
		for _, step := range steps {
			res := step.do()
			require.Less(t, res.Status, 300, "%s: %s", step.name, res.Body)
			redeliverAll(t, sys, itemID, step.name)
		}
		assert.Equal(t, "SOLDOUT", sys.MustGetItem(t, itemID)["status"])
		assert.EqualValues(t, 1, sys.MustGetItem(t, itemID)["reviewCount"], "review.written scored once")
		assert.EqualValues(t, 4, sys.MustGetItem(t, itemID)["score"])
		assert.Len(t, sys.EventsAbout(events.ItemScored, itemID), 1)

		// The reservation that held a second item goes away.
		item2ID, rsv2ID := confirmedDeal(t, sys)
		res := sys.Do(t, sys.URL["confirm-reservation"], boottest.Buyer, http.MethodDelete, "/reservations/"+rsv2ID, nil)
		require.Equal(t, http.StatusNoContent, res.Status, "%s", res.Body)
		require.Equal(t, "CREATED", sys.MustGetItem(t, item2ID)["status"], "released")
		redeliverAll(t, sys, item2ID, "delete the reservation")
	})

	t.Run("poison answers 400 and changes nothing", func(t *testing.T) {
		itemID, rsvID := confirmedDeal(t, sys)
		// What reservation.completed would carry once rsvID is paid: if the
		// policy took any of the events below, the item would sell out.
		completed := map[string]any{"rsvId": rsvID, "itemId": itemID, "buyerId": boottest.Buyer, "sellerId": boottest.Seller, "rsvStatus": "COMPLETED", "payId": "p1"}
		review := map[string]any{"reviewId": "rv1", "rsvId": rsvID, "itemId": itemID, "reviewerId": boottest.Buyer, "sellerId": boottest.Seller, "score": 5}
		for _, tc := range []struct {
			name string
			e    cloudevents.Event
		}{
			{"an unknown type", boottest.RawEvent(t, "carrot.reservation.paid.v1", completed)},
			{"a type of another consumer", boottest.RawEvent(t, string(events.PaymentApproved), completed)},
			{"data that is not an object", boottest.RawEvent(t, string(events.ReservationCompleted), []int{1, 2})},
			{"data of the wrong types", boottest.RawEvent(t, string(events.ReservationCompleted), map[string]any{"rsvId": 7, "itemId": true})},
			{"the payload of another fact", boottest.RawEvent(t, string(events.ReservationCompleted), review)},
			{"no rsvId", boottest.RawEvent(t, string(events.ReservationCompleted), boottest.CopyWith(completed, "rsvId", nil))},
			{"no itemId", boottest.RawEvent(t, string(events.ReservationCompleted), boottest.CopyWith(completed, "itemId", nil))},
			{"no rsvStatus", boottest.RawEvent(t, string(events.ReservationCompleted), boottest.CopyWith(completed, "rsvStatus", nil))},
			{"a review scored 9", boottest.RawEvent(t, string(events.ReviewWritten), boottest.CopyWith(review, "score", 9))},
			{"a review without reviewId", boottest.RawEvent(t, string(events.ReviewWritten), boottest.CopyWith(review, "reviewId", ""))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := snapshot(t, sys, itemID)
				assert.Equal(t, http.StatusBadRequest, sys.Deliver(t, policy, tc.e))
				assert.Equal(t, before, snapshot(t, sys, itemID))
			})
		}

		for _, tc := range []struct{ name, contentType, body string }{
			{"plain JSON", "application/json", `{"rsvId":"` + rsvID + `","itemId":"` + itemID + `"}`},
			{"plain text", "text/plain", "reservation completed"},
			{"an empty body", "application/json", ""},
			{"structured mode without an id", "application/cloudevents+json", `{"specversion":"1.0","type":"carrot.reservation.completed.v1","source":"/carrot/reservation-policy","data":{}}`},
			{"a batch", "application/cloudevents-batch+json", `[]`},
		} {
			t.Run("not a CloudEvent: "+tc.name, func(t *testing.T) {
				before := snapshot(t, sys, itemID)
				assert.Equal(t, http.StatusBadRequest, sys.DeliverRaw(t, policy, tc.contentType, tc.body))
				assert.Equal(t, before, snapshot(t, sys, itemID))
			})
		}
		assert.Equal(t, "RESERVED", sys.MustGetItem(t, itemID)["status"])
	})

	t.Run("stale facts answer 200 and change nothing", func(t *testing.T) {
		itemID, rsvID := confirmedDeal(t, sys)
		soldID, soldRsvID := confirmedDeal(t, sys)
		sys.MustPay(t, boottest.Buyer, soldRsvID)
		rsv := func(rsvID, itemID, status string) *events.Reservation {
			return &events.Reservation{RsvID: rsvID, ItemID: itemID, BuyerID: "carl", SellerID: boottest.Seller, RsvStatus: status}
		}
		for _, tc := range []struct {
			name   string
			itemID string
			e      cloudevents.Event
		}{
			{"the deletion of a reservation that never held the item", itemID,
				boottest.Fact(t, events.ReservationDeleted, rsv("never-held", itemID, "CREATED"))},
			{"the completion of a reservation that does not hold the item", itemID,
				boottest.Fact(t, events.ReservationCompleted, rsv("never-held", itemID, "COMPLETED"))},
			{"the reopening of a reservation that does not hold the item", soldID,
				boottest.Fact(t, events.ReservationReopened, rsv("never-held", soldID, "CONFIRMED"))},
			{"the deletion of the paid reservation of a sold item", soldID,
				boottest.Fact(t, events.ReservationDeleted, rsv(soldRsvID, soldID, "CONFIRMED"))},
			{"a fact about an unknown item", "no-such-item",
				boottest.Fact(t, events.ReservationCompleted, rsv(rsvID, "no-such-item", "COMPLETED"))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := snapshot(t, sys, tc.itemID)
				assert.Equal(t, http.StatusOK, sys.Deliver(t, policy, tc.e), "done, not retried and never 409")
				assert.Equal(t, before, snapshot(t, sys, tc.itemID))
			})
		}
		assert.Equal(t, "RESERVED", sys.MustGetItem(t, itemID)["status"])
		assert.Equal(t, "SOLDOUT", sys.MustGetItem(t, soldID)["status"])
	})

	// An event is a notification, not a proof (SPEC 5): a review that was
	// never written, or a fact ahead of its reservation, is refused as
	// poison (dead-lettered with the reason) and counts nothing.
	t.Run("facts their sources contradict answer 400 and change nothing", func(t *testing.T) {
		itemID, rsvID := confirmedDeal(t, sys)
		for _, tc := range []struct {
			name string
			e    cloudevents.Event
		}{
			{"a review that was never written", boottest.Fact(t, events.ReviewWritten,
				&events.Review{ReviewID: "rv2", RsvID: rsvID, ItemID: itemID, ReviewerID: boottest.Buyer, SellerID: boottest.Seller, Score: 3})},
			{"a completion ahead of its reservation", boottest.Fact(t, events.ReservationCompleted,
				&events.Reservation{RsvID: rsvID, ItemID: itemID, BuyerID: boottest.Buyer, SellerID: boottest.Seller, RsvStatus: "COMPLETED", Version: 99})},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := snapshot(t, sys, itemID)
				assert.Equal(t, http.StatusBadRequest, sys.Deliver(t, policy, tc.e), "refused, not retried and never 409")
				assert.Equal(t, before, snapshot(t, sys, itemID))
			})
		}
		assert.Equal(t, "RESERVED", sys.MustGetItem(t, itemID)["status"])
	})
}

// redeliverAll delivers again every fact about itemID the policy takes,
// in the order they were published, and checks that each answers 200 and
// leaves the item and the event log as they were.
func redeliverAll(t *testing.T, sys *boottest.System, itemID, after string) {
	t.Helper()
	var again []cloudevents.Event
	for _, typ := range takes {
		again = append(again, sys.EventsAbout(typ, itemID)...)
	}
	require.NotEmpty(t, again)
	before := snapshot(t, sys, itemID)
	for _, e := range again {
		assert.Equal(t, http.StatusOK, sys.Deliver(t, policy, e), "after %s: %s %s", after, e.Type(), e.ID())
		assert.Equal(t, before, snapshot(t, sys, itemID), "after %s: %s %s changed something", after, e.Type(), e.ID())
	}
}

// state is what a delivery must not change: the item as the API shows it
// ("" for an unknown item) and how many events the system published.
type state struct {
	item      string
	published int
}

func snapshot(t *testing.T, sys *boottest.System, itemID string) state {
	t.Helper()
	return state{item: sys.Shown(t, "register-item", "", "/items/"+itemID), published: len(sys.Events())}
}

// payID returns the id of the payment a reservation's completion names.
func payID(t *testing.T, sys *boottest.System, rsvID string) string {
	t.Helper()
	var id string
	for _, r := range boottest.Payloads[*events.Reservation](t, sys, events.ReservationCompleted) {
		if r.RsvID == rsvID {
			id = r.PayID
		}
	}
	require.NotEmpty(t, id, "reservation %s was never completed", rsvID)
	return id
}

// confirmedDeal lists an item for seller, opens buyer's chat on it and
// lets the seller confirm it, through the functions that own the routes.
func confirmedDeal(t *testing.T, sys *boottest.System) (itemID, rsvID string) {
	t.Helper()
	return sys.MustConfirmedDeal(t, boottest.Seller, boottest.Buyer, map[string]any{"name": "camera", "category": "electronics", "price": 80_000},
		boottest.Meeting(boottest.Day(9), "20:00", "Yeonnam park"))
}
