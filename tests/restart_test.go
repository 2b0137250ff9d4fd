package tests

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/tests/system"
)

// TestRestartLosesNothing stops the runtime with SIGINT in the middle of a
// deal, right after the seller confirmed and before the events of the
// first steps have necessarily reached MyPage, and starts it again on the
// same data folder (Kafka's log and offsets) and tables. The deal then
// completes: every fact from before the restart shows on MyPage, and each
// consumer's effect is applied once even when events are delivered again
// (one open chat, one review counted).
func TestRestartLosesNothing(t *testing.T) {
	sys := MustStart(t, system.Options{})

	itemID := sys.MustRegister(t, seller, "bicycle", 120000)
	res := sys.MustDo(t, buyer, http.MethodPost, "/reservations", map[string]any{"itemId": itemID, "rsvPlace": "park"})
	require.Equal(t, http.StatusCreated, res.Status, "chat: %s", res)
	rsvID := res.JSON(t)["rsvId"].(string)
	sys.MustConfirm(t, seller, rsvID, system.Day(30), "09:00", "park gate")

	sys.MustRestart(t)

	sys.EventuallyPage(t, seller, itemID, map[string]any{
		"itemName": "bicycle", "itemStatus": "RESERVED", "rsvId": rsvID, "rsvStatus": "CONFIRMED", "buyerId": buyer,
		"rsvPlace": "park gate", "openChats": 1,
	})
	payID := sys.MustPay(t, buyer, rsvID)
	sys.EventuallyPage(t, seller, itemID, map[string]any{
		"itemStatus": "SOLDOUT", "rsvStatus": "COMPLETED", "payId": payID, "payStatus": "APPROVED", "openChats": 1,
	})
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res := sys.Do(t.Context(), buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": rsvID, "score": 5})
		if assert.NoError(c, res.Err) {
			assert.Equal(c, http.StatusCreated, res.Status, "review: %s", res)
		}
	}, settle, tick)
	sys.EventuallyPage(t, seller, itemID, map[string]any{"score": 5, "reviewCount": 1, "openChats": 1, "itemStatus": "SOLDOUT"})
	sys.EventuallyQuiet(t)

	// Quiet now, the view and the items table still count everything once.
	row := sys.EventuallyPage(t, seller, itemID, map[string]any{"reviewCount": 1, "openChats": 1})
	assert.Equal(t, "APPROVED", row["payStatus"])
	item := sys.MustGetItem(t, itemID)
	assert.Equal(t, "SOLDOUT", item["status"])
	assert.EqualValues(t, 5, item["score"])
	assert.EqualValues(t, 1, item["reviewCount"])
	res = sys.MustDo(t, buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": rsvID, "score": 1})
	assert.Equal(t, http.StatusConflict, res.Status, "a second review: %s", res)
	res = sys.MustDo(t, buyer, http.MethodGet, "/myPages?userId="+buyer, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res)
	buying, _ := res.JSON(t)["buying"].([]any)
	assert.Len(t, buying, 1)

	// Kafka kept the log across the restart: the facts from before it are
	// still on the broker topic.
	types := map[string]bool{}
	for _, e := range sys.Events(t, brokerTopic) {
		if e.Extensions()[events.PartitionKeyExtension] == itemID {
			types[e.Type()] = true
		}
	}
	for _, typ := range []events.Type{events.ItemRegistered, events.ReservationRequested, events.ReservationConfirmed,
		events.PaymentApproved, events.ReservationCompleted, events.ItemSoldOut, events.ReviewWritten, events.ItemScored} {
		assert.True(t, types[string(typ)], "the broker topic has no %s of the item", typ)
	}

	sys.MustStop(t)
}
