package rest_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/infra/boot/boottest"
)

// TestDealFlow walks one deal through every function over HTTP, with the
// events between them delivered as a broker would: register, chat,
// confirm, pay, cancel, pay again, review; MyPage shows each step.
func TestDealFlow(t *testing.T) {
	sys := boottest.NewSystem(t)
	gw := sys.Gateway
	const seller, buyer = "sally", "bob"

	res := sys.Do(t, gw, seller, http.MethodPost, "/items", map[string]any{"name": "TV", "category": "electronics", "price": 50000})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	itemID := res.JSON(t)["itemId"].(string)

	page := func() map[string]any {
		res := sys.Do(t, gw, seller, http.MethodGet, "/myPages/"+itemID, nil)
		require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
		return res.JSON(t)
	}
	assert.Equal(t, "CREATED", page()["itemStatus"])

	res = sys.Do(t, gw, buyer, http.MethodPost, "/reservations", map[string]any{"itemId": itemID, "rsvStatus": "CREATED", "rsvPlace": "seoul"})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	rsvID := res.JSON(t)["rsvId"].(string)
	assert.EqualValues(t, 1, page()["openChats"])

	res = sys.Do(t, gw, seller, http.MethodPatch, "/reservations/"+rsvID, map[string]any{"rsvStatus": "CONFIRMED", "rsvDate": boottest.Day(7), "rsvTime": "18:30", "rsvPlace": "Hapjeong station exit 3"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	row := page()
	assert.Equal(t, "RESERVED", row["itemStatus"])
	assert.Equal(t, "CONFIRMED", row["rsvStatus"])
	assert.Equal(t, buyer, row["buyerId"])

	res = sys.Do(t, gw, buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID, "itemId": itemID, "status": "APPROVED"})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	payID := res.JSON(t)["payId"].(string)
	assert.EqualValues(t, 50000, res.JSON(t)["amount"])
	row = page()
	assert.Equal(t, "SOLDOUT", row["itemStatus"])
	assert.Equal(t, "COMPLETED", row["rsvStatus"])
	assert.Equal(t, "APPROVED", row["payStatus"])

	res = sys.Do(t, gw, buyer, http.MethodPatch, "/payments/"+payID, map[string]any{"rsvId": rsvID, "itemId": itemID, "status": "DELETED"})
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	row = page()
	assert.Equal(t, "RESERVED", row["itemStatus"])
	assert.Equal(t, "CONFIRMED", row["rsvStatus"])
	assert.Equal(t, "DELETED", row["payStatus"])

	res = sys.Do(t, gw, buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	assert.Equal(t, "SOLDOUT", page()["itemStatus"])

	res = sys.Do(t, gw, buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": rsvID, "score": 4, "comment": "works great"})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	row = page()
	assert.EqualValues(t, 4, row["score"])
	assert.EqualValues(t, 1, row["reviewCount"])
	res = sys.Do(t, gw, "", http.MethodGet, "/items/"+itemID, nil)
	assert.EqualValues(t, 4, res.JSON(t)["score"])

	res = sys.Do(t, gw, buyer, http.MethodGet, "/myPages?userId="+buyer, nil)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	buying := res.JSON(t)["buying"].([]any)
	require.Len(t, buying, 1)
	assert.Equal(t, "COMPLETED", buying[0].(map[string]any)["rsvStatus"])
}

// TestHeadAnswersAsGet checks that every GET route also answers HEAD, as
// its GET would but without a body, token checks included.
func TestHeadAnswersAsGet(t *testing.T) {
	sys := boottest.NewSystem(t)
	const seller = "sally"
	itemID := sys.MustItem(t, seller, map[string]any{"name": "lamp", "category": "home", "price": 3000})
	tests := []struct {
		name, user, path string
		status           int
	}{
		{"a public item", "", "/items/" + itemID, http.StatusOK},
		{"an unknown item", "", "/items/nothing-here", http.StatusNotFound},
		{"MyPage with a token", seller, "/myPages/" + itemID, http.StatusOK},
		{"MyPage without one", "", "/myPages/" + itemID, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			get := sys.Do(t, sys.Gateway, tt.user, http.MethodGet, tt.path, nil)
			head := sys.Do(t, sys.Gateway, tt.user, http.MethodHead, tt.path, nil)
			require.Equal(t, tt.status, get.Status, "%s", get.Body)
			assert.Equal(t, get.Status, head.Status)
			assert.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"))
			assert.Empty(t, head.Body)
		})
	}
}
