package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/app/apptest"
	"github.com/carrot-market/carrot/infra/dynamo"
	"github.com/carrot-market/carrot/tests/system"
)

// MustCheck asks the runtime's checker (GET /_local/check) for its report.
func (s *System) MustCheck(t require.TestingT) app.Report {
	res := s.MustDo(t, "", http.MethodGet, "/_local/check", nil)
	require.Equal(t, http.StatusOK, res.Status, "GET /_local/check: %s", res)
	var rep app.Report
	require.NoError(t, res.Decode(&rep))
	return rep
}

// EventuallyConsistent waits until the checker finds nothing.
func (s *System) EventuallyConsistent(t *testing.T) app.Report {
	t.Helper()
	var rep app.Report
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rep = s.MustCheck(c)
		assert.Empty(c, rep.Findings)
	}, settle, tick, "the checker kept finding broken rules")
	return rep
}

// MustSnapshot reads every table of the system whole.
func (s *System) MustSnapshot(t *testing.T) *app.Snapshot {
	t.Helper()
	snap, err := dynamo.New(s.DynamoDB, s.Prefix).Snapshot(t.Context())
	require.NoError(t, err)
	return snap
}

// TestRebuildViewWhileRunning drops the MyPage view while commands keep
// coming, rebuilds it through POST /_local/mypage/rebuild, and the checker
// then finds every row equal to its sources.
func TestRebuildViewWhileRunning(t *testing.T) {
	sys := MustStart(t, system.Options{})
	d := walkDeal(t, sys)
	gone := sys.MustRegister(t, seller, "lamp", 1000)
	res := sys.MustDo(t, buyer, http.MethodPost, "/reservations", map[string]any{"itemId": gone})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res)
	require.Equal(t, http.StatusNoContent, sys.MustDo(t, seller, http.MethodDelete, "/items/"+gone, nil).Status)
	sys.EventuallyQuiet(t)
	sys.EventuallyConsistent(t)
	before := sys.MustSnapshot(t)

	// Commands keep coming while the view is dropped and rebuilt.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			res := sys.Do(context.Background(), seller, http.MethodPost, "/items", map[string]any{"name": fmt.Sprintf("item-%d", i), "category": "toys", "price": 100 + i})
			var it struct{ ItemID string }
			if res.Err == nil && res.Decode(&it) == nil && it.ItemID != "" {
				sys.Do(context.Background(), lateBuyer, http.MethodPost, "/reservations", map[string]any{"itemId": it.ItemID})
			}
		}
	})

	require.NoError(t, apptest.DropView(t.Context(), dynamo.New(sys.DynamoDB, sys.Prefix), before))
	require.Equal(t, http.StatusNotFound, sys.MustDo(t, seller, http.MethodGet, "/myPages/"+d.itemID, nil).Status, "the view was not dropped")
	require.NotEmpty(t, sys.MustCheck(t).Findings)

	res = sys.MustDo(t, "", http.MethodPost, "/_local/mypage/rebuild", nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res)
	var rebuilt app.RebuildReport
	require.NoError(t, res.Decode(&rebuilt))
	assert.GreaterOrEqual(t, rebuilt.RowsWritten, len(before.Rows), "%+v", rebuilt)
	assert.GreaterOrEqual(t, rebuilt.DealsWritten, 2, "%+v", rebuilt)

	close(stop)
	wg.Wait()
	sys.EventuallyQuiet(t)
	sys.EventuallyConsistent(t)
	after := sys.MustSnapshot(t)
	for id, row := range before.Rows {
		row.UpdatedAt, row.Version = time.Time{}, 0
		got := after.Rows[id]
		got.UpdatedAt, got.Version = time.Time{}, 0
		assert.Equal(t, row, got, "row of item %s", id)
	}
	sys.EventuallyPage(t, seller, d.itemID, map[string]any{"itemStatus": "SOLDOUT", "payId": d.payID, "reviewCount": 1})

	// A second rebuild writes nothing.
	res = sys.MustDo(t, "", http.MethodPost, "/_local/mypage/rebuild", nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res)
	require.NoError(t, res.Decode(&rebuilt))
	assert.Equal(t, app.RebuildReport{Items: rebuilt.Items}, rebuilt)
	sys.MustStop(t)
}

// consumers are the triggers of knative/eventing, each named as its
// subscriber, with the types it takes.
var consumers = map[string]app.Consumer{
	"reservation-policy": app.ReservationPolicy,
	"item-policy":        app.ItemPolicy,
	"mypage":             app.MyPageProjector,
}

// TestForgedEventsChangeNothing sends forged, replayed and reordered
// deliveries of every type each trigger takes, through the broker and
// straight to each subscriber: no row of any table changes, the checker
// finds nothing, and every forgery is refused and counted (dead-lettered by
// its trigger through the broker, 400 straight to its subscriber).
func TestForgedEventsChangeNothing(t *testing.T) {
	sys := MustStart(t, system.Options{})
	d := walkDeal(t, sys)
	sys.EventuallyQuiet(t)
	sys.EventuallyConsistent(t)
	genuine := sys.Events(t, brokerTopic)
	before := sys.MustSnapshot(t)

	forged := forgeries(t, genuine, d)
	var replayed, reordered []cloudevents.Event
	for _, e := range genuine {
		if e.Extensions()[events.PartitionKeyExtension] == d.itemID && taken(e) {
			replayed = append(replayed, e)
		}
	}
	for i, e := range slices.Backward(replayed) {
		late := e.Clone()
		late.SetID(fmt.Sprintf("%s-late-%d", e.ID(), i))
		reordered = append(reordered, late)
	}
	require.NotEmpty(t, replayed)

	t.Run("through the broker", func(t *testing.T) {
		start := sys.EventuallyQuiet(t)
		for _, batch := range [][]cloudevents.Event{replayed, reordered} {
			for _, e := range batch {
				require.Equal(t, http.StatusAccepted, send(t, sys.Cluster+system.BrokerIngressPath, e), "%s %s", e.Type(), e.ID())
			}
		}
		mid := sys.EventuallyQuiet(t)
		for name := range consumers {
			assert.Equal(t, start.Trigger(name).DeadLettered, mid.Trigger(name).DeadLettered, "trigger %s refused a genuine event", name)
		}
		for _, e := range forged {
			require.Equal(t, http.StatusAccepted, send(t, sys.Cluster+system.BrokerIngressPath, e), "%s %s", e.Type(), e.ID())
		}
		end := sys.EventuallyQuiet(t)
		for name, c := range consumers {
			want := 0
			for _, e := range forged {
				if _, ok := c[events.Type(e.Type())]; ok {
					want++
				}
			}
			assert.Equal(t, mid.Trigger(name).DeadLettered+int64(want), end.Trigger(name).DeadLettered, "trigger %s", name)
		}
		assert.Equal(t, before, sys.MustSnapshot(t), "a table changed")
		assert.Empty(t, sys.MustCheck(t).Findings)
	})

	t.Run("straight to each subscriber", func(t *testing.T) {
		for name, c := range consumers {
			url := sys.Cluster + "/functions/" + name + "/"
			for _, e := range append(slices.Clone(replayed), reordered...) {
				if _, ok := c[events.Type(e.Type())]; ok {
					status := send(t, url, e)
					assert.True(t, status >= 200 && status < 300, "%s answered %d to the genuine %s %s", name, status, e.Type(), e.ID())
				}
			}
			for _, e := range forged {
				if _, ok := c[events.Type(e.Type())]; ok {
					assert.Equal(t, http.StatusBadRequest, send(t, url, e), "%s took the forged %s %s", name, e.Type(), e.ID())
				}
			}
		}
		assert.Equal(t, before, sys.MustSnapshot(t), "a table changed")
		assert.Empty(t, sys.MustCheck(t).Findings)
	})
	sys.MustStop(t)
}

// taken reports whether a trigger takes events of e's type.
func taken(e cloudevents.Event) bool {
	for _, c := range consumers {
		if _, ok := c[events.Type(e.Type())]; ok {
			return true
		}
	}
	return false
}

// forgeries makes one forged event of every type a trigger takes, from the
// genuine events about the deal's item, reservation, payment and review:
// same ids, but a version ahead of the stored one (or, for a review, a
// review id that is not the reservation's), so every consumer's source of
// truth contradicts it.
func forgeries(t *testing.T, genuine []cloudevents.Event, d deal) []cloudevents.Event {
	t.Helper()
	bases := map[string]cloudevents.Event{} // by what the payload is about
	for _, e := range genuine {
		switch {
		case e.Type() == string(events.ItemScored):
			bases["score"] = e
		case e.Type() == string(events.ReviewWritten):
			bases["review"] = e
		case e.Subject() == d.itemID && e.Type() != string(events.ItemScored):
			bases["item"] = e
		case e.Subject() == d.rsvID:
			bases["reservation"] = e
		case e.Subject() == d.payID:
			bases["payment"] = e
		}
	}
	family := func(typ events.Type) string {
		switch {
		case typ == events.ItemScored:
			return "score"
		case typ == events.ReviewWritten:
			return "review"
		case typ >= "carrot.item." && typ < "carrot.item.~":
			return "item"
		case typ >= "carrot.reservation." && typ < "carrot.reservation.~":
			return "reservation"
		}
		return "payment"
	}
	types := map[events.Type]bool{}
	for _, c := range consumers {
		for _, typ := range c.Types() {
			types[typ] = true
		}
	}
	var out []cloudevents.Event
	for _, typ := range slices.Sorted(maps.Keys(types)) {
		base, ok := bases[family(typ)]
		require.True(t, ok, "no genuine event to forge %s from", typ)
		var data map[string]any
		require.NoError(t, json.Unmarshal(base.Data(), &data))
		if typ == events.ReviewWritten {
			data["reviewId"] = "forged-review"
		} else {
			v, ok := data["version"].(float64)
			require.True(t, ok, "%s carries no version: %s", base.Type(), base.Data())
			data["version"] = v + 100
		}
		e := base.Clone()
		e.SetID("forged-" + string(typ))
		e.SetSource("/tests/forger")
		e.SetType(string(typ))
		require.NoError(t, e.SetData(cloudevents.ApplicationJSON, data))
		out = append(out, e)
	}
	return out
}

// send delivers e in binary mode to url and returns the status.
func send(t *testing.T, url string, e cloudevents.Event) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(e.Data()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", e.ID())
	req.Header.Set("ce-source", e.Source())
	req.Header.Set("ce-type", e.Type())
	if e.Subject() != "" {
		req.Header.Set("ce-subject", e.Subject())
	}
	for k, v := range e.Extensions() {
		if k == events.PartitionKeyExtension {
			req.Header.Set("ce-"+k, fmt.Sprint(v))
		}
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}
