package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/functions/market"
	"github.com/carrot-market/carrot/infra/boot/boottest"
	"github.com/carrot-market/carrot/infra/web"
)

// TestPostPayments covers POST /payments on the pay function: the approved
// payment and its effects through the policies, and every refusal SPEC
// section 4 gives, each of which must leave the deal as it was.
func TestPostPayments(t *testing.T) {
	sys := boottest.NewSystem(t)
	pay := sys.URL["pay"]

	t.Run("the buyer pays a confirmed reservation: item SOLDOUT, reservation COMPLETED", func(t *testing.T) {
		t.Parallel()
		itemID, rsvID := confirmedDeal(t, sys, 50_000)

		res := sys.Do(t, pay, boottest.Buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		p := res.JSON(t)
		assert.NotEmpty(t, p["payId"])
		assert.Equal(t, "/payments/"+p["payId"].(string), res.Header.Get("Location"))
		assert.Equal(t, "APPROVED", p["status"])
		assert.EqualValues(t, 50_000, p["amount"], "amount is the item's price")
		assert.Equal(t, rsvID, p["rsvId"])
		assert.Equal(t, itemID, p["itemId"])
		assert.Equal(t, boottest.Buyer, p["buyerId"])
		assert.NotContains(t, p, "cancelledAt")

		assert.Equal(t, "COMPLETED", sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"])
		assert.Equal(t, "SOLDOUT", sys.MustGetItem(t, itemID)["status"])
		for _, typ := range []events.Type{events.PaymentApproved, events.ReservationCompleted, events.ItemSoldOut} {
			assert.Equal(t, 1, sys.CountEventsAbout(typ, itemID), "%s events", typ)
		}

		res = sys.Do(t, pay, boottest.Buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
		assert.Equal(t, http.StatusConflict, res.Status, "a second payment: %s", res.Body)
		assert.Equal(t, 1, sys.CountEventsAbout(events.PaymentApproved, itemID), "the second payment published nothing")
	})

	t.Run("a deal on the largest item completes", func(t *testing.T) {
		t.Parallel()
		// Each region level is a feed or two the item moves between in
		// every status change, each feed row a copy of the item, all in the
		// transaction of the step that changes it. U+FDFA is the character
		// NFKC makes longest: 18 characters, the search text 11 times the
		// description's bytes.
		region := strings.TrimSuffix(strings.Repeat(strings.Repeat("구", 19)+"/", market.MaxRegionLevels), "/")
		photos := make([]string, market.MaxItemPhotos)
		for i := range photos {
			photos[i] = "https://img.example/" + strings.Repeat("p", 2000) + strconv.Itoa(i)
		}
		itemID, rsvID := sys.MustConfirmedDeal(t, boottest.Seller, boottest.Buyer,
			map[string]any{"name": strings.Repeat("\uFDFA", market.MaxItemName), "category": strings.Repeat("c", market.MaxItemCategory),
				"price": 1000, "region": region, "description": strings.Repeat("\uFDFA", market.MaxItemDescription), "photos": photos},
			boottest.Meeting(boottest.Day(7), "18:30", "Hapjeong station"))
		res := sys.Do(t, pay, boottest.Buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		assert.Equal(t, "SOLDOUT", sys.MustGetItem(t, itemID)["status"])
		assert.Equal(t, region, sys.MustGetItem(t, itemID)["region"])
	})

	t.Run("the seed's form with itemId and status APPROVED", func(t *testing.T) {
		t.Parallel()
		itemID, rsvID := confirmedDeal(t, sys, 0)
		res := sys.Do(t, pay, boottest.Buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID, "itemId": itemID, "status": "APPROVED"})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		assert.Equal(t, "APPROVED", res.JSON(t)["status"])
		assert.EqualValues(t, 0, res.JSON(t)["amount"], "a give-away costs nothing")
		assert.Equal(t, "SOLDOUT", sys.MustGetItem(t, itemID)["status"])
	})

	t.Run("refusals change nothing", func(t *testing.T) {
		t.Parallel()
		itemID, rsvID := confirmedDeal(t, sys, 30_000)
		otherItemID, _ := confirmedDeal(t, sys, 10)
		openRsvID := sys.MustChat(t, "carl", itemID) // a back-up buyer's chat on the reserved item, still CREATED

		for _, tc := range []struct {
			name   string
			user   string
			body   any
			status int
			fields []string // the fields the problem names
			detail string   // a part of the problem's detail
		}{
			{"missing rsvId", boottest.Buyer, map[string]any{"itemId": itemID}, http.StatusBadRequest, []string{"rsvId"}, ""},
			{"empty rsvId", boottest.Buyer, map[string]any{"rsvId": ""}, http.StatusBadRequest, []string{"rsvId"}, ""},
			{"status DELETED", boottest.Buyer, map[string]any{"rsvId": rsvID, "status": "DELETED"}, http.StatusBadRequest, []string{"status"}, ""},
			{"status PENDING", boottest.Buyer, map[string]any{"rsvId": rsvID, "status": "PENDING"}, http.StatusBadRequest, []string{"status"}, ""},
			{"itemId of another item", boottest.Buyer, map[string]any{"rsvId": rsvID, "itemId": otherItemID}, http.StatusBadRequest, []string{"itemId"}, ""},
			{"itemId as a JSON number is an id that does not match", boottest.Buyer, map[string]any{"rsvId": rsvID, "itemId": 7}, http.StatusBadRequest, []string{"itemId"}, ""},
			{"rsvId as a JSON number is an id", boottest.Buyer, `{"rsvId": 42}`, http.StatusNotFound, nil, "reservation 42 not found"},
			{"rsvId as a fraction", boottest.Buyer, `{"rsvId": 1.5}`, http.StatusBadRequest, []string{"rsvId"}, ""},
			{"rsvId as a boolean", boottest.Buyer, `{"rsvId": true}`, http.StatusBadRequest, []string{"rsvId"}, ""},
			{"an unknown field", boottest.Buyer, map[string]any{"rsvId": rsvID, "price": 1}, http.StatusBadRequest, []string{"price"}, ""},
			{"no token", "", map[string]any{"rsvId": rsvID}, http.StatusUnauthorized, nil, ""},
			{"the seller pays", boottest.Seller, map[string]any{"rsvId": rsvID}, http.StatusForbidden, nil, ""},
			{"an outsider pays", boottest.Outsider, map[string]any{"rsvId": rsvID}, http.StatusForbidden, nil, ""},
			{"unknown reservation", boottest.Buyer, map[string]any{"rsvId": "no-such-rsv"}, http.StatusNotFound, nil, ""},
			{"rsvId of 2049 digits", boottest.Buyer, map[string]any{"rsvId": strings.Repeat("1", 2049)}, http.StatusBadRequest, []string{"rsvId"}, ""},
			{"itemId with a space", boottest.Buyer, map[string]any{"rsvId": rsvID, "itemId": "item 1"}, http.StatusBadRequest, []string{"itemId"}, ""},
			{"rsvId in another case", boottest.Buyer, map[string]any{"RsvId": rsvID}, http.StatusBadRequest, []string{"RsvId"}, ""},
			{"rsvId given twice", boottest.Buyer, `{"rsvId": "` + rsvID + `", "rsvId": "` + rsvID + `"}`, http.StatusBadRequest, []string{"rsvId"}, ""},
			{"amount null", boottest.Buyer, `{"rsvId": "` + rsvID + `", "amount": null}`, http.StatusBadRequest, []string{"amount"}, ""},
			{"reservation not CONFIRMED", "carl", map[string]any{"rsvId": openRsvID}, http.StatusConflict, nil, "CREATED"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := sys.Do(t, pay, tc.user, http.MethodPost, "/payments", tc.body)
				res.RequireProblem(t, tc.status, tc.fields...)
				assert.NotEmpty(t, res.JSON(t)["detail"])
				if tc.detail != "" {
					assert.Contains(t, res.JSON(t)["detail"], tc.detail)
				}
			})
		}

		assert.Equal(t, 0, sys.CountEventsAbout(events.PaymentApproved, itemID))
		assert.Equal(t, "CONFIRMED", sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"])
		assert.Equal(t, "CREATED", sys.MustGetReservation(t, boottest.Seller, openRsvID)["rsvStatus"])
		assert.Equal(t, "RESERVED", sys.MustGetItem(t, itemID)["status"])
	})
}

// TestGetPayment covers GET /payments/{payId}: the deal's two sides see
// the payment, nobody else does.
func TestGetPayment(t *testing.T) {
	sys := boottest.NewSystem(t)
	pay := sys.URL["pay"]
	_, rsvID := confirmedDeal(t, sys, 7_000)
	res := sys.Do(t, pay, boottest.Buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID})
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	paid := res.JSON(t)
	payID := paid["payId"].(string)

	for _, tc := range []struct {
		name, user, payID string
		status            int
	}{
		{"the buyer", boottest.Buyer, payID, http.StatusOK},
		{"the seller", boottest.Seller, payID, http.StatusOK},
		{"an outsider", boottest.Outsider, payID, http.StatusForbidden},
		{"no token", "", payID, http.StatusUnauthorized},
		{"an unknown payment", boottest.Buyer, "no-such-payment", http.StatusNotFound},
		{"a payment id of 2049 digits", boottest.Buyer, strings.Repeat("1", 2049), http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := sys.Do(t, pay, tc.user, http.MethodGet, "/payments/"+tc.payID, nil)
			require.Equal(t, tc.status, res.Status, "%s", res.Body)
			if tc.status == http.StatusOK {
				assert.Equal(t, paid, res.JSON(t))
			} else {
				assert.NotContains(t, string(res.Body), rsvID, "a refusal shows nothing of the payment")
			}
		})
	}
}

// TestPaymentIdempotencyKey covers Idempotency-Key on POST /payments: a
// retry answers the first answer and pays once; the key cannot be reused
// for another request.
func TestPaymentIdempotencyKey(t *testing.T) {
	sys := boottest.NewSystem(t)
	pay := sys.URL["pay"]
	itemID, rsvID := confirmedDeal(t, sys, 20_000)
	body := map[string]any{"rsvId": rsvID}

	first := sys.Do(t, pay, boottest.Buyer, http.MethodPost, "/payments", body, web.IdempotencyKeyHeader, "pay-once")
	require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
	assert.Empty(t, first.Header.Get(web.ReplayedHeader))

	retry := sys.Do(t, pay, boottest.Buyer, http.MethodPost, "/payments", body, web.IdempotencyKeyHeader, "pay-once")
	require.Equal(t, http.StatusCreated, retry.Status, "the retry answers the first answer, not 409: %s", retry.Body)
	assert.Equal(t, "true", retry.Header.Get(web.ReplayedHeader))
	assert.Equal(t, string(first.Body), string(retry.Body))
	assert.Equal(t, first.Header.Get("Location"), retry.Header.Get("Location"))
	assert.Equal(t, 1, sys.CountEventsAbout(events.PaymentApproved, itemID), "paid once")

	other := sys.Do(t, pay, boottest.Buyer, http.MethodPost, "/payments", map[string]any{"rsvId": rsvID, "itemId": itemID}, web.IdempotencyKeyHeader, "pay-once")
	assert.Equal(t, http.StatusUnprocessableEntity, other.Status, "the key with another body: %s", other.Body)

	fresh := sys.Do(t, pay, boottest.Buyer, http.MethodPost, "/payments", body, web.IdempotencyKeyHeader, "pay-twice")
	assert.Equal(t, http.StatusConflict, fresh.Status, "a new key runs the command, which refuses: %s", fresh.Body)
	assert.Equal(t, 1, sys.CountEventsAbout(events.PaymentApproved, itemID), "still paid once")
}

// TestPaymentRaces pays one reservation from many requests at once.
func TestPaymentRaces(t *testing.T) {
	sys := boottest.NewSystem(t)
	const n = 12
	token := "Bearer " + sys.Token(t, boottest.Buyer)
	// burst POSTs body to /payments from n goroutines released at once.
	burst := func(t *testing.T, body string, header ...string) []boottest.Response {
		t.Helper()
		return boottest.Burst(t, n, func(int) (boottest.Response, error) {
			return boottest.Send(http.MethodPost, sys.URL["pay"]+"/payments", body, header...)
		})
	}

	t.Run("concurrent payments: one 201, the others 409", func(t *testing.T) {
		t.Parallel()
		itemID, rsvID := confirmedDeal(t, sys, 1_000)
		answers := burst(t, `{"rsvId":"`+rsvID+`"}`, "Authorization", token)
		statuses := map[int]int{}
		for _, a := range answers {
			statuses[a.Status]++
		}
		assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: n - 1}, statuses)
		assert.Equal(t, 1, sys.CountEventsAbout(events.PaymentApproved, itemID))
		assert.Equal(t, "COMPLETED", sys.MustGetReservation(t, boottest.Seller, rsvID)["rsvStatus"])
		assert.Equal(t, "SOLDOUT", sys.MustGetItem(t, itemID)["status"])
	})

	t.Run("concurrent retries of one Idempotency-Key: one effect, one answer", func(t *testing.T) {
		t.Parallel()
		itemID, rsvID := confirmedDeal(t, sys, 2_000)
		answers := burst(t, `{"rsvId":"`+rsvID+`"}`, "Authorization", token, web.IdempotencyKeyHeader, "burst-"+rsvID)
		var created []string
		for _, a := range answers {
			switch a.Status {
			case http.StatusCreated:
				created = append(created, string(a.Body))
			case http.StatusConflict:
				assert.Contains(t, string(a.Body), "still running", "a 409 says the key is in progress")
				assert.NotEmpty(t, a.Header.Get("Retry-After"))
			default:
				t.Errorf("answer %d: %s", a.Status, a.Body)
			}
		}
		require.NotEmpty(t, created, "one request ran the payment")
		t.Logf("%d of %d answers are the 201, the others 409 in progress", len(created), n)
		for _, body := range created[1:] {
			assert.Equal(t, created[0], body, "every 201 is the first answer replayed")
		}
		assert.Equal(t, 1, sys.CountEventsAbout(events.PaymentApproved, itemID))
	})
}

// confirmedDeal lists an item at price for seller, opens buyer's chat on it
// and lets the seller confirm it, each through the function that owns the
// route. It returns the item's and the reservation's ids.
func confirmedDeal(t *testing.T, sys *boottest.System, price int) (itemID, rsvID string) {
	t.Helper()
	return sys.MustConfirmedDeal(t, boottest.Seller, boottest.Buyer, map[string]any{"name": "TV", "category": "electronics", "price": price},
		boottest.Meeting(boottest.Day(7), "18:30", "Hapjeong station"))
}
