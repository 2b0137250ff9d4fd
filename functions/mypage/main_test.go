package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/app"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/functions/rest"
	"github.com/carrot-market/carrot/infra/boot/boottest"
	"github.com/carrot-market/carrot/infra/dynamo/dynamotest"
	"github.com/carrot-market/carrot/infra/web"
)

// The component tests of mypage call its own URL over HTTP. The view is
// built by the projector behind POST /, to which the test broker delivers
// what the other functions publish; the projector tests deliver events
// themselves.

func TestGetMyPages(t *testing.T) {
	sys := boottest.NewSystem(t)
	var items []string
	for _, seller := range []string{boottest.Seller, boottest.Seller, "ann", "ann", "ben"} {
		items = append(items, newItem(t, sys, seller, "lamp"))
	}
	rsvID := sys.MustChat(t, boottest.Buyer, items[0])
	confirm(t, sys, rsvID)

	t.Run("every item with its deal", func(t *testing.T) {
		rows := byItem(allRows(t, sys, boottest.Seller, 200))
		require.Len(t, rows, len(items))
		for _, id := range items {
			require.Contains(t, rows, id)
			assert.Equal(t, "lamp", rows[id]["itemName"])
			assert.EqualValues(t, 1000, rows[id]["price"])
		}
		assert.Equal(t, boottest.Seller, rows[items[0]]["sellerId"])
		assert.Equal(t, "RESERVED", rows[items[0]]["itemStatus"])
		assert.Equal(t, "CONFIRMED", rows[items[0]]["rsvStatus"])
		assert.Equal(t, boottest.Buyer, rows[items[0]]["buyerId"])
		assert.Nil(t, byItem(allRows(t, sys, "ann", 200))[items[0]]["buyerId"], "another seller does not see who buys")
		assert.Equal(t, "CREATED", rows[items[4]]["itemStatus"])
		assert.Nil(t, rows[items[4]]["rsvId"], "an item on sale has no deal")
	})

	t.Run("pages with limit and cursor", func(t *testing.T) {
		for _, limit := range []int{1, 2, 4} {
			rows := allRows(t, sys, "ann", limit)
			var ids []string
			for _, r := range rows {
				ids = append(ids, r["itemId"].(string))
			}
			assert.ElementsMatch(t, items, ids, "limit %d yields every item exactly once", limit)
		}
	})

	t.Run("400 for a bad limit or cursor", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=201", "limit=abc"} {
			sys.Do(t, sys.URL[registry.MyPage.Name], boottest.Seller, http.MethodGet, "/myPages?"+q, nil).RequireProblem(t, http.StatusBadRequest, "limit")
		}
		sys.Do(t, sys.URL[registry.MyPage.Name], boottest.Seller, http.MethodGet, "/myPages?cursor=garbage", nil).RequireProblem(t, http.StatusBadRequest, "cursor")
	})

	t.Run("401 without a token", func(t *testing.T) {
		sys.Do(t, sys.URL[registry.MyPage.Name], "", http.MethodGet, "/myPages", nil).RequireProblem(t, http.StatusUnauthorized)
		sys.Do(t, sys.URL[registry.MyPage.Name], "", http.MethodGet, "/myPages/"+items[0], nil).RequireProblem(t, http.StatusUnauthorized)
		sys.Do(t, sys.URL[registry.MyPage.Name], "", http.MethodGet, "/myPages?userId="+boottest.Seller, nil).RequireProblem(t, http.StatusUnauthorized)
	})

	t.Run("a deleted item leaves the listing", func(t *testing.T) {
		sys.MustCall(t, registry.RegisterItem.Name, "ben", http.MethodDelete, "/items/"+items[4], nil, http.StatusNoContent)
		rows := byItem(allRows(t, sys, boottest.Seller, 2))
		assert.Len(t, rows, len(items)-1)
		assert.NotContains(t, rows, items[4])
		sys.Do(t, sys.URL[registry.MyPage.Name], boottest.Seller, http.MethodGet, "/myPages/"+items[4], nil).RequireProblem(t, http.StatusNotFound)
	})
}

func TestGetMyPagesOfUser(t *testing.T) {
	sys := boottest.NewSystem(t)
	tv, lamp := newItem(t, sys, boottest.Seller, "TV"), newItem(t, sys, boottest.Seller, "lamp")
	bike := newItem(t, sys, boottest.Buyer, "bike")
	other := newItem(t, sys, "ann", "desk")
	atTV := sys.MustChat(t, boottest.Buyer, tv)
	confirm(t, sys, atTV)
	atDesk := sys.MustChat(t, boottest.Buyer, other)
	sys.MustChat(t, "carl", bike)

	page := func(t *testing.T, user, query string) map[string]any {
		return sys.MustCall(t, registry.MyPage.Name, user, http.MethodGet, "/myPages?userId="+user+query, nil, http.StatusOK)
	}

	t.Run("a seller who buys nothing", func(t *testing.T) {
		p := page(t, boottest.Seller, "")
		assert.Equal(t, boottest.Seller, p["userId"])
		assert.ElementsMatch(t, []string{tv, lamp}, ids(p["selling"], "itemId"))
		assert.Empty(t, p["buying"])
	})

	t.Run("a user who sells and buys", func(t *testing.T) {
		p := page(t, boottest.Buyer, "")
		assert.Equal(t, []string{bike}, ids(p["selling"], "itemId"))
		bikeRow := p["selling"].([]any)[0].(map[string]any)
		assert.EqualValues(t, 1, bikeRow["openChats"], "carl's chat on bob's bike")
		buying := byKey(p["buying"], "rsvId")
		require.Len(t, buying, 2)
		assert.Equal(t, map[string]any{
			"rsvId": atTV, "itemId": tv, "itemName": "TV", "itemStatus": "RESERVED", "price": float64(1000),
			"sellerId": boottest.Seller, "rsvStatus": "CONFIRMED", "rsvDate": meetingDay, "rsvTime": "18:30",
			"rsvPlace": "Hapjeong station", "updatedAt": buying[atTV]["updatedAt"],
		}, buying[atTV])
		assert.Equal(t, "CREATED", buying[atDesk]["rsvStatus"])
		assert.Equal(t, "desk", buying[atDesk]["itemName"])
		assert.Equal(t, "ann", buying[atDesk]["sellerId"])
	})

	t.Run("the two lists page on their own", func(t *testing.T) {
		p := page(t, boottest.Buyer, "&limit=1")
		require.Len(t, p["selling"], 1)
		require.Len(t, p["buying"], 1)
		seen := ids(p["buying"], "rsvId")
		next, _ := p["buyingCursor"].(string)
		require.NotEmpty(t, next, "bob bought twice")
		p = page(t, boottest.Buyer, "&limit=1&buyingCursor="+url.QueryEscape(next))
		seen = append(seen, ids(p["buying"], "rsvId")...)
		assert.ElementsMatch(t, []string{atTV, atDesk}, seen)
		assert.Equal(t, []string{bike}, ids(p["selling"], "itemId"), "selling starts over without its cursor")

		p = page(t, boottest.Seller, "&limit=1")
		first, _ := p["sellingCursor"].(string)
		require.NotEmpty(t, first)
		p2 := page(t, boottest.Seller, "&limit=1&sellingCursor="+url.QueryEscape(first))
		assert.ElementsMatch(t, []string{tv, lamp}, append(ids(p["selling"], "itemId"), ids(p2["selling"], "itemId")...))
	})

	t.Run("a deleted item shows as DELETED to its buyers", func(t *testing.T) {
		sys.MustCall(t, registry.RegisterItem.Name, "ann", http.MethodDelete, "/items/"+other, nil, http.StatusNoContent)
		buying := byKey(page(t, boottest.Buyer, "")["buying"], "rsvId")
		assert.Equal(t, "DELETED", buying[atDesk]["itemStatus"])
		assert.Equal(t, "RESERVED", buying[atTV]["itemStatus"])
	})

	t.Run("a user without anything", func(t *testing.T) {
		p := page(t, "newcomer", "")
		assert.Empty(t, p["selling"])
		assert.Empty(t, p["buying"])
	})

	t.Run("403 for another user's page", func(t *testing.T) {
		res := sys.Do(t, sys.URL[registry.MyPage.Name], boottest.Seller, http.MethodGet, "/myPages?userId="+boottest.Buyer, nil)
		res.RequireProblem(t, http.StatusForbidden)
		assert.NotContains(t, string(res.Body), atTV, "nothing of bob's page leaks")
	})

	t.Run("400 for a userId that is no user id", func(t *testing.T) {
		for _, id := range []string{"\u3164", "\u200b", "\u202e" + boottest.Seller, boottest.Seller + "\x00", strings.Repeat("u", 3000)} {
			res := sys.Do(t, sys.URL[registry.MyPage.Name], boottest.Seller, http.MethodGet, "/myPages?userId="+url.QueryEscape(id), nil)
			res.RequireProblem(t, http.StatusBadRequest, "userId")
		}
	})
}

func TestGetMyPage(t *testing.T) {
	sys := boottest.NewSystem(t)
	item := newItem(t, sys, boottest.Seller, "TV")
	rowAs := func(viewer string) map[string]any {
		return sys.MustCall(t, registry.MyPage.Name, viewer, http.MethodGet, "/myPages/"+item, nil, http.StatusOK)
	}
	row := func() map[string]any { return rowAs("carl") }
	assert.Equal(t, map[string]any{"itemId": item, "itemName": "TV", "itemStatus": "CREATED", "price": float64(1000),
		"sellerId": boottest.Seller, "score": float64(0), "reviewCount": float64(0), "openChats": float64(0), "updatedAt": row()["updatedAt"]}, row())

	rsvID := sys.MustChat(t, boottest.Buyer, item)
	carlRsv := sys.MustChat(t, "carl", item) // a back-up buyer
	assert.EqualValues(t, 2, row()["openChats"])
	confirm(t, sys, rsvID)
	payID := sys.MustPay(t, boottest.Buyer, rsvID)

	got := rowAs(boottest.Seller)
	assert.NotEmpty(t, got["updatedAt"])
	assert.Equal(t, got, rowAs(boottest.Buyer), "the buyer sees what the seller sees")
	assert.Equal(t, map[string]any{
		"itemId": item, "itemName": "TV", "itemStatus": "SOLDOUT", "price": float64(1000), "sellerId": boottest.Seller,
		"score": float64(0), "reviewCount": float64(0),
		"rsvId": rsvID, "rsvStatus": "COMPLETED", "buyerId": boottest.Buyer,
		"rsvDate": meetingDay, "rsvTime": "18:30", "rsvPlace": "Hapjeong station",
		"payId": payID, "payStatus": "APPROVED", "openChats": float64(2), "updatedAt": got["updatedAt"],
	}, got)
	stranger := rowAs("carl")
	for _, f := range []string{"buyerId", "rsvDate", "rsvTime", "rsvPlace", "payId"} {
		assert.Nil(t, stranger[f], "a back-up buyer does not see the deal's %s", f)
	}
	assert.Equal(t, []any{rsvID, "COMPLETED", "APPROVED"}, []any{stranger["rsvId"], stranger["rsvStatus"], stranger["payStatus"]},
		"a back-up buyer sees the state of the deal")

	sys.MustCall(t, registry.CancelPayment.Name, boottest.Seller, http.MethodDelete, "/payments/"+payID, nil, http.StatusOK)
	got = rowAs(boottest.Seller)
	assert.Equal(t, "RESERVED", got["itemStatus"])
	assert.Equal(t, "CONFIRMED", got["rsvStatus"])
	assert.Equal(t, payID, got["payId"])
	assert.Equal(t, "DELETED", got["payStatus"])

	sys.MustCall(t, registry.ConfirmReservation.Name, boottest.Buyer, http.MethodDelete, "/reservations/"+rsvID, nil, http.StatusNoContent)
	got = row()
	assert.Equal(t, "CREATED", got["itemStatus"])
	assert.EqualValues(t, 1, got["openChats"])
	for _, f := range []string{"rsvId", "rsvStatus", "buyerId", "rsvDate", "rsvTime", "rsvPlace", "payId", "payStatus"} {
		assert.Nil(t, got[f], "the deleted deal no longer holds the item: %s", f)
	}
	// The back-up buyer buys it, and reviews it: the score lands on the row.
	confirm(t, sys, carlRsv)
	sys.MustPay(t, "carl", carlRsv)
	sys.MustCall(t, registry.WriteReview.Name, "carl", http.MethodPost, "/reviews", map[string]any{"rsvId": carlRsv, "score": 4}, http.StatusCreated)
	got = row()
	assert.Equal(t, "SOLDOUT", got["itemStatus"])
	assert.EqualValues(t, 4, got["score"])
	assert.EqualValues(t, 1, got["reviewCount"])

	sys.Do(t, sys.URL[registry.MyPage.Name], "carl", http.MethodGet, "/myPages/no-such-item", nil).RequireProblem(t, http.StatusNotFound)
	sys.Do(t, sys.URL[registry.MyPage.Name], "carl", http.MethodGet, "/myPages/"+strings.Repeat("1", 2049), nil).RequireProblem(t, http.StatusNotFound)
}

// TestProjectorIdempotent redelivers every event the system published: an
// event delivered again, even twice at once, changes nothing.
func TestProjectorIdempotent(t *testing.T) {
	sys := boottest.NewSystem(t)
	item, _, _ := sold(t, sys)
	before := snapshot(t, sys, boottest.Seller, boottest.Buyer, "carl")
	require.Equal(t, "SOLDOUT", before.rows[item]["itemStatus"])
	require.EqualValues(t, 2, before.rows[item]["openChats"])

	requested := sys.EventsOf(events.ReservationRequested)
	require.Len(t, requested, 2)
	assert.Equal(t, http.StatusOK, sys.Deliver(t, registry.MyPage.Name, requested[0]))
	assert.Equal(t, before, snapshot(t, sys, boottest.Seller, boottest.Buyer, "carl"), "a redelivered request does not count a chat twice")

	for _, e := range projected(sys.Events()) {
		twice := boottest.Burst(t, 2, func(int) (boottest.Response, error) { return sys.SendEvent(registry.MyPage.Name, e) })
		for _, res := range twice {
			if res.Status != http.StatusOK {
				t.Errorf("redelivering %s answered %d", e.Type(), res.Status)
			}
		}
	}
	assert.Equal(t, before, snapshot(t, sys, boottest.Seller, boottest.Buyer, "carl"), "redelivering the whole log changes nothing")
}

// TestProjectorPoison delivers events the projector can never process: it
// answers 400, so the broker dead-letters them, and changes nothing.
func TestProjectorPoison(t *testing.T) {
	sys := boottest.NewSystem(t)
	item := newItem(t, sys, boottest.Seller, "TV")
	rsvID := sys.MustChat(t, boottest.Buyer, item)
	before := snapshot(t, sys, boottest.Seller, boottest.Buyer)

	poison := func(typ events.Type, data any) cloudevents.Event {
		e := boottest.RawEvent(t, string(typ), data)
		e.SetSubject(item)
		e.SetExtension(events.PartitionKeyExtension, item)
		return e
	}
	hacked := map[string]any{"itemId": item, "sellerId": boottest.Seller, "name": "HACKED", "price": 1, "status": "SOLDOUT"}
	for name, e := range map[string]cloudevents.Event{
		"unknown type":                    poison("carrot.item.stolen.v1", hacked),
		"a type this consumer never gets": poison(events.ChatMessagePosted, map[string]any{"messageId": "m", "rsvId": rsvID, "itemId": item, "senderId": boottest.Buyer, "text": "hi"}),
		"item update without a seller":    poison(events.ItemUpdated, boottest.CopyWith(hacked, "sellerId", nil)),
		"item update without a status":    poison(events.ItemUpdated, boottest.CopyWith(hacked, "status", nil)),
		"item update with a string price": poison(events.ItemUpdated, map[string]any{"itemId": item, "sellerId": boottest.Seller, "status": "SOLDOUT", "price": "free"}),
		"item update that is not JSON":    poison(events.ItemUpdated, []byte(`{"itemId": "`+item+`", `)),
		"reservation without a buyer":     poison(events.ReservationConfirmed, map[string]any{"rsvId": rsvID, "itemId": item, "sellerId": boottest.Seller, "rsvStatus": "CONFIRMED"}),
		"payment that is a list":          poison(events.PaymentApproved, []any{"pay", rsvID}),
	} {
		assert.Equal(t, http.StatusBadRequest, sys.Deliver(t, registry.MyPage.Name, e), name)
	}
	assert.Equal(t, before, snapshot(t, sys, boottest.Seller, boottest.Buyer), "poison changed nothing")

	// A well-formed event of the same shape is a notification, not a
	// proof: the projector reads the item, which says otherwise.
	valid := poison(events.ItemUpdated, hacked)
	require.Equal(t, http.StatusOK, sys.Deliver(t, registry.MyPage.Name, valid), "acknowledged")
	assert.Equal(t, before, snapshot(t, sys, boottest.Seller, boottest.Buyer), "and changes nothing the item does not say")
}

// TestProjectorReplay drops the view and rebuilds it from the system's
// event log, over the same sources, in order and newest first: the rebuilt
// view is the same (SPEC 3.5).
func TestProjectorReplay(t *testing.T) {
	live := boottest.NewSystem(t)

	_, rsv, payID := sold(t, live)
	live.MustCall(t, registry.CancelPayment.Name, boottest.Buyer, http.MethodPatch, "/payments/"+payID, map[string]any{"status": "DELETED"}, http.StatusOK)
	live.MustPay(t, boottest.Buyer, rsv)
	live.MustCall(t, registry.WriteReview.Name, boottest.Buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": rsv, "score": 5}, http.StatusCreated)

	released := newItem(t, live, boottest.Seller, "lamp")
	gone := live.MustChat(t, "carl", released)
	confirm(t, live, gone)
	live.MustCall(t, registry.ConfirmReservation.Name, boottest.Seller, http.MethodDelete, "/reservations/"+gone, nil, http.StatusNoContent)
	live.MustCall(t, registry.RegisterItem.Name, boottest.Seller, http.MethodPatch, "/items/"+released, map[string]any{"name": "brass lamp", "price": 900}, http.StatusOK)

	deleted := newItem(t, live, "ann", "desk")
	live.MustChat(t, boottest.Buyer, deleted)
	live.MustCall(t, registry.RegisterItem.Name, "ann", http.MethodDelete, "/items/"+deleted, nil, http.StatusNoContent)
	newItem(t, live, boottest.Buyer, "bike")

	users := []string{boottest.Seller, "ann", boottest.Buyer, "carl"}
	want := snapshot(t, live, users...)
	require.Len(t, want.rows, 3)
	require.Equal(t, "brass lamp", want.rows[released]["itemName"])
	log := projected(live.Events())
	require.Greater(t, len(log), 15)

	for name, order := range map[string]func([]cloudevents.Event) []cloudevents.Event{
		"in order": slices.Clone[[]cloudevents.Event],
		"newest first": func(l []cloudevents.Event) []cloudevents.Event {
			r := slices.Clone(l)
			slices.Reverse(r)
			return r
		},
	} {
		rebuilt := rebuiltView(t, live)
		assert.Empty(t, snapshot(t, rebuilt.sys, users...).rows, "the dropped view is empty")
		for _, e := range order(log) {
			require.NoError(t, rebuilt.app.Project(t.Context(), e), "%s %s", e.Type(), e.ID())
		}
		got := snapshot(t, rebuilt.sys, users...)
		ignoreUpdatedAt(want, got)
		assert.Equal(t, want, got, name)
	}
}

// rebuilt is an empty MyPage view over live's sources, and the system
// whose mypage function serves it.
type rebuilt struct {
	app *app.Service
	sys *boottest.System
}

func rebuiltView(t *testing.T, live *boottest.System) rebuilt {
	t.Helper()
	svc := &app.Service{Store: live.Store, Views: dynamotest.MustStore(t), Source: registry.MyPage.Source()}
	r := web.NewRouter()
	(&rest.Handler{App: svc}).Mount(r, registry.MyPage.Routes, live.Auth, live.Store)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	sys := *live
	sys.URL = map[string]string{registry.MyPage.Name: srv.URL}
	return rebuilt{app: svc, sys: &sys}
}

// ignoreUpdatedAt makes got's times want's: a rebuild writes each row once,
// when the first event about it finds the sources as they are now, so its
// time is that event's, not that of the live view's last change.
func ignoreUpdatedAt(want, got view) {
	for id, row := range got.rows {
		if w, ok := want.rows[id]; ok {
			row["updatedAt"] = w["updatedAt"]
		}
	}
	for u, page := range got.users {
		for _, list := range []string{"selling", "buying"} {
			g, _ := page[list].([]any)
			w, _ := want.users[u][list].([]any)
			for i := range min(len(g), len(w)) {
				g[i].(map[string]any)["updatedAt"] = w[i].(map[string]any)["updatedAt"]
			}
		}
	}
}

// view is what MyPage answers: every row by item id, and the pages of
// some users.
type view struct {
	rows  map[string]map[string]any
	users map[string]map[string]any
}

func snapshot(t *testing.T, sys *boottest.System, users ...string) view {
	t.Helper()
	v := view{rows: byItem(allRows(t, sys, users[0], 200)), users: map[string]map[string]any{}}
	for _, u := range users {
		p := sys.MustCall(t, registry.MyPage.Name, u, http.MethodGet, "/myPages?limit=200&userId="+u, nil, http.StatusOK)
		for _, list := range []string{"selling", "buying"} {
			l, _ := p[list].([]any)
			key := func(i int) string { return fmt.Sprint(l[i].(map[string]any)["itemId"], l[i].(map[string]any)["rsvId"]) }
			sort.Slice(l, func(i, j int) bool { return key(i) < key(j) })
		}
		v.users[u] = p
	}
	return v
}

// projected keeps the events the projector's trigger takes, in order.
func projected(log []cloudevents.Event) []cloudevents.Event {
	takes := app.MyPageProjector
	var out []cloudevents.Event
	for _, e := range log {
		if _, ok := takes[events.Type(e.Type())]; ok {
			out = append(out, e)
		}
	}
	return out
}

// allRows reads GET /myPages to its end in pages of limit rows.
func allRows(t *testing.T, sys *boottest.System, user string, limit int) []map[string]any {
	t.Helper()
	var rows []map[string]any
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 20, "the cursor must end the listing")
		page := sys.MustCall(t, registry.MyPage.Name, user, http.MethodGet, "/myPages?limit="+strconv.Itoa(limit)+"&cursor="+url.QueryEscape(cursor), nil, http.StatusOK)
		got := page["items"].([]any)
		assert.LessOrEqual(t, len(got), limit)
		for _, r := range got {
			rows = append(rows, r.(map[string]any))
		}
		next, _ := page["nextCursor"].(string)
		if next == "" {
			return rows
		}
		cursor = next
	}
}

func byItem(rows []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range rows {
		out[r["itemId"].(string)] = r
	}
	return out
}

func byKey(list any, key string) map[string]map[string]any {
	out := map[string]map[string]any{}
	l, _ := list.([]any)
	for _, r := range l {
		out[r.(map[string]any)[key].(string)] = r.(map[string]any)
	}
	return out
}

func ids(list any, key string) []string {
	var out []string
	l, _ := list.([]any)
	for _, r := range l {
		out = append(out, r.(map[string]any)[key].(string))
	}
	return out
}

func newItem(t *testing.T, sys *boottest.System, seller, name string) string {
	t.Helper()
	return sys.MustItem(t, seller, map[string]any{"name": name, "category": "things", "price": 1000})
}

// sold lists a TV of boottest.Seller, on which carl opens a back-up chat,
// and sells it to boottest.Buyer. It returns the item's id and the sale's
// reservation's and payment's ids.
func sold(t *testing.T, sys *boottest.System) (itemID, rsvID, payID string) {
	t.Helper()
	itemID = newItem(t, sys, boottest.Seller, "TV")
	rsvID = sys.MustChat(t, boottest.Buyer, itemID)
	sys.MustChat(t, "carl", itemID)
	confirm(t, sys, rsvID)
	return itemID, rsvID, sys.MustPay(t, boottest.Buyer, rsvID)
}

// confirm has boottest.Seller, who sells every item confirmed here, fix
// the meeting of rsvID.
func confirm(t *testing.T, sys *boottest.System, rsvID string) {
	t.Helper()
	sys.MustConfirm(t, boottest.Seller, rsvID, boottest.Meeting(meetingDay, "18:30", "Hapjeong station"))
}

// meetingDay is the day of every meeting confirm fixes, ahead whenever
// the tests run.
var meetingDay = boottest.Day(7)
