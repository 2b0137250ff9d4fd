package main

import (
	"net/http"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/infra/boot/boottest"
)

const policy = "reservation-policy"

// TestReservationPolicy drives the reservation policy with the payment
// facts the real flow publishes and with hand-made ones, and checks the
// Knative retry contract: 200 for done, duplicate or stale, 400 for
// poison, never 409, and nothing changes unless a fact is new. Its
// subtests run one after the other, so that the event log of the whole
// system must stay still.
func TestReservationPolicy(t *testing.T) {
	sys := boottest.NewSystem(t)

	t.Run("every payment fact delivered again changes nothing and emits nothing", func(t *testing.T) {
		itemID, rsvID := confirmedDeal(t, sys)
		var payIDs []string
		pay := func() boottest.Response {
			res := sys.Do(t, sys.URL["pay"], boottest.Buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
			if res.Status == http.StatusCreated {
				payIDs = append(payIDs, res.JSON(t)["payId"].(string))
			}
			return res
		}
		cancel := func() boottest.Response {
			return sys.Do(t, sys.URL["cancel-payment"], boottest.Seller, http.MethodDelete, "/payments/"+payIDs[len(payIDs)-1], nil)
		}
		for _, step := range []struct {
			name      string
			do        func() boottest.Response
			rsvStatus string
		}{
			{"pay", pay, "COMPLETED"},
			{"cancel", cancel, "CONFIRMED"},
			{"pay again", pay, "COMPLETED"},
			{"cancel again", cancel, "CONFIRMED"},
		} {
			res := step.do()
			require.Less(t, res.Status, 300, "%s: %s", step.name, res.Body)
			require.Equal(t, step.rsvStatus, sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"], step.name)

			// Every payment fact so far, the old ones included: an approval
			// of a cancelled payment must not complete the reservation again.
			again := append(sys.EventsAbout(events.PaymentApproved, itemID), sys.EventsAbout(events.PaymentCancelled, itemID)...)
			before := snapshot(t, sys, rsvID, itemID)
			for _, e := range again {
				assert.Equal(t, http.StatusOK, sys.Deliver(t, policy, e), "after %s: %s %s", step.name, e.Type(), e.Subject())
				assert.Equal(t, before, snapshot(t, sys, rsvID, itemID), "after %s: %s %s changed something", step.name, e.Type(), e.Subject())
			}
		}
		assert.Len(t, sys.EventsAbout(events.ReservationCompleted, itemID), 2)
		assert.Len(t, sys.EventsAbout(events.ReservationReopened, itemID), 2)
		assert.Equal(t, "RESERVED", sys.MustGetItem(t, itemID)["status"])
	})

	t.Run("poison answers 400 and changes nothing", func(t *testing.T) {
		itemID, rsvID := confirmedDeal(t, sys)
		// What payment.approved would carry: if the policy took any of the
		// events below, the reservation would be completed.
		approved := map[string]any{"payId": "p1", "rsvId": rsvID, "itemId": itemID, "buyerId": boottest.Buyer, "sellerId": boottest.Seller, "amount": 80_000, "status": "APPROVED"}
		for _, tc := range []struct {
			name string
			e    cloudevents.Event
		}{
			{"an unknown type", boottest.RawEvent(t, "carrot.payment.settled.v1", approved)},
			{"a type of another consumer", boottest.RawEvent(t, string(events.ReservationCompleted), approved)},
			{"data that is not an object", boottest.RawEvent(t, string(events.PaymentApproved), "approved")},
			{"data of the wrong types", boottest.RawEvent(t, string(events.PaymentApproved), boottest.CopyWith(approved, "amount", "80000"))},
			{"the payload of another fact", boottest.RawEvent(t, string(events.PaymentApproved),
				map[string]any{"rsvId": rsvID, "itemId": itemID, "buyerId": boottest.Buyer, "sellerId": boottest.Seller, "rsvStatus": "CONFIRMED"})},
			{"no payId", boottest.RawEvent(t, string(events.PaymentApproved), boottest.CopyWith(approved, "payId", nil))},
			{"no rsvId", boottest.RawEvent(t, string(events.PaymentApproved), boottest.CopyWith(approved, "rsvId", nil))},
			{"no buyerId", boottest.RawEvent(t, string(events.PaymentApproved), boottest.CopyWith(approved, "buyerId", nil))},
			{"no status", boottest.RawEvent(t, string(events.PaymentApproved), boottest.CopyWith(approved, "status", nil))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := snapshot(t, sys, rsvID, itemID)
				assert.Equal(t, http.StatusBadRequest, sys.Deliver(t, policy, tc.e))
				assert.Equal(t, before, snapshot(t, sys, rsvID, itemID))
			})
		}

		for _, tc := range []struct{ name, contentType, body string }{
			{"plain JSON", "application/json", `{"payId":"p1","rsvId":"` + rsvID + `","itemId":"` + itemID + `"}`},
			{"plain text", "text/plain", "payment approved"},
			{"an empty body", "application/json", ""},
			{"structured mode without a source", "application/cloudevents+json", `{"specversion":"1.0","id":"1","type":"carrot.payment.approved.v1","data":{}}`},
			{"an unknown spec version", "application/cloudevents+json", `{"specversion":"9.9","id":"1","source":"/x","type":"carrot.payment.approved.v1"}`},
		} {
			t.Run("not a CloudEvent: "+tc.name, func(t *testing.T) {
				before := snapshot(t, sys, rsvID, itemID)
				assert.Equal(t, http.StatusBadRequest, sys.DeliverRaw(t, policy, tc.contentType, tc.body))
				assert.Equal(t, before, snapshot(t, sys, rsvID, itemID))
			})
		}
		assert.Equal(t, "CONFIRMED", sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"])
	})

	// An event is a notification, not a proof (SPEC 5): payments that do
	// not exist are refused as poison (dead-lettered with the reason).
	t.Run("payment facts their sources contradict answer 400 and change nothing", func(t *testing.T) {
		itemID, rsvID := confirmedDeal(t, sys)
		// A back-up buyer's chat on the same item, never confirmed.
		openRsvID := sys.MustChat(t, "carl", itemID)
		paidItemID, paidRsvID := confirmedDeal(t, sys)
		sys.MustPay(t, boottest.Buyer, paidRsvID)

		payment := func(payID, rsvID, itemID, status string) *events.Payment {
			return &events.Payment{PayID: payID, RsvID: rsvID, ItemID: itemID, BuyerID: boottest.Buyer, SellerID: boottest.Seller, Amount: 1, Status: status}
		}
		for _, tc := range []struct {
			name          string
			rsvID, itemID string
			e             cloudevents.Event
		}{
			{"an approval for an unknown reservation", "no-such-rsv", itemID,
				boottest.Fact(t, events.PaymentApproved, payment("p2", "no-such-rsv", itemID, "APPROVED"))},
			{"a cancel for an unknown reservation", "no-such-rsv", itemID,
				boottest.Fact(t, events.PaymentCancelled, payment("p2", "no-such-rsv", itemID, "DELETED"))},
			{"an approval for a reservation that is not CONFIRMED", openRsvID, itemID,
				boottest.Fact(t, events.PaymentApproved, payment("p3", openRsvID, itemID, "APPROVED"))},
			{"another approval for a completed reservation", paidRsvID, paidItemID,
				boottest.Fact(t, events.PaymentApproved, payment("p4", paidRsvID, paidItemID, "APPROVED"))},
			{"a cancel of a payment that is not the reservation's", paidRsvID, paidItemID,
				boottest.Fact(t, events.PaymentCancelled, payment("p5", paidRsvID, paidItemID, "DELETED"))},
			{"a cancel for a reservation that was never paid", rsvID, itemID,
				boottest.Fact(t, events.PaymentCancelled, payment("p6", rsvID, itemID, "DELETED"))},
			{"an approval whose payment id no storage key could hold", rsvID, itemID,
				boottest.Fact(t, events.PaymentApproved, payment(strings.Repeat("p", 3000), rsvID, itemID, "APPROVED"))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := snapshot(t, sys, tc.rsvID, tc.itemID)
				assert.Equal(t, http.StatusBadRequest, sys.Deliver(t, policy, tc.e), "refused, not retried and never 409")
				assert.Equal(t, before, snapshot(t, sys, tc.rsvID, tc.itemID))
			})
		}
		assert.Equal(t, "CONFIRMED", sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"])
		assert.Equal(t, "CREATED", sys.MustGetReservation(t, boottest.Seller, openRsvID)["rsvStatus"])
		assert.Equal(t, "COMPLETED", sys.MustGetReservation(t, boottest.Seller, paidRsvID)["rsvStatus"])
	})
}

// state is what a delivery must not change: the reservation and its item
// as the API shows them ("" when unknown) and how many events the system
// published.
type state struct {
	reservation, item string
	published         int
}

func snapshot(t *testing.T, sys *boottest.System, rsvID, itemID string) state {
	t.Helper()
	return state{
		reservation: sys.Shown(t, "request-chat", boottest.Seller, "/reservations/"+rsvID),
		item:        sys.Shown(t, "register-item", "", "/items/"+itemID),
		published:   len(sys.Events()),
	}
}

// confirmedDeal lists an item for seller, opens buyer's chat on it and
// lets the seller confirm it, through the functions that own the routes.
func confirmedDeal(t *testing.T, sys *boottest.System) (itemID, rsvID string) {
	t.Helper()
	return sys.MustConfirmedDeal(t, boottest.Seller, boottest.Buyer, map[string]any{"name": "sofa", "category": "furniture", "price": 80_000},
		boottest.Meeting(boottest.Day(15), "10:30", "Itaewon"))
}
