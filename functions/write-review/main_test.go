package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/events"
	"github.com/carrot-market/carrot/infra/boot/boottest"
)

// TestWriteReview covers POST /reviews on the write-review function: the
// review, the item's mean score and review count it leads to, and the
// seller's mean across their items, carried by item.scored.
func TestWriteReview(t *testing.T) {
	sys := boottest.NewSystem(t)
	review := sys.URL["write-review"]

	t.Run("scores: the item's mean and count, the seller's mean across items; a reviewed deal is closed", func(t *testing.T) {
		t.Parallel()
		const seller = "sam" // a seller of this subtest only, so the seller's mean is its own
		itemID, rsvID, payID := paidDeal(t, sys, seller, boottest.Buyer)

		res := sys.Do(t, review, boottest.Buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": rsvID, "score": 5, "comment": "as described"})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		rv := res.JSON(t)
		assert.NotEmpty(t, rv["reviewId"])
		assert.Equal(t, "/reviews/"+rv["reviewId"].(string), res.Header.Get("Location"))
		assert.Equal(t, rsvID, rv["rsvId"])
		assert.Equal(t, itemID, rv["itemId"])
		assert.Equal(t, boottest.Buyer, rv["reviewerId"])
		assert.Equal(t, seller, rv["sellerId"])
		assert.EqualValues(t, 5, rv["score"])
		assert.Equal(t, "as described", rv["comment"])
		assertScore(t, sys, itemID, 5, 1)

		// A reviewed deal is closed: its payment can no longer be cancelled
		// (SPEC 3.4: a cancel and a review of one deal never both succeed).
		res = sys.Do(t, sys.URL["cancel-payment"], boottest.Buyer, http.MethodDelete, "/payments/"+payID, nil)
		require.Equal(t, http.StatusConflict, res.Status, "%s", res.Body)

		// More items of the same seller, each reviewed by its buyer.
		item2ID, rsv2ID, _ := paidDeal(t, sys, seller, "carl")
		res = sys.Do(t, review, "carl", http.MethodPost, "/reviews", map[string]any{"rsvId": rsv2ID, "score": 2})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		assertScore(t, sys, item2ID, 2, 1)
		item3ID, rsv3ID, _ := paidDeal(t, sys, seller, boottest.Buyer)
		res = sys.Do(t, review, boottest.Buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": rsv3ID, "score": 4})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		assertScore(t, sys, item3ID, 4, 1)
		assertScore(t, sys, itemID, 5, 1)

		var sellerScores []any
		for _, s := range boottest.Payloads[*events.ItemScore](t, sys, events.ItemScored) {
			if s.SellerID == seller {
				sellerScores = append(sellerScores, []any{s.ItemID, s.Score, s.ReviewCount, s.SellerScore, s.SellerReviewCount})
			}
		}
		assert.Equal(t, []any{
			[]any{itemID, 5.0, 1, 5.0, 1},
			[]any{item2ID, 2.0, 1, 3.5, 2},
			[]any{item3ID, 4.0, 1, 11.0 / 3, 3},
		}, sellerScores, "item.scored: item id, score, count, seller's mean and count")
	})

	t.Run("concurrent reviews of one seller's items all count", func(t *testing.T) {
		t.Parallel()
		const seller, n = "sue", 6
		token := "Bearer " + sys.Token(t, boottest.Buyer)
		var rsvIDs []string
		for range n {
			_, rsvID, _ := paidDeal(t, sys, seller, boottest.Buyer)
			rsvIDs = append(rsvIDs, rsvID)
		}
		answers := boottest.Burst(t, n, func(i int) (boottest.Response, error) {
			body := `{"rsvId":"` + rsvIDs[i] + `","score":` + strconv.Itoa(1+i%5) + `}`
			return boottest.Send(http.MethodPost, review+"/reviews", body, "Authorization", token)
		})
		for _, a := range answers {
			assert.Equal(t, http.StatusCreated, a.Status)
		}
		var counts []int
		for _, s := range boottest.Payloads[*events.ItemScore](t, sys, events.ItemScored) {
			if s.SellerID == seller {
				counts = append(counts, s.SellerReviewCount)
			}
		}
		assert.ElementsMatch(t, []int{1, 2, 3, 4, 5, 6}, counts, "each review counted into the seller's mean once")
	})

	t.Run("a comment of 1000 characters, none, or Hangul", func(t *testing.T) {
		t.Parallel()
		for _, comment := range []any{strings.Repeat("a", 1000), nil, strings.Repeat("좋", 1000)} {
			_, rsvID, _ := paidDeal(t, sys, boottest.Seller, boottest.Buyer)
			body := map[string]any{"rsvId": rsvID, "score": 1}
			if comment != nil {
				body["comment"] = comment
			}
			res := sys.Do(t, review, boottest.Buyer, http.MethodPost, "/reviews", body)
			require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
			if comment == nil {
				comment = ""
			}
			assert.Equal(t, comment, res.JSON(t)["comment"])
		}
	})

	t.Run("a second review of one deal is 409", func(t *testing.T) {
		t.Parallel()
		itemID, rsvID, _ := paidDeal(t, sys, boottest.Seller, boottest.Buyer)
		res := sys.Do(t, review, boottest.Buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": rsvID, "score": 3})
		require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
		res = sys.Do(t, review, boottest.Buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": rsvID, "score": 1})
		assert.Equal(t, http.StatusConflict, res.Status, "%s", res.Body)
		assertScore(t, sys, itemID, 3, 1)
		assert.Equal(t, 1, sys.CountEventsAbout(events.ReviewWritten, itemID))
	})

	t.Run("refusals change nothing", func(t *testing.T) {
		t.Parallel()
		itemID, rsvID, _ := paidDeal(t, sys, boottest.Seller, boottest.Buyer)
		lampID := sys.MustItem(t, boottest.Seller, map[string]any{"name": "lamp", "category": "home", "price": 1})
		confirmedRsvID := confirm(t, sys, boottest.Seller, boottest.Buyer, lampID)

		for _, tc := range []struct {
			name, user string
			body       any
			status     int
			fields     []string // the fields the problem names
		}{
			{"score 0", boottest.Buyer, map[string]any{"rsvId": rsvID, "score": 0}, http.StatusBadRequest, []string{"score"}},
			{"no score", boottest.Buyer, map[string]any{"rsvId": rsvID}, http.StatusBadRequest, []string{"score"}},
			{"score 6", boottest.Buyer, map[string]any{"rsvId": rsvID, "score": 6}, http.StatusBadRequest, []string{"score"}},
			{"score as a string", boottest.Buyer, map[string]any{"rsvId": rsvID, "score": "5"}, http.StatusBadRequest, []string{"score"}},
			{"score 4.5", boottest.Buyer, map[string]any{"rsvId": rsvID, "score": 4.5}, http.StatusBadRequest, []string{"score"}},
			{"comment of 1001 characters", boottest.Buyer, map[string]any{"rsvId": rsvID, "score": 5, "comment": strings.Repeat("a", 1001)}, http.StatusBadRequest, []string{"comment"}},
			{"missing rsvId", boottest.Buyer, map[string]any{"score": 5}, http.StatusBadRequest, []string{"rsvId"}},
			{"an unknown field", boottest.Buyer, map[string]any{"rsvId": rsvID, "score": 5, "stars": 5}, http.StatusBadRequest, []string{"stars"}},
			{"no token", "", map[string]any{"rsvId": rsvID, "score": 5}, http.StatusUnauthorized, nil},
			{"the seller reviews", boottest.Seller, map[string]any{"rsvId": rsvID, "score": 5}, http.StatusForbidden, nil},
			{"an outsider reviews", boottest.Outsider, map[string]any{"rsvId": rsvID, "score": 5}, http.StatusForbidden, nil},
			{"a reservation not COMPLETED", boottest.Buyer, map[string]any{"rsvId": confirmedRsvID, "score": 5}, http.StatusConflict, nil},
			{"an unknown reservation", boottest.Buyer, map[string]any{"rsvId": "no-such-rsv", "score": 5}, http.StatusNotFound, nil},
			{"rsvId of 2049 digits", boottest.Buyer, map[string]any{"rsvId": strings.Repeat("1", 2049), "score": 5}, http.StatusBadRequest, []string{"rsvId"}},
			{"comment with NUL", boottest.Buyer, map[string]any{"rsvId": rsvID, "score": 5, "comment": "good\x00"}, http.StatusBadRequest, []string{"comment"}},
			{"comment with a right-to-left override", boottest.Buyer, map[string]any{"rsvId": rsvID, "score": 5, "comment": "\u202edoog"}, http.StatusBadRequest, []string{"comment"}},
			{"score in another case", boottest.Buyer, map[string]any{"rsvId": rsvID, "Score": 5}, http.StatusBadRequest, []string{"Score"}},
			{"score given twice", boottest.Buyer, `{"rsvId": "` + rsvID + `", "score": 1, "score": 5}`, http.StatusBadRequest, []string{"score"}},
			{"comment null", boottest.Buyer, `{"rsvId": "` + rsvID + `", "score": 5, "comment": null}`, http.StatusBadRequest, []string{"comment"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := sys.Do(t, review, tc.user, http.MethodPost, "/reviews", tc.body)
				res.RequireProblem(t, tc.status, tc.fields...)
			})
		}

		assert.Equal(t, 0, sys.CountEventsAbout(events.ReviewWritten, itemID))
		assertScore(t, sys, itemID, 0, 0)
	})
}

// TestPeople covers the public reads of people and reviews on the
// write-review function: GET /users/{userId}, GET /users/{userId}/reviews
// and GET /items/{itemId}/reviews, with no token.
func TestPeople(t *testing.T) {
	sys := boottest.NewSystem(t)
	review := sys.URL["write-review"]
	const seller = "pia" // a seller of this test only

	// Three sold items reviewed 5, 4 and 1, one after another, and one on sale.
	var soldIDs, reviewIDs []string
	for i, score := range []int{5, 4, 1} {
		buyer := []string{boottest.Buyer, "carl", boottest.Buyer}[i]
		itemID, rsvID, _ := paidDeal(t, sys, seller, buyer)
		rv := sys.MustCall(t, "write-review", buyer, http.MethodPost, "/reviews", map[string]any{"rsvId": rsvID, "score": score}, http.StatusCreated)
		soldIDs, reviewIDs = append(soldIDs, itemID), append(reviewIDs, rv["reviewId"].(string))
	}
	onSaleID := sys.MustItem(t, seller, map[string]any{"name": "lamp", "category": "home", "price": 9_000})
	newestFirst := []string{reviewIDs[2], reviewIDs[1], reviewIDs[0]}

	t.Run("a seller's profile: manner temperature, items on sale and sold, reviews newest first", func(t *testing.T) {
		t.Parallel()
		pr := sys.MustCall(t, "write-review", "", http.MethodGet, "/users/"+seller, nil, http.StatusOK)
		assert.Equal(t, seller, pr["userId"])
		assert.InDelta(t, 36.5+0.5+0.2-0.5, pr["mannerTemperature"], 1e-9, "5 warms by 0.5, 4 by 0.2, 1 cools by 0.5")
		assert.InDelta(t, 10.0/3, pr["score"], 1e-9)
		assert.EqualValues(t, 3, pr["reviewCount"])
		assert.Equal(t, []string{onSaleID}, listed(t, pr["onSale"], "itemId"))
		assert.ElementsMatch(t, soldIDs, listed(t, pr["sold"], "itemId"))
		assert.Equal(t, newestFirst, listed(t, pr["reviews"], "reviewId"))
	})

	t.Run("a user carrot never saw starts at 36.5 with nothing", func(t *testing.T) {
		t.Parallel()
		pr := sys.MustCall(t, "write-review", "", http.MethodGet, "/users/nobody", nil, http.StatusOK)
		assert.Equal(t, map[string]any{"userId": "nobody", "mannerTemperature": 36.5, "score": 0.0, "reviewCount": 0.0,
			"onSale": map[string]any{"items": []any{}}, "sold": map[string]any{"items": []any{}}, "reviews": map[string]any{"items": []any{}}}, pr)
		rvs := sys.MustCall(t, "write-review", "", http.MethodGet, "/users/nobody/reviews", nil, http.StatusOK)
		assert.Equal(t, map[string]any{"items": []any{}}, rvs)
	})

	t.Run("reviews received, newest first, page by page", func(t *testing.T) {
		t.Parallel()
		var got []string
		path := "/users/" + seller + "/reviews?limit=2"
		for range 3 {
			page := sys.MustCall(t, "write-review", "", http.MethodGet, path, nil, http.StatusOK)
			got = append(got, listed(t, page, "reviewId")...)
			next, _ := page["nextCursor"].(string)
			if next == "" {
				break
			}
			path = "/users/" + seller + "/reviews?limit=2&cursor=" + next
		}
		assert.Equal(t, newestFirst, got)
	})

	t.Run("an item's reviews; an item without any has an empty list", func(t *testing.T) {
		t.Parallel()
		for i, itemID := range soldIDs {
			page := sys.MustCall(t, "write-review", "", http.MethodGet, "/items/"+itemID+"/reviews", nil, http.StatusOK)
			assert.Equal(t, []string{reviewIDs[i]}, listed(t, page, "reviewId"))
		}
		page := sys.MustCall(t, "write-review", "", http.MethodGet, "/items/"+onSaleID+"/reviews", nil, http.StatusOK)
		assert.Equal(t, map[string]any{"items": []any{}}, page)
	})

	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name, path string
			status     int
			fields     []string
		}{
			{"an unknown item", "/items/no-such-item/reviews", http.StatusNotFound, nil},
			{"an item id out of form", "/items/not%20an%20id/reviews", http.StatusNotFound, nil},
			{"a user id too long", "/users/" + strings.Repeat("u", 129), http.StatusNotFound, nil},
			{"a user id too long, reviews", "/users/" + strings.Repeat("u", 129) + "/reviews", http.StatusNotFound, nil},
			{"limit 0", "/users/" + seller + "/reviews?limit=0", http.StatusBadRequest, []string{"limit"}},
			{"limit 201", "/items/" + soldIDs[0] + "/reviews?limit=201", http.StatusBadRequest, []string{"limit"}},
			{"a cursor never given out", "/users/" + seller + "/reviews?cursor=e30", http.StatusBadRequest, []string{"cursor"}},
			{"an item's cursor for a user", "/items/" + soldIDs[0] + "/reviews?cursor=" + firstCursor(t, sys, "/users/"+seller+"/reviews"), http.StatusBadRequest, []string{"cursor"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				res := sys.Do(t, review, "", http.MethodGet, tc.path, nil)
				res.RequireProblem(t, tc.status, tc.fields...)
			})
		}
	})
}

// listed returns the key of each entry of a list on the wire.
func listed(t *testing.T, list any, key string) []string {
	t.Helper()
	l, ok := list.(map[string]any)
	require.True(t, ok, "a list: %v", list)
	out := []string{}
	for _, x := range l["items"].([]any) {
		out = append(out, x.(map[string]any)[key].(string))
	}
	return out
}

// firstCursor returns the cursor after the first entry of the listing at
// path.
func firstCursor(t *testing.T, sys *boottest.System, path string) string {
	t.Helper()
	page := sys.MustCall(t, "write-review", "", http.MethodGet, path+"?limit=1", nil, http.StatusOK)
	require.NotEmpty(t, page["nextCursor"])
	return page["nextCursor"].(string)
}

// assertScore checks an item's mean score and review count.
func assertScore(t *testing.T, sys *boottest.System, itemID string, score float64, count int) {
	t.Helper()
	it := sys.MustGetItem(t, itemID)
	assert.InDelta(t, score, it["score"], 1e-9, "score of item %s", itemID)
	assert.EqualValues(t, count, it["reviewCount"], "reviewCount of item %s", itemID)
}

// paidDeal lists an item for seller, which buyer reserves and pays, each
// step through the function that owns its route; it returns the item's,
// the reservation's and the payment's ids.
func paidDeal(t *testing.T, sys *boottest.System, seller, buyer string) (itemID, rsvID, payID string) {
	t.Helper()
	return sys.MustPaidDeal(t, seller, buyer, map[string]any{"name": "desk", "category": "furniture", "price": 25_000}, meeting())
}

// confirm lets buyer open a chat on itemID and seller confirm it; it
// returns the reservation's id.
func confirm(t *testing.T, sys *boottest.System, seller, buyer, itemID string) string {
	t.Helper()
	rsvID := sys.MustChat(t, buyer, itemID)
	sys.MustConfirm(t, seller, rsvID, meeting())
	return rsvID
}

func meeting() map[string]any { return boottest.Meeting(boottest.Day(10), "12:00", "Sinchon") }
