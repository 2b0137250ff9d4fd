package tests

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/tests/system"
)

// TestDealFlow walks one deal through the running system's gateway with
// dev tokens, as a user of `make run` would: register, chat, confirm, pay,
// cancel, pay again, review. After each step MyPage shows it, carried
// there by events through Kafka and the mypage trigger.
func TestDealFlow(t *testing.T) {
	sys := MustStart(t, system.Options{})
	d := walkDeal(t, sys)

	item := sys.MustGetItem(t, d.itemID)
	assert.Equal(t, "SOLDOUT", item["status"])
	assert.EqualValues(t, 4, item["score"])
	assert.EqualValues(t, 1, item["reviewCount"])

	res := sys.MustDo(t, buyer, http.MethodGet, "/myPages?userId="+buyer, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res)
	buying, _ := res.JSON(t)["buying"].([]any)
	require.Len(t, buying, 1)
	deal := buying[0].(map[string]any)
	assert.Equal(t, d.rsvID, deal["rsvId"])
	assert.Equal(t, "COMPLETED", deal["rsvStatus"])
	assert.Equal(t, "APPROVED", deal["payStatus"])
	assert.Equal(t, "SOLDOUT", deal["itemStatus"])

	sys.MustStop(t)
}

// deal names what walkDeal created.
type deal struct {
	itemID, rsvID, payID string
}

// walkDeal runs the seed's whole flow on sys and checks MyPage after each
// step. The second payment is the one that stands.
func walkDeal(t *testing.T, sys *System) deal {
	t.Helper()
	var d deal
	d.itemID = sys.MustRegister(t, seller, "TV", 50000)
	sys.EventuallyPage(t, seller, d.itemID, map[string]any{
		"itemName": "TV", "itemStatus": "CREATED", "price": 50000, "sellerId": seller, "openChats": 0,
	})

	res := sys.MustDo(t, buyer, http.MethodPost, "/reservations", map[string]any{"itemId": d.itemID, "rsvStatus": "CREATED", "rsvPlace": "seoul"})
	require.Equal(t, http.StatusCreated, res.Status, "chat: %s", res)
	d.rsvID = res.JSON(t)["rsvId"].(string)
	sys.EventuallyPage(t, seller, d.itemID, map[string]any{"itemStatus": "CREATED", "openChats": 1})

	day := system.Day(7)
	res = sys.MustDo(t, seller, http.MethodPatch, "/reservations/"+d.rsvID, map[string]any{
		"rsvStatus": "CONFIRMED", "rsvDate": day, "rsvTime": "18:30", "rsvPlace": "Hapjeong station exit 3",
	})
	require.Equal(t, http.StatusOK, res.Status, "confirm: %s", res)
	sys.EventuallyPage(t, seller, d.itemID, map[string]any{
		"itemStatus": "RESERVED", "rsvId": d.rsvID, "rsvStatus": "CONFIRMED", "buyerId": buyer,
		"rsvDate": day, "rsvTime": "18:30", "rsvPlace": "Hapjeong station exit 3",
	})

	res = sys.MustDo(t, buyer, http.MethodPost, "/payments", map[string]any{"rsvId": d.rsvID, "itemId": d.itemID, "status": "APPROVED"})
	require.Equal(t, http.StatusCreated, res.Status, "pay: %s", res)
	firstPay := res.JSON(t)
	assert.EqualValues(t, 50000, firstPay["amount"])
	sys.EventuallyPage(t, seller, d.itemID, map[string]any{
		"itemStatus": "SOLDOUT", "rsvStatus": "COMPLETED", "payId": firstPay["payId"], "payStatus": "APPROVED",
	})

	res = sys.MustDo(t, buyer, http.MethodPatch, "/payments/"+firstPay["payId"].(string), map[string]any{"rsvId": d.rsvID, "itemId": d.itemID, "status": "DELETED"})
	require.Equal(t, http.StatusOK, res.Status, "cancel: %s", res)
	assert.Equal(t, "DELETED", res.JSON(t)["status"])
	sys.EventuallyPage(t, seller, d.itemID, map[string]any{
		"itemStatus": "RESERVED", "rsvStatus": "CONFIRMED", "payId": firstPay["payId"], "payStatus": "DELETED",
	})

	// Paying again needs the reservation CONFIRMED again in its own table,
	// which the reservation-policy does on the cancelled payment's event.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res := sys.Do(t.Context(), buyer, http.MethodPost, "/payments", map[string]any{"rsvId": d.rsvID})
		if assert.NoError(c, res.Err) && assert.Equal(c, http.StatusCreated, res.Status, "pay again: %s", res) {
			d.payID = res.JSON(c)["payId"].(string)
		}
	}, settle, tick)
	assert.NotEqual(t, firstPay["payId"], d.payID)
	sys.EventuallyPage(t, seller, d.itemID, map[string]any{
		"itemStatus": "SOLDOUT", "rsvStatus": "COMPLETED", "payId": d.payID, "payStatus": "APPROVED",
	})

	// A review needs the reservation COMPLETED, again by an event.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		res := sys.Do(t.Context(), buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": d.rsvID, "score": 4, "comment": "works great"})
		if assert.NoError(c, res.Err) {
			assert.Equal(c, http.StatusCreated, res.Status, "review: %s", res)
		}
	}, settle, tick)
	sys.EventuallyPage(t, seller, d.itemID, map[string]any{
		"itemStatus": "SOLDOUT", "rsvStatus": "COMPLETED", "payStatus": "APPROVED", "score": 4, "reviewCount": 1, "openChats": 1,
	})
	return d
}

// TestSeedRules checks seed rules 9 and 10 on the running system: no chat
// on a sold-out item, and no deleting an item while it is reserved (nor
// once sold). Each refusal is a 409 problem and leaves the item as it was.
func TestSeedRules(t *testing.T) {
	sys := MustStart(t, system.Options{})

	reserved := sys.MustRegister(t, seller, "lamp", 10000)
	sys.MustConfirm(t, seller, sys.MustChat(t, buyer, reserved), system.Day(7), "10:00", "here")

	soldOut := sys.MustRegister(t, seller, "chair", 20000)
	soldRsv := sys.MustChat(t, buyer, soldOut)
	sys.MustConfirm(t, seller, soldRsv, system.Day(8), "11:00", "there")
	sys.MustPay(t, buyer, soldRsv)
	// The item turns SOLDOUT when the payment's events have gone round.
	sys.EventuallyItemStatus(t, soldOut, "SOLDOUT")

	tests := []struct {
		name, user, method, path string
		body                     any
	}{
		{"rule 9: chat on a sold-out item", lateBuyer, http.MethodPost, "/reservations", map[string]any{"itemId": soldOut}},
		{"rule 10: delete a reserved item", seller, http.MethodDelete, "/items/" + reserved, nil},
		{"delete a sold-out item", seller, http.MethodDelete, "/items/" + soldOut, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := sys.MustDo(t, tt.user, tt.method, tt.path, tt.body)
			assert.Equal(t, http.StatusConflict, res.Status, "%s", res)
			assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
			assert.EqualValues(t, http.StatusConflict, res.JSON(t)["status"])
		})
	}

	for item, status := range map[string]string{reserved: "RESERVED", soldOut: "SOLDOUT"} {
		assert.Equal(t, status, sys.MustGetItem(t, item)["status"], "the refused delete changed item %s", item)
		sys.EventuallyPage(t, seller, item, map[string]any{"itemStatus": status, "openChats": 1})
	}
	res := sys.MustDo(t, lateBuyer, http.MethodGet, "/myPages?userId="+lateBuyer, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res)
	assert.Empty(t, res.JSON(t)["buying"], "the refused chat opened a reservation")

	sys.MustStop(t)
}
