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

// TestOutboxRelay takes the broker down (SPEC section 6, "Broker down"):
// commands still succeed and keep their events in the outbox, a command
// refused with 409 leaves none there, and once the broker is back one
// PingSource tick to outbox-relay delivers every waiting event, in commit
// order and exactly once. The broker only logs what it gets, so this test
// sees exactly what the relay sent; TestOutboxRelayEffects follows the
// events to their consumers. The subtests share one outbox and run in
// order.
func TestOutboxRelay(t *testing.T) {
	outage := &boottest.SinkOutage{}
	sys := boottest.NewSystem(t, boottest.WithSinkOutage(outage), boottest.WithoutDelivery())
	var rsvID string
	var waiting []cloudevents.Event

	t.Run("broker down: commands answer 2xx and their events wait in the outbox", func(t *testing.T) {
		outage.Begin()
		var itemID, payID string
		itemID, rsvID, payID = sys.MustPaidDeal(t, boottest.Seller, boottest.Buyer, map[string]any{"name": "guitar", "category": "music", "price": 120_000}, meeting)

		assert.Empty(t, sys.Events(), "the broker got nothing")
		waiting = outbox(t, sys)
		assert.Equal(t, []string{
			"item.registered " + itemID, "reservation.requested " + rsvID, "reservation.confirmed " + rsvID,
			"item.reserved " + itemID, "payment.approved " + payID,
		}, facts(waiting))
	})

	t.Run("broker down: a command refused with 409 leaves no outbox row", func(t *testing.T) {
		require.NotEmpty(t, waiting, "needs the previous subtest")
		res := sys.Do(t, sys.URL["pay"], boottest.Buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
		require.Equal(t, http.StatusConflict, res.Status, "paid already: %s", res.Body)

		// Confirmations of many chats on one item race; the losers may
		// lose in their own transaction, after writing their event ops.
		contestedID := sys.MustItem(t, boottest.Seller, map[string]any{"name": "drum", "category": "music", "price": 1})
		var chats []string
		for _, b := range []string{"b1", "b2", "b3", "b4", "b5", "b6"} {
			chats = append(chats, sys.MustChat(t, b, contestedID))
		}
		statuses := confirmAtOnce(t, sys, chats)
		won := 0
		for i, status := range statuses {
			switch status {
			case http.StatusOK:
				won++
				assert.Equal(t, "CONFIRMED", sys.MustGetReservation(t, boottest.Seller, chats[i])["rsvStatus"])
			case http.StatusConflict:
				assert.Equal(t, "CREATED", sys.MustGetReservation(t, boottest.Seller, chats[i])["rsvStatus"], "a loser changed nothing")
			default:
				t.Errorf("confirmation %d answered %d", i, status)
			}
		}
		assert.Equal(t, 1, won, "one confirmation wins")

		pending := outbox(t, sys)
		var confirmed, reserved int
		for _, e := range pending {
			if e.Extensions()[events.PartitionKeyExtension] != contestedID {
				continue
			}
			switch events.Type(e.Type()) {
			case events.ReservationConfirmed:
				confirmed++
			case events.ItemReserved:
				reserved++
			}
		}
		assert.Equal(t, 1, confirmed, "one reservation.confirmed waits, the winner's")
		assert.Equal(t, 1, reserved, "one item.reserved waits, the winner's")
		require.GreaterOrEqual(t, len(pending), len(waiting))
		assert.Equal(t, facts(waiting), facts(pending[:len(waiting)]), "the 409 of the payment added nothing")
		waiting = pending
	})

	t.Run("broker back: one tick relays every event in order, exactly once", func(t *testing.T) {
		require.NotEmpty(t, waiting, "needs the previous subtests")
		outage.End()
		assert.Equal(t, http.StatusOK, sys.Deliver(t, "outbox-relay", tick()))

		assert.Empty(t, facts(outbox(t, sys)), "the outbox is empty")

		relayed := map[string]bool{}
		for _, e := range waiting {
			relayed[e.ID()] = true
		}
		var got []cloudevents.Event
		for _, e := range sys.Events() {
			if relayed[e.ID()] {
				got = append(got, e)
			}
		}
		assert.Equal(t, facts(waiting), facts(got), "each waiting event once, in commit order")
		assert.Equal(t, ids(waiting), ids(got))
		assert.Len(t, sys.Events(), len(waiting), "nothing else")

		published := len(sys.Events())
		assert.Equal(t, http.StatusOK, sys.Deliver(t, "outbox-relay", tick()))
		assert.Equal(t, published, len(sys.Events()), "a second tick sends nothing again")
	})

	t.Run("broker back: commands publish at once again", func(t *testing.T) {
		published := len(sys.Events())
		newID := sys.MustItem(t, boottest.Seller, map[string]any{"name": "amp", "category": "music", "price": 5})
		evs := sys.Events()[published:]
		assert.Equal(t, []string{"item.registered " + newID}, facts(evs))
		assert.Empty(t, facts(outbox(t, sys)))
	})
}

// TestOutboxRelayEffects follows relayed events to their consumers: a
// payment approved while the broker was down completes its reservation and
// sells its item once the relay sends it, and the facts those policies
// publish in turn reach the broker too.
func TestOutboxRelayEffects(t *testing.T) {
	outage := &boottest.SinkOutage{}
	sys := boottest.NewSystem(t, boottest.WithSinkOutage(outage))
	itemID, rsvID := sys.MustConfirmedDeal(t, boottest.Seller, boottest.Buyer, map[string]any{"name": "piano", "category": "music", "price": 900_000}, meeting)

	outage.Begin()
	payID := sys.MustPay(t, boottest.Buyer, rsvID)
	assert.Equal(t, "CONFIRMED", sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"], "the policies have not heard of the payment yet")
	assert.Equal(t, "RESERVED", sys.MustGetItem(t, itemID)["status"])

	outage.End()
	assert.Equal(t, http.StatusOK, sys.Deliver(t, "outbox-relay", tick()))
	assert.Equal(t, "COMPLETED", sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"])
	assert.Equal(t, "SOLDOUT", sys.MustGetItem(t, itemID)["status"])
	assert.Equal(t, []string{"payment.approved " + payID, "reservation.completed " + rsvID, "item.soldout " + itemID},
		facts(sys.Events()[len(sys.Events())-3:]), "the payment, then what it caused, each once")
	assert.Len(t, sys.EventsOf(events.PaymentApproved), 1)
	assert.Empty(t, facts(outbox(t, sys)), "the outbox is empty")
}

var meeting = boottest.Meeting(boottest.Day(7), "19:00", "Seongsu")

// outbox returns the events waiting in the outbox, in commit order.
func outbox(t *testing.T, sys *boottest.System) []cloudevents.Event {
	t.Helper()
	waiting, err := sys.Store.PendingEvents(t.Context(), 0)
	require.NoError(t, err)
	return waiting
}

// tick is the event a PingSource sends on the relay's schedule.
func tick() cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(events.NewID())
	e.SetType("dev.knative.sources.ping")
	e.SetSource("/apis/v1/namespaces/carrot/pingsources/outbox-relay")
	_ = e.SetData(cloudevents.ApplicationJSON, map[string]string{"message": "relay the outbox"})
	return e
}

// confirmAtOnce lets the seller confirm every reservation in rsvIDs from
// its own goroutine, all released at once, and returns the statuses.
func confirmAtOnce(t *testing.T, sys *boottest.System, rsvIDs []string) []int {
	t.Helper()
	token := "Bearer " + sys.Token(t, boottest.Seller)
	answers := boottest.Burst(t, len(rsvIDs), func(i int) (boottest.Response, error) {
		return boottest.Send(http.MethodPatch, sys.URL["confirm-reservation"]+"/reservations/"+rsvIDs[i],
			`{"rsvStatus":"CONFIRMED","rsvDate":"`+boottest.Day(8)+`","rsvTime":"08:00"}`, "Authorization", token)
	})
	statuses := make([]int, len(answers))
	for i, a := range answers {
		statuses[i] = a.Status
	}
	return statuses
}

// facts names events as "type-without-prefix-and-version subject".
func facts(evs []cloudevents.Event) []string {
	out := []string{}
	for _, e := range evs {
		name := strings.TrimSuffix(strings.TrimPrefix(e.Type(), "carrot."), ".v1")
		out = append(out, name+" "+e.Subject())
	}
	return out
}

func ids(evs []cloudevents.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.ID())
	}
	return out
}
