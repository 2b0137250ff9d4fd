package broker

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFiltersDeliverOnlyMatchingEvents(t *testing.T) {
	t.Parallel()
	triggers := trigger("exact", "", `filters: [{exact: {type: carrot.item.registered.v1}}]`, "") +
		trigger("any-of", "", `filters: [{any: [{exact: {type: carrot.payment.approved.v1}}, {exact: {type: carrot.payment.cancelled.v1}}]}]`, "") +
		trigger("prefix", "", `filters: [{prefix: {type: carrot.reservation.}}]`, "") +
		trigger("attributes", "", `filter: {attributes: {type: carrot.item.registered.v1, partitionkey: item-1}}`, "") +
		trigger("everything", "", "", "")
	subscribers := map[string]*fakeSubscriber{}
	urls := map[string]string{}
	for _, name := range []string{"exact", "any-of", "prefix", "attributes", "everything"} {
		subscribers[name] = newFakeSubscriber(t, nil)
		urls[name] = subscribers[name].URL
	}
	_, b := MustStart(t, triggers, urls)

	published := []cloudevents.Event{
		newEvent("1", "carrot.item.registered.v1", "item-1"),
		newEvent("2", "carrot.item.registered.v1", "item-2"),
		newEvent("3", "carrot.payment.approved.v1", "item-1"),
		newEvent("4", "carrot.payment.cancelled.v1", "item-2"),
		newEvent("5", "carrot.reservation.requested.v1", "item-1"),
		newEvent("6", "carrot.reservation.completed.v1", "item-3"),
		newEvent("7", "carrot.chat.message.posted.v1", "item-3"),
	}
	for _, e := range published {
		MustPublish(t, b.Ingress(), e)
	}
	statuses := MustIdle(t, b)

	want := map[string][]string{
		"exact":      {"1", "2"},
		"any-of":     {"3", "4"},
		"prefix":     {"5", "6"},
		"attributes": {"1"},
		"everything": {"1", "2", "3", "4", "5", "6", "7"},
	}
	for name, ids := range want {
		assert.ElementsMatch(t, ids, subscribers[name].ids(), name)
		status := statusOf(t, statuses, name)
		assert.EqualValues(t, len(ids), status.Delivered, name)
		assert.EqualValues(t, len(published)-len(ids), status.Filtered, name)
		assert.Zero(t, status.Retried+status.DeadLettered+status.Dropped, name)
	}
}

func TestOrderedTriggerKeepsEachItemInOrder(t *testing.T) {
	t.Parallel()
	triggers := trigger("ordered", ordered, "", `    retry: 10
    backoffPolicy: linear
    backoffDelay: PT0.1S
`)
	subscriber := newFakeSubscriber(t, func(d delivery, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(time.Duration(rand.IntN(1000)) * time.Microsecond)
		// Every fifth event of an item fails once, so that its partition
		// waits for the retry.
		if strings.HasSuffix(d.event.ID(), "0") && d.attempt == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	_, b := MustStart(t, triggers, map[string]string{"ordered": subscriber.URL})

	const items, perItem = 12, 15
	want := map[string][]string{}
	for seq := range perItem {
		for i := range items {
			item := fmt.Sprintf("item-%d", i)
			id := fmt.Sprintf("%s/%02d", item, 2*seq)
			want[item] = append(want[item], id)
			MustPublish(t, b.Ingress(), newEvent(id, "carrot.item.updated.v1", item))
		}
	}
	status := statusOf(t, MustIdle(t, b), "ordered")

	got := map[string][]string{}
	for _, id := range subscriber.ids() {
		item, _, _ := strings.Cut(id, "/")
		if seen := got[item]; len(seen) > 0 && seen[len(seen)-1] == id {
			continue // the retry right after the failed attempt
		}
		got[item] = append(got[item], id)
	}
	assert.Equal(t, want, got, "every item's events arrive once each, in order")
	assert.EqualValues(t, items*perItem, status.Delivered)
	assert.EqualValues(t, items*((perItem+4)/5), status.Retried)
}

func TestUnorderedTriggerDeliversConcurrentlyWithinItsBound(t *testing.T) {
	t.Parallel()
	subscriber := newFakeSubscriber(t, func(_ delivery, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(30 * time.Millisecond)
		w.WriteHeader(http.StatusOK)
	})
	_, b := MustStart(t, trigger("unordered", "", "", ""), map[string]string{"unordered": subscriber.URL}, WithMaxInFlight(4))

	for i := range 24 {
		MustPublish(t, b.Ingress(), newEvent(fmt.Sprintf("u-%d", i), "carrot.item.updated.v1", "one-item"))
	}
	status := statusOf(t, MustIdle(t, b), "unordered")

	assert.EqualValues(t, 24, status.Delivered)
	assert.Len(t, subscriber.ids(), 24)
	assert.Greater(t, subscriber.maxFlight, 1, "one partition delivers several at once")
	assert.LessOrEqual(t, subscriber.maxFlight, 4, "but no more than the bound")
}

func TestDeliveryIsBinaryUnlessTheFormatIsJSON(t *testing.T) {
	t.Parallel()
	binary, structured := newFakeSubscriber(t, status(http.StatusAccepted)), newFakeSubscriber(t, status(http.StatusAccepted))
	_, b := MustStart(t, trigger("binary", "", "", "")+trigger("json", "", "", "    format: json\n"),
		map[string]string{"binary": binary.URL, "json": structured.URL})

	MustPublish(t, b.Ingress(), newEvent("f-1", "carrot.item.updated.v1", "item-1"))
	MustIdle(t, b)

	require.Len(t, binary.received(), 1)
	require.Len(t, structured.received(), 1)
	bin, js := binary.received()[0].header, structured.received()[0].header
	assert.Equal(t, "reply", bin.Get("Prefer"))
	assert.Equal(t, "reply", js.Get("Prefer"))
	assert.Equal(t, "f-1", bin.Get("Ce-Id"), "binary mode")
	assert.Empty(t, js.Get("Ce-Id"))
	assert.True(t, strings.HasPrefix(js.Get("Content-Type"), "application/cloudevents+json"), "structured mode: %v", js)
}
