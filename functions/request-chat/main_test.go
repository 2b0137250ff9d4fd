package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/registry"
	"github.com/carrot-market/carrot/infra/boot/boottest"
)

// The component tests of request-chat call its own URL over HTTP; items
// are listed, confirmed and paid through the other functions' URLs.

func TestPostReservations(t *testing.T) {
	sys := boottest.NewSystem(t)
	post := func(t *testing.T, buyer string, body any) boottest.Response {
		return sys.Do(t, sys.URL[registry.RequestChat.Name], buyer, http.MethodPost, "/reservations", body)
	}

	t.Run("opens a chat on an item on sale", func(t *testing.T) {
		t.Parallel()
		item := mustItem(t, sys, boottest.Seller)
		res := post(t, boottest.Buyer, map[string]any{"itemId": item, "rsvPlace": "seoul"})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		rsv := res.JSON(t)
		id, _ := rsv["rsvId"].(string)
		require.NotEmpty(t, id)
		assert.Equal(t, "/reservations/"+id, res.Header.Get("Location"))
		assert.Equal(t, item, rsv["itemId"])
		assert.Equal(t, boottest.Buyer, rsv["buyerId"])
		assert.Equal(t, boottest.Seller, rsv["sellerId"])
		assert.Equal(t, "CREATED", rsv["rsvStatus"])
		assert.Equal(t, "seoul", rsv["rsvPlace"])
		assert.Empty(t, rsv["rsvDate"])
		assert.Len(t, sys.EventsAbout(events.ReservationRequested, item), 1)
	})

	t.Run("the seed's rsvStatus CREATED is accepted", func(t *testing.T) {
		t.Parallel()
		item := mustItem(t, sys, boottest.Seller)
		res := post(t, boottest.Buyer, map[string]any{"itemId": item, "rsvStatus": "CREATED", "rsvPlace": "seoul"})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		assert.Equal(t, "CREATED", res.JSON(t)["rsvStatus"])
	})

	t.Run("asking twice answers the open reservation", func(t *testing.T) {
		t.Parallel()
		item := mustItem(t, sys, boottest.Seller)
		first := post(t, boottest.Buyer, map[string]any{"itemId": item})
		require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
		again := post(t, boottest.Buyer, map[string]any{"itemId": item, "rsvPlace": "elsewhere"})
		require.Equal(t, http.StatusOK, again.Status, "%s", again.Body)
		assert.Equal(t, first.JSON(t), again.JSON(t), "the same reservation, unchanged")
		assert.Len(t, sys.EventsAbout(events.ReservationRequested, item), 1, "no second reservation")

		other := post(t, "carl", map[string]any{"itemId": item})
		require.Equal(t, http.StatusCreated, other.Status, "%s", other.Body)
		assert.NotEqual(t, first.JSON(t)["rsvId"], other.JSON(t)["rsvId"], "another buyer gets a chat of their own")
	})

	t.Run("a buyer whose chat was deleted may ask again", func(t *testing.T) {
		t.Parallel()
		item := mustItem(t, sys, boottest.Seller)
		first := sys.MustChat(t, boottest.Buyer, item)
		sys.MustCall(t, registry.ConfirmReservation.Name, boottest.Buyer, http.MethodDelete, "/reservations/"+first, nil, http.StatusNoContent)
		again := sys.MustChat(t, boottest.Buyer, item)
		assert.NotEqual(t, first, again)
	})

	t.Run("a RESERVED item takes back-up buyers", func(t *testing.T) {
		t.Parallel()
		item := mustItem(t, sys, boottest.Seller)
		confirmed(t, sys, item, boottest.Buyer)
		require.Equal(t, "RESERVED", sys.MustGetItem(t, item)["status"])
		res := post(t, "carl", map[string]any{"itemId": item})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		assert.Equal(t, "CREATED", res.JSON(t)["rsvStatus"])
	})

	t.Run("409 for a SOLDOUT item (seed rule 9)", func(t *testing.T) {
		t.Parallel()
		item := mustItem(t, sys, boottest.Seller)
		rsvID := confirmed(t, sys, item, boottest.Buyer)
		sys.MustPay(t, boottest.Buyer, rsvID)
		require.Equal(t, "SOLDOUT", sys.MustGetItem(t, item)["status"])
		post(t, "carl", map[string]any{"itemId": item}).RequireProblem(t, http.StatusConflict)
		assert.Len(t, sys.EventsAbout(events.ReservationRequested, item), 1, "no reservation was opened")
	})

	t.Run("409 for one's own item", func(t *testing.T) {
		t.Parallel()
		item := mustItem(t, sys, boottest.Seller)
		post(t, boottest.Seller, map[string]any{"itemId": item}).RequireProblem(t, http.StatusConflict)
		assert.Empty(t, sys.EventsAbout(events.ReservationRequested, item))
	})

	t.Run("404 for an unknown item", func(t *testing.T) {
		t.Parallel()
		post(t, boottest.Buyer, map[string]any{"itemId": "no-such-item"}).RequireProblem(t, http.StatusNotFound)
	})

	t.Run("404 for a deleted item, also to a buyer who chatted on it", func(t *testing.T) {
		t.Parallel()
		item := mustItem(t, sys, boottest.Seller)
		sys.MustChat(t, boottest.Buyer, item)
		sys.MustCall(t, registry.RegisterItem.Name, boottest.Seller, http.MethodDelete, "/items/"+item, nil, http.StatusNoContent)
		post(t, boottest.Buyer, map[string]any{"itemId": item}).RequireProblem(t, http.StatusNotFound)
		post(t, "carl", map[string]any{"itemId": item}).RequireProblem(t, http.StatusNotFound)
	})

	t.Run("an itemId sent as a JSON number is an id string", func(t *testing.T) {
		t.Parallel()
		res := post(t, boottest.Buyer, `{"itemId": 12345}`)
		res.RequireProblem(t, http.StatusNotFound)
		assert.Contains(t, res.JSON(t)["detail"], "12345", "the number was looked up as the id \"12345\"")
	})

	for _, tc := range []struct {
		name   string
		body   string
		fields []string
	}{
		{"rsvStatus CONFIRMED", `{"itemId": "%s", "rsvStatus": "CONFIRMED"}`, []string{"rsvStatus"}},
		{"rsvStatus COMPLETED", `{"itemId": "%s", "rsvStatus": "COMPLETED"}`, []string{"rsvStatus"}},
		{"no itemId", `{"rsvPlace": "seoul"}`, []string{"itemId"}},
		{"empty itemId", `{"itemId": ""}`, []string{"itemId"}},
		{"itemId with a fraction", `{"itemId": 1.5}`, []string{"itemId"}},
		{"negative itemId", `{"itemId": -1}`, []string{"itemId"}},
		{"itemId as an object", `{"itemId": {"id": "1"}}`, []string{"itemId"}},
		{"rsvPlace of 201 characters", `{"itemId": "%s", "rsvPlace": "` + strings.Repeat("p", 201) + `"}`, []string{"rsvPlace"}},
		{"unknown field", `{"itemId": "%s", "buyerId": "sally"}`, []string{"buyerId"}},
		{"malformed JSON", `{"itemId": `, nil},
		{"itemId of 2049 digits", `{"itemId": "` + strings.Repeat("1", 2049) + `"}`, []string{"itemId"}},
		{"itemId that is a path", `{"itemId": "../items"}`, []string{"itemId"}},
		{"itemId in another case", `{"ItemId": "%s"}`, []string{"ItemId"}},
		{"itemId given twice", `{"itemId": "%s", "itemId": "%[1]s"}`, []string{"itemId"}},
		{"itemId null", `{"itemId": null}`, []string{"itemId"}},
		{"rsvPlace with NUL", `{"itemId": "%s", "rsvPlace": "seoul\u0000"}`, []string{"rsvPlace"}},
		{"rsvPlace with a right-to-left override", `{"itemId": "%s", "rsvPlace": "\u202eluoes"}`, []string{"rsvPlace"}},
	} {
		t.Run("400 for "+tc.name, func(t *testing.T) {
			t.Parallel()
			item := mustItem(t, sys, boottest.Seller)
			body := tc.body
			if strings.Contains(body, "%s") {
				body = fmt.Sprintf(body, item)
			}
			post(t, boottest.Buyer, body).RequireProblem(t, http.StatusBadRequest, tc.fields...)
			assert.Empty(t, sys.EventsAbout(events.ReservationRequested, item))
		})
	}

	t.Run("401 without a token", func(t *testing.T) {
		t.Parallel()
		item := mustItem(t, sys, boottest.Seller)
		post(t, "", map[string]any{"itemId": item}).RequireProblem(t, http.StatusUnauthorized)
		assert.Empty(t, sys.EventsAbout(events.ReservationRequested, item))
	})
}

func TestGetReservation(t *testing.T) {
	sys := boottest.NewSystem(t)
	item := mustItem(t, sys, boottest.Seller)
	rsv := sys.MustCall(t, registry.RequestChat.Name, boottest.Buyer, http.MethodPost, "/reservations", map[string]any{"itemId": item, "rsvPlace": "seoul"}, http.StatusCreated)
	id := rsv["rsvId"].(string)

	for _, user := range []string{boottest.Buyer, boottest.Seller} {
		got := sys.MustGetReservation(t, user, id)
		assert.Equal(t, rsv, got, "%s sees the reservation", user)
	}
	sys.Do(t, sys.URL[registry.RequestChat.Name], "mallory", http.MethodGet, "/reservations/"+id, nil).RequireProblem(t, http.StatusForbidden)
	sys.Do(t, sys.URL[registry.RequestChat.Name], boottest.Buyer, http.MethodGet, "/reservations/no-such-rsv", nil).RequireProblem(t, http.StatusNotFound)
	sys.Do(t, sys.URL[registry.RequestChat.Name], boottest.Buyer, http.MethodGet, "/reservations/"+strings.Repeat("1", 2049), nil).RequireProblem(t, http.StatusNotFound)
	sys.Do(t, sys.URL[registry.RequestChat.Name], "", http.MethodGet, "/reservations/"+id, nil).RequireProblem(t, http.StatusUnauthorized)

	day := boottest.Day(7)
	sys.MustCall(t, registry.ConfirmReservation.Name, boottest.Seller, http.MethodPatch, "/reservations/"+id,
		map[string]any{"rsvStatus": "CONFIRMED", "rsvDate": day, "rsvTime": "18:30"}, http.StatusOK)
	got := sys.MustGetReservation(t, boottest.Buyer, id)
	assert.Equal(t, "CONFIRMED", got["rsvStatus"])
	assert.Equal(t, day, got["rsvDate"])
	assert.Equal(t, "18:30", got["rsvTime"])
	assert.Equal(t, "seoul", got["rsvPlace"], "a confirmation without a place keeps the one of the request")
}

func TestMessages(t *testing.T) {
	sys := boottest.NewSystem(t)
	item := mustItem(t, sys, boottest.Seller)
	open := func(t *testing.T, buyer string) string {
		return sys.MustChat(t, buyer, item)
	}
	post := func(t *testing.T, user, rsvID string, body any) boottest.Response {
		return sys.Do(t, sys.URL[registry.RequestChat.Name], user, http.MethodPost, "/reservations/"+rsvID+"/messages", body)
	}

	t.Run("participants talk and read the chat in order", func(t *testing.T) {
		t.Parallel()
		rsvID := open(t, boottest.Buyer)
		var want []string
		for i := range 7 {
			from := []string{boottest.Buyer, boottest.Seller}[i%2]
			text := fmt.Sprintf("message %d from %s", i, from)
			res := post(t, from, rsvID, map[string]any{"text": text})
			require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
			m := res.JSON(t)
			assert.Equal(t, "/reservations/"+rsvID+"/messages", res.Header.Get("Location"))
			assert.Equal(t, rsvID, m["rsvId"])
			assert.Equal(t, from, m["senderId"])
			assert.Equal(t, text, m["text"])
			assert.NotEmpty(t, m["messageId"])
			want = append(want, from+": "+text)
		}
		for _, reader := range []string{boottest.Buyer, boottest.Seller} {
			page := sys.MustCall(t, registry.RequestChat.Name, reader, http.MethodGet, "/reservations/"+rsvID+"/messages", nil, http.StatusOK)
			assert.Equal(t, want, texts(page), "%s reads every message in posting order", reader)
			assert.Empty(t, page["nextCursor"])
		}

		var paged []string
		cursor, pages := "", 0
		for {
			page := sys.MustCall(t, registry.RequestChat.Name, boottest.Buyer, http.MethodGet, "/reservations/"+rsvID+"/messages?limit=3&cursor="+cursor, nil, http.StatusOK)
			got := texts(page)
			assert.LessOrEqual(t, len(got), 3)
			paged = append(paged, got...)
			pages++
			require.Less(t, pages, 10, "the cursor must end the listing")
			next, _ := page["nextCursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		assert.Equal(t, want, paged, "pages of 3 keep the order and skip nothing")
		assert.Equal(t, 7, posted(sys, rsvID), "one event per message")
	})

	t.Run("a retry with the same Idempotency-Key posts once", func(t *testing.T) {
		t.Parallel()
		rsvID := open(t, "gus")
		path := "/reservations/" + rsvID + "/messages"
		first := sys.Do(t, sys.URL[registry.RequestChat.Name], "gus", http.MethodPost, path, map[string]any{"text": "still there?"}, "Idempotency-Key", "m-1")
		require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
		again := sys.Do(t, sys.URL[registry.RequestChat.Name], "gus", http.MethodPost, path, map[string]any{"text": "still there?"}, "Idempotency-Key", "m-1")
		require.Equal(t, http.StatusCreated, again.Status, "%s", again.Body)
		assert.Equal(t, first.JSON(t), again.JSON(t))
		page := sys.MustCall(t, registry.RequestChat.Name, "gus", http.MethodGet, path, nil, http.StatusOK)
		assert.Equal(t, []string{"gus: still there?"}, texts(page))
		assert.Equal(t, 1, posted(sys, rsvID))
	})

	t.Run("chats are separate", func(t *testing.T) {
		t.Parallel()
		a, b := open(t, "ann"), open(t, "ben")
		require.Equal(t, http.StatusCreated, post(t, "ann", a, map[string]any{"text": "for a"}).Status)
		page := sys.MustCall(t, registry.RequestChat.Name, "ben", http.MethodGet, "/reservations/"+b+"/messages", nil, http.StatusOK)
		assert.Empty(t, texts(page))
	})

	t.Run("2000 characters are allowed", func(t *testing.T) {
		t.Parallel()
		rsvID := open(t, "long")
		res := post(t, "long", rsvID, map[string]any{"text": strings.Repeat("말", 2000)})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	})

	t.Run("outsiders can neither write nor read", func(t *testing.T) {
		t.Parallel()
		rsvID := open(t, "dan")
		require.Equal(t, http.StatusCreated, post(t, "dan", rsvID, map[string]any{"text": "private"}).Status)
		post(t, "mallory", rsvID, map[string]any{"text": "hi"}).RequireProblem(t, http.StatusForbidden)
		sys.Do(t, sys.URL[registry.RequestChat.Name], "mallory", http.MethodGet, "/reservations/"+rsvID+"/messages", nil).RequireProblem(t, http.StatusForbidden)
		page := sys.MustCall(t, registry.RequestChat.Name, "dan", http.MethodGet, "/reservations/"+rsvID+"/messages", nil, http.StatusOK)
		assert.Equal(t, []string{"dan: private"}, texts(page))
	})

	t.Run("404 for an unknown reservation", func(t *testing.T) {
		t.Parallel()
		post(t, boottest.Buyer, "no-such-rsv", map[string]any{"text": "hi"}).RequireProblem(t, http.StatusNotFound)
		sys.Do(t, sys.URL[registry.RequestChat.Name], boottest.Buyer, http.MethodGet, "/reservations/no-such-rsv/messages", nil).RequireProblem(t, http.StatusNotFound)
		long := strings.Repeat("1", 2049)
		sys.Do(t, sys.URL[registry.RequestChat.Name], boottest.Buyer, http.MethodPost, "/reservations/"+long+"/messages", map[string]any{"text": "hi"},
			"Idempotency-Key", "m-1").RequireProblem(t, http.StatusNotFound)
		sys.Do(t, sys.URL[registry.RequestChat.Name], boottest.Buyer, http.MethodGet, "/reservations/"+long+"/messages", nil).RequireProblem(t, http.StatusNotFound)
	})

	t.Run("401 without a token", func(t *testing.T) {
		t.Parallel()
		rsvID := open(t, "eve")
		post(t, "", rsvID, map[string]any{"text": "hi"}).RequireProblem(t, http.StatusUnauthorized)
		sys.Do(t, sys.URL[registry.RequestChat.Name], "", http.MethodGet, "/reservations/"+rsvID+"/messages", nil).RequireProblem(t, http.StatusUnauthorized)
	})

	for _, tc := range []struct {
		name   string
		body   any
		fields []string
	}{
		{"empty text", map[string]any{"text": ""}, []string{"text"}},
		{"blank text", map[string]any{"text": "  \n "}, []string{"text"}},
		{"no text", map[string]any{}, []string{"text"}},
		{"text of 2001 characters", map[string]any{"text": strings.Repeat("말", 2001)}, []string{"text"}},
		{"text as a number", map[string]any{"text": 42}, []string{"text"}},
		{"unknown field", map[string]any{"text": "hi", "senderId": boottest.Seller}, []string{"senderId"}},
		{"text with NUL", map[string]any{"text": "hi\x00"}, []string{"text"}},
		{"text with BEL", map[string]any{"text": "hi\a"}, []string{"text"}},
		{"text with ESC", map[string]any{"text": "\x1b[2Jhi"}, []string{"text"}},
		{"text of zero-width spaces", map[string]any{"text": "\u200b\u200b"}, []string{"text"}},
		{"text with a right-to-left override", map[string]any{"text": "\u202eih"}, []string{"text"}},
		{"text of the Hangul filler U3164", map[string]any{"text": "\u3164"}, []string{"text"}},
		{"text null", `{"text": null}`, []string{"text"}},
		{"Text in another case", map[string]any{"Text": "hi"}, []string{"Text"}},
	} {
		t.Run("400 for "+tc.name, func(t *testing.T) {
			t.Parallel()
			rsvID := open(t, "bad-"+strings.ReplaceAll(tc.name, " ", "-"))
			post(t, boottest.Seller, rsvID, tc.body).RequireProblem(t, http.StatusBadRequest, tc.fields...)
			page := sys.MustCall(t, registry.RequestChat.Name, boottest.Seller, http.MethodGet, "/reservations/"+rsvID+"/messages", nil, http.StatusOK)
			assert.Empty(t, texts(page), "nothing was posted")
		})
	}
	t.Run("400 for a bad limit", func(t *testing.T) {
		t.Parallel()
		rsvID := open(t, "fay")
		for _, q := range []string{"limit=0", "limit=201", "limit=abc"} {
			sys.Do(t, sys.URL[registry.RequestChat.Name], "fay", http.MethodGet, "/reservations/"+rsvID+"/messages?"+q, nil).RequireProblem(t, http.StatusBadRequest, "limit")
		}
	})
}

// TestRequestChatRace has one buyer ask for a chat on one item from many
// goroutines at once: exactly one reservation is opened, and every answer
// names it.
func TestRequestChatRace(t *testing.T) {
	sys := boottest.NewSystem(t)
	item := mustItem(t, sys, boottest.Seller)
	const n = 10

	token := "Bearer " + sys.Token(t, boottest.Buyer)
	res := boottest.Burst(t, n, func(int) (boottest.Response, error) {
		return boottest.Send(http.MethodPost, sys.URL[registry.RequestChat.Name]+"/reservations", map[string]any{"itemId": item}, "Authorization", token)
	})

	statuses := map[int]int{}
	ids := map[string]int{}
	for _, r := range res {
		statuses[r.Status]++
		if r.Status < 300 {
			ids[r.JSON(t)["rsvId"].(string)]++
		}
	}
	assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusOK: n - 1}, statuses, "one opens the chat, the others find it")
	require.Len(t, ids, 1, "every answer names the same reservation")
	evs := sys.EventsAbout(events.ReservationRequested, item)
	require.Len(t, evs, 1, "exactly one reservation.requested")
	for id := range ids {
		assert.Equal(t, id, evs[0].Subject())
		sys.MustGetReservation(t, boottest.Buyer, id)
	}
	row := sys.MustCall(t, registry.MyPage.Name, boottest.Seller, http.MethodGet, "/myPages/"+item, nil, http.StatusOK)
	assert.EqualValues(t, 1, row["openChats"], "MyPage counts one open chat")
}

func mustItem(t *testing.T, sys *boottest.System, seller string) string {
	t.Helper()
	return sys.MustItem(t, seller, map[string]any{"name": "TV", "category": "electronics", "price": 50000})
}

// confirmed opens buyer's chat on item and has boottest.Seller, who sells
// every item confirmed here, confirm it.
func confirmed(t *testing.T, sys *boottest.System, item, buyer string) string {
	t.Helper()
	rsvID := sys.MustChat(t, buyer, item)
	sys.MustConfirm(t, boottest.Seller, rsvID, boottest.Meeting(boottest.Day(7), "18:30", "station"))
	return rsvID
}

// texts lists a page of messages as "sender: text".
func texts(page map[string]any) []string {
	var out []string
	for _, m := range page["items"].([]any) {
		m := m.(map[string]any)
		out = append(out, m["senderId"].(string)+": "+m["text"].(string))
	}
	return out
}

// posted counts the chat.message.posted events of rsvID.
func posted(sys *boottest.System, rsvID string) int {
	n := 0
	for _, e := range sys.EventsOf(events.ChatMessagePosted) {
		if e.Subject() == rsvID {
			n++
		}
	}
	return n
}
