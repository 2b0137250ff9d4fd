package tests

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/tests/system"
)

// TestReconcilerRepairsALostFact dead-letters the reservation.completed
// that would sell an item (item-policy is down and its trigger gives up
// fast), brings item-policy back and re-drives nothing: the reconciler,
// woken every two seconds and settling two seconds behind, finds the
// completed reservation in the change log and sells the item, and MyPage
// follows.
func TestReconcilerRepairsALostFact(t *testing.T) {
	sys := MustStart(t, system.Options{Env: map[string]string{
		"CARROT_EVENTING_DIR": mustImpatientEventing(t), "CARROT_RECONCILE_EVERY": "2s", "CARROT_RECONCILE_SETTLE": "2s",
	}})
	itemID := sys.MustRegister(t, seller, "record player", 70000)
	res := sys.MustDo(t, buyer, http.MethodPost, "/reservations", map[string]any{"itemId": itemID})
	require.Equal(t, http.StatusCreated, res.Status, "chat: %s", res)
	rsvID := res.JSON(t)["rsvId"].(string)
	res = sys.MustDo(t, seller, http.MethodPatch, "/reservations/"+rsvID, map[string]any{
		"rsvStatus": "CONFIRMED", "rsvDate": "2026-12-01", "rsvTime": "18:30", "rsvPlace": "Mangwon",
	})
	require.Equal(t, http.StatusOK, res.Status, "confirm: %s", res)
	sys.EventuallyPage(t, seller, itemID, map[string]any{"itemStatus": "RESERVED", "rsvStatus": "CONFIRMED"})
	before := sys.EventuallyQuiet(t)

	mustControl(t, sys, http.MethodPost, "/_local/functions/item-policy/outage")
	res = sys.MustDo(t, buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
	require.Equal(t, http.StatusCreated, res.Status, "pay: %s", res)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		st, err := sys.Status(t.Context())
		if assert.NoError(c, err) {
			assert.Greater(c, st.Trigger("item-policy").DeadLettered, before.Trigger("item-policy").DeadLettered)
		}
	}, settle, tick, "the reservation's completion was not dead-lettered during the outage")
	mustControl(t, sys, http.MethodDelete, "/_local/functions/item-policy/outage")
	lost := time.Now()

	// No redrive: the reconciler alone sells the item.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res := sys.Do(t.Context(), "", http.MethodGet, "/items/"+itemID, nil)
		if assert.NoError(c, res.Err) && assert.Equal(c, http.StatusOK, res.Status) {
			assert.Equal(c, "SOLDOUT", res.JSON(c)["status"])
		}
	}, settle, tick, "the reconciler did not sell the item")
	t.Logf("sold %s after the outage ended", time.Since(lost).Round(100*time.Millisecond))
	sys.EventuallyPage(t, seller, itemID, map[string]any{"itemStatus": "SOLDOUT", "rsvStatus": "COMPLETED", "payStatus": "APPROVED"})

	status := mustControl(t, sys, http.MethodGet, "/_local/status")
	rec, _ := status["reconciler"].(map[string]any)
	require.NotNil(t, rec, "/_local/status shows the reconciler: %v", status)
	// The runtime counts a run from the reconciler's answer; an answer lost
	// to an instance scaling down (the work is done, the tick is not) is
	// not counted, so the count is not asserted, only that runs happened.
	assert.GreaterOrEqual(t, rec["runs"], float64(1), "the reconciler ran: %v", rec)
	sys.MustStop(t)
}
