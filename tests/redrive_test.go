package tests

// Facts lost or held back by an outage still reach their consumers:
// re-driven from the dead-letter topic, repaired by the reconciler, or
// drained from the outbox when Kafka returns.

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/tests/system"
)

// TestRedriveAfterAConsumerOutage dead-letters an event during an outage of
// the mypage function, then re-drives it once mypage is back: its effect
// (one open chat on the item's row) lands exactly once, and re-driving
// again changes nothing. The triggers' real retries outlast a 13-minute
// outage, so the runtime reads a copy of knative/eventing whose triggers
// give up after two retries 0.1 s apart: the same manifests otherwise.
// The outbox relay ticks once an hour here: ticking every second, it may
// send the chat's event while request-chat is still sending it, and the
// second copy is dead-lettered too (delivery is at least once), which
// would blur the counts this test checks.
func TestRedriveAfterAConsumerOutage(t *testing.T) {
	sys := MustStart(t, system.Options{RelayEvery: time.Hour, Env: map[string]string{"CARROT_EVENTING_DIR": mustImpatientEventing(t)}})

	itemID := sys.MustRegister(t, seller, "lamp", 5000)
	sys.EventuallyPage(t, seller, itemID, map[string]any{"itemStatus": "CREATED", "openChats": 0})
	before := sys.EventuallyQuiet(t)

	mustControl(t, sys, http.MethodPost, "/_local/functions/mypage/outage")
	sys.MustChat(t, buyer, itemID) // while mypage is down
	eventuallyDeadLettered(t, sys, "mypage", before.Trigger("mypage").DeadLettered+1, "the reservation's event")
	mustControl(t, sys, http.MethodDelete, "/_local/functions/mypage/outage")
	sys.EventuallyQuiet(t)
	sys.EventuallyPage(t, seller, itemID, map[string]any{"openChats": 0}) // the event is lost to MyPage until re-driven

	out := mustControl(t, sys, http.MethodPost, "/_local/dead-letters/redrive")
	assert.EqualValues(t, 1, out["redriven"], "redrive answered %v", out)
	sys.EventuallyPage(t, seller, itemID, map[string]any{"openChats": 1, "itemStatus": "CREATED"})
	after := sys.EventuallyQuiet(t)
	assert.Equal(t, before.Trigger("mypage").DeadLettered+1, after.Trigger("mypage").DeadLettered, "nothing dead-lettered again")
	assert.EqualValues(t, 1, after.DeadLetters.Redriven, "/_local/status counts the re-driven event")

	out = mustControl(t, sys, http.MethodPost, "/_local/dead-letters/redrive")
	assert.EqualValues(t, 0, out["redriven"], "re-driving again re-drives nothing: %v", out)
	again := sys.EventuallyQuiet(t)
	assert.Equal(t, after.Triggers, again.Triggers, "re-driving again changes nothing")
	row := sys.EventuallyPage(t, seller, itemID, map[string]any{"openChats": 1})
	assert.EqualValues(t, 1, row["openChats"], "the chat counts once")
	assert.EqualValues(t, 2, again.DeadLetters.Redrives)

	sys.MustStop(t)
}

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
	rsvID := sys.MustChat(t, buyer, itemID)
	sys.MustConfirm(t, seller, rsvID, system.Day(7), "18:30", "Mangwon")
	sys.EventuallyPage(t, seller, itemID, map[string]any{"itemStatus": "RESERVED", "rsvStatus": "CONFIRMED"})
	before := sys.EventuallyQuiet(t)

	mustControl(t, sys, http.MethodPost, "/_local/functions/item-policy/outage")
	sys.MustPay(t, buyer, rsvID)
	eventuallyDeadLettered(t, sys, "item-policy", before.Trigger("item-policy").DeadLettered+1, "the reservation's completion")
	mustControl(t, sys, http.MethodDelete, "/_local/functions/item-policy/outage")
	lost := time.Now()

	// No redrive: the reconciler alone sells the item.
	sys.EventuallyItemStatus(t, itemID, "SOLDOUT")
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

// TestOutboxDrainsWhenKafkaReturns stops Kafka, lists an item (the command
// succeeds; its event waits in the outbox), starts Kafka again and expects
// the item on MyPage within seconds, although the relay ticks only once a
// minute: the function's publisher drains its outbox as soon as the
// broker answers again.
func TestOutboxDrainsWhenKafkaReturns(t *testing.T) {
	sys := MustStart(t, system.Options{RelayEvery: time.Minute})

	sys.MustWarmUp(t)

	mustControl(t, sys, http.MethodPost, "/_local/kafka/down")
	itemID := sys.MustRegister(t, seller, "kettle", 2000)
	time.Sleep(3 * time.Second) // the publisher fails, then keeps probing the broker
	mustControl(t, sys, http.MethodPost, "/_local/kafka/up")
	up := time.Now()

	const fewSeconds = 15 * time.Second
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res := sys.Do(t.Context(), seller, http.MethodGet, "/myPages/"+itemID, nil)
		if assert.NoError(c, res.Err) && assert.Equal(c, http.StatusOK, res.Status, "%s", res) {
			assert.Equal(c, "CREATED", res.JSON(c)["itemStatus"])
		}
	}, fewSeconds, tick, "the item listed while Kafka was down is not on MyPage %s after Kafka came back (the relay ticks every minute)", fewSeconds)
	t.Logf("on MyPage %s after Kafka came back", time.Since(up).Round(100*time.Millisecond))

	sys.MustStop(t)
}

// mustControl calls a /_local control and requires 200.
func mustControl(t *testing.T, sys *System, method, path string) map[string]any {
	t.Helper()
	res := sys.MustDo(t, "", method, path, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s %s: %s", method, path, res)
	return res.JSON(t)
}

// eventuallyDeadLettered waits until the trigger of fn has dead-lettered
// at least n events in all; what names the event that was lost.
func eventuallyDeadLettered(t *testing.T, sys *System, fn string, n int64, what string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		st, err := sys.Status(t.Context())
		if assert.NoError(c, err) {
			assert.GreaterOrEqual(c, st.Trigger(fn).DeadLettered, n)
		}
	}, settle, tick, "%s was not dead-lettered during the outage", what)
}

// mustImpatientEventing copies knative/eventing to a temporary folder with
// every delivery cut to two retries 0.1 s apart, and returns the folder.
func mustImpatientEventing(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(repoRoot, "knative", "eventing")
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		text := string(b)
		if strings.Contains(text, "retry: 40") {
			text = strings.NewReplacer("retry: 40", "retry: 2", "backoffDelay: PT1S", "backoffDelay: PT0.1S").Replace(text)
			require.NotContains(t, text, "retry: 40")
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), []byte(text), 0o644))
	}
	return dir
}
